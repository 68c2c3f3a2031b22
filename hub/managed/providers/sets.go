// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package providers

import (
	"context"
	"slices"
	"strings"

	"github.com/libdns/libdns"
)

// Sets is a provider whose API keeps all TXT values of a name in one record
// set (Route 53, Akamai Edge DNS): ChangeSet makes the values at rr's name
// edit(the values there now), the others' values kept.
type Sets interface {
	ChangeSet(ctx context.Context, zone string, rr libdns.RR, edit func(values []string) []string) error
}

// AppendToSets adds each record's value to its name's set, once.
func AppendToSets(ctx context.Context, s Sets, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return editSets(ctx, s, zone, recs, "adding", func(values []string, v string) []string {
		if slices.Contains(values, v) {
			return values
		}
		return append(values, v)
	})
}

// DeleteFromSets removes each record's value from its name's set; the
// others stay, and a value already gone is no error.
func DeleteFromSets(ctx context.Context, s Sets, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return editSets(ctx, s, zone, recs, "removing", func(values []string, v string) []string {
		return slices.DeleteFunc(values, func(have string) bool { return have == v })
	})
}

// editSets changes each record's set with edit(values, its value), and
// returns the records done; an error says what was being done, where.
func editSets(ctx context.Context, s Sets, zone string, recs []libdns.Record, doing string, edit func([]string, string) []string) ([]libdns.Record, error) {
	for i, r := range recs {
		rr := r.RR()
		if err := s.ChangeSet(ctx, zone, rr, func(values []string) []string { return edit(values, rr.Data) }); err != nil {
			return recs[:i], Explain(doing+" a TXT value at "+strings.TrimSuffix(libdns.AbsoluteName(rr.Name, zone), "."), err)
		}
	}
	return recs, nil
}
