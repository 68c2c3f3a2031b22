// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testLimits are small enough to reach in a test.
var testLimits = TCPLimits{Connections: 12, ConnectionsPerPrefix: 4, QueriesPerConnection: 3, IdleTimeout: time.Second}

// serveTCP serves the test zone over TCP on 127.0.0.1 with testLimits.
func serveTCP(t *testing.T) (string, *Handler) {
	t.Helper()
	h, err := NewHandler(testZone, &mapSource{m: map[string][]string{}}, NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, []string{"tcp"}, h, testLimits).Addrs()[0].String(), h
}

// dialFrom opens a TCP connection to addr from the loopback address from
// (127.0.0.0/8 is all loopback: each /24 a client prefix of its own).
func dialFrom(t *testing.T, from, addr string) *dns.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &dns.Conn{Conn: c}
}

// ask sends a question on c and reads the answer.
func ask(c *dns.Conn) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion("auth.example.org.", dns.TypeSOA)
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if err := c.WriteMsg(m); err != nil {
		return nil, err
	}
	return c.ReadMsg()
}

// closedByServer reports whether the server closed c, within 7 s.
func closedByServer(c *dns.Conn) bool {
	c.SetReadDeadline(time.Now().Add(7 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || (err != nil && strings.Contains(err.Error(), "reset"))
}

// TestTCPLimits: idle connections from one prefix cannot crowd out
// another's; the total is bounded too; a connection asks a bounded number
// of questions and is closed when idle.
func TestTCPLimits(t *testing.T) {
	addr, h := serveTCP(t)

	// One prefix holds its four: a fifth from it is closed at once.
	for range testLimits.ConnectionsPerPrefix {
		if _, err := ask(dialFrom(t, "127.0.0.1", addr)); err != nil {
			t.Fatalf("a connection within the limits: %v", err)
		}
	}
	if over := dialFrom(t, "127.0.0.2", addr); !closedByServer(over) {
		t.Error("a fifth connection from 127.0.0.0/24 was not closed")
	}
	// Another prefix is served at once, while the first one's are open.
	if r, err := ask(dialFrom(t, "127.1.0.1", addr)); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("a client of another prefix: %v %v", r, err)
	}
	// The total: 12, held by three prefixes of four; a fourth prefix waits.
	for _, from := range []string{"127.1.0.2", "127.1.0.3", "127.1.0.4", "127.2.0.1", "127.2.0.2", "127.2.0.3", "127.2.0.4"} {
		if _, err := ask(dialFrom(t, from, addr)); err != nil {
			t.Fatalf("connection from %s: %v", from, err)
		}
	}
	if over := dialFrom(t, "127.3.0.1", addr); !closedByServer(over) {
		t.Error("a connection past the total was not closed")
	}
	for limit, want := range map[string]float64{"connections_per_prefix": 1, "connections": 1} {
		if got := testutil.ToFloat64(h.metrics.tcpRefuse.WithLabelValues(limit)); got != want {
			t.Errorf("acmehub_dns_tcp_refused_total{limit=%q} = %v, want %v", limit, got, want)
		}
	}
	if got := testutil.ToFloat64(h.metrics.tcpConns); got != 12 {
		t.Errorf("acmehub_dns_tcp_connections = %v, want 12", got)
	}
}

// TestTCPConnectionEnds: a connection is closed after its questions, or
// when it stays idle; its place is given back.
func TestTCPConnectionEnds(t *testing.T) {
	addr, _ := serveTCP(t)

	c := dialFrom(t, "127.0.0.1", addr)
	for i := range testLimits.QueriesPerConnection {
		if _, err := ask(c); err != nil {
			t.Fatalf("question %d: %v", i+1, err)
		}
	}
	if !closedByServer(c) {
		t.Errorf("the connection stayed open after %d questions", testLimits.QueriesPerConnection)
	}

	idle := dialFrom(t, "127.0.0.1", addr)
	if _, err := ask(idle); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !closedByServer(idle) || time.Since(start) > testLimits.IdleTimeout+time.Second {
		t.Errorf("a connection idle after its question was not closed after %v (%v)", testLimits.IdleTimeout, time.Since(start))
	}
	// One that never asks is closed when its first question is late.
	silent := dialFrom(t, "127.0.0.1", addr)
	start = time.Now()
	if !closedByServer(silent) || time.Since(start) > tcpIOTimeout+time.Second {
		t.Errorf("a silent connection was not closed after %v (%v)", tcpIOTimeout, time.Since(start))
	}
	// The places were given back: the prefix's four are free again.
	for range testLimits.ConnectionsPerPrefix {
		if _, err := ask(dialFrom(t, "127.0.0.1", addr)); err != nil {
			t.Fatalf("after the others closed: %v", err)
		}
	}
}
