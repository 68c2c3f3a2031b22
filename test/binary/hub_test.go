// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
			code, _ := testutil.HTTPReq(t, r.Hub, "present", clientID, secret, "_acme-challenge.www.example.com.", testutil.HubValue)
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
		code, _ := testutil.HTTPReq(t, server.Hub, "present", clientID, secret, "_acme-challenge.www.example.com.", testutil.HubValue)
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

// TestSelfValuesFollowTheDatabase: two servers share one PostgreSQL
// database and a config of provider self. A value presented through one is
// served by the other within a second; cleaned up through the other, the
// first stops serving it within a second; presented through a replica that
// is then killed, the survivor's sweep removes it, and a restarted replica
// does not serve it either.
func TestSelfValuesFollowTheDatabase(t *testing.T) {
	h := testutil.NewHubSetup(t, testutil.HubOptions{Database: pgtest.Database(t), Hub: `cleanup_after = "10s"`})
	h.MustAdmin("configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", ".example.com")
	clientID, secret := h.Token()
	a, b := h.Server(), h.Server()
	const fqdn = "_acme-challenge.ha.example.com."
	serves := func(p *testutil.Process) bool {
		return slices.Contains(testutil.TXT(t, p.DNSUDP, fqdn), testutil.HubValue)
	}
	within := func(limit time.Duration, what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %s", what, limit)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: after %s", what, time.Since(start).Round(time.Millisecond))
	}
	httpreq := func(p *testutil.Process, action string) {
		t.Helper()
		if code, detail := testutil.HTTPReq(t, p.Hub, action, clientID, secret, fqdn, testutil.HubValue); code != 200 {
			t.Fatalf("httpreq %s: %d %s", action, code, detail)
		}
	}

	httpreq(a, "present")
	within(time.Second, "B serves the value presented through A", func() bool { return serves(b) })
	httpreq(b, "cleanup")
	within(time.Second, "A stops serving the value cleaned up through B", func() bool { return !serves(a) })
	if out := h.MustAdmin("records", "-o", "json"); out != "[]" {
		t.Errorf("records remembered after the cleanup: %s", out)
	}

	httpreq(a, "present")
	within(time.Second, "B serves the value presented through A again", func() bool { return serves(b) })
	a.Cmd.Process.Signal(syscall.SIGKILL)
	<-a.Done()
	within(30*time.Second, "B's sweep removes the value of the killed replica", func() bool { return !serves(b) })
	if out := h.MustAdmin("records", "-o", "json"); out != "[]" {
		t.Errorf("records remembered after the sweep: %s", out)
	}
	if serves(h.Server()) {
		t.Error("a restarted replica serves the swept value")
	}
}
