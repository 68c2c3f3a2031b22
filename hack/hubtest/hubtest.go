// Package hubtest runs an acmehub server inside a test's process, for tests
// of the packages built on it (the solver, the registration, the commands).
package hubtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/acmehub/acmehub/hub"
	"github.com/acmehub/acmehub/hub/config"
)

// Start runs an acmehub server in the test's process, on ephemeral loopback
// ports with a fresh SQLite database, after mutate (when not nil) has
// adjusted the default configuration. It stops when the test ends.
func Start(t testing.TB, mutate func(*config.Config)) *hub.Server {
	t.Helper()
	cfg := config.Default()
	cfg.General.Listen, cfg.API.Port = "127.0.0.1:0", "0"
	cfg.Database.Connection = filepath.Join(t.TempDir(), "acmehub.db")
	if mutate != nil {
		mutate(&cfg)
	}
	cfg.Finish()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := hub.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}
