// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BIND is a BIND 9 name server the test started on 127.0.0.1: the primary
// of one zone that takes dynamic updates signed with its TSIG key.
type BIND struct {
	Addr            string // host:port, UDP and TCP
	Zone            string // without the trailing dot
	KeyName, Secret string // the TSIG key (HMAC-SHA256), its secret in base64
}

// StartBIND starts named (Debian's bind9) for zone, whose update-policy
// grants the key TXT records at exactly the names given, and stops it when
// the test ends.
func StartBIND(t testing.TB, zone string, updatable ...string) *BIND {
	t.Helper()
	named, err := exec.LookPath("named")
	if err != nil {
		named = "/usr/sbin/named"
		if _, err := os.Stat(named); err != nil {
			t.Fatalf("no named: apt-get install bind9 (%v)", err)
		}
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	b := &BIND{Zone: zone, KeyName: "acmehub-test", Secret: base64.StdEncoding.EncodeToString(secret)}
	dir := t.TempDir()
	port := FreeDualPort(t)
	b.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var grants strings.Builder
	for _, name := range updatable {
		fmt.Fprintf(&grants, "    grant %s name %s. TXT;\n", b.KeyName, name)
	}
	conf := fmt.Sprintf(`options {
  directory "%[1]s";
  pid-file "%[1]s/named.pid";
  listen-on port %[2]d { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
key "%[3]s" { algorithm hmac-sha256; secret "%[4]s"; };
zone "%[5]s" {
  type primary;
  file "%[1]s/zone.db";
  update-policy {
%[6]s  };
};
`, dir, port, b.KeyName, b.Secret, zone, grants.String())
	zoneFile := fmt.Sprintf("$TTL 60\n@ IN SOA ns1.%[1]s. hostmaster.%[1]s. 1 3600 600 86400 60\n@ IN NS ns1.%[1]s.\nns1 IN A 127.0.0.1\n", zone)
	for name, text := range map[string]string{"named.conf": conf, "zone.db": zoneFile} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "named.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	log := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(named, "-g", "-n", "1", "-c", filepath.Join(dir, "named.conf"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting named: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("named's output:\n%s", log())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	for {
		r, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).ExchangeContext(ctx, m, b.Addr)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			return b
		}
		select {
		case <-ctx.Done():
			t.Fatalf("named did not answer for %s at %s: %v\n%s", zone, b.Addr, err, log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
