// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
)

// TestTokenChangesReachEveryReplica: two servers share one PostgreSQL
// database; a token rotated or revoked with acmehub admin is refused by
// both at once, and the rotated secret works on both.
func TestTokenChangesReachEveryReplica(t *testing.T) {
	h := testutil.NewHubSetup(t, testutil.HubOptions{Database: pgtest.Database(t)})
	h.MustAdmin("configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", ".example.com")
	clientID, secret := h.Token()
	replicas := []*testutil.Process{h.Server(), h.Server()}
	presentAll := func(secret string) []int {
		var codes []int
		for _, r := range replicas {
			code, _ := testutil.HTTPReqPresent(t, r.Hub, clientID, secret, "_acme-challenge.www.example.com.", testutil.HubValue)
			codes = append(codes, code)
		}
		return codes
	}
	if got := presentAll(secret); fmt.Sprint(got) != "[200 200]" {
		t.Fatalf("present on both replicas: %v", got)
	}
	var rotated struct{ Secret string }
	if err := json.Unmarshal([]byte(h.MustAdmin("tokens", "rotate", clientID, "-o", "json")), &rotated); err != nil || rotated.Secret == "" {
		t.Fatalf("tokens rotate: %v", err)
	}
	if got := presentAll(secret); fmt.Sprint(got) != "[401 401]" {
		t.Errorf("the old secret right after the rotation: %v", got)
	}
	if got := presentAll(rotated.Secret); fmt.Sprint(got) != "[200 200]" {
		t.Errorf("the new secret: %v", got)
	}
	h.MustAdmin("tokens", "revoke", clientID)
	if got := presentAll(rotated.Secret); fmt.Sprint(got) != "[401 401]" {
		t.Errorf("right after the revocation: %v", got)
	}
}

// TestCrashBetweenProviderWriteAndBookkeeping: the server is killed while
// DigitalOcean (the fake API, reached through HTTPS_PROXY) has created the
// record but not yet answered. The record was remembered before the call,
// so the restarted server's sweep finds it and removes it from
// DigitalOcean once cleanup_after has passed.
func TestCrashBetweenProviderWriteAndBookkeeping(t *testing.T) {
	do := testutil.NewFakeDigitalOcean(t, "dop_v1_good", "example.com")
	h := testutil.NewHubSetup(t, testutil.HubOptions{Hub: `cleanup_after = "10s"`, Env: do.ProxyEnv(t)})
	os.WriteFile(filepath.Join(h.Dir, "do.json"), []byte(`{"api_token": "dop_v1_good"}`), 0o600)
	h.MustAdmin("configs", "put", "--id", "do", "--provider", "digitalocean", "--zone", "example.com", "--rule", ".example.com",
		"--credentials-file", "do.json")
	clientID, secret := h.Token()
	held := do.HoldCreates()
	server := h.Server()
	answered := make(chan int, 1)
	go func() {
		code, _ := testutil.HTTPReqPresent(t, server.Hub, clientID, secret, "_acme-challenge.www.example.com.", testutil.HubValue)
		answered <- code
	}()
	select {
	case <-held:
	case <-time.After(15 * time.Second):
		t.Fatalf("DigitalOcean was not asked to create the record:\n%s", server.Output())
	}
	server.Cmd.Process.Signal(syscall.SIGKILL)
	<-server.Done()
	if code := <-answered; code == 200 {
		t.Fatal("the present was answered 200 by a killed server")
	}
	if got := do.TXT("example.com", "_acme-challenge.www"); len(got) != 1 {
		t.Fatalf("DigitalOcean holds %q, want the value the killed server wrote", got)
	}

	restarted := h.Server()
	deadline := time.Now().Add(30 * time.Second)
	for len(do.TXT("example.com", "_acme-challenge.www")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the record is still at DigitalOcean 30 s after the restart:\n%s", restarted.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := h.MustAdmin("records", "-o", "json"); out != "[]" {
		t.Errorf("records remembered after the sweep: %s", out)
	}
	if out := h.MustAdmin("audit", "--identifier", "www.example.com", "-o", "json"); !strings.Contains(out, `"Action": "sweep"`) {
		t.Errorf("the sweep is not audited:\n%s", out)
	}
}
