// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/internal/testutil"
)

// TestE2ELegoThroughTheHub: lego (its library and httpreq provider, as
// `lego --dns httpreq` runs them) obtains a certificate for example.com
// and *.example.com from pebble, Let's Encrypt's test CA, which validates
// both challenges through the DNS the hub writes to: its own (provider
// self), and a real BIND 9 it updates with TSIG (provider rfc2136); lego
// cleans up, and the audit log tells what it did. Needs
// $TEST_ASSET_PEBBLE and $TEST_ASSET_LEGO (`make test-assets`).
func TestE2ELegoThroughTheHub(t *testing.T) {
	pebbleBin, legoBin := os.Getenv("TEST_ASSET_PEBBLE"), os.Getenv("TEST_ASSET_LEGO")
	if pebbleBin == "" || legoBin == "" {
		t.Fatal("$TEST_ASSET_PEBBLE or $TEST_ASSET_LEGO is not set: run `make test-e2e`")
	}
	rules := []string{"--rule", "example.com", "--rule", ".example.com"}
	t.Run("self", func(t *testing.T) {
		h := testutil.NewHubSetup(t, testutil.HubOptions{})
		h.MustAdmin(append([]string{"configs", "put", "--id", "self-example", "--zone", "example.com"}, rules...)...)
		hub := h.Server()
		legoThroughTheHub(t, pebbleBin, legoBin, h, hub, hub.DNSTCP, hub.DNSUDP)
	})
	t.Run("rfc2136 into BIND", func(t *testing.T) {
		bind := testutil.StartBIND(t, "example.com", "_acme-challenge.example.com")
		h := testutil.NewHubSetup(t, testutil.HubOptions{})
		creds, _ := json.Marshal(map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": bind.Secret})
		if err := os.WriteFile(filepath.Join(h.Dir, "bind.json"), creds, 0o600); err != nil {
			t.Fatal(err)
		}
		h.MustAdmin(append([]string{"configs", "put", "--id", "bind", "--provider", "rfc2136", "--zone", "example.com",
			"--nameserver", bind.Addr, "--credentials-file", "bind.json"}, rules...)...)
		legoThroughTheHub(t, pebbleBin, legoBin, h, h.Server(), bind.Addr, bind.Addr)
	})
}

// legoThroughTheHub has lego obtain the certificate from a pebble that
// asks dnsTCP, lego itself asking dnsUDP, through hub's httpreq door.
func legoThroughTheHub(t *testing.T, pebbleBin, legoBin string, h *testutil.HubSetup, hub *testutil.Process, dnsTCP, dnsUDP string) {
	clientID, secret := h.Token()
	pebble := testutil.StartPebble(t, pebbleBin, dnsTCP)
	dir := t.TempDir()
	lego := exec.Command(legoBin, "-server", pebble.Directory, "-email", "ops@example.com",
		"-domain", "example.com", "-domain", "*.example.com", "-dns-resolver", dnsUDP, "-out", dir, "-timeout", "90s")
	lego.Env = append(os.Environ(), "LEGO_CA_CERTIFICATES="+pebble.CAFile,
		"HTTPREQ_ENDPOINT=http://"+hub.Hub+"/httpreq", "HTTPREQ_USERNAME="+clientID, "HTTPREQ_PASSWORD="+secret,
		"HTTPREQ_POLLING_INTERVAL=1", "HTTPREQ_PROPAGATION_TIMEOUT=30")
	if out, err := lego.CombinedOutput(); err != nil {
		t.Fatalf("lego: %v\n%s\nhub:\n%s", err, out, hub.Output())
	}

	cert := legoCertificate(t, dir)
	names := slices.Sorted(slices.Values(cert.DNSNames))
	if !slices.Equal(names, []string{"*.example.com", "example.com"}) || !strings.Contains(cert.Issuer.CommonName, "Pebble") {
		t.Errorf("certificate for %q issued by %q", names, cert.Issuer.CommonName)
	}
	if out := h.MustAdmin("records", "-o", "json"); out != "[]" {
		t.Errorf("records left after lego cleaned up: %s", out)
	}
	if values, err := (dnsclient.Resolver{}).ServedTXT(context.Background(), dnsUDP, "_acme-challenge.example.com"); err != nil || len(values) != 0 {
		t.Errorf("after lego cleaned up, %s serves %q (%v)", dnsUDP, values, err)
	}
	var audit []struct{ Action, ClientID, Identifier, Result, Detail string }
	if err := json.Unmarshal([]byte(h.MustAdmin("audit", "--identifier", "example.com", "-o", "json")), &audit); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range audit {
		if e.ClientID == clientID && e.Result == "ok" && e.Detail == "httpreq" {
			seen = append(seen, e.Action)
		}
	}
	slices.Sort(seen)
	if want := []string{"cleanup", "cleanup", "present", "present"}; !slices.Equal(seen, want) {
		t.Errorf("lego's requests audited: %q, want %q", seen, want)
	}
}

// legoCertificate is the certificate lego wrote into dir.
func legoCertificate(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "certificate.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("certificate.pem holds no certificate:\n%s", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
