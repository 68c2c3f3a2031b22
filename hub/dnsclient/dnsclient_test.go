// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsclient

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
)

// zoneResolver answers from a zone's records, as a recursive resolver would.
func zoneResolver(t *testing.T, records ...string) Resolver {
	t.Helper()
	var rrs []dns.RR
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	addr := testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, rr := range rrs {
			if strings.EqualFold(rr.Header().Name, q.Question[0].Name) && rr.Header().Rrtype == q.Question[0].Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	return Resolver{Servers: []string{addr}, Timeout: time.Second}
}

func TestNameservers(t *testing.T) {
	r := zoneResolver(t,
		"auth.example.org. NS ns1.auth.example.org.",
		"auth.example.org. NS ns2.example.net.",
		"ns1.auth.example.org. A 192.0.2.1",
		"ns2.example.net. AAAA 2001:db8::2",
		"ns2.example.net. A 198.51.100.2",
		"x.auth.example.org. TXT \"probe\"",
	)
	ctx := context.Background()
	got, err := r.Nameservers(ctx, "auth.example.org")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"192.0.2.1:53", "198.51.100.2:53", "[2001:db8::2]:53"}; !slices.Equal(got, want) {
		t.Errorf("Nameservers = %q, want %q", got, want)
	}
	if _, err := r.Nameservers(ctx, "nothing.example.org"); err == nil || !strings.Contains(err.Error(), "none found") {
		t.Errorf("Nameservers of a zone without NS = %v", err)
	}
	values, err := r.ServedTXT(ctx, r.Servers[0], "x.auth.example.org")
	if err != nil || !slices.Equal(values, []string{"probe"}) {
		t.Errorf("ServedTXT = %q, %v", values, err)
	}
}

// chainResolver answers as a recursive resolver does: the CNAME chain from
// the name asked, by the map from owner to target.
func chainResolver(t *testing.T, cnames map[string]string) Resolver {
	addr := testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		for range 12 {
			target, ok := cnames[name]
			if !ok {
				break
			}
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target})
			name = target
		}
		if name == "servfail.example.com." {
			m.Rcode = dns.RcodeServerFailure
		}
		w.WriteMsg(m)
	})
	return Resolver{Servers: []string{addr}, Timeout: time.Second}
}

func TestChain(t *testing.T) {
	r := chainResolver(t, map[string]string{
		"_acme-challenge.one.example.com.":   "x.auth.example.org.",
		"_acme-challenge.two.example.com.":   "_acme-challenge.hub.example.net.",
		"_acme-challenge.hub.example.net.":   "Y.Auth.Example.Org.",
		"_acme-challenge.loop.example.com.":  "_acme-challenge.loop2.example.com.",
		"_acme-challenge.loop2.example.com.": "_acme-challenge.loop.example.com.",
		"long0.example.com.":                 "long1.example.com.", "long1.example.com.": "long2.example.com.",
		"long2.example.com.": "long3.example.com.", "long3.example.com.": "long4.example.com.",
		"long4.example.com.": "long5.example.com.", "long5.example.com.": "long6.example.com.",
		"long6.example.com.": "long7.example.com.", "long7.example.com.": "long8.example.com.",
		"long8.example.com.": "long9.example.com.", "long9.example.com.": "long10.example.com.",
	})
	ctx := context.Background()
	tests := []struct {
		name   string
		chain  []string
		target string
		err    string
	}{
		{"_acme-challenge.one.example.com", []string{"x.auth.example.org"}, "x.auth.example.org", ""},
		{"_acme-challenge.TWO.example.com.", []string{"_acme-challenge.hub.example.net", "y.auth.example.org"}, "y.auth.example.org", ""},
		{"_acme-challenge.none.example.com", nil, "_acme-challenge.none.example.com", ""},
		{"_acme-challenge.loop.example.com", []string{"_acme-challenge.loop2.example.com"}, "", "loops at _acme-challenge.loop.example.com"},
		{"long0.example.com", []string{"long1.example.com", "long2.example.com", "long3.example.com", "long4.example.com",
			"long5.example.com", "long6.example.com", "long7.example.com", "long8.example.com"}, "", "longer than 8"},
	}
	for _, tt := range tests {
		chain, err := r.Chain(ctx, tt.name)
		if !slices.Equal(chain, tt.chain) || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Chain(%s) = %q, %v; want %q, error %q", tt.name, chain, err, tt.chain, tt.err)
		}
		target, err := r.CNAMETarget(ctx, tt.name)
		if target != tt.target || (err == nil) != (tt.err == "") {
			t.Errorf("CNAMETarget(%s) = %q, %v; want %q", tt.name, target, err, tt.target)
		}
	}
	if _, err := r.Chain(ctx, "servfail.example.com"); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("a resolver answering SERVFAIL: %v", err)
	}
	dead := Resolver{Servers: []string{"127.0.0.1:1"}, Timeout: 100 * time.Millisecond}
	if _, err := dead.CNAMETarget(ctx, "x.example.com"); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("an unreachable resolver: %v", err)
	}
}

// TestWaitServed: the wait ends when every server serves the value, and
// names the servers that still do not when it gives up.
func TestWaitServed(t *testing.T) {
	var mu sync.Mutex
	values := map[string][]string{}
	server := func() string {
		return testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Authoritative = true
			mu.Lock()
			for _, v := range values[w.LocalAddr().String()] {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{v}})
			}
			mu.Unlock()
			w.WriteMsg(m)
		})
	}
	a, b := server(), server()
	set := func(addr, v string) { mu.Lock(); values[addr] = []string{v}; mu.Unlock() }
	r := Resolver{Timeout: time.Second}
	ctx := context.Background()
	set(a, "v1")
	time.AfterFunc(300*time.Millisecond, func() { set(b, "v1") })
	if err := r.WaitServed(ctx, []string{a, b}, "example.com", "_acme-challenge.example.com", "v1"); err != nil {
		t.Fatalf("both serve the value in the end: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := r.WaitServed(short, []string{a, b}, "example.com", "_acme-challenge.example.com", "v2")
	var ns *NotServedError
	if !errors.As(err, &ns) || !slices.Equal(ns.Servers, []string{a, b}) || !strings.Contains(err.Error(), "not served by "+a+", "+b) {
		t.Errorf("neither serves v2: %v", err)
	}
}
