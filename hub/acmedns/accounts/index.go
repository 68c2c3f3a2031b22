// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"maps"
	"math"
	"strings"
	"sync"

	"github.com/acmehub/acmehub/hub/store"
)

// Index is the in-memory view of every account's TXT values that the DNS
// server answers from. Writes go to the store first; the index then takes the
// resulting state. Each state carries the store's version for the account, so
// that states arriving out of order (a local write and a notification from
// another process racing) never move an account back in time.
//
// It holds only what DNS answers need, compactly, for a million accounts and
// more: a subdomain that is a lower-case UUID (as acme-dns makes them) is
// kept as its 16 bytes, and an account's values as one string.
type Index struct {
	mu       sync.RWMutex
	uuids    *uuidTable
	others   map[string]entry // subdomains that are not UUIDs
	held     map[string]int   // accounts holding presented values: how many
	accounts int              // live entries
	// While snapshots are read, dirty records the accounts changed
	// meanwhile: Replace keeps their state, which is at least as new.
	snapshots int
	dirty     map[string]struct{}
}

// entry is one account's state.
type entry struct {
	// values are the values, newest first, each followed by '\n' (values
	// are printable ASCII: a newline is never part of one).
	values  string
	version int64
}

// tombstone is the version of a deregistered account: no state is newer, so
// it is never set again.
const tombstone = math.MaxInt64

func (e entry) removed() bool { return e.version == tombstone }

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{uuids: newUUIDTable(0), others: map[string]entry{}, held: map[string]int{}}
}

// uuidKey parses a subdomain written as a lower-case UUID.
func uuidKey(s string) ([16]byte, bool) {
	var k [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return k, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[j] = hi<<4 | lo
		j++
	}
	return k, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (x *Index) get(sub string) (entry, bool) {
	if k, ok := uuidKey(sub); ok {
		return x.uuids.get(k)
	}
	e, found := x.others[sub]
	return e, found
}

func (x *Index) put(sub string, e entry) {
	if k, ok := uuidKey(sub); ok {
		x.uuids.put(k, e)
	} else {
		x.others[sub] = e
	}
	if x.snapshots > 0 {
		x.dirty[sub] = struct{}{}
	}
}

// Values returns the values of the account owning subdomain (lower case),
// newest first, each followed by a newline, and whether that account
// exists. It allocates nothing; subdomain is not kept.
func (x *Index) Values(subdomain string) (string, bool) {
	x.mu.RLock()
	e, found := x.get(subdomain)
	x.mu.RUnlock()
	if !found || e.removed() {
		return "", false
	}
	return e.values, true
}

// Lookup returns the values of the account owning subdomain (lower case),
// newest first, and whether that account exists.
func (x *Index) Lookup(subdomain string) ([]string, bool) {
	values, ok := x.Values(subdomain)
	if values == "" {
		return nil, ok
	}
	return strings.Split(values[:len(values)-1], "\n"), true
}

// Len is the number of accounts.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.accounts
}

// Held returns, for every account holding presented values, how many.
func (x *Index) Held() map[string]int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return maps.Clone(x.held)
}

// Set records that the account owning subdomain is in state set, unless the
// index already holds a newer state.
func (x *Index) Set(subdomain string, set store.TXTSet) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.setLocked(subdomain, entryOf(set), set.Held)
}

func entryOf(set store.TXTSet) entry {
	var b strings.Builder
	for _, v := range set.Values {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	return entry{values: b.String(), version: set.Version}
}

func (x *Index) setLocked(subdomain string, e entry, held int) {
	old, found := x.get(subdomain)
	if found && old.version > e.version { // a tombstone is newer than any state
		return
	}
	if !found {
		x.accounts++
	}
	x.put(subdomain, e)
	if held > 0 {
		x.held[subdomain] = held
	} else {
		delete(x.held, subdomain)
	}
}

// Remove records that the account owning subdomain is gone for good.
func (x *Index) Remove(subdomain string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e, found := x.get(subdomain); found && !e.removed() {
		x.accounts--
	}
	x.put(subdomain, entry{version: tombstone})
	delete(x.held, subdomain)
}

// Snapshot is a full read of the store, to be applied with Replace. It is
// built in the index's own compact form, and becomes the index.
type Snapshot struct {
	next *Index
}

// BeginSnapshot marks the start of a full read of the store, of about
// accounts accounts. End it with Replace, or Abandon.
func (x *Index) BeginSnapshot(accounts int) *Snapshot {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.snapshots == 0 {
		x.dirty = map[string]struct{}{}
	}
	x.snapshots++
	next := NewIndex()
	next.uuids = newUUIDTable(accounts) // sized once: no growth while loading
	return &Snapshot{next: next}
}

// Abandon ends a snapshot that will not be applied.
func (x *Index) Abandon(*Snapshot) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.snapshots--; x.snapshots == 0 {
		x.dirty = nil
	}
}

// Add records one account read by the snapshot.
func (s *Snapshot) Add(subdomain string, set store.TXTSet) {
	s.next.setLocked(subdomain, entryOf(set), set.Held)
}

// Replace makes the index hold what the snapshot read, keeping the state of
// every account the index changed after the snapshot began (it is at least
// as new), and dropping accounts that the snapshot no longer found.
func (x *Index) Replace(s *Snapshot) {
	x.mu.Lock()
	defer x.mu.Unlock()
	next := s.next
	for sub := range x.dirty {
		e, _ := x.get(sub)
		old, found := next.get(sub)
		if found && old.version > e.version {
			continue
		}
		if found && !old.removed() {
			next.accounts--
		}
		if !e.removed() {
			next.accounts++
		}
		next.put(sub, e)
		if n := x.held[sub]; n > 0 {
			next.held[sub] = n
		} else {
			delete(next.held, sub)
		}
	}
	x.uuids, x.others, x.held, x.accounts = next.uuids, next.others, next.held, next.accounts
	if x.snapshots--; x.snapshots == 0 {
		x.dirty = nil
	}
}
