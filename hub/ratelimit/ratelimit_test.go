// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// TestLimiter: a key's burst is its events a minute; Exhausted takes no
// token; other keys keep theirs; nil limits nothing.
func TestLimiter(t *testing.T) {
	l := PerMinute(3)
	for i := range 3 {
		if l.Exhausted("a") || !l.Allow("a") {
			t.Fatalf("event %d of 3 refused", i+1)
		}
	}
	if !l.Exhausted("a") || l.Allow("a") {
		t.Error("a fourth event within the minute allowed")
	}
	if !l.Allow("b") {
		t.Error("another key refused")
	}
	if l.RetryAfter() != 20*time.Second || Seconds(l.RetryAfter()) != "20" || Seconds(time.Millisecond) != "1" {
		t.Errorf("RetryAfter %v", l.RetryAfter())
	}
	var none *Limiter
	if PerMinute(0) != nil || !none.Allow("a") || none.Exhausted("a") {
		t.Error("no limit limits")
	}
}

// TestAddrKey: an IPv6 client is its /64, an IPv4 client its address.
func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":           "192.0.2.1",
		"2001:db8:1:2:3::4":   "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::": "2001:db8:1:2::/64",
	} {
		if got := AddrKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("AddrKey(%s) = %s, want %s", in, got, want)
		}
	}
}
