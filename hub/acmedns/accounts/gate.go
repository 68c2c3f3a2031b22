// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"context"
	"errors"
	"time"
)

// ErrBusy is a credential check or registration refused because every
// bcrypt slot stayed taken while it waited: the client should retry.
var ErrBusy = errors.New("busy")

// gate bounds the bcrypt computations running at once, so that a flood of
// wrong credentials cannot take every core from the rest of the server.
type gate struct {
	slots chan struct{}
}

func newGate(n int) *gate {
	return &gate{slots: make(chan struct{}, n)}
}

// do runs fn in a slot, waiting at most wait for one, or returns ErrBusy.
func (g *gate) do(ctx context.Context, wait time.Duration, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}
