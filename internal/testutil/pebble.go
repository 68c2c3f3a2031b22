// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Pebble is a running pebble, Let's Encrypt's test CA.
type Pebble struct {
	// Directory is its ACME directory URL.
	Directory string
	// Roots trust its HTTPS certificate, whose PEM file is CAFile.
	Roots  *x509.CertPool
	CAFile string
	// Management is its management interface's URL: the roots of the
	// certificates it issues are at /roots/0.
	Management string
}

// IssuingRoots are the roots of the certificates pebble issues (a new
// pair every run).
func (p *Pebble) IssuingRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Roots}}}
	resp, err := client.Get(p.Management + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pemRoots, err := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if err != nil || resp.StatusCode != http.StatusOK || !pool.AppendCertsFromPEM(pemRoots) {
		t.Fatalf("pebble's roots: %d %v", resp.StatusCode, err)
	}
	return pool
}

// StartPebble runs pebble (the binary at bin) on loopback, validating
// dns-01 challenges through dnsServer (host:port, asked over TCP), with env
// (NAME=value) added to its environment, and waits until it answers. It is
// stopped when the test ends.
func StartPebble(t testing.TB, bin, dnsServer string, env ...string) *Pebble {
	t.Helper()
	dir := t.TempDir()
	p := &Pebble{CAFile: filepath.Join(dir, "cert.pem"), Roots: x509.NewCertPool()}
	WriteSelfSignedCert(t, p.CAFile, filepath.Join(dir, "key.pem"), "pebble")
	listen, management := FreeAddr(t), FreeAddr(t)
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": management,
		"certificate": p.CAFile, "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": 5002, "tlsPort": 5001, "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1},
	}})
	if err := os.WriteFile(filepath.Join(dir, "pebble.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsServer)
	cmd.Env = append(append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble:\n%s", out.String())
		}
	})
	pemCert, _ := os.ReadFile(p.CAFile)
	p.Roots.AppendCertsFromPEM(pemCert)
	p.Directory, p.Management = "https://"+listen+"/dir", "https://"+management
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Roots}}}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := client.Get(p.Directory); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble does not answer at %s:\n%s", p.Directory, out.String())
		}
	}
}
