// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// QueryLog writes one question in every Every as a JSON line: when, the
// client's address, the name and type asked, the answer's rcode and size
// in bytes (0 when dropped), and "limited": "dropped" or "slipped" when
// the rate limit held the answer back. A nil *QueryLog logs nothing.
type QueryLog struct {
	every  uint64
	n      atomic.Uint64
	log    *slog.Logger
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	failed bool // the last write failed
}

// NewQueryLog logs one question in every (1: all of them) to w; a write
// that fails is said in log, once until writes work again.
func NewQueryLog(w io.Writer, every int, log *slog.Logger) *QueryLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &QueryLog{w: w, every: uint64(max(every, 1)), log: log}
}

// sample reports whether the next question is logged.
func (l *QueryLog) sample() bool {
	return l != nil && l.n.Add(1)%l.every == 0
}

// write logs one question: name as asked, type, the answer's rcode and size.
func (l *QueryLog) write(at time.Time, client netip.Addr, name string, qtype uint16, rcode, size int, v verdict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], `{"time":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","client":"`...)
	b = client.AppendTo(b)
	b = append(b, `","name":`...)
	b = strconv.AppendQuote(b, name)
	b = append(b, `,"type":"`...)
	if t, ok := dns.TypeToString[qtype]; ok {
		b = append(b, t...)
	} else {
		b = append(b, "TYPE"...)
		b = strconv.AppendUint(b, uint64(qtype), 10)
	}
	b = append(b, `","rcode":"`...)
	b = append(b, dns.RcodeToString[rcode]...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	switch v {
	case drop:
		b = append(b, `,"limited":"dropped"`...)
	case slip:
		b = append(b, `,"limited":"slipped"`...)
	}
	b = append(b, "}\n"...)
	_, err := l.w.Write(b)
	if err != nil && !l.failed {
		l.log.Error("writing the DNS query log; questions are not logged until it works again", "err", err)
	}
	l.failed = err != nil
	l.buf = b
}

// record logs the question of r and its answer m, when sampled; size is
// computed only then.
func (l *QueryLog) record(at time.Time, client netip.Addr, r, m *dns.Msg, v verdict) {
	if !l.sample() || len(r.Question) == 0 {
		return
	}
	size := 0
	if v != drop {
		size = m.Len()
	}
	l.write(at, client, r.Question[0].Name, r.Question[0].Qtype, m.Rcode, size, v)
}
