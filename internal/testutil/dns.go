// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"testing"

	"github.com/miekg/dns"
)

// DNS serves h over UDP on 127.0.0.1 until the test ends and returns its
// address: a stand-in resolver or name server for a test.
func DNS(t testing.TB, h dns.HandlerFunc) string {
	t.Helper()
	srv := &dns.Server{Addr: "127.0.0.1:0", Net: "udp", Handler: h}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ListenAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return srv.PacketConn.LocalAddr().String()
}
