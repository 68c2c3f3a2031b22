// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"slices"
	"testing"
)

func TestPlanAdd(t *testing.T) {
	// Two free slots as acme-dns registers them.
	fresh := []row{{id: 1}, {id: 2}}
	tests := []struct {
		name    string
		rows    []row
		value   string
		limit   int
		want    []string // resulting values, newest first
		changes int
	}{
		{"first value fills a free slot", fresh, "A", 2, []string{"A"}, 1},
		{"second value fills the other slot",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2}}, "B", 2, []string{"B", "A"}, 1},
		{"third value overwrites the oldest",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2, value: "B", seq: 2}}, "C", 2, []string{"C", "B"}, 1},
		{"same-second acme-dns rows: oldest by rowid, nothing lost from the newer",
			[]row{{id: 1, value: "A", last: 100}, {id: 2, value: "B", last: 100}}, "C", 2, []string{"C", "B"}, 1},
		{"acme-dns rows ordered by LastUpdate",
			[]row{{id: 1, value: "A", last: 200}, {id: 2, value: "B", last: 100}}, "C", 2, []string{"C", "A"}, 1},
		{"sequence wins over LastUpdate",
			[]row{{id: 1, value: "A", seq: 2, last: 1}, {id: 2, value: "B", seq: 1, last: 9}}, "C", 2, []string{"C", "A"}, 1},
		{"a held value becomes newest, no duplicate",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2, value: "B", seq: 2}}, "A", 2, []string{"A", "B"}, 1},
		{"higher limit adds rows",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2, value: "B", seq: 2}}, "C", 3, []string{"C", "B", "A"}, 1},
		{"no rows at all", nil, "A", 2, []string{"A"}, 1},
		{"lowered limit frees the surplus",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2, value: "B", seq: 2}, {id: 3, value: "C", seq: 3}}, "D", 2,
			[]string{"D", "C"}, 2},
		{"limit one",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2}}, "B", 1, []string{"B"}, 2},
		{"held values are never evicted and do not count against the limit",
			[]row{{id: 1, value: "H1", seq: 1, expires: 900}, {id: 2, value: "H2", seq: 2, expires: 900},
				{id: 3, value: "A", seq: 3}, {id: 4, value: "B", seq: 4}}, "C", 2, []string{"C", "B", "H2", "H1"}, 1},
		{"a held value added again stays held, nothing changes",
			[]row{{id: 1, value: "H", seq: 1, expires: 900}, {id: 2}}, "H", 2, []string{"H"}, 0},
		{"an expired held value is a free slot",
			[]row{{id: 1, value: "H", seq: 1, expires: 400}, {id: 2, value: "A", seq: 2}}, "B", 2, []string{"B", "A"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := planAdd(tt.rows, tt.value, tt.limit, 500)
			if len(changes) != tt.changes {
				t.Errorf("planAdd made %d changes, want %d: %+v", len(changes), tt.changes, changes)
			}
			before := setOf(tt.rows, 500)
			after := setOf(apply(tt.rows, changes, 500), 500)
			if !slices.Equal(after.Values, tt.want) {
				t.Errorf("values = %q, want %q", after.Values, tt.want)
			}
			if len(changes) > 0 && after.Version <= before.Version {
				t.Errorf("version did not grow: %d -> %d", before.Version, after.Version)
			}
			if rows := len(apply(tt.rows, changes, 500)); rows > max(tt.limit, len(tt.rows)) {
				t.Errorf("%d rows after the write, limit %d", rows, tt.limit)
			}
		})
	}
}

func TestPlanDelete(t *testing.T) {
	rows := []row{{id: 1, value: "A", seq: 1}, {id: 2, value: "B", seq: 2}}
	tests := []struct {
		name  string
		value string
		want  []string
		grows bool
	}{
		{"deletes exactly that value", "A", []string{"B"}, true},
		{"the other one", "B", []string{"A"}, true},
		{"absent value changes nothing", "Z", []string{"B", "A"}, false},
		{"empty value changes nothing", "", []string{"B", "A"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := planDelete(rows, tt.value)
			after := setOf(apply(rows, changes, 0), 0)
			if !slices.Equal(after.Values, tt.want) {
				t.Errorf("values = %q, want %q", after.Values, tt.want)
			}
			if grew := after.Version > setOf(rows, 0).Version; grew != tt.grows {
				t.Errorf("version grew = %v, want %v", grew, tt.grows)
			}
			// A deleted value's slot is reused by the next add.
			if tt.grows {
				next := apply(rows, changes, 0)
				add := planAdd(next, "C", 2, 0)
				if len(add) != 1 || add[0].id == 0 {
					t.Errorf("add after delete = %+v, want the freed slot reused", add)
				}
			}
		})
	}
}

