// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/dnssec"
)

// signedHandler serves the test zone signed with a CSK.
func signedHandler(t testing.TB) (*Handler, dnssec.Key) {
	t.Helper()
	key, err := dnssec.Generate(testZone.Domain, dns.ECDSAP256SHA256, true)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := dnssec.NewSigner(testZone.Domain, []dnssec.Key{key}, dnssec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	z := testZone
	z.Signer = signer
	h, err := NewHandler(z, &mapSource{m: map[string][]string{withValues: {valueB, valueA}, noValues: nil}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, key
}

func withDO(m *dns.Msg, flags uint16) *dns.Msg {
	m.SetEdns0(1232, true)
	m.IsEdns0().Hdr.Ttl |= uint32(flags)
	return m
}

// verifySections checks that every RRset of the answer and authority
// sections is followed by an RRSIG that key verifies, and returns the
// section's records without the RRSIGs.
func verifySections(t *testing.T, key dnssec.Key, r *dns.Msg) (answer, ns []dns.RR) {
	t.Helper()
	strip := func(section []dns.RR) []dns.RR {
		sets := map[string][]dns.RR{}
		var sigs []*dns.RRSIG
		var out []dns.RR
		for _, rr := range section {
			if sig, ok := rr.(*dns.RRSIG); ok {
				sigs = append(sigs, sig)
				continue
			}
			k := strings.ToLower(rr.Header().Name) + dns.TypeToString[rr.Header().Rrtype]
			sets[k] = append(sets[k], rr)
			out = append(out, rr)
		}
		for k, set := range sets {
			i := slices.IndexFunc(sigs, func(s *dns.RRSIG) bool {
				return strings.ToLower(s.Hdr.Name)+dns.TypeToString[s.TypeCovered] == k
			})
			if i < 0 {
				t.Errorf("RRset %s has no RRSIG", k)
				continue
			}
			if err := sigs[i].Verify(key.DNSKEY, set); err != nil {
				t.Errorf("RRSIG of %s: %v", k, err)
			}
		}
		return out
	}
	return strip(r.Answer), strip(r.Ns)
}

// TestSignedAnswers: with the DO bit, every RRset comes with an RRSIG the
// zone's key verifies; the DNSKEY is at the apex; NODATA and NXDOMAIN are
// denied by one NSEC at the name asked (RFC 9824), NXDOMAIN answered
// NOERROR unless the query sets the CO flag; without DO nothing changes.
func TestSignedAnswers(t *testing.T) {
	h, key := signedHandler(t)
	account := withValues + ".auth.example.org."
	t.Run("TXT of an account, the name asked in mixed case", func(t *testing.T) {
		r := h.answer(withDO(question(strings.ToUpper(account[:10])+account[10:], dns.TypeTXT), 0))
		answer, _ := verifySections(t, key, r)
		if r.Rcode != dns.RcodeSuccess || !r.IsEdns0().Do() || !slices.Equal(sortedValues(answer), []string{valueA, valueB}) {
			t.Errorf("answer %v", r)
		}
	})
	t.Run("DNSKEY at the apex", func(t *testing.T) {
		r := h.answer(withDO(question("auth.example.org.", dns.TypeDNSKEY), 0))
		answer, _ := verifySections(t, key, r)
		if len(answer) != 1 || answer[0].(*dns.DNSKEY).PublicKey != key.DNSKEY.PublicKey {
			t.Errorf("DNSKEY answer %v", r.Answer)
		}
	})
	t.Run("a CNAME and its target", func(t *testing.T) {
		r := h.answer(withDO(question("_acme-challenge.app.auth.example.org.", dns.TypeTXT), 0))
		answer, _ := verifySections(t, key, r)
		if len(answer) != 3 {
			t.Errorf("answer %v", r.Answer)
		}
	})
	for _, tc := range []struct {
		what, qname string
		qtype       uint16
		flags       uint16
		rcode       int
		types       []uint16
	}{
		{"NODATA at an account", account, dns.TypeA, 0, dns.RcodeSuccess, []uint16{dns.TypeTXT, dns.TypeRRSIG, dns.TypeNSEC}},
		{"NODATA at an account without values", noValues + ".auth.example.org.", dns.TypeTXT, 0, dns.RcodeSuccess, []uint16{dns.TypeRRSIG, dns.TypeNSEC}},
		{"NODATA at the apex", "auth.example.org.", dns.TypeAAAA, 0, dns.RcodeSuccess,
			[]uint16{dns.TypeA, dns.TypeNS, dns.TypeSOA, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeDNSKEY}},
		{"NODATA at an empty non-terminal", "under.auth.example.org.", dns.TypeTXT, 0, dns.RcodeSuccess, []uint16{dns.TypeRRSIG, dns.TypeNSEC}},
		{"NODATA at the end of a CNAME", "www.auth.example.org.", dns.TypeAAAA, 0, dns.RcodeSuccess,
			[]uint16{dns.TypeA, dns.TypeNS, dns.TypeSOA, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeDNSKEY}},
		{"NXDOMAIN", "nosuchaccount.auth.example.org.", dns.TypeTXT, 0, dns.RcodeSuccess, []uint16{dns.TypeRRSIG, dns.TypeNSEC, typeNXNAME}},
		{"NXDOMAIN, compact answers OK", "nosuchaccount.auth.example.org.", dns.TypeTXT, ednsCO, dns.RcodeNameError, []uint16{dns.TypeRRSIG, dns.TypeNSEC, typeNXNAME}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			r := h.answer(withDO(question(tc.qname, tc.qtype), tc.flags))
			_, ns := verifySections(t, key, r)
			n := nsecOf(ns)
			if r.Rcode != tc.rcode || n == nil {
				t.Fatalf("rcode %s, authority %v", dns.RcodeToString[r.Rcode], r.Ns)
			}
			final := strings.ToLower(tc.qname)
			if tc.qname == "www.auth.example.org." {
				final = "auth.example.org."
			}
			if strings.ToLower(n.Hdr.Name) != final || n.NextDomain != "\\000."+final || !slices.Equal(n.TypeBitMap, tc.types) {
				t.Errorf("NSEC %s, want at %s with %v", n, final, tc.types)
			}
			if co := r.IsEdns0().Hdr.Ttl&ednsCO != 0; co != (tc.flags&ednsCO != 0) {
				t.Errorf("CO flag in the answer: %v", co)
			}
			if !slices.ContainsFunc(ns, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeSOA }) {
				t.Error("no SOA in the authority section")
			}
		})
	}
}

// TestUnsignedWithoutDO: a signed zone answers queries without DO as an
// unsigned one does: no RRSIG, no NSEC, NXDOMAIN.
func TestUnsignedWithoutDO(t *testing.T) {
	h, _ := signedHandler(t)
	account := withValues + ".auth.example.org."
	for _, q := range []*dns.Msg{question(account, dns.TypeTXT), question("nosuchaccount.auth.example.org.", dns.TypeTXT)} {
		q.SetEdns0(1232, false)
		r := h.answer(q)
		if slices.ContainsFunc(append(r.Answer, r.Ns...), func(rr dns.RR) bool {
			return rr.Header().Rrtype == dns.TypeRRSIG || rr.Header().Rrtype == dns.TypeNSEC
		}) || r.IsEdns0().Do() {
			t.Errorf("an answer without DO carries DNSSEC records: %v", r)
		}
	}
	if r := h.answer(question("nosuchaccount.auth.example.org.", dns.TypeTXT)); r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN without DO answered %s", dns.RcodeToString[r.Rcode])
	}
}

