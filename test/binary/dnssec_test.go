// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
	"github.com/acmehub/acmehub/internal/testutil/testdeps"
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
			delv, err := exec.Command(testdeps.Program(t, "delv"), "@"+strings.Split(resolver, ":")[0], "-p", strings.Split(resolver, ":")[1],
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

// TestDNSSECKeysInTheDatabase: a KSK and a ZSK imported once with acmehub
// dnssec import into PostgreSQL, their files then deleted; two servers on
// that database ([dnssec] database = true) sign with them, and a
// validating Unbound whose parent has the DS `dnssec ds` printed returns
// an account's TXT with the AD bit from either replica. A server whose
// hub keys cannot open the sealed keys does not start, and says which key.
func TestDNSSECKeysInTheDatabase(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, args...)
		if code := p.Wait(30 * time.Second); code != 0 {
			t.Fatalf("acmehub %s: exit %d\n%s", strings.Join(args, " "), code, p.Output())
		}
		return strings.TrimSpace(p.Output())
	}
	os.WriteFile(filepath.Join(dir, "hub.keys"), []byte(run("admin", "keygen", "--id", "k1")), 0o600)
	ksk := filepath.Join(dir, run("dnssec", "keygen", "--role", "ksk", "auth.example.org"))
	zsk := filepath.Join(dir, run("dnssec", "keygen", "--role", "zsk", "auth.example.org"))
	ds := run("dnssec", "ds", ksk)
	cfg, db := filepath.Join(dir, "config.cfg"), pgtest.Database(t)
	writeConfig := func(keysFile string) {
		os.WriteFile(cfg, []byte(fmt.Sprintf(`[general]
domain = "auth.example.org"
nsname = "ns.auth.example.org"
records = ["auth.example.org. NS ns.auth.example.org.", "ns.auth.example.org. A 127.0.0.1"]
[database]
engine = "postgres"
connection = %q
[logconfig]
logformat = "json"
[hub]
keys_file = %q
[dnssec]
database = true
`, db, keysFile)), 0o600)
	}
	writeConfig(filepath.Join(dir, "hub.keys"))
	var listed []struct{ Name, Role, DS string }
	if err := json.Unmarshal([]byte(run("dnssec", "import", "-c", cfg, ksk+".key", zsk, "-o", "json")), &listed); err != nil ||
		len(listed) != 2 || listed[0].Role == listed[1].Role || listed[0].DS+listed[1].DS != ds {
		t.Fatalf("dnssec import lists %+v (%v); want the KSK with the DS %s and the ZSK", listed, err, ds)
	}
	for _, f := range []string{ksk, zsk} {
		os.Remove(f + ".key")
		os.Remove(f + ".private")
	}

	replicas := []server{{testutil.StartServer(t, "-c", cfg)}, {testutil.StartServer(t, "-c", cfg)}}
	a := replicas[0].register(t)
	const value = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	if code, err := replicas[0].update(a, value); code != 200 || err != nil {
		t.Fatalf("update: %d %v", code, err)
	}
	parent := testutil.StartSignedParent(t, "example.org", "auth IN NS ns.auth", "ns.auth IN A 127.0.0.1", ds)
	for i, r := range replicas {
		resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.org": parent.Addr, "auth.example.org": r.DNSUDP})
		m := new(dns.Msg)
		m.SetQuestion(a.FullDomain+".", dns.TypeTXT)
		m.SetEdns0(1232, true)
		var got *dns.Msg
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
			if err != nil {
				t.Fatalf("asking unbound: %v", err)
			}
			// The other replica learns of the update within a second.
			if got = resp; len(txtOf(resp)) == 1 || time.Now().After(deadline) {
				break
			}
		}
		if got.Rcode != dns.RcodeSuccess || !got.AuthenticatedData || len(txtOf(got)) != 1 || txtOf(got)[0] != value {
			t.Errorf("replica %d through a validating resolver: %s AD=%v %v", i, dns.RcodeToString[got.Rcode], got.AuthenticatedData, got.Answer)
		}
	}

	// The last step of a ZSK rollover: the old key goes.
	run("dnssec", "remove", "-c", cfg, filepath.Base(zsk))
	if err := json.Unmarshal([]byte(run("dnssec", "keys", "-c", cfg, "-o", "json")), &listed); err != nil ||
		len(listed) != 1 || listed[0].Name != filepath.Base(ksk) || listed[0].Role != "CSK" {
		t.Errorf("dnssec keys after removing the ZSK: %+v (%v); want the KSK alone, now a CSK", listed, err)
	}

	os.WriteFile(filepath.Join(dir, "other.keys"), []byte(run("admin", "keygen", "--id", "k1")), 0o600)
	writeConfig(filepath.Join(dir, "other.keys"))
	p := testutil.Start(t, nil, "server", "-c", cfg, "--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0")
	if code := p.Wait(15 * time.Second); code == 0 || !strings.Contains(p.Output(), "DNSSEC key "+filepath.Base(ksk)+" in the database") {
		t.Errorf("a server whose hub keys do not open the DNSSEC keys: exit %d\n%s", code, p.Output())
	}
}
