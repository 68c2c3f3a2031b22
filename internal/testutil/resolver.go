// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Resolver is a recursive resolver on loopback that answers the CNAMEs a
// DNS team creates, which the test may change, and NXDOMAIN for the rest.
type Resolver struct {
	// Addr is its host:port (UDP).
	Addr   string
	mu     sync.Mutex
	cnames map[string]string
}

// NewResolver starts a Resolver for the test.
func NewResolver(t testing.TB) *Resolver {
	t.Helper()
	r := &Resolver{cnames: map[string]string{}}
	r.Addr = DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.RecursionAvailable = true
		r.mu.Lock()
		target, ok := r.cnames[strings.ToLower(q.Question[0].Name)]
		r.mu.Unlock()
		if ok {
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	return r
}

// Set makes name a CNAME to target.
func (r *Resolver) Set(name, target string) {
	r.mu.Lock()
	r.cnames[strings.ToLower(dns.Fqdn(name))] = dns.Fqdn(target)
	r.mu.Unlock()
}