func nsecOf(ns []dns.RR) *dns.NSEC {
	for _, rr := range ns {
		if n, ok := rr.(*dns.NSEC); ok {
			return n
		}
	}
	return nil
}

func sortedValues(rrs []dns.RR) []string {
	v := txtValues(rrs)
	slices.Sort(v)
	return v
}

// TestSignedZoneRefuses: keys of another zone, and a DNSKEY among the
// static records.
func TestSignedZoneRefuses(t *testing.T) {
	other, _ := dnssec.Generate("example.net", dns.ECDSAP256SHA256, true)
	signer, _ := dnssec.NewSigner("example.net", []dnssec.Key{other}, dnssec.Options{})
	z := testZone
	z.Signer = signer
	if _, err := NewHandler(z, &mapSource{}, nil, nil); err == nil || !strings.Contains(err.Error(), "the keys are for example.net.") {
		t.Errorf("keys of another zone: %v", err)
	}
	mine, _ := dnssec.Generate(testZone.Domain, dns.ECDSAP256SHA256, true)
	z.Signer, _ = dnssec.NewSigner(testZone.Domain, []dnssec.Key{mine}, dnssec.Options{})
	z.Records = append(slices.Clone(z.Records), mine.DNSKEY.String())
	if _, err := NewHandler(z, &mapSource{}, nil, nil); err == nil || !strings.Contains(err.Error(), "DNSKEY comes from its DNSSEC keys") {
		t.Errorf("a DNSKEY record: %v", err)
	}
}

