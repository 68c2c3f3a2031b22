// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"testing"
)

// TestEachLeavesNoMemoryMap: reading every account maps the SQLite file
// into memory for speed, but a connection given back to the pool must not
// keep the map: there, an I/O error on the file would crash the server
// instead of failing one request.
func TestEachLeavesNoMemoryMap(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteFile(t)
	if err := s.Register(ctx, Account{Username: "u", PasswordHash: []byte("h"), Subdomain: "s"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Each(ctx, func(string, TXTSet) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("Each: %d accounts, err %v; want 1", n, err)
	}
	// Every connection the pool holds, those Each used among them.
	for i, c := range heldConns(t, s.db, sqliteConns) {
		var mmap, cache int64
		if err := c.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
			t.Fatal(err)
		}
		if mmap != 0 || cache != -2000 {
			t.Errorf("connection %d after Each: mmap_size %d, cache_size %d; want 0 and -2000", i, mmap, cache)
		}
	}
}
