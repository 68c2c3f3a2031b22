// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// syncer brings the index back in step with the store when it may have
// drifted: accounts other processes changed, everything after a gap in
// notifications, an account whose write failed without saying whether it
// took. It retries with backoff until each read succeeds, so a replica never
// stays stale once the database answers again.
type syncer struct {
	mu      sync.Mutex
	pending map[string]struct{}
	full    bool
	failing error     // the last failure, until a round succeeds
	since   time.Time // when failing began
	wake    chan struct{}
}

func newSyncer() *syncer {
	return &syncer{pending: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// mark asks for sub to be read again; "" asks for everything.
func (y *syncer) mark(sub string) {
	y.mu.Lock()
	if sub == "" {
		y.full = true
		clear(y.pending)
	} else if !y.full {
		y.pending[sub] = struct{}{}
	}
	y.mu.Unlock()
	select {
	case y.wake <- struct{}{}:
	default:
	}
}

// behind reports an error while reads keep failing.
func (y *syncer) behind() error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.failing != nil {
		return fmt.Errorf("accounts not in step with the database since %s: %w", y.since.Format(time.RFC3339), y.failing)
	}
	return nil
}

// Backoff bounds between failed rounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

func (y *syncer) run(ctx context.Context, s *Service) {
	backoff := minBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-y.wake:
		}
		for {
			err := y.round(ctx, s)
			if err == nil || ctx.Err() != nil {
				backoff = minBackoff
				break
			}
			s.log.Warn("reading accounts again failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// round reads what is marked; what fails stays marked.
func (y *syncer) round(ctx context.Context, s *Service) error {
	y.mu.Lock()
	full, pending := y.full, y.pending
	y.full, y.pending = false, map[string]struct{}{}
	y.mu.Unlock()

	var err error
	if full {
		if err = s.Load(ctx); err != nil {
			y.mark("")
		}
	} else {
		for sub := range pending {
			if e := s.refresh(ctx, sub); e != nil {
				err = e
				y.mark(sub)
			}
		}
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	switch {
	case err == nil && !y.full && len(y.pending) == 0:
		y.failing = nil
	case err != nil && y.failing == nil:
		y.failing, y.since = err, time.Now()
	case err != nil:
		y.failing = err
	}
	return err
}
