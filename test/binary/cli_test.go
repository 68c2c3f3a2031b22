// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil"
)

// TestCLIFailsHelpfully: what a new user types wrong is refused with an
// exit code of 1 and a message that says what to type, before anything is
// done; help and the version print cleanly.
func TestCLIFailsHelpfully(t *testing.T) {
	keys, err := exec.Command(testutil.Binary(t), "admin", "keygen", "--id", "k1").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  string
		args []string
		code int
		want []string
		// absent must not be in the output.
		absent []string
	}{
		{"a typo two levels down", "", []string{"admin", "tokens", "lst"}, 1,
			[]string{`unknown command "lst" for "acmehub admin tokens"`, "Did you mean this?", "\tlist"}, nil},
		{"a typo one level down", "", []string{"admin", "princpals"}, 1, []string{"Did you mean this?", "\tprincipals"}, nil},
		{"a typo in dnssec", "", []string{"dnssec", "kegen"}, 1, []string{"\tkeygen"}, nil},
		{"--version", "", []string{"--version"}, 0, []string{"acmehub "}, nil},
		{"a flag's bad value", "", []string{"server", "--dns-listen", "5353"}, 1,
			[]string{"the flags over the built-in default configuration", `--dns-listen ([general] listen) "5353": want host:port, such as ":5353"`}, nil},
		{"a command's flag named as the server's", "", []string{"admin", "--db-connection", "hub.db", "--keys-file", "hub.keys",
			"tokens", "create", "--principal", "prn_none", "--domain", "<name>.example.com"}, 1, []string{"principal prn_none: not found"}, []string{"[general] domain"}},
		{"admin without a hub", "", []string{"admin", "principals", "list"}, 1, []string{"-c /etc/acme-dns/config.cfg", "--db-connection", "--keys-file"}, nil},
		{"a required flag", "", []string{"admin", "--db-connection", "hub.db", "--keys-file", "hub.keys", "tokens", "create"}, 1,
			[]string{`required flag(s) "principal" not set`}, nil},
		{"a date it cannot read", "", []string{"admin", "--db-connection", "hub.db", "--keys-file", "hub.keys", "audit", "--since", "yesterday"}, 1,
			[]string{`--since "yesterday": neither a duration ago (90m, 24h, 7d), a date (2026-12-01)`}, []string{"2006-01-02T15:04:05Z07:00"}},
		{"a keys file that holds none", "", []string{"admin", "--db-connection", "hub.db", "--keys-file", "empty.keys", "principals", "list"}, 1,
			[]string{"--keys-file ([hub] keys_file) empty.keys", "no key"}, nil},
		{"register without its flags", "", []string{"register"}, 1,
			[]string{"missing --api (or $ACMEHUB_API), --client (or $ACMEHUB_CLIENT), --fqdn (or $ACMEHUB_FQDNS)"}, []string{"kube"}},
		{"the webhook's help", "", []string{"webhook", "--help"}, 0,
			[]string{"Usage:\n  acmehub webhook", "acmehub flags:", "--server-config", "extension apiserver flags:", "--secure-port"},
			[]string{`"level"`, "Usage:\n   [flags]"}},
		{"the webhook outside a cluster", "GROUP_NAME=acme.example.org", []string{"webhook", "--secure-port", strconv.Itoa(testutil.FreeTCPPort(t))}, 1,
			[]string{"KUBERNETES_SERVICE_HOST"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "hub.keys"), keys, 0o600)
			os.WriteFile(filepath.Join(dir, "empty.keys"), nil, 0o600)
			p := testutil.StartCmd(t, &exec.Cmd{Dir: dir, Env: []string{"PATH=" + os.Getenv("PATH"), tc.env}}, tc.args...)
			if code := p.Wait(20 * time.Second); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			out := p.Output()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".keys") && !strings.HasPrefix(e.Name(), "hub.db") {
					t.Errorf("%s written into the working directory", e.Name())
				}
			}
		})
	}
}
