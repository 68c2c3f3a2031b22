// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package pgtest gives tests a fresh PostgreSQL database on the server named
// by $ACMEHUB_TEST_POSTGRES (a postgres:// URL of a role that may create
// databases); `make test` starts a throwaway server and sets it. Without it
// the test fails, unless the user opted out of PostgreSQL's tests
// ($ACMEHUB_TEST_SKIP=postgres), where it is skipped, saying so.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// Env is the environment variable holding the server's URL.
const Env = "ACMEHUB_TEST_POSTGRES"

// Database creates an empty database for t, dropped when t ends, and returns
// its URL.
func Database(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if testdeps.Skipped("postgres") {
			t.Skipf("needs PostgreSQL: opted out by $%s=%s", testdeps.SkipEnv, os.Getenv(testdeps.SkipEnv))
		}
		t.Fatalf("$%s is not set: run the test through `make test` (or `go run ./hack/testrun -- go test …`), which starts a throwaway PostgreSQL, or opt out with $%s=postgres",
			Env, testdeps.SkipEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("$%s: %v", Env, err)
	}
	buf := make([]byte, 6)
	rand.Read(buf)
	name := "acmehub_test_" + hex.EncodeToString(buf)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("creating test database %s on $%s: %v", name, Env, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
