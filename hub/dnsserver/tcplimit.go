// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// TCPLimits bound what TCP clients may hold. A CA, or the resolver it
// asks through, opens a connection for a question or two; a flood of
// connections left idle must not crowd it out. A zero field sets no limit.
type TCPLimits struct {
	// Connections open at once, from every client together.
	Connections int
	// ConnectionsPerPrefix open at once from one client prefix: an IPv4 /24,
	// an IPv6 /56.
	ConnectionsPerPrefix int
	// QueriesPerConnection answered before the server closes it.
	QueriesPerConnection int
	// IdleTimeout is how long a connection may wait for its next question;
	// a question or an answer never takes longer than tcpIOTimeout.
	IdleTimeout time.Duration
}

// tcpIOTimeout bounds reading one question and writing one answer: a slow
// client never holds a connection's reader longer.
const tcpIOTimeout = 5 * time.Second

// limitListener refuses a connection past the limits at once, closing it,
// so that the clients within them are served.
type limitListener struct {
	net.Listener
	limits TCPLimits
	m      *Metrics

	mu        sync.Mutex
	open      int
	perPrefix map[netip.Prefix]int
}

func newLimitListener(l net.Listener, limits TCPLimits, m *Metrics) *limitListener {
	return &limitListener{Listener: l, limits: limits, m: m, perPrefix: map[netip.Prefix]int{}}
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p := clientPrefix(c.RemoteAddr())
		if reason := l.admit(p); reason != "" {
			c.Close()
			l.m.tcpRefused(reason)
			continue
		}
		l.m.tcpOpen(1)
		return &limitedConn{Conn: c, release: func() { l.release(p) }}, nil
	}
}

// admit counts a connection from p in, or says which limit it is past.
func (l *limitListener) admit(p netip.Prefix) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.limits.Connections > 0 && l.open >= l.limits.Connections:
		return "connections"
	case l.limits.ConnectionsPerPrefix > 0 && l.perPrefix[p] >= l.limits.ConnectionsPerPrefix:
		return "connections_per_prefix"
	}
	l.open++
	l.perPrefix[p]++
	return ""
}

func (l *limitListener) release(p netip.Prefix) {
	l.mu.Lock()
	l.open--
	if l.perPrefix[p]--; l.perPrefix[p] <= 0 {
		delete(l.perPrefix, p)
	}
	l.mu.Unlock()
	l.m.tcpOpen(-1)
}

// limitedConn gives its place back once closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close gives the connection's place back, then closes it: a client that
// sees it closed finds the place free.
func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// clientPrefix is the prefix a client's limits count under: its IPv4 /24
// or IPv6 /56, the sizes one site is usually given.
func clientPrefix(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 56
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}
