// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
)

// clock is a settable time for expiry tests.
type clock struct{ unix atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// holdConcurrently holds n values at sub at once and returns them.
func holdConcurrently(t *testing.T, s store.Store, sub string, until time.Time, n int) []string {
	t.Helper()
	var held []string
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		v := fmt.Sprintf("held-%02d", i)
		held = append(held, v)
		wg.Go(func() {
			if _, err := s.HoldTXT(ctx, sub, v, until); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("HoldTXT: %v", err)
	}
	return held
}

// holdLimit: 25 values held at most (n are already); renewing a held
// value (renew, pushed an hour later) is always fine.
func holdLimit(t *testing.T, s store.Store, sub string, until time.Time, n int, renew string) {
	t.Helper()
	for i := n; i < 25; i++ {
		if _, err := s.HoldTXT(ctx, sub, fmt.Sprintf("extra-%d", i), until); err != nil {
			t.Fatal(err)
		}
	}
	var limit *store.HoldLimitError
	if _, err := s.HoldTXT(ctx, sub, "one-too-many", until); !errors.As(err, &limit) || limit.Limit != 25 {
		t.Fatalf("HoldTXT past the limit err = %v, want a HoldLimitError of 25", err)
	}
	if _, err := s.HoldTXT(ctx, sub, renew, until.Add(time.Hour)); err != nil {
		t.Fatalf("renewing a held value at the limit: %v", err)
	}
	for i := n; i < 25; i++ {
		if _, err := s.DeleteTXT(ctx, sub, fmt.Sprintf("extra-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHeldValues: many values held at once on one account all stay until
// deleted, whatever rolling values come meanwhile; an undeleted one expires;
// the account's limit of held values is enforced.
func TestHeldValues(t *testing.T) {
	c := &clock{}
	c.unix.Store(1_700_000_000)
	forEachEngineWith(t, store.Options{Now: c.now, HoldLimit: 25}, func(t *testing.T, s store.Store, reopen func() store.Store) {
		a := account(1)
		if err := s.Register(ctx, a); err != nil {
			t.Fatal(err)
		}
		sub := a.Subdomain
		until := c.now().Add(time.Hour)

		const n = 20
		held := holdConcurrently(t, s, sub, until, n)
		// Rolling values keep acme-dns's window of two beside them.
		for _, v := range []string{"roll-1", "roll-2", "roll-3"} {
			mustAdd(t, s, sub, v)
		}
		// Adding a held value as a rolling one leaves it held.
		mustAdd(t, s, sub, held[0])
		set, err := s.TXT(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]string{"roll-3", "roll-2"}, held...)
		if !testutil.SameElements(set.Values, want) || set.Held != n {
			t.Fatalf("values = %q (%d held), want %q (%d held)", set.Values, set.Held, want, n)
		}

		holdLimit(t, s, sub, until, n, held[1])

		// Each delete removes exactly its value.
		for i, v := range held[2:] {
			set, err := s.DeleteTXT(ctx, sub, v)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(set.Values, v) || len(set.Values) != 2+n-1-i || set.Held != n-1-i {
				t.Fatalf("after deleting %s: %q (%d held)", v, set.Values, set.Held)
			}
		}

		// held[0] expires after an hour, held[1] (renewed) an hour later; a
		// second handle on the database sees the same.
		if got, err := s.ExpireTXT(ctx); err != nil || len(got) != 0 {
			t.Fatalf("ExpireTXT before any expiry = %v, %v", got, err)
		}
		c.advance(time.Hour)
		if set, _ := reopen().TXT(ctx, sub); slices.Contains(set.Values, held[0]) {
			t.Errorf("an expired value is still read: %q", set.Values)
		}
		got, err := s.ExpireTXT(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if set, ok := got[sub]; !ok || !testutil.SameElements(set.Values, []string{"roll-3", "roll-2", held[1]}) || set.Held != 1 {
			t.Fatalf("ExpireTXT = %+v, want %s gone and %s kept", got, held[0], held[1])
		}
		c.advance(time.Hour)
		if got, err := s.ExpireTXT(ctx); err != nil || !testutil.SameElements(got[sub].Values, []string{"roll-3", "roll-2"}) {
			t.Fatalf("second expiry = %+v, %v", got, err)
		}
		// Expired rows are free slots again: the rolling window is still two.
		mustAdd(t, s, sub, "roll-4")
		if set, _ := s.TXT(ctx, sub); !slices.Equal(set.Values, []string{"roll-4", "roll-3"}) || set.Held != 0 {
			t.Errorf("after expiry, /update rolls: %+v", set)
		}
		if _, err := s.HoldTXT(ctx, "not-registered", "V", until); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("HoldTXT on an unknown subdomain err = %v, want ErrNotFound", err)
		}
	})
}
