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

// Table holds the values of every delegated name; one Table serves every
// config of provider self.
type Table struct {
	mu     sync.RWMutex
	values map[string][]string // "_acme-challenge.<identifier>" → values, oldest first
	// serves reports whether a config of provider self matches identifier:
	// its _acme-challenge name exists (as a zone apex) even without values.
	serves func(identifier string) bool
}

// NewTable makes an empty table; serves decides which names exist.
func NewTable(serves func(identifier string) bool) *Table {
	return &Table{values: map[string][]string{}, serves: serves}
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

// Add serves value at name; a value already there is not repeated.
func (t *Table) Add(name, value string) {
	name = canonical(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.values[name], value) {
		t.values[name] = append(t.values[name], value)
	}
}

// Remove stops serving value at name.
func (t *Table) Remove(name, value string) {
	name = canonical(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	v := slices.DeleteFunc(t.values[name], func(s string) bool { return s == value })
	if len(v) == 0 {
		delete(t.values, name)
	} else {
		t.values[name] = v
	}
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Serves reports whether value is served at name.
func (t *Table) Serves(name, value string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Contains(t.values[canonical(name)], value)
}

// Provider is the libdns face of the table.
type Provider struct{ Table providers.Delegations }

// AppendRecords serves the TXT records; other types are ignored.
func (p Provider) AppendRecords(_ context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	for _, r := range recs {
		if rr := r.RR(); rr.Type == "TXT" {
			p.Table.Add(libdns.AbsoluteName(rr.Name, zone), rr.Data)
		}
	}
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

// DeleteRecords stops serving the TXT records' values.
func (p Provider) DeleteRecords(_ context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	for _, r := range recs {
		if rr := r.RR(); rr.Type == "TXT" {
			p.Table.Remove(libdns.AbsoluteName(rr.Name, zone), rr.Data)
		}
	}
	return recs, nil
}
