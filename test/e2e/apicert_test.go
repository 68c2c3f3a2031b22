// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
)

// apiCertConfig is an acme-dns configuration with tls = "letsencrypt",
// its CA pebble, its DNS on dnsPort; extra is appended.
func apiCertConfig(t *testing.T, pebble *testutil.Pebble, dnsPort int, database, cacheDir, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.cfg")
	text := fmt.Sprintf(`[general]
listen = "127.0.0.1:%d"
protocol = "both"
domain = "auth.example.org"
nsname = "auth.example.org"
nsadmin = "admin.example.org"
[database]
connection = %q
[api]
ip = "127.0.0.1"
port = "0"
tls = "letsencrypt"
acme_cache_dir = %q
notification_email = "ops@example.org"
[logconfig]
logformat = "json"
[acmehub]
acme_directory = %q
acme_ca_bundle = %q
`, dnsPort, database, cacheDir, pebble.Directory, pebble.CAFile) + extra
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// served waits until url answers over HTTPS (any status below 500) with a
// certificate for auth.example.org that chains to roots and whose serial
// is not unlike, and returns it with the body.
func served(t *testing.T, url string, roots *x509.CertPool, unlike string) (*x509.Certificate, string) {
	t.Helper()
	url = strings.Replace(url, "http://", "https://", 1)
	var last error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "auth.example.org"}, DisableKeepAlives: true}}
		resp, err := client.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		leaf := resp.TLS.PeerCertificates[0]
		if resp.StatusCode >= 500 || leaf.SerialNumber.String() == unlike {
			last = fmt.Errorf("status %d, serial %s", resp.StatusCode, leaf.SerialNumber)
			continue
		}
		return leaf, string(body)
	}
	t.Fatalf("no certificate served at %s: %v", url, last)
	return nil, ""
}

// TestAPICertificateFromACME: with tls = "letsencrypt", the server obtains
// its API's certificate from the CA through dns-01 answered by its own
// DNS, serves it over HTTPS and says when it expires; SIGHUP renews it
// without a restart; a restart takes it from acme_cache_dir without a new
// order.
func TestAPICertificateFromACME(t *testing.T) {
	pebbleBin := os.Getenv("TEST_ASSET_PEBBLE")
	if pebbleBin == "" {
		t.Fatal("$TEST_ASSET_PEBBLE is not set: run `make test-e2e`")
	}
	dnsPort := testutil.FreeDualPort(t)
	pebble := testutil.StartPebble(t, pebbleBin, fmt.Sprintf("127.0.0.1:%d", dnsPort))
	dir := t.TempDir()
	keys, err := exec.Command(testutil.Binary(t), "admin", "keygen", "--id", "k1").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "hub.keys"), keys, 0o600)
	hub := fmt.Sprintf("[hub]\nenabled = true\nlisten = \"127.0.0.1:0\"\ntls = \"letsencrypt\"\nkeys_file = %q\n", filepath.Join(dir, "hub.keys"))
	cfg := apiCertConfig(t, pebble, dnsPort, filepath.Join(dir, "acme-dns.db"), filepath.Join(dir, "api-certs"), hub)
	roots := pebble.IssuingRoots(t)

	p := testutil.Start(t, nil, "server", "-c", cfg)
	if err := p.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	first, health := served(t, p.API+"/health", roots, "")
	if len(first.DNSNames) != 1 || first.DNSNames[0] != "auth.example.org" {
		t.Errorf("certificate names %v, want [auth.example.org]", first.DNSNames)
	}
	if want := `"certificate_not_after": "` + first.NotAfter.UTC().Format(time.RFC3339) + `"`; !strings.Contains(health, want) {
		t.Errorf("/health says %q, want %s", health, want)
	}
	if n := strings.Count(p.Output(), `"msg":"the API's certificate obtained"`); n != 1 {
		t.Errorf("%d orders, want 1:\n%s", n, p.Output())
	}
	if hubLeaf, _ := served(t, "https://"+p.Hub, roots, ""); hubLeaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("the hub serves serial %s, the API %s: want one certificate", hubLeaf.SerialNumber, first.SerialNumber)
	}
	_, metrics := served(t, p.API+"/metrics", roots, "")
	if want := fmt.Sprintf("acmehub_api_certificate_not_after_seconds %s", strconv.FormatFloat(float64(first.NotAfter.Unix()), 'g', -1, 64)); !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}

	p.Cmd.Process.Signal(syscall.SIGHUP)
	renewed, _ := served(t, p.API+"/health", roots, first.SerialNumber.String())
	if !renewed.NotAfter.After(first.NotAfter) && renewed.NotAfter != first.NotAfter {
		t.Errorf("renewed certificate expires %v, before the first's %v", renewed.NotAfter, first.NotAfter)
	}
	select {
	case <-p.Done():
		t.Fatalf("the server exited on SIGHUP:\n%s", p.Output())
	default:
	}

	p.Cmd.Process.Signal(os.Interrupt)
	if code := p.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	again := testutil.Start(t, nil, "server", "-c", cfg)
	if err := again.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	cached, _ := served(t, again.API+"/health", roots, "")
	if cached.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Errorf("after a restart the server serves serial %s, want the cached %s", cached.SerialNumber, renewed.SerialNumber)
	}
	if strings.Contains(again.Output(), "obtaining the API's certificate") {
		t.Errorf("a restart ordered a new certificate:\n%s", again.Output())
	}
	t.Logf("served: serial %s until %s; after SIGHUP %s until %s; after a restart %s", first.SerialNumber, first.NotAfter.Format(time.RFC3339),
		renewed.SerialNumber, renewed.NotAfter.Format(time.RFC3339), cached.SerialNumber)
}

