// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Resolver is a recursive resolver on loopback that answers the CNAMEs a
// DNS team creates, which the test may change, and NXDOMAIN for the rest.
// Zones make it answer a zone's SOA, as ACME clients look for it; Forward
// sends a zone's questions to its name server and follows CNAMEs into it,
// as a recursive resolver does.
type Resolver struct {
	// Addr is its host:port (UDP).
	Addr     string
	mu       sync.Mutex
	cnames   map[string]string
	zones    map[string]bool
	forwards map[string]string
}

// NewResolver starts a Resolver for the test.
func NewResolver(t testing.TB) *Resolver {
	t.Helper()
	return NewResolverAt(t, "127.0.0.1:0")
}

// NewResolverAt starts a Resolver on addr (UDP and TCP).
func NewResolverAt(t testing.TB, addr string) *Resolver {
	t.Helper()
	r := &Resolver{cnames: map[string]string{}, zones: map[string]bool{}, forwards: map[string]string{}}
	r.Addr = DNSAt(t, addr, func(w dns.ResponseWriter, q *dns.Msg) {
		w.WriteMsg(r.answer(q))
	})
	return r
}

// Set makes name a CNAME to target.
func (r *Resolver) Set(name, target string) {
	r.mu.Lock()
	r.cnames[strings.ToLower(dns.Fqdn(name))] = dns.Fqdn(target)
	r.mu.Unlock()
}

// Unset removes the CNAME at name: it no longer exists.
func (r *Resolver) Unset(name string) {
	r.mu.Lock()
	delete(r.cnames, strings.ToLower(dns.Fqdn(name)))
	r.mu.Unlock()
}

// Zone makes apex a zone's apex: its SOA is answered; names below it that
// are not CNAMEs do not exist.
func (r *Resolver) Zone(apex string) {
	r.mu.Lock()
	r.zones[strings.ToLower(dns.Fqdn(apex))] = true
	r.mu.Unlock()
}

// Forward sends questions for zone and the names below it to server
// (host:port, UDP).
func (r *Resolver) Forward(zone, server string) {
	r.mu.Lock()
	r.forwards[strings.ToLower(dns.Fqdn(zone))] = server
	r.mu.Unlock()
}

func (r *Resolver) answer(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.RecursionAvailable = true
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	name, qtype := strings.ToLower(q.Question[0].Name), q.Question[0].Qtype
	for hops := 0; hops < 8; hops++ {
		r.mu.Lock()
		target, isCNAME := r.cnames[name]
		apex := r.zones[name]
		server := r.forwardFor(name)
		r.mu.Unlock()
		switch {
		case isCNAME:
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target})
			if qtype == dns.TypeCNAME {
				return m
			}
			name = target
			continue
		case server != "":
			fwd := new(dns.Msg)
			fwd.SetQuestion(name, qtype)
			in, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(fwd, server)
			if err != nil {
				m.Rcode = dns.RcodeServerFailure
				return m
			}
			m.Answer = append(m.Answer, in.Answer...)
			m.Ns = in.Ns
			m.Rcode = in.Rcode
			// A CNAME the server answered is followed, wherever it leads.
			if next, ok := cnameOnly(in.Answer, qtype); ok {
				name = next
				continue
			}
		case apex && qtype == dns.TypeSOA:
			m.Answer = append(m.Answer, &dns.SOA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
				Ns: "ns." + name, Mbox: "hostmaster." + name, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60})
		case apex:
			// NODATA
		case len(m.Answer) == 0:
			m.Rcode = dns.RcodeNameError
		}
		return m
	}
	m.Rcode = dns.RcodeServerFailure
	return m
}

// cnameOnly returns where a chain of CNAMEs in answer ends when answer
// holds no record of qtype.
func cnameOnly(answer []dns.RR, qtype uint16) (string, bool) {
	target := ""
	for _, rr := range answer {
		switch c := rr.(type) {
		case *dns.CNAME:
			target = strings.ToLower(c.Target)
		default:
			if rr.Header().Rrtype == qtype {
				return "", false
			}
		}
	}
	return target, target != "" && qtype != dns.TypeCNAME
}

// forwardFor is the server of the closest forwarded zone holding name.
func (r *Resolver) forwardFor(name string) string {
	for n := name; ; {
		if s, ok := r.forwards[n]; ok {
			return s
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return ""
		}
		n = n[i+1:]
	}
}
