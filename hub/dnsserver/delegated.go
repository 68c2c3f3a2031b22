// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"strings"

	"github.com/miekg/dns"
)

// DelegatedZones are the names customers delegate to the hub by NS, each
// "_acme-challenge.<name>" the apex of a zone of its own whose only data
// are TXT values.
type DelegatedZones interface {
	// Delegated returns the TXT values at apex (lower case, no trailing dot)
	// and whether the hub answers for it.
	Delegated(apex string) (values []string, ok bool)
}

// ServeDelegatedZones answers, beside the zone, for the apexes d serves.
func (h *Handler) ServeDelegatedZones(d DelegatedZones) { h.delegations = d }

// delegationApex returns the apex a name outside the zone falls in: from
// its right-most _acme-challenge label to the end.
func delegationApex(name string) (string, bool) {
	labels := dns.SplitDomainName(name)
	for i := len(labels) - 1; i >= 0; i-- {
		if labels[i] == "_acme-challenge" {
			return strings.Join(labels[i:], "."), i < len(labels)-1
		}
	}
	return "", false
}

// answerDelegated answers q (its name lower case) at a delegated apex:
// SOA and NS at the apex, its TXT values, NODATA for other types and
// NXDOMAIN below it. Names of no delegated apex are refused.
func (h *Handler) answerDelegated(m *dns.Msg, q dns.Question, name string) *dns.Msg {
	apex, ok := delegationApex(name)
	var values []string
	if ok && h.delegations != nil {
		values, ok = h.delegations.Delegated(apex)
	}
	if !ok {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	fqApex := apex + "."
	soa := *h.negSOA
	soa.Hdr.Name = fqApex
	if name != fqApex {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{&soa}
		h.denyDelegated(m, q.Name, name, nil, false)
		return m
	}
	want := func(t uint16) bool { return q.Qtype == t || q.Qtype == dns.TypeANY }
	if want(dns.TypeSOA) {
		apexSOA := *h.soa
		apexSOA.Hdr.Name = q.Name
		m.Answer = append(m.Answer, &apexSOA)
	}
	if want(dns.TypeNS) {
		m.Answer = append(m.Answer, &dns.NS{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: soaTTL}, Ns: h.soa.Ns})
	}
	if want(dns.TypeTXT) {
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: h.ttl},
				Txt: []string{escapeTXT(v)},
			})
		}
	}
	if want(dns.TypeDNSKEY) && h.signer != nil {
		for _, rr := range h.apexSigners.get(h.signer, apex).DNSKEY() {
			rr.Header().Name = q.Name
			m.Answer = append(m.Answer, rr)
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{&soa} // NODATA
		types := []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeDNSKEY}
		if len(values) > 0 {
			types = append(types, dns.TypeTXT)
		}
		h.denyDelegated(m, q.Name, name, types, true)
	}
	return m
}

// denyDelegated proves a negative answer at a delegated apex, when signed.
func (h *Handler) denyDelegated(m *dns.Msg, owner, name string, types []uint16, nodata bool) {
	if h.signing(m) {
		h.denyWith(m, owner, name, types, nodata)
	}
}
