// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/dnssec"
)

// A signed zone answers queries with the DO bit with an RRSIG after each
// RRset, and denies existence compactly (RFC 9824, "black lies"): one NSEC
// at the name asked, whose next name is the name's immediate successor
// (\000.name), so that it covers nothing else and no zone can be walked.
// For a name that exists without the type asked (NODATA) the NSEC lists
// the types it has; for a name that does not exist it lists only RRSIG,
// NSEC and NXNAME, and the answer is NOERROR, or NXDOMAIN when the query
// sets the Compact Answers OK flag. Signatures come from the signer's
// cache: the zone's static RRsets are signed when it is loaded, an
// account's TXT set on the first answer after it changed.
//
// The names delegated to the server (the hub's provider self) are zones
// of their own, signed with the zone's keys: each apex serves the same
// keys as its DNSKEY set, and its parent publishes the DS for them under
// the apex's name (dnssec.Key.DSFor).

// typeNXNAME marks a name that does not exist in a compact denial (RFC 9824).
const typeNXNAME = 128

// ednsCO is the Compact Answers OK flag of EDNS (RFC 9824), beside DO.
const ednsCO = 0x4000

// loadSigner checks the signer against the zone and signs the zone's
// static RRsets and its DNSKEY set.
func (h *Handler) loadSigner() error {
	if h.signer == nil {
		return nil
	}
	if h.signer.Zone() != h.origin {
		return fmt.Errorf("dnssec: the keys are for %s, the zone is %s", h.signer.Zone(), h.origin)
	}
	if len(h.names[h.origin].rrs[dns.TypeDNSKEY]) > 0 {
		return fmt.Errorf("records: the zone's DNSKEY comes from its DNSSEC keys, not from records")
	}
	if _, err := h.signer.Sign(h.signer.DNSKEY()); err != nil {
		return err
	}
	for _, n := range h.names {
		for _, set := range n.rrs {
			if _, err := h.signer.Sign(set); err != nil {
				return err
			}
		}
	}
	return nil
}

// dnskey is the zone's DNSKEY set now, named owner; none when unsigned.
func (h *Handler) dnskey(owner string) []dns.RR {
	if h.signer == nil {
		return nil
	}
	set := h.signer.DNSKEY()
	for _, rr := range set {
		rr.Header().Name = owner
	}
	return set
}

// signing reports whether m answers a query for signed records.
func (h *Handler) signing(m *dns.Msg) bool {
	opt := m.IsEdns0()
	return h.signer != nil && opt != nil && opt.Do()
}

// deny adds to a signed negative answer the NSEC at name (lower case; owner
// as asked) that proves it: the types the name has (NODATA), or none
// (NXDOMAIN).
func (h *Handler) deny(m *dns.Msg, owner, name string, nodata bool) {
	if !h.signing(m) {
		return
	}
	var types []uint16
	if nodata {
		types = h.typesAt(name)
	}
	h.denyWith(m, owner, name, types, nodata)
}

// denyWith adds the NSEC at name listing types (NODATA), or proving that
// the name does not exist.
func (h *Handler) denyWith(m *dns.Msg, owner, name string, types []uint16, nodata bool) {
	types = append(types, dns.TypeRRSIG, dns.TypeNSEC)
	if !nodata {
		types = append(types, typeNXNAME)
	}
	slices.Sort(types)
	if len(m.Ns) == 0 {
		m.Ns = []dns.RR{h.negSOA}
	}
	m.Ns = append(m.Ns, &dns.NSEC{
		Hdr:        dns.RR_Header{Name: owner, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: h.negSOA.Hdr.Ttl},
		NextDomain: "\\000." + name,
		TypeBitMap: slices.Compact(types),
	})
}

// typesAt are the types of the records at name (lower case, in the zone).
func (h *Handler) typesAt(name string) []uint16 {
	var types []uint16
	if n := h.names[name]; n != nil {
		for t := range n.rrs {
			types = append(types, t)
		}
	}
	if name == h.origin && h.signer != nil {
		types = append(types, dns.TypeDNSKEY)
	}
	if sub, ok := h.accountLabel(name); ok {
		if values, found := h.src.Values(sub); found && values != "" {
			types = append(types, dns.TypeTXT)
		}
	}
	return types
}

// secure signs the answer m to a query with the DO bit (opt its OPT): an
// RRSIG after each RRset of the answer and authority sections, by the
// zone's signer or, at a delegated apex, the apex's; and the rcode of a
// compact denial. Refusals stay as they are.
func (h *Handler) secure(m *dns.Msg, opt *dns.OPT) {
	if len(m.Question) != 1 || (m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError) {
		return
	}
	signer := h.signer
	if qname := strings.ToLower(m.Question[0].Name); !h.inZone(qname) {
		apex, _ := delegationApex(qname)
		signer = h.apexSigners.get(h.signer, apex)
	}
	if m.Rcode == dns.RcodeNameError {
		if opt.Hdr.Ttl&ednsCO != 0 {
			m.IsEdns0().Hdr.Ttl |= ednsCO
		} else {
			m.Rcode = dns.RcodeSuccess
		}
	}
	var err error
	if m.Answer, err = withSignatures(signer, m.Answer); err == nil {
		m.Ns, err = withSignatures(signer, m.Ns)
	}
	if err != nil {
		h.log.Error("signing an answer", "name", m.Question[0].Name, "err", err)
		m.Rcode, m.Answer, m.Ns = dns.RcodeServerFailure, nil, nil
	}
}

// withSignatures is section with the RRSIGs signer makes of each of its
// RRsets after it, RRsets in the order they first appear.
func withSignatures(signer *dnssec.Signer, section []dns.RR) ([]dns.RR, error) {
	if len(section) == 0 {
		return section, nil
	}
	type setKey struct {
		name  string
		rtype uint16
	}
	var order []setKey
	sets := map[setKey][]dns.RR{}
	for _, rr := range section {
		k := setKey{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
		if _, seen := sets[k]; !seen {
			order = append(order, k)
		}
		sets[k] = append(sets[k], rr)
	}
	out := make([]dns.RR, 0, 2*len(section))
	for _, k := range order {
		sigs, err := signer.Sign(sets[k])
		if err != nil {
			return nil, err
		}
		out = append(append(out, sets[k]...), sigs...)
	}
	return out, nil
}

// apexSigners are the signers of the delegated apexes asked about, made
// once each: one per name the hub serves.
type apexSigners struct {
	mu sync.Mutex
	m  map[string]*dnssec.Signer
}

// get returns the signer of apex (lower case, without the trailing dot).
func (a *apexSigners) get(zone *dnssec.Signer, apex string) *dnssec.Signer {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.m[apex]; s != nil {
		return s
	}
	if a.m == nil {
		a.m = map[string]*dnssec.Signer{}
	}
	s := zone.For(apex)
	a.m[apex] = s
	return s
}
