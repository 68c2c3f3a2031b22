// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// DNS serves h over UDP and TCP on one port of 127.0.0.1 until the test
// ends and returns its address: a stand-in resolver or name server for a
// test.
func DNS(t testing.TB, h dns.HandlerFunc) string {
	t.Helper()
	return DNSAt(t, "127.0.0.1:0", h)
}

// DNSAt is DNS on addr (host:port; port 0 for a free one).
func DNSAt(t testing.TB, addr string, h dns.HandlerFunc) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue
		}
		for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
			started := make(chan struct{})
			srv.NotifyStartedFunc = func() { close(started) }
			go srv.ActivateAndServe()
			<-started
			t.Cleanup(func() { srv.Shutdown() })
		}
		return pc.LocalAddr().String()
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return ""
}