// TestAPICertificateTwoReplicas: two servers sharing a PostgreSQL database
// and acme_cache_dir obtain one certificate and both serve it; the
// challenge of one is answered by the other.
func TestAPICertificateTwoReplicas(t *testing.T) {
	pebbleBin := os.Getenv("TEST_ASSET_PEBBLE")
	if pebbleBin == "" {
		t.Fatal("$TEST_ASSET_PEBBLE is not set: run `make test-e2e`")
	}
	db := pgtest.Database(t)
	portA, portB := testutil.FreeDualPort(t), testutil.FreeDualPort(t)
	pebble := testutil.StartPebble(t, pebbleBin, fmt.Sprintf("127.0.0.1:%d", portB))
	cache := filepath.Join(t.TempDir(), "api-certs")
	roots := pebble.IssuingRoots(t)

	// A orders; the CA asks B, which learns of A's challenge through the
	// database, as a CA asks whichever replica a name server address
	// reaches. B starts while A's order is under way and waits for it.
	a := testutil.StartCmd(t, &exec.Cmd{}, "server", "-c", apiCertConfig(t, pebble, portA, db, cache, ""))
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(a.Output(), `"msg":"obtaining the API's certificate"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("replica A did not start an order:\n%s", a.Output())
		}
	}
	b := testutil.StartCmd(t, &exec.Cmd{}, "server", "-c", apiCertConfig(t, pebble, portB, db, cache, ""))
	replicas := []*testutil.Process{a, b}
	var serials []string
	for _, r := range replicas {
		if err := r.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		leaf, _ := served(t, r.API+"/health", roots, "")
		serials = append(serials, leaf.SerialNumber.String())
	}
	if serials[0] != serials[1] {
		t.Errorf("the replicas serve serials %v: two certificates for one name", serials)
	}
	orders := 0
	for _, r := range replicas {
		orders += strings.Count(r.Output(), `"msg":"the API's certificate obtained"`)
	}
	if orders != 1 {
		t.Errorf("%d orders between the replicas, want 1", orders)
	}
	t.Logf("both replicas serve serial %s, from %d order", serials[0], orders)
}

// TestAPICertificateOrderFails: when the CA cannot validate the challenge,
// the failure is logged with the CA's own words, the server keeps
// running, and the order is tried again.
func TestAPICertificateOrderFails(t *testing.T) {
	pebbleBin := os.Getenv("TEST_ASSET_PEBBLE")
	if pebbleBin == "" {
		t.Fatal("$TEST_ASSET_PEBBLE is not set: run `make test-e2e`")
	}
	dnsPort, nobody := testutil.FreeDualPort(t), testutil.FreeDualPort(t)
	pebble := testutil.StartPebble(t, pebbleBin, fmt.Sprintf("127.0.0.1:%d", nobody)) // asks a DNS that is not there
	dir := t.TempDir()
	p := testutil.Start(t, nil, "server", "-c", apiCertConfig(t, pebble, dnsPort, filepath.Join(dir, "acme-dns.db"), filepath.Join(dir, "api-certs"), ""))
	if err := p.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out := p.Output()
		if i := strings.Index(out, `"msg":"the API's certificate could not be obtained`); i >= 0 && strings.Contains(out[i:], "urn:ietf:params:acme:error") {
			t.Logf("logged: %s", strings.SplitN(out[i:], "\n", 2)[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failure logged with the CA's error:\n%s", out)
		}
	}
	select {
	case <-p.Done():
		t.Fatalf("the server exited after a failed order:\n%s", p.Output())
	default:
	}
}
