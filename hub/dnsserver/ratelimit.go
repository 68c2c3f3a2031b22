// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// RateLimit is response rate limiting for UDP, in the manner of BIND's
// rate-limit: each client prefix earns a number of answers a second, in
// two classes (answers that carry data; NXDOMAIN, NODATA and errors), and
// may run into debt for Window seconds of them. While it is in debt its
// answers are dropped, but every Slip-th is sent truncated and empty, so
// that a real client behind a spoofed flood retries over TCP and is served
// there. TCP, exempt prefixes and clients that return a valid server
// cookie are never limited. A zero rate sets no limit for its class.
type RateLimit struct {
	ResponsesPerSecond int
	ErrorsPerSecond    int
	// Window is how long a client's debt may reach back: a flood ends its
	// limiting at most this long after it stops.
	Window time.Duration
	// Slip: every Slip-th limited answer is sent truncated; 0 drops them
	// all, 1 truncates them all.
	Slip int
	// SlipsPerSecond caps the truncated answers one prefix is sent, as
	// BIND's all-per-second caps its answers of every kind: past it its
	// limited answers are all dropped. A truncated answer is as large as
	// its question, so without a cap a flood spoofing a victim's address
	// is reflected at half its rate, and each one costs the server a
	// write. 0: no cap.
	SlipsPerSecond int
	// IPv4Prefix and IPv6Prefix are the prefix lengths clients are counted
	// under.
	IPv4Prefix, IPv6Prefix int
	Exempt                 []netip.Prefix
	// LogOnly counts and logs what would be limited, and answers it.
	LogOnly bool
}

// On reports whether any class is limited.
func (r RateLimit) On() bool { return r.ResponsesPerSecond > 0 || r.ErrorsPerSecond > 0 }

// verdict is what becomes of an answer.
type verdict uint8

const (
	send verdict = iota
	drop
	slip // sent truncated and empty
)

// answerClass is what an answer is counted as.
type answerClass uint8

const (
	classResponses answerClass = iota // data
	classErrors                       // NXDOMAIN, NODATA, errors
)

var classNames = [...]string{"responses", "errors"}

// rateLimiter keeps an account per client prefix in a fixed table: it
// allocates nothing after it is made, whatever the number of clients. A
// flood from more prefixes than the table holds takes over the slots of
// the clients seen least recently.
type rateLimiter struct {
	cfg    RateLimit
	rate   [2]int64 // milli-answers earned a millisecond, per class: the rate
	floor  [2]int64 // the deepest debt, in milli-answers
	slips  int64    // milli-slips earned a millisecond
	seed   maphash.Seed
	start  time.Time
	now    func() time.Time
	m      *Metrics
	log    *slog.Logger
	shards [rlShards]rlShard
}

const (
	rlShards   = 64
	rlSlots    = 1024 // a shard's
	rlProbe    = 8    // slots a prefix may take in its shard
	milli      = 1000 // an answer, in milli-answers
	rlSlotMask = rlSlots - 1
)

type rlShard struct {
	mu    sync.Mutex
	slots [rlSlots]rlEntry
	_     [64]byte // keeps shards' locks on separate cache lines
}

// rlEntry is one prefix's account.
type rlEntry struct {
	key     [16]byte // the prefix, IPv4 in IPv6 form
	bits    uint8    // its length, 0 for a free slot
	limited [2]bool  // in debt, per class: logged once each time
	seen    int64    // milliseconds since start
	balance [2]int64 // milli-answers
	slips   int64    // milli-slips in hand, when they are capped
	limits  uint32   // limited answers, for Slip
}

