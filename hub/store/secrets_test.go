// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"bytes"
	"testing"

	"github.com/acmehub/acmehub/hub/store"
)

// TestSharedSecret: the first server to ask for a secret decides it; every
// other (another handle on the database) gets the same, whatever it
// offered, and so does the first after a restart.
func TestSharedSecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		first, err := s.SharedSecret(ctx, "dns-cookie", []byte{1, 2, 3})
		if err != nil || !bytes.Equal(first, []byte{1, 2, 3}) {
			t.Fatalf("first ask: %x, %v; want the secret offered", first, err)
		}
		other, err := reopen().SharedSecret(ctx, "dns-cookie", []byte{9, 9, 9})
		if err != nil || !bytes.Equal(other, first) {
			t.Fatalf("another server: %x, %v; want %x", other, err, first)
		}
		if b, err := s.SharedSecret(ctx, "another", []byte{7}); err != nil || !bytes.Equal(b, []byte{7}) {
			t.Fatalf("a second name: %x, %v; want its own secret", b, err)
		}
	})
}
