// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/acmehub/acmehub/hub/store"
)

// records is the hub's remembered records in memory, by name: what a
// cleanup looks for and what the self provider serves, without a read of
// the database. It follows the database: this process's own writes once
// they are durable, other processes' when they announce them (Reload of the
// name), and every record again now and then (Reload of all).
//
// Readings of the database are numbered in the order they start. Of
// readings that overlap, the one that started last wins, for its name or
// for every name; the changes this process made after a reading started
// are applied again on top of it, since it may have missed them.
type records struct {
	read func(ctx context.Context, name string) ([]store.HubRecord, error)

	mu     sync.RWMutex
	byName map[string][]store.HubRecord // oldest first
	seq    uint64
	floor  uint64            // readings of every name apply from here
	readAt map[string]uint64 // the reading each name comes from, while readings overlap
	// inFlight are the readings under way; own are this process's changes
	// since the oldest of them started.
	inFlight map[uint64]bool
	own      []ownChange
}

type ownChange struct {
	seq     uint64
	removed bool
	r       store.HubRecord
}

func newRecords(read func(ctx context.Context, name string) ([]store.HubRecord, error)) *records {
	return &records{read: read, byName: map[string][]store.HubRecord{}, readAt: map[string]uint64{}, inFlight: map[uint64]bool{}}
}

// at returns the records at name, oldest first.
func (x *records) at(name string) []store.HubRecord {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.byName[name])
}

// change applies a change this process made durable.
func (x *records) change(r store.HubRecord, removed bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.seq++
	x.apply(r, removed)
	if len(x.inFlight) > 0 {
		x.own = append(x.own, ownChange{x.seq, removed, r})
	}
}

func (x *records) apply(r store.HubRecord, removed bool) {
	list := slices.DeleteFunc(x.byName[r.Name], func(o store.HubRecord) bool { return o.ID == r.ID })
	if !removed {
		i, _ := slices.BinarySearchFunc(list, r, older)
		list = slices.Insert(list, i, r)
	}
	if len(list) == 0 {
		delete(x.byName, r.Name)
	} else {
		x.byName[r.Name] = list
	}
}

func older(a, b store.HubRecord) int {
	return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
}

// reload reads the records at name again, or every record when name is "".
func (x *records) reload(ctx context.Context, name string) error {
	x.mu.Lock()
	x.seq++
	seq := x.seq
	x.inFlight[seq] = true
	x.mu.Unlock()

	read, err := x.read(ctx, name)

	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.inFlight, seq)
	defer x.forget()
	if err != nil {
		return fmt.Errorf("reading the hub's records: %w", err)
	}
	if seq < x.floor || name != "" && seq < x.readAt[name] {
		return nil // a later reading applied already
	}
	fresh := map[string][]store.HubRecord{}
	for _, r := range read {
		fresh[r.Name] = append(fresh[r.Name], r)
	}
	if name != "" {
		x.replace(name, fresh[name], seq)
	} else {
		for n := range x.byName {
			if _, ok := fresh[n]; !ok && seq > x.readAt[n] {
				x.replace(n, nil, seq)
			}
		}
		for n, list := range fresh {
			if seq > x.readAt[n] {
				x.replace(n, list, seq)
			}
		}
		x.floor = seq
	}
	return nil
}

// replace sets name's records to a reading's, and this process's later
// changes at name on top.
func (x *records) replace(name string, list []store.HubRecord, seq uint64) {
	slices.SortFunc(list, older)
	if len(list) == 0 {
		delete(x.byName, name)
	} else {
		x.byName[name] = list
	}
	x.readAt[name] = seq
	for _, c := range x.own {
		if c.seq > seq && c.r.Name == name {
			x.apply(c.r, c.removed)
		}
	}
}

// forget drops the bookkeeping no reading under way can need: names read,
// and own changes made, before the oldest of them started.
func (x *records) forget() {
	oldest := x.seq + 1
	for s := range x.inFlight {
		oldest = min(oldest, s)
	}
	for n, s := range x.readAt {
		if s < oldest {
			delete(x.readAt, n)
		}
	}
	x.own = slices.DeleteFunc(x.own, func(c ownChange) bool { return c.seq < oldest })
}

// ReloadRecords reads the records at name again (every record when name is
// ""), once another process announced a change, or to catch up with
// changes whose announcement was lost.
func (s *Service) ReloadRecords(ctx context.Context, name string) error {
	return s.records.reload(ctx, name)
}

// Values returns the values of the records config keeps at name, oldest
// first, each once.
func (s *Service) Values(config, name string) []string {
	var out []string
	for _, r := range s.records.at(name) {
		if r.Config == config && !slices.Contains(out, r.Value) {
			out = append(out, r.Value)
		}
	}
	return out
}
