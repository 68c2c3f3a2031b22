// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package self is the hub's own DNS as a provider: TXT values kept in
// memory and answered by the hub's DNS server for the names customers
// delegate to it (_acme-challenge.<name> NS the hub), as acmeproxy does.
package self

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "self"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "the hub's own DNS answers the _acme-challenge names delegated to it (NS records to the hub)",
		New: func(env providers.Env, _ store.ChallengeConfig, _ []byte) (providers.Writer, error) {
			if env.Served == nil {
				return nil, errors.New("this process serves no DNS")
			}
			return Writer{Table: env.Served}, nil
		},
	})
}

// Table answers for the names delegated to the hub: the values of the
// records the hub remembers for its configs of provider self.
type Table struct {
	// Lookup returns the values at apex (lower case, without the trailing
	// dot), oldest first, and whether a config of provider self answers
	// for it.
	Lookup func(apex string) ([]string, bool)
}

// Delegated returns the values at apex and whether the hub answers for it.
func (t *Table) Delegated(apex string) ([]string, bool) {
	if !strings.HasPrefix(apex, "_acme-challenge.") {
		return nil, false
	}
	return t.Lookup(apex)
}

// Serves reports whether value is served at name.
func (t *Table) Serves(name, value string) bool {
	values, _ := t.Delegated(strings.ToLower(strings.TrimSuffix(name, ".")))
	return slices.Contains(values, value)
}

// Writer is the libdns face of the table. The hub remembers every value
// it presents as a record before a Writer writes it and forgets it
// after the provider removed it; those records are what the table serves,
// so writing and removing have nothing left to do.
type Writer struct{ Table providers.ServedValues }

// AppendRecords writes nothing: the record the hub remembered is served.
func (p Writer) AppendRecords(_ context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, nil
}

// Served reports whether the hub's DNS serves value at record: the hub is
// the only authoritative server of a delegated name.
func (p Writer) Served(_ context.Context, _, record, value string) (string, error) {
	if !p.Table.Serves(record, value) {
		return "", fmt.Errorf("the hub's DNS does not serve the value at %s", record)
	}
	return "the hub's DNS, to which the name is delegated", nil
}

// DeleteRecords removes nothing: the value goes when the hub forgets its
// last record.
func (p Writer) DeleteRecords(_ context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	return recs, nil
}
