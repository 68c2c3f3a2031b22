// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/store"
)

// TestOneServerPerSQLiteFile: a serving store locks its SQLite file; a
// second serving store is refused, naming the holder and the remedy; a
// store that does not serve (the admin commands) opens the file beside
// it; the lock ends with the store.
func TestOneServerPerSQLiteFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acme-dns.db")
	first, err := store.OpenSQLite(ctx, path, store.Options{Serving: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenSQLite(ctx, path, store.Options{Serving: true})
	if err == nil {
		t.Fatal("a second serving store opened the same SQLite file")
	}
	for _, want := range []string{path, "served by another acmehub server", fmt.Sprintf("pid %d on host", os.Getpid()), "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	admin, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("a store that does not serve, beside a server: %v", err)
	}
	if err := admin.Register(ctx, store.Account{Username: "u", PasswordHash: []byte("h"), Subdomain: "s"}); err != nil {
		t.Errorf("writing beside a server: %v", err)
	}
	admin.Close()
	first.Close()
	again, err := store.OpenSQLite(ctx, path, store.Options{Serving: true})
	if err != nil {
		t.Fatalf("serving after the first server closed: %v", err)
	}
	again.Close()
	if _, err := store.OpenSQLite(ctx, ":memory:", store.Options{Serving: true}); err != nil {
		t.Errorf("an in-memory database takes no lock: %v", err)
	}
}