// TestSignedDelegations: a delegated apex is a zone of its own signed with
// the zone's keys: its DNSKEY set is those keys under the apex's name,
// its TXT, SOA and NS verify with them (signer: the apex), and its NODATA
// and NXDOMAIN are denied by one NSEC each; the parent's DS for the apex
// is Key.DSFor(apex).
func TestSignedDelegations(t *testing.T) {
	h, key := signedHandler(t)
	h.ServeDelegatedZones(delegationMap{"_acme-challenge.www.example.com": {valueA}})
	apex := "_acme-challenge.www.example.com."
	apexKey := *key.DNSKEY
	apexKey.Hdr.Name = apex
	apexSigned := dnssec.Key{DNSKEY: &apexKey}

	r := h.answer(withDO(question(apex, dns.TypeDNSKEY), 0))
	answer, _ := verifySections(t, apexSigned, r)
	if len(answer) != 1 || answer[0].(*dns.DNSKEY).PublicKey != key.DNSKEY.PublicKey || answer[0].Header().Name != apex {
		t.Fatalf("the apex's DNSKEY: %v", r.Answer)
	}
	if ds := key.DSFor(apex); ds.Hdr.Name != apex || ds.Digest != apexKey.ToDS(dns.SHA256).Digest {
		t.Errorf("DS for the apex: %s", ds)
	}
	for _, qtype := range []uint16{dns.TypeTXT, dns.TypeSOA, dns.TypeNS} {
		r := h.answer(withDO(question(strings.ToUpper(apex), qtype), 0))
		answer, _ := verifySections(t, apexSigned, r)
		if len(answer) == 0 {
			t.Errorf("%s at the apex: %v", dns.TypeToString[qtype], r)
		}
		for _, rr := range r.Answer {
			if sig, ok := rr.(*dns.RRSIG); ok && sig.SignerName != apex {
				t.Errorf("signed by %s, want the apex", sig.SignerName)
			}
		}
	}
	for _, tc := range []struct {
		qname string
		qtype uint16
		types []uint16
	}{
		{apex, dns.TypeA, []uint16{dns.TypeNS, dns.TypeSOA, dns.TypeTXT, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeDNSKEY}},
		{"x." + apex, dns.TypeTXT, []uint16{dns.TypeRRSIG, dns.TypeNSEC, typeNXNAME}},
	} {
		r := h.answer(withDO(question(tc.qname, tc.qtype), 0))
		_, ns := verifySections(t, apexSigned, r)
		if n := nsecOf(ns); r.Rcode != dns.RcodeSuccess || n == nil || !slices.Equal(n.TypeBitMap, tc.types) || n.NextDomain != "\\000."+tc.qname {
			t.Errorf("%s %s: %s, authority %v", tc.qname, dns.TypeToString[tc.qtype], dns.RcodeToString[r.Rcode], r.Ns)
		}
	}
	if r := h.answer(withDO(question("_acme-challenge.other.example.com.", dns.TypeTXT), 0)); r.Rcode != dns.RcodeRefused || len(r.Ns) != 0 {
		t.Errorf("a name the hub does not serve: %v", r)
	}
}
