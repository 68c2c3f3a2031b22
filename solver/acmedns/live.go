// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// plainLimit is how many values a plain acme-dns server keeps per account:
// a third /update evicts the oldest.
const plainLimit = 2

// AccountBusyError marks a Present refused because writing its value would make
// the account evict a value a CA may still have to read; cert-manager retries
// the challenge later.
type AccountBusyError struct {
	FullDomain string
	Limit      int
	// Names are the DNS names whose live values stand in the way.
	Names []string
	// Full is true when the account holds Limit live values; false when it
	// has room but its next write would overwrite a live value (acme-dns
	// overwrites its oldest row, whatever was cleaned up since).
	Full bool
}

func (e *AccountBusyError) Error() string {
	if e.Full {
		return fmt.Sprintf("account %s already holds %d live challenge values (%s); this challenge will be retried",
			e.FullDomain, e.Limit, strings.Join(e.Names, ", "))
	}
	return fmt.Sprintf("account %s would overwrite the live challenge value of %s (acme-dns replaces the oldest of its %d values); this challenge will be retried",
		e.FullDomain, strings.Join(e.Names, ", "), e.Limit)
}

// liveValues keeps, per account of a plain acme-dns server, the values this
// process presented and has not cleaned up, and the order it wrote them in,
// so that it never writes a value that would make the server evict one a CA
// has yet to read. A present that finds no free slot waits for one, up to
// wait, in the order the presents came. What it knows is this process's
// own writes: several webhook replicas each keep their own.
//
// A present whose wait runs out keeps its place in the line while
// cert-manager backs off. When a slot comes free with it first in line, it
// is nudged (cert-manager retries a Challenge at once when the object
// changes) and the slot is held for it for holdFor; a challenge that does
// not come back by then loses its place.
type liveValues struct {
	mu       sync.Mutex
	expiry   time.Duration
	wait     time.Duration
	now      func() time.Time
	accounts map[string]*plainAccount
	metrics  *liveMetrics
	// nudge tells the challenge of value and dnsName that a slot is free;
	// nil when it cannot be told: a refused present then leaves the line.
	nudge func(value, dnsName string)
}

// holdFor is how long a freed slot waits for the nudged challenge first in
// line: cert-manager's retry, a request through the aggregation layer.
const holdFor = 15 * time.Second

// awayFor is how long a refused challenge keeps its place without coming
// back: cert-manager's longest back-off.
const awayFor = 30 * time.Minute

// plainAccount is what this process knows of one acme-dns account.
type plainAccount struct {
	// mu is held across an /update, so the order of writes is known.
	mu   sync.Mutex
	live map[string]liveValue
	// window holds the last values written, oldest first: the rows acme-dns
	// keeps, the oldest of which its next /update overwrites.
	window []written
	// queue holds the presents waiting for a slot, first come first.
	queue []*waiter
	// limit is the number of values the account keeps.
	limit int
}

// waiter is a challenge waiting for a slot: in a request, whose channel is
// signalled when a slot may have come free, or away, refused and backing
// off, keeping its place.
type waiter struct {
	value, dnsName string
	wake           chan struct{}
	away           time.Time // when its wait ran out; zero while in a request
	nudged         time.Time // when it was told of a free slot
}

// recheck is how often a waiting present looks again without a signal: a
// value's expiry or acme-dns's one-second stamps free slots with time.
const recheck = time.Second

type liveValue struct {
	dnsName string
	expires time.Time
}

type written struct {
	value string
	at    time.Time
}

func newLiveValues(expiry, wait time.Duration, m *liveMetrics) *liveValues {
	return &liveValues{expiry: expiry, wait: wait, now: time.Now, accounts: map[string]*plainAccount{}, metrics: m}
}

func (l *liveValues) account(key string) *plainAccount {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[key]
	if a == nil {
		a = &plainAccount{live: map[string]liveValue{}}
		l.accounts[key] = a
	}
	return a
}

// present writes value with write unless that could evict a live value of
// the account at key, which keeps limit values. A value live already is not
// written again (a second /update of it would overwrite the other row).
// Without a free slot it waits for one (a cleanup, an expiry), behind the
// presents that came before it, until l.wait has passed or ctx ends; then
// it returns the AccountBusyError that cert-manager retries. write reports
// whether the server may have stored the value, and its error.
func (l *liveValues) present(ctx context.Context, key, fullDomain, value, dnsName string, limit int, write func() (bool, error)) error {
	a := l.account(key)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limit = limit
	me := a.find(value) // back from cert-manager's back-off: its place kept
	if me != nil {
		me.away, me.nudged = time.Time{}, time.Time{}
	}
	var (
		timer *time.Timer
		ended bool // the wait ran out, or ctx ended: one last look
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := l.now()
		for v, lv := range a.live {
			if !now.Before(lv.expires) {
				delete(a.live, v) // never cleaned up: no longer protected
			}
		}
		if lv, ok := a.live[value]; ok {
			lv.expires = now.Add(l.expiry)
			a.live[value] = lv
			a.leave(me)
			return nil
		}
		a.dropAway(now)
		busy := a.busy(fullDomain, limit)
		if busy == nil && (len(a.queue) == 0 || a.queue[0] == me) {
			a.leave(me)
			break
		}
		if ended || l.wait <= 0 {
			if me != nil && l.nudge != nil && l.wait > 0 {
				me.away = now
			} else {
				a.leave(me)
			}
			return l.refuse(fullDomain, busy)
		}
		if busy == nil {
			l.callFirst(a, now)
		}
		if me == nil {
			me = &waiter{value: value, dnsName: dnsName, wake: make(chan struct{}, 1)}
			a.queue = append(a.queue, me)
		}
		if timer == nil {
			timer = time.NewTimer(l.wait)
		}
		a.mu.Unlock()
		select {
		case <-me.wake:
		case <-time.After(recheck):
		case <-timer.C:
			ended = true
		case <-ctx.Done():
			ended = true
		}
		a.mu.Lock()
	}
	stored, err := write()
	if stored {
		// acme-dns stamps rows in whole seconds: a write in the same second
		// as another may be taken for the older one.
		a.window = append(a.window, written{value: value, at: l.now()})
		if len(a.window) > limit {
			a.window = a.window[len(a.window)-limit:]
		}
	}
	if err == nil {
		a.live[value] = liveValue{dnsName: dnsName, expires: l.now().Add(l.expiry)}
	}
	if len(a.queue) > 0 && a.busy(fullDomain, limit) == nil {
		l.callFirst(a, l.now()) // there may be room for the next one too
	}
	l.metrics.set(fullDomain, len(a.live))
	return err
}

