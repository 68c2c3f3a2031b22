// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"crypto/rand"
	"testing"
)

// TestUUIDTable: every key put is found with its latest entry, across
// growth from a small table; absent keys are not found.
func TestUUIDTable(t *testing.T) {
	tb := newUUIDTable(0)
	keys := make([][16]byte, 5000)
	for i := range keys {
		rand.Read(keys[i][:])
		tb.put(keys[i], entry{version: int64(i)})
	}
	for i := 0; i < len(keys); i += 2 { // overwrite half
		tb.put(keys[i], entry{values: "v\n", version: int64(i) + 1})
	}
	if tb.n != len(keys) {
		t.Fatalf("n = %d, want %d", tb.n, len(keys))
	}
	if tb.n*100 > len(tb.slots)*maxLoad {
		t.Errorf("%d keys in %d slots: over %d%% full", tb.n, len(tb.slots), maxLoad)
	}
	for i, k := range keys {
		e, ok := tb.get(k)
		want := int64(i)
		if i%2 == 0 {
			want++
		}
		if !ok || e.version != want {
			t.Fatalf("key %d: %+v, %v; want version %d", i, e, ok, want)
		}
	}
	var absent [16]byte
	rand.Read(absent[:])
	if _, ok := tb.get(absent); ok {
		t.Error("an absent key was found")
	}
}

func TestUUIDKey(t *testing.T) {
	for s, ok := range map[string]bool{
		"3cdc87f8-09d8-436c-8848-e0dbe65ffbf6": true,
		"3CDC87F8-09d8-436c-8848-e0dbe65ffbf6": false, // upper case: kept as a string
		"3cdc87f8-09d8-436c-8848-e0dbe65ffbf":  false,
		"3cdc87f809d8436c8848e0dbe65ffbf6abcd": false,
		"3cdc87f8-09d8-436c-8848-e0dbe65ffbfg": false,
		"custom":                               false,
	} {
		if _, got := uuidKey(s); got != ok {
			t.Errorf("uuidKey(%q) ok = %v, want %v", s, got, ok)
		}
	}
}
