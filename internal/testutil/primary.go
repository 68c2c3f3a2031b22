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

	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// Primary is a primary name server the test started on 127.0.0.1 (BIND 9
// or Knot DNS, from Debian): authoritative for one zone, taking dynamic
// updates (RFC 2136) signed with its TSIG key for TXT and CNAME records at
// the names its policy grants.
type Primary struct {
	Addr            string // host:port, UDP and TCP
	Zone            string // without the trailing dot
	KeyName, Secret string // the TSIG key (HMAC-SHA256), its secret in base64
}

// StartBIND starts named (Debian's bind9) as the primary of zone, whose
// update-policy grants the key TXT and CNAME records at exactly the names given, and
// stops it when the test ends.
func StartBIND(t testing.TB, zone string, updatable ...string) *Primary {
	t.Helper()
	p, dir, port := newPrimary(t, zone)
	var grants strings.Builder
	for _, name := range updatable {
		fmt.Fprintf(&grants, "    grant %s name %s. TXT CNAME;\n", p.KeyName, name)
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
`, dir, port, p.KeyName, p.Secret, zone, grants.String())
	startPrimary(t, p, dir, "named.conf", conf, primaryZone(zone), "named", "-g", "-n", "1", "-c")
	return p
}

// StartKnot starts knotd (Debian's knot) as the primary of zone, whose ACL
// lets the key update TXT and CNAME records at exactly the names given, and stops it
// when the test ends.
func StartKnot(t testing.TB, zone string, updatable ...string) *Primary {
	t.Helper()
	p, dir, port := newPrimary(t, zone)
	names := make([]string, len(updatable))
	for i, name := range updatable {
		names[i] = name + "."
	}
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
log:
  - target: stderr
    any: info
database:
    storage: "%[1]s"
key:
  - id: %[3]s
    algorithm: hmac-sha256
    secret: %[4]s
acl:
  - id: update
    key: %[3]s
    action: update
    update-type: [TXT, CNAME]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [%[6]s]
zone:
  - domain: %[5]s
    storage: "%[1]s"
    file: zone.db
    acl: update
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
`, dir, port, p.KeyName, p.Secret, zone, strings.Join(names, ", "))
	startPrimary(t, p, dir, "knot.conf", conf, primaryZone(zone), "knotd", "-c")
	return p
}

// newPrimary picks the key, a directory and a port for a primary of zone.
func newPrimary(t testing.TB, zone string) (*Primary, string, int) {
	secret := make([]byte, 32)
	rand.Read(secret)
	port := FreeDualPort(t)
	return &Primary{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Zone: zone, KeyName: "acmehub-test",
		Secret: base64.StdEncoding.EncodeToString(secret)}, t.TempDir(), port
}

// primaryZone is the zone file of a primary's zone: SOA, NS and the name
// server's address.
func primaryZone(zone string) string {
	return fmt.Sprintf("$TTL 60\n@ IN SOA ns1.%[1]s. hostmaster.%[1]s. 1 3600 600 86400 60\n@ IN NS ns1.%[1]s.\nns1 IN A 127.0.0.1\n", zone)
}

// startPrimary writes the server's configuration and the zone file
// zone.db into dir, runs command (a program of hack/test-deps.txt) with
// args and the configuration's path, and returns once it answers for the
// zone.
func startPrimary(t testing.TB, p *Primary, dir, confName, conf, zoneFile, command string, args ...string) {
	t.Helper()
	bin := testdeps.Program(t, command)
	for name, text := range map[string]string{confName: conf, "zone.db": zoneFile} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, command+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	log := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(bin, append(args, filepath.Join(dir, confName))...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", command, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s's output:\n%s", command, log())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(p.Zone), dns.TypeSOA)
	for {
		r, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).ExchangeContext(ctx, m, p.Addr)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not answer for %s at %s: %v\n%s", command, p.Zone, p.Addr, err, log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
