// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartCertManager runs cert-manager's controller of `make test-assets`
// ($TEST_ASSET_CERT_MANAGER) against the cluster of kubeconfig until the
// test ends, its DNS-01 self-check asking resolver; args are added to its
// flags. Its last lines are printed when the test fails.
func StartCertManager(t testing.TB, bin, kubeconfig, resolver string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig, "--dns01-recursive-nameservers", resolver, "--v", "2"}, args...)...)
	out := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			lines := strings.Split(out.String(), "\n")
			t.Logf("cert-manager's controller, its last lines:\n%s", strings.Join(lines[max(0, len(lines)-200):], "\n"))
		}
	})
}

// syncBuilder is a strings.Builder two writers may share.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CertManagerCRDs is the directory of cert-manager's CRDs in its module.
func CertManagerCRDs(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		t.Fatalf("go list cert-manager: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
}
