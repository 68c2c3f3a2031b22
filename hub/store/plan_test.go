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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := planAdd(tt.rows, tt.value, tt.limit)
			if len(changes) != tt.changes {
				t.Errorf("planAdd made %d changes, want %d: %+v", len(changes), tt.changes, changes)
			}
			before := setOf(tt.rows)
			after := setOf(apply(tt.rows, changes, 500))
			if !slices.Equal(after.Values, tt.want) {
				t.Errorf("values = %q, want %q", after.Values, tt.want)
			}
			if after.Version <= before.Version {
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
			after := setOf(apply(rows, changes, 0))
			if !slices.Equal(after.Values, tt.want) {
				t.Errorf("values = %q, want %q", after.Values, tt.want)
			}
			if grew := after.Version > setOf(rows).Version; grew != tt.grows {
				t.Errorf("version grew = %v, want %v", grew, tt.grows)
			}
			// A deleted value's slot is reused by the next add.
			if tt.grows {
				next := apply(rows, changes, 0)
				add := planAdd(next, "C", 2)
				if len(add) != 1 || add[0].id == 0 {
					t.Errorf("add after delete = %+v, want the freed slot reused", add)
				}
			}
		})
	}
}
