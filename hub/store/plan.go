// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

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
	// expires is when a held value stops being held (unix seconds); 0 for a
	// rolling value or a free slot.
	expires int64
}

// live reports whether the row serves its value at unix time now.
func (r row) live(now int64) bool { return r.value != "" && (r.expires == 0 || r.expires > now) }

// held reports whether the row holds a value that no newer value may evict.
func (r row) held(now int64) bool { return r.expires > 0 && r.live(now) }

// change is one write that a plan makes: insert when id is 0, else update.
type change struct {
	id      int64
	value   string
	seq     int64
	expires int64
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

// planAdd decides the writes that add value as a rolling value to an account
// holding rows and keeping at most limit rolling values, at unix time now.
// Held values are left alone: they neither count against the limit nor make
// way for value, and a value already held stays held. Every change carries a
// new, higher sequence, so the account's version always grows. A rolling value
// already present becomes the newest (duplicates are never stored); otherwise
// the value fills the oldest free slot, or a new row while under the limit, or
// overwrites the oldest rolling value.
func planAdd(rows []row, value string, limit int, now int64) []change {
	seq := maxSeq(rows) + 1
	var sorted []row // every row but the held ones, oldest first
	for _, r := range slices.SortedFunc(slices.Values(rows), older) {
		if r.held(now) {
			if r.value == value {
				return nil
			}
			continue
		}
		if !r.live(now) {
			r.value = "" // an expired held value is a free slot
		}
		sorted = append(sorted, r)
	}
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

// planHold decides the writes that hold value until the unix time until, at
// unix time now, in an account holding at most limit held values. A value
// already present (rolling or held) becomes held until the later of its
// times; otherwise it fills the oldest free slot or a new row. It returns
// false, and no change, when the account already holds limit values.
func planHold(rows []row, value string, until, limit, now int64) ([]change, bool) {
	seq := maxSeq(rows) + 1
	var buf [4]row // most accounts keep two rows: sorted without an allocation
	sorted := append(buf[:0], rows...)
	slices.SortFunc(sorted, older)
	if i := slices.IndexFunc(sorted, func(r row) bool { return r.value == value && r.held(now) }); i >= 0 {
		return []change{{id: sorted[i].id, value: value, seq: seq, expires: max(until, sorted[i].expires)}}, true
	}
	held := 0
	for _, r := range sorted {
		if r.held(now) {
			held++
		}
	}
	if int64(held) >= limit {
		return nil, false
	}
	// The value itself if it rolls, else the oldest free slot, else a new row.
	i := slices.IndexFunc(sorted, func(r row) bool { return r.value == value && r.live(now) })
	if i < 0 {
		i = slices.IndexFunc(sorted, func(r row) bool { return !r.live(now) })
	}
	if i >= 0 {
		return []change{{id: sorted[i].id, value: value, seq: seq, expires: until}}, true
	}
	return []change{{value: value, seq: seq, expires: until}}, true
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

// planExpire decides the writes that free the held values expired at unix time now.
func planExpire(rows []row, now int64) []change {
	seq := maxSeq(rows) + 1
	var changes []change
	for _, r := range rows {
		if r.value != "" && !r.live(now) {
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
			out = append(out, row{value: c.value, seq: c.seq, last: now, expires: c.expires})
			continue
		}
		for i := range out {
			if out[i].id == c.id {
				out[i].value, out[i].seq, out[i].last, out[i].expires = c.value, c.seq, now, c.expires
			}
		}
	}
	return out
}

// setOf is the TXTSet rows describe at unix time now.
func setOf(rows []row, now int64) TXTSet {
	var buf [4]row // most accounts keep two rows: sorted without an allocation
	sorted := append(buf[:0], rows...)
	slices.SortFunc(sorted, older)
	set := TXTSet{Version: maxSeq(rows)}
	for i := len(sorted) - 1; i >= 0; i-- {
		r := sorted[i]
		if r.live(now) && !slices.Contains(set.Values, r.value) {
			set.Values = append(set.Values, r.value)
			if r.held(now) {
				set.Held++
			}
		}
	}
	return set
}
