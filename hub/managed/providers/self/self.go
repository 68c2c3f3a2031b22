// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package self is the hub's own DNS as a provider: TXT values kept in
// memory and answered by the hub's DNS server for the names customers
// delegate to it (_acme-challenge.<name> NS the hub), as acmeproxy does.
package self

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "self"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "the hub's own DNS answers the _acme-challenge names delegated to it (NS records to the hub)",
		New: func(env providers.Env, _ store.ChallengeConfig, _ []byte) (managed.Provider, error) {
			if env.Delegations == nil {
				return nil, fmt.Errorf("provider %s: this process serves no DNS", Name)
			}
			return Provider{Table: env.Delegations}, nil
		},
	})
}

// Table holds the values of the hub's records at the names delegated to
// it: the records are the zone. Every process serving it follows the
// records by reading them again whenever they change (Reload), so that a
// value presented through any replica is served by all of them.
type Table struct {
	// serves reports whether a config of provider self matches identifier:
	// its _acme-challenge name exists (as a zone apex) even without values.
	serves func(identifier string) bool
	read   Source

	mu     sync.RWMutex
	values map[string][]string // "_acme-challenge.<identifier>" → values, oldest first
	// Readings are numbered in the order they start. A reading applies only
	// if no later one has been applied: to its name (readAt) or to every name
	// (floor). readAt only needs the names of readings that overlap, those
	// in flight.
	seq      uint64
	floor    uint64
	readAt   map[string]uint64
	inFlight map[uint64]bool
}

// Source reads the values the hub's records of provider self hold at name,
// or at every name when name is "": names (lower case, without the
// trailing dot) → values, oldest first.
type Source func(ctx context.Context, name string) (map[string][]string, error)

// RecordSource reads the values of the records whose config is of
// provider self (as mine tells).
func RecordSource(st store.Records, mine func(config string) bool) Source {
	return func(ctx context.Context, name string) (map[string][]string, error) {
		var (
			records []store.HubRecord
			err     error
		)
		if name == "" {
			records, err = st.Records(ctx)
		} else {
			records, err = st.RecordsAt(ctx, name)
		}
		if err != nil {
			return nil, err
		}
		values := map[string][]string{}
		for _, r := range records {
			if mine(r.Config) && !slices.Contains(values[r.Name], r.Value) {
				values[r.Name] = append(values[r.Name], r.Value)
			}
		}
		return values, nil
	}
}

// NewTable makes an empty table, filled by Reload from read; serves
// decides which names exist.
func NewTable(serves func(identifier string) bool, read Source) *Table {
	return &Table{serves: serves, read: read, values: map[string][]string{}, readAt: map[string]uint64{}, inFlight: map[uint64]bool{}}
}

// Delegated returns the values at apex (lower case, without the trailing
// dot) and whether the hub answers for it.
func (t *Table) Delegated(apex string) ([]string, bool) {
	identifier, ok := strings.CutPrefix(apex, "_acme-challenge.")
	if !ok || !t.serves(identifier) {
		return nil, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.values[apex]), true
}

// Serves reports whether value is served at name.
func (t *Table) Serves(name, value string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Contains(t.values[canonical(name)], value)
}

// Reload reads the values at name again, or every value when name is "",
// once the records changed. Of readings that overlap, the one that started
// last wins, whatever order they finish in.
func (t *Table) Reload(ctx context.Context, name string) error {
	name = canonical(name)
	t.mu.Lock()
	t.seq++
	seq := t.seq
	t.inFlight[seq] = true
	t.mu.Unlock()

	read, err := t.read(ctx, name)
	values := make(map[string][]string, len(read))
	for n, v := range read {
		values[canonical(n)] = v
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inFlight, seq)
	defer t.forget()
	if err != nil {
		return fmt.Errorf("reading the self provider's values: %w", err)
	}
	if seq < t.floor {
		return nil
	}
	if name != "" {
		if seq > t.readAt[name] {
			t.set(name, values[name])
			t.readAt[name] = seq
		}
		return nil
	}
	for n := range t.values {
		if _, ok := values[n]; !ok && seq > t.readAt[n] {
			delete(t.values, n)
		}
	}
	for n, v := range values {
		if seq > t.readAt[n] {
			t.set(n, v)
		}
	}
	t.floor = seq
	return nil
}

func (t *Table) set(name string, values []string) {
	if len(values) == 0 {
		delete(t.values, name)
	} else {
		t.values[name] = values
	}
}

// forget drops what no reading in flight can need: the names read before
// the oldest of them.
func (t *Table) forget() {
	oldest := t.seq + 1
	for s := range t.inFlight {
		oldest = min(oldest, s)
	}
	for n, s := range t.readAt {
		if s < oldest {
			delete(t.readAt, n)
		}
	}
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Provider is the libdns face of the table. The hub remembers every value
// it presents as a record before the provider writes it and forgets it
// after the provider removed it; those records are what the table serves,
// so writing and removing have nothing left to do.
type Provider struct{ Table providers.Delegations }

// AppendRecords writes nothing: the record the hub remembered is served.
func (p Provider) AppendRecords(_ context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, nil
}

// Served reports whether the hub's DNS serves value at record: the hub is
// the only authoritative server of a delegated name.
func (p Provider) Served(_ context.Context, _, record, value string) error {
	if !p.Table.Serves(record, value) {
		return fmt.Errorf("the hub's DNS does not serve the value at %s", record)
	}
	return nil
}

// DeleteRecords removes nothing: the value goes when the hub forgets its
// last record.
func (p Provider) DeleteRecords(_ context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, nil
}
