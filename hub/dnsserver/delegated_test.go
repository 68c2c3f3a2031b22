// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// delegationMap serves the apexes it holds.
type delegationMap map[string][]string

func (d delegationMap) Delegated(apex string) ([]string, bool) {
	v, ok := d[apex]
	return v, ok
}

func TestDelegatedNames(t *testing.T) {
	h, err := NewHandler(testZone, &mapSource{m: map[string][]string{}}, NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.ServeDelegatedZones(delegationMap{
		"_acme-challenge.www.example.com":   {valueA, valueB},
		"_acme-challenge.empty.example.com": nil,
	})
	tests := []struct {
		name   string
		qtype  uint16
		rcode  int
		answer []string // types, or TXT values
		soaIn  bool     // an SOA of the apex in the authority section
	}{
		{"_acme-challenge.www.example.com.", dns.TypeTXT, dns.RcodeSuccess, []string{valueA, valueB}, false},
		{"_ACME-Challenge.WWW.example.com.", dns.TypeTXT, dns.RcodeSuccess, []string{valueA, valueB}, false},
		{"_acme-challenge.empty.example.com.", dns.TypeTXT, dns.RcodeSuccess, nil, true},
		{"_acme-challenge.www.example.com.", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"_acme-challenge.www.example.com.", dns.TypeSOA, dns.RcodeSuccess, []string{"SOA"}, false},
		{"_acme-challenge.www.example.com.", dns.TypeNS, dns.RcodeSuccess, []string{"NS"}, false},
		{"x._acme-challenge.www.example.com.", dns.TypeTXT, dns.RcodeNameError, nil, true},
		{"_acme-challenge.other.example.com.", dns.TypeTXT, dns.RcodeRefused, nil, false},
		{"www.example.com.", dns.TypeTXT, dns.RcodeRefused, nil, false},
		{"_acme-challenge.", dns.TypeTXT, dns.RcodeRefused, nil, false},
	}
	for _, tt := range tests {
		q := new(dns.Msg)
		q.SetQuestion(tt.name, tt.qtype)
		m := h.answer(q)
		var got []string
		for _, rr := range m.Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				got = append(got, strings.Join(txt.Txt, ""))
			} else {
				got = append(got, dns.TypeToString[rr.Header().Rrtype])
			}
			if rr.Header().Name != tt.name {
				t.Errorf("%s: answer owner %s", tt.name, rr.Header().Name)
			}
		}
		soaIn := len(m.Ns) == 1 && m.Ns[0].Header().Rrtype == dns.TypeSOA && strings.EqualFold(m.Ns[0].Header().Name, "_acme-challenge."+strings.SplitN(strings.ToLower(tt.name), "_acme-challenge.", 2)[1])
		if m.Rcode != tt.rcode || !slices.Equal(got, tt.answer) || soaIn != tt.soaIn || (tt.rcode != dns.RcodeRefused) != m.Authoritative {
			t.Errorf("%s %s: rcode %s, answer %q, SOA in authority %v, AA %v; want %s, %q, %v",
				tt.name, dns.TypeToString[tt.qtype], dns.RcodeToString[m.Rcode], got, soaIn, m.Authoritative, dns.RcodeToString[tt.rcode], tt.answer, tt.soaIn)
		}
	}
}