func TestPlanHold(t *testing.T) {
	const now, until, limit = 500, 900, 3
	tests := []struct {
		name string
		rows []row
		ok   bool
		want []string // resulting values, newest first
		held int
	}{
		{"fills a free slot", []row{{id: 1}, {id: 2}}, true, []string{"V"}, 1},
		{"never evicts a rolling value",
			[]row{{id: 1, value: "A", seq: 1}, {id: 2, value: "B", seq: 2}}, true, []string{"V", "B", "A"}, 1},
		{"never evicts a held value",
			[]row{{id: 1, value: "H1", seq: 1, expires: 800}, {id: 2, value: "H2", seq: 2, expires: 800}}, true,
			[]string{"V", "H2", "H1"}, 3},
		{"a rolling value becomes held",
			[]row{{id: 1, value: "V", seq: 1}, {id: 2, value: "B", seq: 2}}, true, []string{"V", "B"}, 1},
		{"held again: one row, still held",
			[]row{{id: 1, value: "V", seq: 1, expires: 1000}}, true, []string{"V"}, 1},
		{"reuses an expired held value's row",
			[]row{{id: 1, value: "OLD", seq: 1, expires: 100}}, true, []string{"V"}, 1},
		{"refused at the limit",
			[]row{{id: 1, value: "H1", seq: 1, expires: 800}, {id: 2, value: "H2", seq: 2, expires: 800},
				{id: 3, value: "H3", seq: 3, expires: 800}}, false, []string{"H3", "H2", "H1"}, 3},
		{"a held value is renewed even at the limit",
			[]row{{id: 1, value: "V", seq: 1, expires: 800}, {id: 2, value: "H2", seq: 2, expires: 800},
				{id: 3, value: "H3", seq: 3, expires: 800}}, true, []string{"V", "H3", "H2"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, ok := planHold(tt.rows, "V", until, limit, now)
			if ok != tt.ok {
				t.Fatalf("planHold ok = %v, want %v", ok, tt.ok)
			}
			after := apply(tt.rows, changes, now)
			set := setOf(after, now)
			if !slices.Equal(set.Values, tt.want) || set.Held != tt.held {
				t.Errorf("values = %q (%d held), want %q (%d held)", set.Values, set.Held, tt.want, tt.held)
			}
			if ok && set.Version <= setOf(tt.rows, now).Version {
				t.Error("version did not grow")
			}
			for _, r := range after {
				if r.value == "V" && r.expires < until {
					t.Errorf("V expires at %d, want at least %d", r.expires, until)
				}
			}
			// Until it expires, no rolling write evicts it.
			for i, v := range []string{"X", "Y", "Z"} {
				after = apply(after, planAdd(after, v, 2, now+int64(i)), now)
			}
			if ok && !slices.Contains(setOf(after, now).Values, "V") {
				t.Errorf("rolling writes evicted the held value: %q", setOf(after, now).Values)
			}
			if slices.Contains(setOf(after, 10_000).Values, "V") {
				t.Error("the held value is still served after it expired")
			}
		})
	}
}

func TestPlanExpire(t *testing.T) {
	rows := []row{{id: 1, value: "A", seq: 1, expires: 400}, {id: 2, value: "B", seq: 2, expires: 600}, {id: 3, value: "C", seq: 3}}
	changes := planExpire(rows, 500)
	if len(changes) != 1 || changes[0].id != 1 || changes[0].value != "" || changes[0].expires != 0 {
		t.Fatalf("planExpire = %+v, want row 1 freed", changes)
	}
	if set := setOf(apply(rows, changes, 500), 500); !slices.Equal(set.Values, []string{"C", "B"}) || set.Held != 1 {
		t.Errorf("after expiry: %+v", set)
	}
	if len(planExpire(rows, 100)) != 0 {
		t.Error("planExpire freed a value before its time")
	}
}