func newRateLimiter(cfg RateLimit, m *Metrics, log *slog.Logger) *rateLimiter {
	if !cfg.On() {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.IPv4Prefix <= 0 || cfg.IPv4Prefix > 32 {
		cfg.IPv4Prefix = 24
	}
	if cfg.IPv6Prefix <= 0 || cfg.IPv6Prefix > 128 {
		cfg.IPv6Prefix = 56
	}
	if cfg.Window < time.Second {
		cfg.Window = time.Second
	}
	l := &rateLimiter{cfg: cfg, seed: maphash.MakeSeed(), start: time.Now(), now: time.Now, m: m, log: log}
	for c, rate := range []int{cfg.ResponsesPerSecond, cfg.ErrorsPerSecond} {
		l.rate[c] = int64(rate)
		l.floor[c] = -int64(rate) * cfg.Window.Milliseconds()
	}
	l.slips = int64(max(cfg.SlipsPerSecond, 0))
	return l
}

// judge counts an answer of class to addr and says what becomes of it.
// A nil limiter sends everything.
func (l *rateLimiter) judge(addr netip.Addr, class answerClass) verdict {
	v, _ := l.account(addr, class, false)
	return v
}

// judgeOwing judges an answer of class to addr as judge does when addr's
// prefix is past its limit for the class already, and reports whether it
// did: otherwise it counts nothing. In log-only mode it never judges.
func (l *rateLimiter) judgeOwing(addr netip.Addr, class answerClass) (verdict, bool) {
	if l == nil || l.cfg.LogOnly {
		return send, false
	}
	return l.account(addr, class, true)
}

// account counts an answer of class to addr, when owing is false or the
// prefix is past its limit, and says what becomes of it; counted reports
// whether it counted the answer.
func (l *rateLimiter) account(addr netip.Addr, class answerClass, owing bool) (v verdict, counted bool) {
	if l == nil || l.rate[class] == 0 {
		return send, !owing
	}
	addr = addr.Unmap()
	for _, p := range l.cfg.Exempt {
		if p.Contains(addr) {
			return send, !owing
		}
	}
	bits := l.cfg.IPv6Prefix
	if addr.Is4() {
		bits = l.cfg.IPv4Prefix
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return send, !owing // no address: nothing to count it under
	}
	k := p.Addr().As16()
	h := maphash.Comparable(l.seed, k)
	now := l.now().Sub(l.start).Milliseconds()

	s := &l.shards[h%rlShards]
	s.mu.Lock()
	var e *rlEntry
	if owing {
		if e = s.find(k, uint8(bits), int(h/rlShards)); e == nil {
			s.mu.Unlock()
			return send, false
		}
	} else {
		e = s.slot(k, uint8(bits), int(h/rlShards))
	}
	if e.bits == 0 {
		*e = rlEntry{key: k, bits: uint8(bits), seen: now}
		for c := range e.balance {
			e.balance[c] = l.rate[c] * milli
		}
		e.slips = l.slips * milli
	}
	// Earn what the time since the last answer is worth, up to a second's.
	elapsed := now - e.seen
	e.seen = now
	for c := range e.balance {
		e.balance[c] = min(e.balance[c]+elapsed*l.rate[c], l.rate[c]*milli)
	}
	e.slips = min(e.slips+elapsed*l.slips, l.slips*milli)
	if owing && e.balance[class]-milli >= 0 {
		s.mu.Unlock()
		return send, false
	}
	e.balance[class] = max(e.balance[class]-milli, l.floor[class])
	if e.balance[class] >= 0 {
		e.limited[class] = false
		s.mu.Unlock()
		return send, true
	}
	first := !e.limited[class]
	e.limited[class] = true
	v = l.limited(e)
	s.mu.Unlock()

	if first {
		l.log.Info("rate limiting DNS answers to a client prefix", "prefix", p.String(), "class", classNames[class],
			"per_second", l.rate[class], "log_only", l.cfg.LogOnly)
	}
	if l.cfg.LogOnly {
		l.m.rateLimited(class, "logged")
		return send, true
	}
	if v == slip {
		l.m.rateLimited(class, "slipped")
	} else {
		l.m.rateLimited(class, "dropped")
	}
	return v, true
}

// limited is what becomes of a limited answer to e's prefix: every
// Slip-th is slipped, while the prefix has slips in hand; the others are
// dropped. The caller holds e's shard.
func (l *rateLimiter) limited(e *rlEntry) verdict {
	e.limits++
	if l.cfg.Slip == 0 || e.limits%uint32(l.cfg.Slip) != 0 {
		return drop
	}
	if l.slips > 0 {
		if e.slips < milli {
			return drop
		}
		e.slips -= milli
	}
	return slip
}

// find is the entry of key in the shard, from slot at; nil when it has none.
func (s *rlShard) find(key [16]byte, bits uint8, at int) *rlEntry {
	for i := range rlProbe {
		if e := &s.slots[(at+i)&rlSlotMask]; e.bits == bits && e.key == key {
			return e
		}
	}
	return nil
}

// slot finds the entry of key in the shard, from slot at: its own, else a
// free one, else the one seen least recently, whose account is dropped
// (the caller initialises an entry whose bits are 0). Under a flood from
// more prefixes than the table holds, a client still owing may so start
// afresh: the price of a table that never grows.
func (s *rlShard) slot(key [16]byte, bits uint8, at int) *rlEntry {
	var oldest *rlEntry
	for i := range rlProbe {
		e := &s.slots[(at+i)&rlSlotMask]
		if e.bits == bits && e.key == key {
			return e
		}
		if oldest == nil || e.bits == 0 || (oldest.bits != 0 && e.seen < oldest.seen) {
			oldest = e
		}
	}
	oldest.bits = 0
	return oldest
}
