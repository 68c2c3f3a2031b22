// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package hubtest runs an acmehub server inside a test's process, for tests
// of the packages built on it (the solver, the registration, the commands).
package hubtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/managed/providers/self"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
)

// Config is the default configuration on ephemeral loopback ports with a
// fresh SQLite database, adjusted by mutate (when not nil), validated.
func Config(t testing.TB, mutate func(*config.Config)) config.Config {
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
	return cfg
}

// Start runs an acmehub server in the test's process, on ephemeral loopback
// ports with a fresh SQLite database, after mutate (when not nil) has
// adjusted the default configuration. It stops when the test ends.
func Start(t testing.TB, mutate func(*config.Config)) *server.Server {
	t.Helper()
	cfg := Config(t, mutate)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

// StartHub is Start with the managed-challenge hub on: its front doors on a
// loopback port without TLS, and keys of its own.
func StartHub(t testing.TB, mutate func(*config.Config)) *server.Server {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "hub.keys")
	if err := os.WriteFile(keys, []byte(managed.NewKeyLine("k1")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Start(t, func(c *config.Config) {
		c.Hub.Enabled, c.Hub.Listen, c.Hub.TLS, c.Hub.KeysFile = true, "127.0.0.1:0", "none", keys
		c.Hub.RequestTimeout.Duration = 10 * time.Second
		if mutate != nil {
			mutate(c)
		}
	})
}

// Admin is the actor of the changes tests make to a hub.
var Admin = managed.Caller{Principal: "test"}

// Token creates an application principal holding roles and a token for it
// carrying them.
func Token(t testing.TB, svc *managed.Service, roles ...string) managed.NewToken {
	t.Helper()
	ctx := context.Background()
	p, err := svc.CreatePrincipal(ctx, Admin, store.Principal{Kind: managed.KindApplication, Title: "cluster", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.CreateToken(ctx, Admin, managed.TokenOptions{Principal: p.ID, Scopes: roles})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Door is Managed's service behind a front door without limits, and the
// consumer token.
func Door(t testing.TB) (*doors.Door, managed.NewToken) {
	t.Helper()
	svc, tok := Managed(t)
	return &doors.Door{Service: svc}, tok
}

// Managed is a managed-challenge service on a fresh SQLite database,
// offering every provider the server offers, with a config of provider
// self for example.com and the names below it, and a consumer token; for
// tests of the front doors without a server.
func Managed(t testing.TB) (*managed.Service, managed.NewToken) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := managed.ParseKeyring(managed.NewKeyLine("k1"))
	if err != nil {
		t.Fatal(err)
	}
	var svc *managed.Service
	table := &self.Table{Lookup: func(apex string) ([]string, bool) { return svc.Values("self-example", apex), true }}
	svc, err = managed.New(ctx, managed.Options{Store: st.Managed(), Keys: keys,
		Providers: providers.Factories(providers.Env{Served: table})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if _, err := svc.PutConfig(ctx, Admin, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{ID: "self-example",
		Provider: self.Name, Zone: "example.com", Rules: []string{"example.com", ".example.com"}}}); err != nil {
		t.Fatal(err)
	}
	return svc, Token(t, svc, managed.RoleConsumer)
}
