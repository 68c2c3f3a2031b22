package accounts

import (
	"maps"
	"math"
	"sync"

	"github.com/acmehub/acmehub/hub/store"
)

// Index is the in-memory view of every account's TXT values that the DNS
// server answers from. Writes go to the store first; the index then takes the
// resulting state. Each state carries the store's version for the account, so
// that states arriving out of order (a local write and a notification from
// another process racing) never move an account back in time.
type Index struct {
	mu       sync.RWMutex
	entries  map[string]*entry
	held     map[string]int // accounts holding presented values: how many
	gen      uint64         // counts mutations, for Replace
	accounts int            // live entries
}

type entry struct {
	values  []string // newest first; never modified once stored
	version int64
	gen     uint64
	removed bool // a tombstone: deregistered, never to be set again
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{entries: make(map[string]*entry), held: make(map[string]int)} }

// Lookup returns the values of the account owning subdomain (lower case) and
// whether that account exists. The slice must not be modified.
func (x *Index) Lookup(subdomain string) ([]string, bool) {
	x.mu.RLock()
	e := x.entries[subdomain]
	x.mu.RUnlock()
	if e == nil || e.removed {
		return nil, false
	}
	return e.values, true
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
	x.setLocked(subdomain, set)
}

func (x *Index) setLocked(subdomain string, set store.TXTSet) {
	e := x.entries[subdomain]
	if e != nil && (e.removed || e.version > set.Version) {
		return
	}
	if e == nil || e.removed {
		x.accounts++
	}
	x.gen++
	x.entries[subdomain] = &entry{values: set.Values, version: set.Version, gen: x.gen}
	if set.Held > 0 {
		x.held[subdomain] = set.Held
	} else {
		delete(x.held, subdomain)
	}
}

// Remove records that the account owning subdomain is gone for good.
func (x *Index) Remove(subdomain string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.entries[subdomain]; e != nil && !e.removed {
		x.accounts--
	}
	x.gen++
	x.entries[subdomain] = &entry{removed: true, version: math.MaxInt64, gen: x.gen}
	delete(x.held, subdomain)
}

// Snapshot is a full read of the store, to be applied with Replace.
type Snapshot struct {
	gen     uint64
	entries map[string]store.TXTSet
}

// BeginSnapshot marks the start of a full read of the store.
func (x *Index) BeginSnapshot() *Snapshot {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return &Snapshot{gen: x.gen, entries: make(map[string]store.TXTSet, len(x.entries))}
}

// Add records one account read by the snapshot.
func (s *Snapshot) Add(subdomain string, set store.TXTSet) { s.entries[subdomain] = set }

// Replace makes the index hold what the snapshot read, keeping every entry the
// index changed after the snapshot began (it is at least as new), and
// dropping accounts that the snapshot no longer found.
func (x *Index) Replace(s *Snapshot) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for sub, e := range x.entries {
		if e.gen > s.gen {
			continue // changed during the read: the index is newer or equal
		}
		if _, found := s.entries[sub]; !found {
			if !e.removed {
				x.accounts--
			}
			delete(x.entries, sub)
			delete(x.held, sub)
		}
	}
	for sub, set := range s.entries {
		x.setLocked(sub, set)
	}
}
