// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package self

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// reading is one read of the source the test holds until it answers.
type reading struct {
	name   string
	answer chan map[string][]string
}

// TestReloadLatestReadingWins: of overlapping readings, the one that
// started last decides, whatever order they finish in; a full reading
// decides every name but those read after it started.
func TestReloadLatestReadingWins(t *testing.T) {
	const x, y = "_acme-challenge.x.example.com", "_acme-challenge.y.example.com"
	cases := []struct {
		name string
		// starts are the readings, in the order they start ("" every name);
		// answers[i] is what reading i answers; finish is the order they finish.
		starts  []string
		answers []map[string][]string
		finish  []int
		want    map[string][]string
	}{
		{
			name:    "an older reading of a name finishing last is dropped",
			starts:  []string{x, x},
			answers: []map[string][]string{{x: {"old"}}, {x: {"new"}}},
			finish:  []int{1, 0},
			want:    map[string][]string{x: {"new"}},
		},
		{
			name:    "a newer reading that finds nothing removes the name",
			starts:  []string{x, x},
			answers: []map[string][]string{{x: {"old"}}, {}},
			finish:  []int{0, 1},
			want:    map[string][]string{},
		},
		{
			name:    "a full reading keeps the names read after it started",
			starts:  []string{"", x},
			answers: []map[string][]string{{x: {"old"}, y: {"y"}}, {x: {"new"}}},
			finish:  []int{1, 0},
			want:    map[string][]string{x: {"new"}, y: {"y"}},
		},
		{
			name:    "a reading of a name older than a full reading is dropped",
			starts:  []string{x, ""},
			answers: []map[string][]string{{x: {"old"}}, {y: {"y"}}},
			finish:  []int{1, 0},
			want:    map[string][]string{y: {"y"}},
		},
		{
			name:    "names read in upper case and with the dot are served in lower case",
			starts:  []string{""},
			answers: []map[string][]string{{"_ACME-challenge.X.example.com.": {"v"}}},
			finish:  []int{0},
			want:    map[string][]string{x: {"v"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			readings := make(chan reading)
			table := NewTable(func(string) bool { return true }, func(ctx context.Context, name string) (map[string][]string, error) {
				r := reading{name, make(chan map[string][]string)}
				readings <- r
				return <-r.answer, nil
			})
			var held []reading
			done := make(chan error, len(c.starts))
			for _, name := range c.starts {
				go func() { done <- table.Reload(context.Background(), name) }()
				held = append(held, <-readings) // started, in this order
			}
			for _, i := range c.finish {
				held[i].answer <- c.answers[i]
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{x, y} {
				got, _ := table.Delegated(name)
				if !slices.Equal(got, c.want[name]) {
					t.Errorf("%s: %q, want %q", name, got, c.want[name])
				}
			}
			if len(table.readAt) != 0 || len(table.inFlight) != 0 {
				t.Errorf("bookkeeping left once every reading finished: %v %v", table.readAt, table.inFlight)
			}
		})
	}
}

// TestDelegated: only _acme-challenge names of identifiers a config serves
// exist; a failed reading changes nothing.
func TestDelegated(t *testing.T) {
	fail := false
	table := NewTable(func(id string) bool { return id == "a.example.com" }, func(context.Context, string) (map[string][]string, error) {
		if fail {
			return nil, fmt.Errorf("database gone")
		}
		return map[string][]string{"_acme-challenge.a.example.com": {"v"}}, nil
	})
	if err := table.Reload(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := table.Reload(context.Background(), ""); err == nil {
		t.Error("a failed reading reported no error")
	}
	for _, c := range []struct {
		apex   string
		values []string
		ok     bool
	}{
		{"_acme-challenge.a.example.com", []string{"v"}, true},
		{"_acme-challenge.b.example.com", nil, false},
		{"a.example.com", nil, false},
	} {
		values, ok := table.Delegated(c.apex)
		if ok != c.ok || !slices.Equal(values, c.values) {
			t.Errorf("Delegated(%s) = %q, %v; want %q, %v", c.apex, values, ok, c.values, c.ok)
		}
	}
	if !table.Serves("_ACME-challenge.a.example.com.", "v") {
		t.Error("Serves does not read names as DNS does")
	}
}
