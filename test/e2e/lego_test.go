// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/internal/testutil"
)

// TestE2ELegoThroughTheHub: lego (its library and httpreq provider, as
// `lego --dns httpreq` runs them) obtains a certificate for example.com
// and *.example.com from pebble, Let's Encrypt's test CA, which validates
// both challenges through the hub's DNS (provider self); lego cleans up,
// and the audit log tells what it did. Needs $TEST_ASSET_PEBBLE and
// $TEST_ASSET_LEGO (`make test-assets`).
func TestE2ELegoThroughTheHub(t *testing.T) {
	pebbleBin, legoBin := os.Getenv("TEST_ASSET_PEBBLE"), os.Getenv("TEST_ASSET_LEGO")
	if pebbleBin == "" || legoBin == "" {
		t.Fatal("$TEST_ASSET_PEBBLE or $TEST_ASSET_LEGO is not set: run `make test-e2e`")
	}
	h := testutil.NewHubSetup(t, testutil.HubOptions{})
	h.MustAdmin("configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", "example.com", "--rule", ".example.com")
	clientID, secret := h.Token()
	hub := h.Server()

	// pebble, validating through the hub's DNS (over TCP).
	pebble := testutil.StartPebble(t, pebbleBin, hub.DNSTCP)
	directory := pebble.Directory
	dir := t.TempDir()

	lego := exec.Command(legoBin, "-server", directory, "-email", "ops@example.com",
		"-domain", "example.com", "-domain", "*.example.com", "-dns-resolver", hub.DNSUDP, "-out", dir, "-timeout", "90s")
	lego.Env = append(os.Environ(), "LEGO_CA_CERTIFICATES="+pebble.CAFile,
		"HTTPREQ_ENDPOINT=http://"+hub.Hub+"/httpreq", "HTTPREQ_USERNAME="+clientID, "HTTPREQ_PASSWORD="+secret,
		"HTTPREQ_POLLING_INTERVAL=1", "HTTPREQ_PROPAGATION_TIMEOUT=30")
	if out, err := lego.CombinedOutput(); err != nil {
		t.Fatalf("lego: %v\n%s\nhub:\n%s", err, out, hub.Output())
	}

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
	names := slices.Sorted(slices.Values(cert.DNSNames))
	if !slices.Equal(names, []string{"*.example.com", "example.com"}) || !strings.Contains(cert.Issuer.CommonName, "Pebble") {
		t.Errorf("certificate for %q issued by %q", names, cert.Issuer.CommonName)
	}
	if out := h.MustAdmin("records", "-o", "json"); out != "[]" {
		t.Errorf("records left after lego cleaned up: %s", out)
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
