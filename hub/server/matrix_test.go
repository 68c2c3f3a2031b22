// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/config"
)

// TestAcmeDNSProtocols: every [general] protocol of acme-dns, on an IPv4 and
// an IPv6 listen address, binds what acme-dns binds and answers there, and
// nothing else.
func TestAcmeDNSProtocols(t *testing.T) {
	for _, tc := range []struct {
		protocol, listen string
		// want is what is bound: "udp" and "tcp" (an IPv4 or IPv6 listen
		// address on either, as acme-dns's "both" and "udp" take both).
		want []string
	}{
		{"both", "127.0.0.1:0", []string{"udp", "tcp"}},
		{"both", "[::1]:0", []string{"udp", "tcp"}},
		{"both4", "127.0.0.1:0", []string{"udp", "tcp"}},
		{"both6", "[::1]:0", []string{"udp", "tcp"}},
		{"udp", "127.0.0.1:0", []string{"udp"}},
		{"udp4", "127.0.0.1:0", []string{"udp"}},
		{"udp6", "[::1]:0", []string{"udp"}},
		{"tcp", "[::1]:0", []string{"tcp"}},
		{"tcp4", "127.0.0.1:0", []string{"tcp"}},
		{"tcp6", "[::1]:0", []string{"tcp"}},
	} {
		t.Run(tc.protocol+" "+tc.listen, func(t *testing.T) {
			h := startHub(t, func(c *config.Config) { c.General.Protocol, c.General.Listen = tc.protocol, tc.listen })
			var bound []string
			for _, a := range h.srv.DNSAddrs() {
				host, _, _ := net.SplitHostPort(a.String())
				if want := strings.Trim(strings.TrimSuffix(tc.listen, ":0"), "[]"); host != want {
					t.Errorf("%s bound on %s, want %s", a.Network(), a, want)
				}
				network := strings.TrimRight(a.Network(), "46")
				bound = append(bound, network)
				c := &dns.Client{Net: network, Timeout: 2 * time.Second}
				m := new(dns.Msg)
				m.SetQuestion("auth.example.org.", dns.TypeSOA)
				r, _, err := c.Exchange(m, a.String())
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Errorf("SOA over %s at %s: %v %v", network, a, r, err)
				}
			}
			slices.Sort(bound)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(bound, want) {
				t.Errorf("bound %v, want %v", bound, want)
			}
		})
	}
}

// TestAcmeDNSRecords: [general] records of every type acme-dns's users
// write are served as written, beside the zone's own.
func TestAcmeDNSRecords(t *testing.T) {
	records := []string{
		"auth.example.org. A 198.51.100.1",
		"auth.example.org. AAAA 2001:db8::1",
		"auth.example.org. NS ns1.auth.example.org.",
		"ns1.auth.example.org. A 198.51.100.2",
		"auth.example.org. MX 10 mail.example.org.",
		"auth.example.org. CAA 0 issue \"letsencrypt.org\"",
		"info.auth.example.org. TXT \"acme-dns compatible\"",
		"www.auth.example.org. CNAME auth.example.org.",
		"_sip._tcp.auth.example.org. SRV 10 5 5060 sip.example.org.",
	}
	h := startHub(t, func(c *config.Config) { c.General.Records = records })
	for _, text := range records {
		want, err := dns.NewRR(text)
		if err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		m.SetQuestion(want.Header().Name, want.Header().Rrtype)
		r, err := dns.Exchange(m, h.udp)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		found := slices.ContainsFunc(r.Answer, func(rr dns.RR) bool { return dns.IsDuplicate(rr, want) })
		if r.Rcode != dns.RcodeSuccess || !found || !r.Authoritative {
			t.Errorf("%s %s: %s AA=%v %v", want.Header().Name, dns.TypeToString[want.Header().Rrtype], dns.RcodeToString[r.Rcode], r.Authoritative, r.Answer)
		}
	}
}
