// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package ratelimit keeps a token bucket per key: per client address for
// the acme-dns API's registrations and failed authentications, per API
// token for the hub's front doors. Buckets unused long enough to be full
// again are forgotten, and their number is bounded, so a flood of keys
// costs memory, never correctness.
package ratelimit

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxKeys bounds the buckets kept; past it they are all forgotten.
const maxKeys = 1 << 20

// Limiter allows each key a number of events a minute, in bursts of as
// many. A nil Limiter allows everything.
type Limiter struct {
	every time.Duration // one token per
	burst int
	mu    sync.Mutex
	m     map[string]*bucket
	ops   int
}

type bucket struct {
	l    *rate.Limiter
	last time.Time
}

// PerMinute allows perMinute events a minute to each key; 0 or less means
// no limit (nil).
func PerMinute(perMinute int) *Limiter {
	if perMinute <= 0 {
		return nil
	}
	return &Limiter{every: time.Minute / time.Duration(perMinute), burst: perMinute, m: map[string]*bucket{}}
}

// Allow takes a token of key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	return l.bucket(key, now).l.AllowN(now, 1)
}

// Exhausted reports whether key has no token left, taking none.
func (l *Limiter) Exhausted(key string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	return l.bucket(key, now).l.TokensAt(now) < 1
}

// RetryAfter is how long a refused key waits for its next token.
func (l *Limiter) RetryAfter() time.Duration {
	if l == nil {
		return 0
	}
	return l.every
}

// bucket returns key's bucket; l.mu is held.
func (l *Limiter) bucket(key string, now time.Time) *bucket {
	l.ops++
	if l.ops%4096 == 0 || len(l.m) >= maxKeys {
		for k, b := range l.m {
			if now.Sub(b.last) > time.Duration(l.burst)*l.every {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxKeys {
			clear(l.m)
		}
	}
	b := l.m[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.m[key] = b
	}
	b.last = now
	return b
}

// AddrKey is the key of a client address: an IPv4 address, or an IPv6 /64
// (one host's share of a network, which it could otherwise rotate through).
func AddrKey(ip netip.Addr) string {
	if ip.Is4() || !ip.IsValid() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// Seconds is d as a Retry-After value: whole seconds, at least 1.
func Seconds(d time.Duration) string {
	return strconv.Itoa(max(int((d+time.Second-1)/time.Second), 1))
}
