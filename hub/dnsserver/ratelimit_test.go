// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeClock is a rate limiter's clock, moved by the test.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testLimiter(t *testing.T, cfg RateLimit) (*rateLimiter, *fakeClock, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	l := newRateLimiter(cfg, m, nil)
	clock := &fakeClock{t: l.start}
	l.now = clock.now
	return l, clock, m
}

// verdicts judges n answers of class from addr, at the same instant.
func verdicts(l *rateLimiter, addr string, class answerClass, n int) (sent, dropped, slipped int) {
	a := netip.MustParseAddr(addr)
	for range n {
		switch l.judge(a, class) {
		case send:
			sent++
		case drop:
			dropped++
		case slip:
			slipped++
		}
	}
	return
}

func TestRateLimit(t *testing.T) {
	base := RateLimit{ResponsesPerSecond: 10, ErrorsPerSecond: 5, Window: 5 * time.Second, Slip: 2, IPv4Prefix: 24, IPv6Prefix: 56}
	t.Run("a second's answers, then every other limited one slips", func(t *testing.T) {
		l, _, _ := testLimiter(t, base)
		sent, dropped, slipped := verdicts(l, "192.0.2.1", classResponses, 30)
		if sent != 10 || dropped != 10 || slipped != 10 {
			t.Errorf("sent %d, dropped %d, slipped %d of 30; want 10, 10, 10", sent, dropped, slipped)
		}
	})
	t.Run("the classes are counted apart", func(t *testing.T) {
		l, _, _ := testLimiter(t, base)
		verdicts(l, "192.0.2.1", classErrors, 50)
		if sent, _, _ := verdicts(l, "192.0.2.1", classResponses, 10); sent != 10 {
			t.Errorf("after a flood of errors, %d of 10 answers with data sent, want 10", sent)
		}
	})
	t.Run("a /24 is one client, the next /24 another", func(t *testing.T) {
		l, _, _ := testLimiter(t, base)
		verdicts(l, "192.0.2.1", classResponses, 10)
		if sent, _, _ := verdicts(l, "192.0.2.200", classResponses, 1); sent != 0 {
			t.Error("another address of the same /24 was answered")
		}
		if sent, _, _ := verdicts(l, "192.0.3.1", classResponses, 10); sent != 10 {
			t.Errorf("the next /24: %d of 10 sent", sent)
		}
	})
	t.Run("IPv6 /56", func(t *testing.T) {
		l, _, _ := testLimiter(t, base)
		verdicts(l, "2001:db8:0:ff::1", classResponses, 10)
		if sent, _, _ := verdicts(l, "2001:db8:0:1::1", classResponses, 1); sent != 0 {
			t.Error("another address of the same /56 was answered")
		}
		if sent, _, _ := verdicts(l, "2001:db8:0:100::1", classResponses, 1); sent != 1 {
			t.Error("the next /56 was limited")
		}
	})
}

// TestRateLimitOverTime: what a client earns back, and when a flood is
// forgiven.
func TestRateLimitOverTime(t *testing.T) {
	base := RateLimit{ResponsesPerSecond: 10, ErrorsPerSecond: 5, Window: 5 * time.Second, Slip: 2, IPv4Prefix: 24, IPv6Prefix: 56}
	t.Run("the rate is earned back with time", func(t *testing.T) {
		l, clock, _ := testLimiter(t, base)
		verdicts(l, "192.0.2.1", classResponses, 10)
		clock.t = clock.t.Add(500 * time.Millisecond)
		if sent, _, _ := verdicts(l, "192.0.2.1", classResponses, 10); sent != 5 {
			t.Errorf("half a second later: %d sent, want 5", sent)
		}
	})
	t.Run("a flood is forgiven about a window after it stops", func(t *testing.T) {
		l, clock, _ := testLimiter(t, base)
		for range 100 { // 100 seconds of 100 answers a second
			clock.t = clock.t.Add(time.Second)
			verdicts(l, "192.0.2.1", classResponses, 100)
		}
		clock.t = clock.t.Add(4 * time.Second)
		if sent, _, _ := verdicts(l, "192.0.2.1", classResponses, 1); sent != 0 {
			t.Error("answered 4 s after the flood, within the 5 s window of debt")
		}
		clock.t = clock.t.Add(2 * time.Second)
		if sent, _, _ := verdicts(l, "192.0.2.1", classResponses, 1); sent != 1 {
			t.Error("not answered 6 s after the flood")
		}
	})
}

