// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/acmehub/acmehub/hub/store"
)

// TestDNSSECKeys: keys are kept whole, listed in order, replaced by zone,
// algorithm and tag (a key imported again after dnssec-settime), and
// removed one at a time; another handle on the database (a replica) reads
// the same keys.
func TestDNSSECKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		d := s.DNSSECKeys()
		ksk := store.DNSSECKey{Zone: "Auth.Example.org.", Algorithm: 13, Tag: 4242, Public: "ksk public",
			Private: []byte{0, 1, 2, 0xff}, KeyID: "k1", Imported: t0}
		zsk := store.DNSSECKey{Zone: "auth.example.org.", Algorithm: 13, Tag: 17, Public: "zsk public", Private: []byte("sealed"),
			KeyID: "k1", Imported: t0}
		for _, k := range []store.DNSSECKey{ksk, zsk} {
			if err := d.PutDNSSECKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		ksk.Zone = "auth.example.org."
		if got, err := reopen().DNSSECKeys().DNSSECKeys(ctx); err != nil || !reflect.DeepEqual(got, []store.DNSSECKey{zsk, ksk}) {
			t.Fatalf("keys read by another handle: %+v, %v; want the ZSK then the KSK, whole", got, err)
		}

		ksk.Public, ksk.Private, ksk.KeyID, ksk.Imported = "ksk public, new times", []byte("sealed again"), "k2", t0.Add(1)
		if err := d.PutDNSSECKey(ctx, ksk); err != nil {
			t.Fatalf("importing a key again: %v", err)
		}
		if got, err := d.DNSSECKeys(ctx); err != nil || !reflect.DeepEqual(got, []store.DNSSECKey{zsk, ksk}) {
			t.Fatalf("after importing the KSK again: %+v, %v", got, err)
		}

		if err := d.DeleteDNSSECKey(ctx, "AUTH.example.org.", 13, 17); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteDNSSECKey(ctx, "auth.example.org.", 13, 17); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing a key twice: %v, want ErrNotFound", err)
		}
		if got, err := d.DNSSECKeys(ctx); err != nil || !reflect.DeepEqual(got, []store.DNSSECKey{ksk}) {
			t.Errorf("after removing the ZSK: %+v, %v", got, err)
		}
	})
}
