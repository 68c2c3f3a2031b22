// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package providertest drives a DNS provider's Writer as the hub does:
// made from its registration and credentials (NewWriter), and through
// ProviderConformance's presents and cleanups.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
)

// TestedWriter is a provider's Writer as its tests drive it: it writes
// and removes values and checks its credentials (providers.Tester).
type TestedWriter interface {
	libdns.RecordAppender
	libdns.RecordDeleter
	Test(ctx context.Context, zone string) error
}

// ProviderConformance drives p as the hub does, at _acme-challenge.www of
// zone (without the dot): its credentials check passes; two values
// presented (the first twice) are both held; cleaning up the first (twice)
// leaves the second; cleaning up the second leaves none. held reads the
// values the provider's server holds at that name.
func ProviderConformance(t *testing.T, p TestedWriter, zone string, held func() []string) {
	t.Helper()
	ctx := context.Background()
	rec := func(value string) []libdns.Record {
		return []libdns.Record{libdns.TXT{Name: "_acme-challenge.www", Text: value, TTL: time.Minute}}
	}
	if err := p.Test(ctx, zone); err != nil {
		t.Errorf("Test: %v", err)
	}
	for _, v := range []string{"value one", "value two", "value one"} {
		if _, err := p.AppendRecords(ctx, zone+".", rec(v)); err != nil {
			t.Fatalf("append %q: %v", v, err)
		}
	}
	if got := held(); !testutil.SameElements(got, []string{"value one", "value two"}) {
		t.Fatalf("the provider holds %q after two values, one of them twice", got)
	}
	for _, v := range []string{"value one", "value one"} {
		if _, err := p.DeleteRecords(ctx, zone+".", rec(v)); err != nil {
			t.Fatalf("delete %q: %v", v, err)
		}
	}
	if got := held(); !slices.Equal(got, []string{"value two"}) {
		t.Fatalf("the provider holds %q after the cleanup of value one", got)
	}
	if _, err := p.DeleteRecords(ctx, zone+".", rec("value two")); err != nil {
		t.Fatalf("delete value two: %v", err)
	}
	if got := held(); len(got) != 0 {
		t.Fatalf("the provider holds %q after every cleanup", got)
	}
}

// NewWriter makes the Writer of a config of the registered provider name
// in zone, from credentials marshalled to JSON (a string is taken as the
// JSON itself), as the hub makes it: the credentials checked against the
// provider's fields first.
func NewWriter[W providers.Writer](t testing.TB, name, zone string, credentials any) W {
	t.Helper()
	raw, ok := credentials.(string)
	if !ok {
		b, err := json.Marshal(credentials)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	factory, ok := providers.Factories(providers.Env{})[name]
	if !ok {
		t.Fatalf("no provider %s is registered", name)
	}
	w, err := factory(store.ChallengeConfig{ID: "test", Provider: name, Zone: zone}, []byte(raw))
	if err != nil {
		t.Fatalf("provider %s: %v", name, err)
	}
	typed, ok := w.(W)
	if !ok {
		t.Fatalf("provider %s makes a %T", name, w)
	}
	return typed
}

// TXTRecord is one TXT value at name (relative to the zone), as the hub
// writes it.
func TXTRecord(name, value string) []libdns.Record {
	return []libdns.Record{libdns.TXT{Name: name, Text: value, TTL: time.Minute}}
}

// CNAMEWriter is a Writer that also holds CNAMEs, as its tests drive it.
type CNAMEWriter interface {
	TestedWriter
	providers.CNAMEWriter
}

// CNAMEConformance drives w's CNAMEs as the hub's delegations do, in zone
// (without the dot): at cnameLabel a CNAME is set (twice: the second
// changes nothing), read back, kept when another target is asked for
// (ErrNameTaken, naming the target held) or removed (DeleteCNAME of
// another target), and removed (twice); at txtLabel, holding a TXT value,
// a CNAME is refused and the value stays. held reads the values the
// provider's server holds at txtLabel.
func CNAMEConformance(t *testing.T, w CNAMEWriter, zone, cnameLabel, txtLabel string, held func() []string) {
	t.Helper()
	ctx := context.Background()
	const target, other = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org", "0bd6f3ba-3c8e-4c6d-9d2f-7e0b5c3a4f11.auth.example.org"
	cname := func() string {
		t.Helper()
		got, err := w.CNAME(ctx, zone+".", cnameLabel)
		if err != nil {
			t.Fatalf("CNAME: %v", err)
		}
		return got
	}
	if got := cname(); got != "" {
		t.Fatalf("CNAME before any: %q", got)
	}
	for range 2 {
		if err := w.SetCNAME(ctx, zone+".", cnameLabel, target); err != nil {
			t.Fatalf("SetCNAME: %v", err)
		}
	}
	if got := cname(); got != target {
		t.Fatalf("CNAME = %q, want %q", got, target)
	}
	if err := w.SetCNAME(ctx, zone+".", cnameLabel, other); !errors.Is(err, providers.ErrNameTaken) || !strings.Contains(err.Error(), target) {
		t.Errorf("SetCNAME to another target: %v, want ErrNameTaken naming %s", err, target)
	}
	if err := w.DeleteCNAME(ctx, zone+".", cnameLabel, other); err != nil {
		t.Errorf("DeleteCNAME of a target not held: %v", err)
	}
	if got := cname(); got != target {
		t.Fatalf("CNAME = %q after another target's removal, want %q", got, target)
	}
	for range 2 {
		if err := w.DeleteCNAME(ctx, zone+".", cnameLabel, target); err != nil {
			t.Fatalf("DeleteCNAME: %v", err)
		}
	}
	if got := cname(); got != "" {
		t.Fatalf("CNAME = %q after its removal", got)
	}

	if _, err := w.AppendRecords(ctx, zone+".", TXTRecord(txtLabel, "a value already there")); err != nil {
		t.Fatal(err)
	}
	if err := w.SetCNAME(ctx, zone+".", txtLabel, target); !errors.Is(err, providers.ErrNameTaken) {
		t.Errorf("SetCNAME at a name holding TXT values: %v, want ErrNameTaken", err)
	}
	if got := held(); !slices.Equal(got, []string{"a value already there"}) {
		t.Errorf("the name holds %q after a refused CNAME", got)
	}
	if _, err := w.DeleteRecords(ctx, zone+".", TXTRecord(txtLabel, "a value already there")); err != nil {
		t.Fatal(err)
	}
}
