// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
)

// TestE2ECertificateThroughAValidatingResolver: with the acme-dns zone
// signed, pebble obtains its answers through Unbound validating from a
// parent zone signed by BIND (the zone that holds the certificate's
// _acme-challenge CNAME and delegates the acme-dns zone with its DS), and
// issues lego (its acme-dns provider) a certificate; the value lego wrote
// comes back from Unbound with the AD bit. Needs $TEST_ASSET_PEBBLE and
// $TEST_ASSET_LEGO (`make test-assets`).
func TestE2ECertificateThroughAValidatingResolver(t *testing.T) {
	pebbleBin, legoBin := os.Getenv("TEST_ASSET_PEBBLE"), os.Getenv("TEST_ASSET_LEGO")
	if pebbleBin == "" || legoBin == "" {
		t.Fatal("$TEST_ASSET_PEBBLE or $TEST_ASSET_LEGO is not set: run `make test-e2e`")
	}
	srv, ds := testutil.StartSignedServer(t, 1, "13")
	resp, err := http.Post(srv.API+"/register", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var account map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&account); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	fulldomain, _ := account["fulldomain"].(string)
	parent := testutil.StartSignedParent(t, "example.org", "auth IN NS ns.auth", "ns.auth IN A 127.0.0.1", ds[0],
		"_acme-challenge.app IN CNAME "+fulldomain+".")
	resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.org": parent.Addr, "auth.example.org": srv.DNSUDP})
	pebble := testutil.StartPebble(t, pebbleBin, resolver)

	dir := t.TempDir()
	storage, _ := json.Marshal(map[string]any{"app.example.org": account})
	if err := os.WriteFile(filepath.Join(dir, "acme-dns.json"), storage, 0o600); err != nil {
		t.Fatal(err)
	}
	lego := exec.Command(legoBin, "-server", pebble.Directory, "-email", "ops@example.org", "-dns", "acme-dns",
		"-domain", "app.example.org", "-dns-resolver", resolver, "-out", dir, "-timeout", "90s")
	lego.Env = append(os.Environ(), "LEGO_CA_CERTIFICATES="+pebble.CAFile, "ACME_DNS_API_BASE="+srv.API,
		"ACME_DNS_STORAGE_PATH="+filepath.Join(dir, "acme-dns.json"), "ACME_DNS_POLLING_INTERVAL=1", "ACME_DNS_PROPAGATION_TIMEOUT=30")
	if out, err := lego.CombinedOutput(); err != nil {
		t.Fatalf("lego: %v\n%s\nacmehub:\n%s", err, out, srv.Output())
	}
	cert := legoCertificate(t, dir)
	if !slices.Equal(cert.DNSNames, []string{"app.example.org"}) || !strings.Contains(cert.Issuer.CommonName, "Pebble") {
		t.Errorf("certificate for %q issued by %q", cert.DNSNames, cert.Issuer.CommonName)
	}

	// lego's acme-dns provider leaves its value: Unbound validates it.
	m := new(dns.Msg)
	m.SetQuestion("_acme-challenge.app.example.org.", dns.TypeTXT)
	m.SetEdns0(1232, true)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
	if err != nil || r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || !slices.ContainsFunc(r.Answer, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeTXT }) {
		t.Errorf("the challenge's TXT through Unbound: %v %v", r, err)
	}
}
