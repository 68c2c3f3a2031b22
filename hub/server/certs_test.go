// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil"
)

func TestCertLoaderReloadsRenewedFiles(t *testing.T) {
	dir := t.TempDir()
	chain, key := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	testutil.WriteSelfSignedCert(t, chain, key, "first")
	c, err := newCertLoader(chain, key)
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		cert, err := c.get(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(cert.Certificate[0])
		return leaf.Subject.CommonName
	}
	testutil.WriteSelfSignedCert(t, chain, key, "renewed")
	os.Chtimes(chain, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if got := served(); got != "first" {
		t.Errorf("files read again before the check interval: %s", got)
	}
	c.checked = time.Now().Add(-2 * certCheckInterval)
	if got := served(); got != "renewed" {
		t.Errorf("serving %s after renewal, want renewed", got)
	}
	// A half-written pair keeps the old certificate in service.
	os.WriteFile(key, []byte("garbage"), 0o600)
	os.Chtimes(chain, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	c.checked = time.Now().Add(-2 * certCheckInterval)
	if got := served(); got != "renewed" {
		t.Errorf("serving %s after a broken renewal, want the previous one", got)
	}

	if _, err := newCertLoader(filepath.Join(dir, "missing.pem"), key); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing chain: %v", err)
	}
	if _, err := newCertLoader(chain, key); err == nil || !strings.Contains(err.Error(), "privkey.pem") {
		t.Errorf("broken key: %v", err)
	}
}
