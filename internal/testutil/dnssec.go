// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"context"
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

// SignedParent is a parent zone signed by BIND's own tools (dnssec-keygen,
// dnssec-signzone) and served by named on 127.0.0.1: the trust anchor of a
// validating resolver, delegating a child zone with its DS.
type SignedParent struct {
	Addr string
	Zone string
	// TrustAnchor is the parent's key-signing DNSKEY, as a resolver's
	// trust-anchor takes it.
	TrustAnchor string
}

// StartSignedParent signs zone (its SOA, NS and the records given, in
// zone-file syntax: a child's NS and DS) with a key of algorithm 13 made
// by dnssec-keygen, serves it with named, and stops it when the test ends.
func StartSignedParent(t testing.TB, zone string, records ...string) *SignedParent {
	t.Helper()
	keygen, signzone := testdeps.Program(t, "dnssec-keygen"), testdeps.Program(t, "dnssec-signzone")
	p, dir, port := newPrimary(t, zone)
	keys := t.TempDir()
	out, err := exec.Command(keygen, "-K", keys, "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", zone).Output()
	if err != nil {
		t.Fatalf("dnssec-keygen: %v", err)
	}
	anchor, err := os.ReadFile(filepath.Join(keys, strings.TrimSpace(string(out))+".key"))
	if err != nil {
		t.Fatal(err)
	}
	unsigned := filepath.Join(keys, "zone.db")
	os.WriteFile(unsigned, []byte(primaryZone(zone)+strings.Join(records, "\n")+"\n"), 0o644)
	signedPath := unsigned + ".signed"
	if out, err := exec.Command(signzone, "-S", "-z", "-K", keys, "-d", keys, "-o", zone, "-f", signedPath, unsigned).CombinedOutput(); err != nil {
		t.Fatalf("dnssec-signzone: %v\n%s", err, out)
	}
	signed, err := os.ReadFile(signedPath)
	if err != nil {
		t.Fatal(err)
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
zone "%[3]s" { type primary; file "%[1]s/zone.db"; };
`, dir, port, zone)
	startPrimary(t, p, dir, "named.conf", conf, string(signed), "named", "-g", "-n", "1", "-c")
	var key string
	for _, line := range strings.Split(string(anchor), "\n") {
		if !strings.HasPrefix(line, ";") && strings.TrimSpace(line) != "" {
			key = strings.TrimSpace(line)
		}
	}
	return &SignedParent{Addr: p.Addr, Zone: zone, TrustAnchor: key}
}

// StartUnbound starts Unbound (Debian's unbound) on 127.0.0.1 as a
// validating resolver whose only trust anchor is anchor (a DNSKEY or DS
// record), asking the servers of stubs (zone → host:port) for their
// zones, and stops it when the test ends. It returns its address.
func StartUnbound(t testing.TB, anchor string, stubs map[string]string) string {
	t.Helper()
	bin := testdeps.Program(t, "unbound")
	dir := t.TempDir()
	port := FreeDualPort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var stubConf strings.Builder
	for zone, server := range stubs {
		host, p, _ := net.SplitHostPort(server)
		fmt.Fprintf(&stubConf, "stub-zone:\n  name: %q\n  stub-addr: %s@%s\n", zone, host, p)
	}
	conf := fmt.Sprintf(`server:
  interface: 127.0.0.1
  port: %[2]d
  do-ip6: no
  username: ""
  chroot: ""
  directory: "%[1]s"
  pidfile: "%[1]s/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  val-log-level: 2
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  module-config: "validator iterator"
  trust-anchor: %[3]q
  harden-dnssec-stripped: yes
  qname-minimisation: no
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
remote-control:
  control-enable: no
%[4]s`, dir, port, anchor, stubConf.String())
	confPath := filepath.Join(dir, "unbound.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	logPath := filepath.Join(dir, "unbound.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting unbound: %v", err)
	}
	log := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("unbound's output:\n%s", log())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion("localhost.", dns.TypeA)
	for {
		if _, _, err := (&dns.Client{Timeout: time.Second}).ExchangeContext(ctx, m, addr); err == nil {
			return addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("unbound did not answer at %s:\n%s", addr, log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StartSignedServer starts `acmehub server` for auth.example.org (its name
// server ns.auth.example.org at 127.0.0.1) signed with csks keys of
// algorithm alg ("13" or "15") made by `acmehub dnssec keygen` (two: as
// during a KSK rollover), and returns it with the DS record `acmehub
// dnssec ds` prints for each key. extra are lines appended to its
// configuration, after its [dnssec] section.
func StartSignedServer(t testing.TB, csks int, alg string, extra ...string) (*Process, []string) {
	t.Helper()
	dir := t.TempDir()
	var keys, ds []string
	for range csks {
		keygen := StartCmd(t, &exec.Cmd{Dir: dir}, "dnssec", "keygen", "--algorithm", alg, "auth.example.org")
		if code := keygen.Wait(10 * time.Second); code != 0 {
			t.Fatalf("dnssec keygen: exit %d\n%s", code, keygen.Output())
		}
		base := filepath.Join(dir, strings.TrimSpace(keygen.Output()))
		dsCmd := StartCmd(t, &exec.Cmd{Dir: dir}, "dnssec", "ds", base+".key")
		if code := dsCmd.Wait(10 * time.Second); code != 0 {
			t.Fatalf("dnssec ds: exit %d\n%s", code, dsCmd.Output())
		}
		keys, ds = append(keys, fmt.Sprintf("%q", base)), append(ds, strings.TrimSpace(dsCmd.Output()))
	}
	cfg := filepath.Join(dir, "config.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[general]
domain = "auth.example.org"
nsname = "ns.auth.example.org"
records = ["auth.example.org. NS ns.auth.example.org.", "ns.auth.example.org. A 127.0.0.1"]
[database]
connection = %q
[logconfig]
logformat = "json"
[dnssec]
keys = [%s]
%s`, filepath.Join(dir, "acmehub.db"), strings.Join(keys, ", "), strings.Join(extra, "\n"))), 0o644)
	return StartServer(t, "-c", cfg), ds
}

// StartBINDResolver starts BIND's named on 127.0.0.1 as a validating
// resolver that forwards each zone of forwards (zone → host:port) to its
// server and trusts only anchor (a DS record in presentation form), and
// stops it when the test ends. It returns its address. named sends DNS
// cookies to the servers it asks, and keeps the server cookies they give.
func StartBINDResolver(t testing.TB, anchor string, forwards map[string]string) string {
	t.Helper()
	bin := testdeps.Program(t, "named")
	rr, err := dns.NewRR(anchor)
	ds, ok := rr.(*dns.DS)
	if err != nil || !ok {
		t.Fatalf("trust anchor %q: want a DS record (%v)", anchor, err)
	}
	dir := t.TempDir()
	port := FreeDualPort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var zones strings.Builder
	for zone, server := range forwards {
		host, p, _ := net.SplitHostPort(server)
		fmt.Fprintf(&zones, "zone %q { type forward; forward only; forwarders { %s port %s; }; };\n", zone, host, p)
	}
	conf := fmt.Sprintf(`options {
  directory "%[1]s";
  pid-file "%[1]s/named.pid";
  listen-on port %[2]d { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-query { 127.0.0.0/8; };
  dnssec-validation yes;
  max-cache-ttl 1;
  max-ncache-ttl 1;
  notify no;
};
controls { };
trust-anchors { %[3]q static-ds %[4]d %[5]d %[6]d %[7]q; };
%[8]s`, dir, port, ds.Hdr.Name, ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest, zones.String())
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "named.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-g", "-n", "1", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting named: %v", err)
	}
	log := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("named's output:\n%s", log())
		}
	})
	// Ready when it answers its version, which asks no other server.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion("version.bind.", dns.TypeTXT)
	m.Question[0].Qclass = dns.ClassCHAOS
	for {
		if _, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).ExchangeContext(ctx, m, addr); err == nil {
			return addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("named did not answer at %s:\n%s", addr, log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
