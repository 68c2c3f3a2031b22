package store

import (
	"cmp"
	"slices"
)

// row is one row of the txt table. An empty value is a free slot: acme-dns
// creates two at registration and overwrites the oldest on every update.
type row struct {
	id    int64 // rowid
	value string
	seq   int64 // acmehub's write sequence; 0 for rows acme-dns wrote
	last  int64 // LastUpdate, unix seconds, as acme-dns keeps it
}

// change is one write that a plan makes: insert when id is 0, else update.
type change struct {
	id    int64
	value string
	seq   int64
}

// older orders rows from the least to the most recently written: by write
// sequence, then by acme-dns's LastUpdate for rows written before acmehub,
// then by rowid.
func older(a, b row) int {
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	if c := cmp.Compare(a.last, b.last); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func maxSeq(rows []row) int64 {
	var m int64
	for _, r := range rows {
		m = max(m, r.seq)
	}
	return m
}

// planAdd decides the writes that add value to an account holding rows and
// keeping at most limit values. Every change carries a new, higher sequence,
// so the account's version always grows. A value already held becomes the
// newest (duplicates are never stored); otherwise the value fills the oldest
// free slot, or a new row while under the limit, or overwrites the oldest value.
func planAdd(rows []row, value string, limit int) []change {
	seq := maxSeq(rows) + 1
	sorted := slices.SortedFunc(slices.Values(rows), older)
	held := 0
	for _, r := range sorted {
		if r.value != "" {
			held++
		}
	}

	target := slices.IndexFunc(sorted, func(r row) bool { return r.value == value })
	if target < 0 {
		held++
		target = slices.IndexFunc(sorted, func(r row) bool { return r.value == "" })
	}
	var changes []change
	switch {
	case target >= 0:
		changes = append(changes, change{id: sorted[target].id, value: value, seq: seq})
	case len(sorted) < limit:
		changes = append(changes, change{value: value, seq: seq})
	default:
		target = 0
		held--
		changes = append(changes, change{id: sorted[0].id, value: value, seq: seq})
	}
	// Past the limit (it was lowered), free the oldest surplus values.
	for i := 0; held > limit && i < len(sorted); i++ {
		if i != target && sorted[i].value != "" {
			seq++
			changes = append(changes, change{id: sorted[i].id, seq: seq})
			held--
		}
	}
	return changes
}

// planDelete decides the writes that remove value: its row becomes a free slot.
func planDelete(rows []row, value string) []change {
	seq := maxSeq(rows) + 1
	var changes []change
	for _, r := range rows {
		if r.value == value && value != "" {
			changes = append(changes, change{id: r.id, value: "", seq: seq})
			seq++
		}
	}
	return changes
}

// apply returns rows after changes, inserted rows taking the ids given in order.
func apply(rows []row, changes []change, now int64) []row {
	out := slices.Clone(rows)
	for _, c := range changes {
		if c.id == 0 {
			out = append(out, row{value: c.value, seq: c.seq, last: now})
			continue
		}
		for i := range out {
			if out[i].id == c.id {
				out[i].value, out[i].seq, out[i].last = c.value, c.seq, now
			}
		}
	}
	return out
}

// setOf is the TXTSet rows describe.
func setOf(rows []row) TXTSet {
	sorted := slices.SortedFunc(slices.Values(rows), older)
	set := TXTSet{Version: maxSeq(rows)}
	for i := len(sorted) - 1; i >= 0; i-- {
		if v := sorted[i].value; v != "" && !slices.Contains(set.Values, v) {
			set.Values = append(set.Values, v)
		}
	}
	return set
}
