// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
)

// writeCancelling sends writes presents and rolling updates (one in four)
// to the accounts subs, 64 at a time, half of them cancelled at a random
// moment, and returns the presented values acknowledged, by subdomain.
func writeCancelling(s *Service, subs []string, writes int) map[string][]string {
	var (
		mu    sync.Mutex
		acked = map[string][]string{}
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 64)
	)
	for i := range writes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sub := subs[i%len(subs)]
			kind := "p"
			if i%4 == 0 {
				kind = "u"
			}
			value := fmt.Sprintf("%s%042d", kind, i)
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if rand.IntN(2) == 0 {
				time.AfterFunc(time.Duration(rand.IntN(400))*time.Microsecond, cancel)
			}
			var err error
			if kind == "u" {
				err = s.AddTXT(wctx, sub, value) // rolling values beside the held ones
			} else {
				err = s.Present(wctx, sub, value)
			}
			if err == nil && kind == "p" {
				mu.Lock()
				acked[sub] = append(acked[sub], value)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acked
}

// TestCancelledWritesLoseNothing: many concurrent writes, a share of them
// cancelled at random moments, as clients hanging up cancel their requests.
// A write is acknowledged if and only if it is in the database (read through
// a fresh handle, as after a restart), and the in-memory index equals the
// database for every account.
func TestCancelledWritesLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	// Accounts holding hundreds of values make statements long enough for
	// the driver to interrupt them when their context ends.
	st, err := store.OpenSQLite(ctx, path, store.Options{HoldLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10})
	const accounts, writes = 4, 1600
	subs := make([]string, accounts)
	for i := range subs {
		reg, err := s.Register(ctx, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = reg.Subdomain
	}

	acked := writeCancelling(s, subs, writes)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := 0
	for _, sub := range subs {
		set, err := db.TXT(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		memory, _ := s.Index().Lookup(sub)
		if !testutil.SameElements(memory, set.Values) {
			t.Errorf("account %s: memory holds %d values, the database %d", sub, len(memory), len(set.Values))
		}
		var held []string
		for _, v := range set.Values {
			if v[0] == 'p' {
				held = append(held, v)
			}
		}
		slices.Sort(held)
		slices.Sort(acked[sub])
		if !slices.Equal(held, acked[sub]) {
			t.Errorf("account %s: %d presents acknowledged, %d in the database", sub, len(acked[sub]), len(held))
		}
		total += len(acked[sub])
	}
	if total == 0 || total == writes*3/4 {
		t.Fatalf("%d of %d presents acknowledged: the cancellations did not bite", total, writes*3/4)
	}
}
