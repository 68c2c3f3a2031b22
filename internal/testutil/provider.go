// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libdns/libdns"
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
	if got := held(); !SameElements(got, []string{"value one", "value two"}) {
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