// callFirst tells the first in line that a slot is free: a present in a
// request looks again; a challenge away is nudged, once.
func (l *liveValues) callFirst(a *plainAccount, now time.Time) {
	first := a.queue[0]
	switch {
	case first.away.IsZero():
		first.signal()
	case first.nudged.IsZero() && l.nudge != nil:
		first.nudged = now
		go l.nudge(first.value, first.dnsName)
	}
}

// dropAway takes out of the line the challenges away too long: the first,
// nudged more than holdFor ago, and any away longer than awayFor.
func (a *plainAccount) dropAway(now time.Time) {
	a.queue = slices.DeleteFunc(a.queue, func(w *waiter) bool {
		return !w.away.IsZero() && now.Sub(w.away) > awayFor
	})
	for len(a.queue) > 0 && !a.queue[0].nudged.IsZero() && now.Sub(a.queue[0].nudged) > holdFor {
		a.queue = a.queue[1:]
	}
}

// find returns the waiter of value in the line, or nil.
func (a *plainAccount) find(value string) *waiter {
	for _, w := range a.queue {
		if w.value == value {
			return w
		}
	}
	return nil
}

// refuse counts and returns a present's refusal: busy, or, when the slot
// came free only as the wait ended, that the wait ran out.
func (l *liveValues) refuse(fullDomain string, busy *AccountBusyError) error {
	l.metrics.refused(fullDomain)
	if busy == nil {
		return fmt.Errorf("account %s: waited %s for a challenge value slot behind other challenges; this challenge will be retried", fullDomain, l.wait)
	}
	return busy
}

// leave takes w out of the queue, and hands its turn to the next in line.
func (a *plainAccount) leave(w *waiter) {
	if w == nil {
		return
	}
	i := slices.Index(a.queue, w)
	if i < 0 {
		return
	}
	a.queue = slices.Delete(a.queue, i, i+1)
	if i == 0 && len(a.queue) > 0 {
		a.queue[0].signal()
	}
}

func (w *waiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default: // signalled already
	}
}

// busy returns why one more value may not be written, or nil.
func (a *plainAccount) busy(fullDomain string, limit int) *AccountBusyError {
	names := func(values []string) []string {
		var out []string
		for _, v := range values {
			if lv, ok := a.live[v]; ok && !slices.Contains(out, lv.dnsName) {
				out = append(out, lv.dnsName)
			}
		}
		slices.Sort(out)
		return out
	}
	if len(a.live) >= limit {
		var all []string
		for v := range a.live {
			all = append(all, v)
		}
		return &AccountBusyError{FullDomain: fullDomain, Limit: limit, Names: names(all), Full: true}
	}
	if len(a.window) < limit {
		return nil // a row this process never wrote is older: that one goes
	}
	// The rows the next write may overwrite: the oldest, and any written
	// within a second of it (acme-dns cannot tell them apart).
	var candidates []string
	for _, w := range a.window {
		if w.at.Unix()-a.window[0].at.Unix() <= 1 {
			candidates = append(candidates, w.value)
		}
	}
	if n := names(candidates); len(n) > 0 {
		return &AccountBusyError{FullDomain: fullDomain, Limit: limit, Names: n}
	}
	return nil
}

// release stops counting value as live for the account at key, and takes
// its challenge out of the line; the first in line is told of the slot.
func (l *liveValues) release(key, fullDomain, value string) {
	a := l.account(key)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.live, value)
	a.leave(a.find(value))
	now := l.now()
	a.dropAway(now)
	if len(a.queue) > 0 && a.busy(fullDomain, a.limit) == nil {
		l.callFirst(a, now)
	}
	l.metrics.set(fullDomain, len(a.live))
}

// liveMetrics are the solver's metrics; nil records nothing.
type liveMetrics struct {
	live *prometheus.GaugeVec
	busy *prometheus.CounterVec
}

func newLiveMetrics(reg prometheus.Registerer) *liveMetrics {
	if reg == nil {
		return nil
	}
	m := &liveMetrics{
		live: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "acmehub_webhook_live_challenge_values",
			Help: "Challenge values this webhook presented to a plain acme-dns account and has not cleaned up.",
		}, []string{"fulldomain"}),
		busy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acmehub_webhook_busy_account_refusals_total",
			Help: "Presents refused because the account already held every value it can; cert-manager retries them.",
		}, []string{"fulldomain"}),
	}
	reg.MustRegister(m.live, m.busy)
	return m
}

func (m *liveMetrics) set(fullDomain string, n int) {
	if m == nil {
		return
	}
	if n == 0 {
		m.live.DeleteLabelValues(fullDomain)
		return
	}
	m.live.WithLabelValues(fullDomain).Set(float64(n))
}

func (m *liveMetrics) refused(fullDomain string) {
	if m != nil {
		m.busy.WithLabelValues(fullDomain).Inc()
	}
}
