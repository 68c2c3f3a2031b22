// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// StartAcmeDNS runs `acmehub server` as another team's acme-dns: the zone
// domain with its name server ns1.<domain>, DNS and plain-HTTP API on
// loopback ports the system chooses, SQLite in a directory of the test's.
// extra is appended to its config.cfg (an [acmehub] section, say).
func StartAcmeDNS(t testing.TB, domain, extra string) *Process {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`[general]
listen = "127.0.0.1:0"
protocol = "both"
domain = %q
nsname = "ns1.%s"
[database]
engine = "sqlite"
connection = "acme-dns.db"
[api]
ip = "127.0.0.1"
port = "0"
tls = "none"
[logconfig]
logformat = "json"
`, domain, domain) + extra
	path := filepath.Join(dir, "config.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := StartCmd(t, &exec.Cmd{Dir: dir}, "server", "-c", path)
	if err := p.WaitReady(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}
