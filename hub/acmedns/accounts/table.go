// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
)

// uuidTable maps subdomains written as UUIDs (16 bytes) to entries, in one
// flat array with linear probing: 40 bytes a slot at a load of at most 80%,
// where a Go map of the same entries, whose tables grow by doubling, ends
// between 44% and 88% full. Keys are never deleted (a deregistered account
// keeps a tombstone entry; a full reload builds a new table).
type uuidTable struct {
	slots []slot
	used  []uint64 // a bit per slot
	n     int
	seed  uint64
}

type slot struct {
	key [16]byte
	e   entry
}

// maxLoad is the highest share of used slots, in percent.
const maxLoad = 80

func newUUIDTable(n int) *uuidTable {
	var b [8]byte
	rand.Read(b[:])
	t := &uuidTable{seed: binary.LittleEndian.Uint64(b[:]) | 1}
	t.alloc(max(n*100/maxLoad+1, 64))
	return t
}

func (t *uuidTable) alloc(size int) {
	t.slots = make([]slot, size)
	t.used = make([]uint64, (size+63)/64)
}

// home is k's first slot: a hash of the key scaled to the table's size.
func (t *uuidTable) home(k *[16]byte) int {
	h := (binary.LittleEndian.Uint64(k[:8]) ^ binary.LittleEndian.Uint64(k[8:]) ^ t.seed) * 0x9e3779b97f4a7c15
	hi, _ := bits.Mul64(h^h>>29, uint64(len(t.slots)))
	return int(hi)
}

func (t *uuidTable) isUsed(i int) bool { return t.used[i/64]&(1<<(i%64)) != 0 }

// find returns k's slot, or the free slot where it would go.
func (t *uuidTable) find(k *[16]byte) (int, bool) {
	for i := t.home(k); ; i++ {
		if i == len(t.slots) {
			i = 0
		}
		if !t.isUsed(i) {
			return i, false
		}
		if t.slots[i].key == *k {
			return i, true
		}
	}
}

func (t *uuidTable) get(k [16]byte) (entry, bool) {
	i, ok := t.find(&k)
	if !ok {
		return entry{}, false
	}
	return t.slots[i].e, true
}

func (t *uuidTable) put(k [16]byte, e entry) {
	i, ok := t.find(&k)
	if ok {
		t.slots[i].e = e
		return
	}
	if (t.n+1)*100 > len(t.slots)*maxLoad {
		t.grow()
		i, _ = t.find(&k)
	}
	t.slots[i] = slot{key: k, e: e}
	t.used[i/64] |= 1 << (i % 64)
	t.n++
}

func (t *uuidTable) grow() {
	old, oldUsed := t.slots, t.used
	t.alloc(2 * len(old))
	for i := range old {
		if oldUsed[i/64]&(1<<(i%64)) != 0 {
			j, _ := t.find(&old[i].key)
			t.slots[j] = old[i]
			t.used[j/64] |= 1 << (j % 64)
		}
	}
}
