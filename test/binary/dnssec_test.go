// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
)

// signedServer starts `acmehub server` for auth.example.org signed with
// a CSK of algorithm alg, with the DS record for its parent.
func signedServer(t *testing.T, alg string) (server, string) {
	t.Helper()
	p, ds := testutil.StartSignedServer(t, 1, alg)
	return server{p}, ds[0]
}

// TestDNSSECValidated: a validating Unbound, whose only trust anchor is a
// parent zone signed by BIND that delegates auth.example.org with the DS
// `acmehub dnssec ds` printed, returns acmehub's TXT answers, its NODATA
// and its denials of names that do not exist with the AD bit, for keys of
// algorithm 13 and 15; delv reports the answer fully validated; with a
// DS of another key in the parent, the same question fails (SERVFAIL).
func TestDNSSECValidated(t *testing.T) {
	for _, alg := range []string{"13", "15"} {
		t.Run("algorithm "+alg, func(t *testing.T) {
			srv, ds := signedServer(t, alg)
			parent := testutil.StartSignedParent(t, "example.org", "auth IN NS ns.auth", "ns.auth IN A 127.0.0.1", ds)
			resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.org": parent.Addr, "auth.example.org": srv.DNSUDP})
			a := srv.register(t)
			const value = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
			if code, err := srv.update(a, value); code != 200 || err != nil {
				t.Fatalf("update: %d %v", code, err)
			}
			ask := func(name string, qtype uint16) *dns.Msg {
				t.Helper()
				m := new(dns.Msg)
				m.SetQuestion(name, qtype)
				m.SetEdns0(1232, true)
				r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
				if err != nil {
					t.Fatalf("asking unbound %s: %v", name, err)
				}
				return r
			}
			fqdn := a.FullDomain + "."
			if r := ask(fqdn, dns.TypeTXT); r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || len(txtOf(r)) != 1 || txtOf(r)[0] != value {
				t.Errorf("TXT through a validating resolver: %s AD=%v %v", dns.RcodeToString[r.Rcode], r.AuthenticatedData, r.Answer)
			}
			if r := ask(fqdn, dns.TypeAAAA); r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || len(r.Answer) != 0 {
				t.Errorf("NODATA through a validating resolver: %s AD=%v %v", dns.RcodeToString[r.Rcode], r.AuthenticatedData, r.Answer)
			}
			if r := ask("nosuchaccount.auth.example.org.", dns.TypeTXT); !r.AuthenticatedData || len(r.Answer) != 0 ||
				(r.Rcode != dns.RcodeNameError && r.Rcode != dns.RcodeSuccess) {
				t.Errorf("a name that does not exist through a validating resolver: %s AD=%v %v", dns.RcodeToString[r.Rcode], r.AuthenticatedData, r.Answer)
			}
			delv, err := exec.Command("delv", "@"+strings.Split(resolver, ":")[0], "-p", strings.Split(resolver, ":")[1],
				"-a", anchorFile(t, parent.TrustAnchor), "+root=example.org", fqdn, "TXT").CombinedOutput()
			if err != nil || !strings.Contains(string(delv), "; fully validated") {
				t.Errorf("delv: %v\n%s", err, delv)
			}
		})
	}
	t.Run("a KSK rollover, double DS", func(t *testing.T) {
		// Old and new key both sign the DNSKEY set: the chain holds with
		// the parent's DS of the old key, of both, and of the new one.
		srv, ds := testutil.StartSignedServer(t, 2, "13")
		for _, parentDS := range [][]string{{ds[0]}, ds, {ds[1]}} {
			parent := testutil.StartSignedParent(t, "example.org", append([]string{"auth IN NS ns.auth", "ns.auth IN A 127.0.0.1"}, parentDS...)...)
			resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.org": parent.Addr, "auth.example.org": srv.DNSUDP})
			m := new(dns.Msg)
			m.SetQuestion("auth.example.org.", dns.TypeSOA)
			m.SetEdns0(1232, true)
			r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
			if err != nil || r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData {
				t.Errorf("with %d DS in the parent: %v %v", len(parentDS), r, err)
			}
		}
	})
	t.Run("a DS of another key", func(t *testing.T) {
		srv, _ := signedServer(t, "13")
		_, wrong := signedServer(t, "13")
		parent := testutil.StartSignedParent(t, "example.org", "auth IN NS ns.auth", "ns.auth IN A 127.0.0.1", wrong)
		resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.org": parent.Addr, "auth.example.org": srv.DNSUDP})
		a := srv.register(t)
		m := new(dns.Msg)
		m.SetQuestion(a.FullDomain+".", dns.TypeTXT)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
		if err != nil || r.Rcode != dns.RcodeServerFailure {
			t.Errorf("a broken chain: %v %v, want SERVFAIL", r, err)
		}
	})
}

func txtOf(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out
}

// anchorFile writes the trust anchor as delv's -a file takes it.
func anchorFile(t *testing.T, anchor string) string {
	t.Helper()
	rr, err := dns.NewRR(anchor)
	if err != nil {
		t.Fatal(err)
	}
	k := rr.(*dns.DNSKEY)
	path := filepath.Join(t.TempDir(), "anchor.conf")
	os.WriteFile(path, []byte(fmt.Sprintf("trust-anchors { %s static-key %d %d %d %q; };\n", k.Hdr.Name, k.Flags, k.Protocol, k.Algorithm, k.PublicKey)), 0o644)
	return path
}

// TestDNSSECDelegatedToTheHub: a name delegated to the hub's own DNS
// (provider self) is signed with the server's keys: a parent zone signed
// by BIND delegates _acme-challenge.www.example.com to the hub with the DS
// `acmehub dnssec ds --zone` printed, and Unbound, with only the parent's
// key as trust anchor, returns the value presented through httpreq with
// the AD bit, and the name's NODATA too.
func TestDNSSECDelegatedToTheHub(t *testing.T) {
	const apex = "_acme-challenge.www.example.com"
	h := testutil.NewHubSetup(t, testutil.HubOptions{DNSSEC: true})
	h.MustAdmin("configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", ".example.com")
	hub := h.Server()
	id, secret := h.Token()
	if code, out := testutil.HTTPReq(t, hub.Hub, "present", id, secret, apex+".", testutil.HubValue); code != 200 {
		t.Fatalf("present: %d %s", code, out)
	}
	parent := testutil.StartSignedParent(t, "example.com", "_acme-challenge.www IN NS ns.hub", "ns.hub IN A 127.0.0.1", h.DS(apex))
	resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.com": parent.Addr, apex: hub.DNSUDP})
	for _, qtype := range []uint16{dns.TypeTXT, dns.TypeAAAA} {
		m := new(dns.Msg)
		m.SetQuestion(apex+".", qtype)
		m.SetEdns0(1232, true)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
		if err != nil || r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData {
			t.Fatalf("%s through a validating resolver: %v %v", dns.TypeToString[qtype], r, err)
		}
		if got := txtOf(r); qtype == dns.TypeTXT && (len(got) != 1 || got[0] != testutil.HubValue) {
			t.Errorf("TXT %q, want the value presented", got)
		}
	}
}
