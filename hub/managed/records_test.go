// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/store"
)

// TestRecordsFollowTheDatabase: of overlapping readings the one that
// started last wins, whatever order they finish in; a full reading decides
// every name but those read after it started; this process's own changes
// made while a reading was under way survive it.
func TestRecordsFollowTheDatabase(t *testing.T) {
	const x, y = "_acme-challenge.x.example.com", "_acme-challenge.y.example.com"
	rec := func(id, name string) store.HubRecord {
		return store.HubRecord{ID: id, Name: name, Value: "v-" + id, Created: time.Unix(int64(id[0]), 0)}
	}
	// A step starts a reading of a name ("" every name), answers the
	// reading started #n-th, or adds or removes a record in this process.
	type step struct {
		kind   string
		name   string
		n      int
		answer []store.HubRecord
		r      store.HubRecord
	}
	start := func(name string) step { return step{kind: "start", name: name} }
	finish := func(n int, answer ...store.HubRecord) step { return step{kind: "finish", n: n, answer: answer} }
	add := func(r store.HubRecord) step { return step{kind: "add", r: r} }
	remove := func(r store.HubRecord) step { return step{kind: "remove", r: r} }
	a, b, c := rec("a", x), rec("b", x), rec("c", y)
	cases := []struct {
		name  string
		steps []step
		want  map[string][]string // name → record IDs
	}{
		{"an older reading of a name finishing last is dropped",
			[]step{start(x), start(x), finish(1, b), finish(0, a)}, map[string][]string{x: {"b"}}},
		{"a newer reading that finds nothing empties the name",
			[]step{add(a), start(x), finish(0)}, map[string][]string{}},
		{"a full reading keeps names read after it started",
			[]step{start(""), start(x), finish(1, b), finish(0, a, c)}, map[string][]string{x: {"b"}, y: {"c"}}},
		{"a reading of a name older than a full reading is dropped",
			[]step{start(x), start(""), finish(1, c), finish(0, a)}, map[string][]string{y: {"c"}}},
		{"an own addition survives a reading that missed it",
			[]step{start(""), add(a), finish(0, c)}, map[string][]string{x: {"a"}, y: {"c"}}},
		{"an own removal survives a reading that saw the record",
			[]step{add(a), add(b), start(x), remove(a), finish(0, b, a)}, map[string][]string{x: {"b"}}},
		{"records are kept oldest first",
			[]step{add(b), add(a)}, map[string][]string{x: {"a", "b"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type reading struct{ answer chan []store.HubRecord }
			started := make(chan reading)
			idx := newRecords(func(context.Context, string) ([]store.HubRecord, error) {
				r := reading{make(chan []store.HubRecord)}
				started <- r
				return <-r.answer, nil
			})
			var (
				readings []reading
				done     = make(chan error, 8)
			)
			for _, s := range tc.steps {
				switch s.kind {
				case "add", "remove":
					idx.change(s.r, s.kind == "remove")
				case "finish":
					readings[s.n].answer <- s.answer
					if err := <-done; err != nil {
						t.Fatal(err)
					}
				case "start":
					go func() { done <- idx.reload(context.Background(), s.name) }()
					readings = append(readings, <-started)
				}
			}
			for _, name := range []string{x, y} {
				var ids []string
				for _, r := range idx.at(name) {
					ids = append(ids, r.ID)
				}
				if !slices.Equal(ids, tc.want[name]) {
					t.Errorf("%s: %q, want %q", name, ids, tc.want[name])
				}
			}
			if len(idx.readAt) != 0 || len(idx.inFlight) != 0 || len(idx.own) != 0 {
				t.Errorf("bookkeeping left once every reading finished: %v %v %v", idx.readAt, idx.inFlight, idx.own)
			}
		})
	}
}