// TestRateLimitSettings: slip, exempt prefixes, log-only, and a table
// full of other clients.
func TestRateLimitSettings(t *testing.T) {
	base := RateLimit{ResponsesPerSecond: 10, ErrorsPerSecond: 5, Window: 5 * time.Second, Slip: 2, IPv4Prefix: 24, IPv6Prefix: 56}
	t.Run("slip 0 drops, slip 1 truncates every limited answer", func(t *testing.T) {
		for slipEvery, want := range map[int][3]int{0: {10, 10, 0}, 1: {10, 0, 10}} {
			cfg := base
			cfg.Slip = slipEvery
			l, _, _ := testLimiter(t, cfg)
			if sent, dropped, slipped := verdicts(l, "192.0.2.1", classResponses, 20); [3]int{sent, dropped, slipped} != want {
				t.Errorf("slip %d: sent, dropped, slipped %v, want %v", slipEvery, [3]int{sent, dropped, slipped}, want)
			}
		}
	})
	t.Run("truncated answers capped a second per prefix", func(t *testing.T) {
		cfg := base
		cfg.SlipsPerSecond = 3
		l, clock, _ := testLimiter(t, cfg)
		// 10 sent, then 90 limited: every second one would slip, 3 may.
		if sent, dropped, slipped := verdicts(l, "192.0.2.1", classResponses, 100); [3]int{sent, dropped, slipped} != [3]int{10, 87, 3} {
			t.Errorf("a flood of 100: sent, dropped, slipped %v, want [10 87 3]", [3]int{sent, dropped, slipped})
		}
		if _, _, slipped := verdicts(l, "192.0.2.99", classErrors, 100); slipped != 0 {
			t.Errorf("the same prefix's errors slipped %d past the cap its answers used up, want 0", slipped)
		}
		if _, _, slipped := verdicts(l, "198.51.100.1", classResponses, 100); slipped != 3 {
			t.Errorf("another prefix slipped %d, want its own 3", slipped)
		}
		clock.t = clock.t.Add(time.Second)
		if _, _, slipped := verdicts(l, "192.0.2.1", classResponses, 100); slipped != 3 {
			t.Errorf("a second later: slipped %d, want 3 again", slipped)
		}
	})
	t.Run("exempt prefixes and log-only", func(t *testing.T) {
		cfg := base
		cfg.Exempt = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
		l, _, _ := testLimiter(t, cfg)
		if sent, _, _ := verdicts(l, "198.51.100.7", classResponses, 100); sent != 100 {
			t.Errorf("exempt: %d of 100 sent", sent)
		}
		cfg.LogOnly = true
		l, _, m := testLimiter(t, cfg)
		if sent, _, _ := verdicts(l, "192.0.2.1", classResponses, 100); sent != 100 {
			t.Errorf("log-only: %d of 100 sent", sent)
		}
		if got := testutil.ToFloat64(m.limited[classResponses]["logged"]); got != 90 {
			t.Errorf("log-only counted %v answers past the limit, want 90", got)
		}
	})
	t.Run("more prefixes than the table holds", func(t *testing.T) {
		l, _, _ := testLimiter(t, base)
		for i := range rlShards * rlSlots * 2 {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), 1})
			l.judge(a, classResponses)
		}
		if sent, _, _ := verdicts(l, "192.0.2.1", classResponses, 12); sent != 10 {
			t.Errorf("a new client after the table filled: %d of 12 sent, want 10", sent)
		}
	})
}

// TestRateLimitAllocatesNothing: judging an answer allocates nothing, for
// a client seen before or a new one.
func TestRateLimitAllocatesNothing(t *testing.T) {
	l, _, _ := testLimiter(t, RateLimit{ResponsesPerSecond: 1e6, Window: time.Second, Slip: 2})
	a := netip.MustParseAddr("192.0.2.1")
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		l.judge(a, classResponses)
		l.judge(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), classResponses)
		i++
	}); n != 0 {
		t.Errorf("%v allocations an answer, want 0", n)
	}
}

func BenchmarkRateLimit(b *testing.B) {
	l := newRateLimiter(RateLimit{ResponsesPerSecond: 1e6, Window: time.Second, Slip: 2}, nil, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		a := netip.MustParseAddr("192.0.2.1")
		for pb.Next() {
			l.judge(a, classResponses)
		}
	})
}
