// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
)

// TestHubAdministeredWhileServing: acmehub admin sets up the hub's
// database; acmehub server answers an httpreq client with it and serves the
// value over DNS; changes made with admin while the server runs apply (a
// revoked token at once, a new config within seconds); the audit log tells
// what happened.
func TestHubAdministeredWhileServing(t *testing.T) {
	h := testutil.NewHubSetup(t, testutil.HubOptions{})
	h.MustAdmin("configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", ".example.com", "--ttl", "30")
	clientID, secret := h.Token()
	server := h.Server()
	present := func(fqdn string) (int, string) {
		return testutil.HTTPReq(t, server.Hub, "present", clientID, secret, fqdn, testutil.HubValue)
	}
	if code, detail := present("_acme-challenge.www.example.com."); code != 200 {
		t.Fatalf("present: %d %s", code, detail)
	}
	m := new(dns.Msg)
	m.SetQuestion("_acme-challenge.www.example.com.", dns.TypeTXT)
	r, err := dns.Exchange(m, server.DNSUDP)
	if err != nil || len(r.Answer) != 1 || !r.Authoritative || r.Answer[0].(*dns.TXT).Txt[0] != testutil.HubValue {
		t.Fatalf("DNS: %v %v", r, err)
	}

	// A config added while the server runs applies within seconds.
	if code, _ := present("_acme-challenge.www.example.net."); code != 403 {
		t.Fatalf("a name of no config: %d", code)
	}
	h.MustAdmin("configs", "put", "--id", "self-net", "--zone", "example.net", "--rule", ".example.net")
	deadline := time.Now().Add(15 * time.Second)
	for code, detail := present("_acme-challenge.www.example.net."); code != 200; code, detail = present("_acme-challenge.www.example.net.") {
		if time.Now().After(deadline) {
			t.Fatalf("the new config is not applied: %d %s", code, detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A revoked token is refused at once.
	h.MustAdmin("tokens", "revoke", clientID)
	if code, detail := present("_acme-challenge.www.example.com."); code != 401 || !strings.Contains(detail, "revoked") {
		t.Errorf("present with a revoked token: %d %s", code, detail)
	}

	var audit []struct{ Action, ClientID, Identifier, Result, Detail string }
	if err := json.Unmarshal([]byte(h.MustAdmin("audit", "--identifier", "www.example.com", "-o", "json")), &audit); err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, e := range audit {
		results = append(results, e.Result)
	}
	if len(audit) != 2 || !strings.HasPrefix(audit[0].Result, "refused: ") || audit[1].Result != "ok" || audit[1].Detail != "httpreq" {
		t.Errorf("audit of www.example.com, newest first: %q", results)
	}
}

// TestAdminConfigsAndAuthorisations: configs test checks a DigitalOcean
// token against its zone (the fake API, reached through HTTPS_PROXY), an
// update without credentials keeps them, and acmeproxy authorisations are
// created, listed and deleted.
func TestAdminConfigsAndAuthorisations(t *testing.T) {
	dir := t.TempDir()
	do := fakes.NewFakeDigitalOcean(t, "dop_v1_good", "example.com")
	env := do.ProxyEnv(t)
	run := func(args ...string) (int, string) {
		t.Helper()
		p := testutil.StartCmd(t, &exec.Cmd{Dir: dir, Env: env}, append([]string{"admin", "--keys-file", "hub.keys", "--db-connection", "hub.db"}, args...)...)
		code := p.Wait(30 * time.Second)
		return code, strings.TrimSpace(p.Output())
	}
	keygen := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, "admin", "keygen")
	keygen.Wait(10 * time.Second)
	os.WriteFile(filepath.Join(dir, "hub.keys"), []byte(keygen.Output()), 0o600)
	os.WriteFile(filepath.Join(dir, "good.json"), []byte(`{"api_token": "dop_v1_good"}`), 0o600)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"api_token": "dop_v1_revoked"}`), 0o600)

	for _, args := range [][]string{
		{"configs", "put", "--id", "do", "--provider", "digitalocean", "--zone", "example.com", "--rule", ".example.com", "--credentials-file", "good.json"},
		{"configs", "put", "--id", "do-bad", "--provider", "digitalocean", "--zone", "example.com", "--rule", ".bad.example.com", "--credentials-file", "bad.json"},
		{"configs", "test", "do"},
		// An update without credentials keeps them.
		{"configs", "put", "--id", "do", "--provider", "digitalocean", "--zone", "example.com", "--rule", ".example.com", "--rule", "example.com",
			"--nameserver", "192.0.2.53:53"},
		{"configs", "test", "do"},
	} {
		if code, out := run(args...); code != 0 {
			t.Fatalf("admin %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	if code, out := run("configs", "test", "do-bad"); code != 1 || !strings.Contains(out, "401 Unauthorized: Unable to authenticate you") {
		t.Errorf("configs test with a revoked token: exit %d\n%s", code, out)
	}
	_, out := run("configs", "list", "-o", "json")
	var configs []map[string]any
	if err := json.Unmarshal([]byte(out), &configs); err != nil || len(configs) != 2 || len(configs[0]["rules"].([]any)) != 2 ||
		fmt.Sprint(configs[0]["nameservers"]) != "[192.0.2.53:53]" || configs[0]["hasCredentials"] != true || configs[0]["credentials"] != nil {
		t.Errorf("configs list: %v\n%s", err, out)
	}

	code, out := run("authorisations", "create", "www.example.com", "-o", "json")
	var a struct {
		Authorisation, Secret string
	}
	if err := json.Unmarshal([]byte(out), &a); code != 0 || err != nil || a.Authorisation != "www.example.com" || len(a.Secret) != 32 {
		t.Fatalf("authorisations create: exit %d %v\n%s", code, err, out)
	}
	if code, out := run("authorisations", "create", "www.example.com"); code != 1 || !strings.Contains(out, "has an authorisation already") {
		t.Errorf("a second authorisation: exit %d\n%s", code, out)
	}
	if _, out := run("authorisations", "list"); !strings.Contains(out, "www.example.com") || !strings.Contains(out, "cli:") || strings.Contains(out, a.Secret) {
		t.Errorf("authorisations list:\n%s", out)
	}
	if code, out := run("authorisations", "delete", "www.example.com"); code != 0 {
		t.Fatalf("authorisations delete: exit %d\n%s", code, out)
	}
	if _, out := run("authorisations", "list", "-o", "json"); out != "[]" {
		t.Errorf("authorisations after delete: %s", out)
	}
	_, out = run("audit", "-o", "json")
	for _, want := range []string{"test config do", "create authorisation www.example.com", "delete authorisation www.example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}

// TestAdminPrintsJSON: every admin command with -o json prints one JSON
// object or array, never null nor text, empty lists included.
func TestAdminPrintsJSON(t *testing.T) {
	h := testutil.NewHubSetup(t, testutil.HubOptions{})
	principal := h.MustAdmin("principals", "create", "--title", "json", "--role", "managed-challenge-consumer")
	var tok struct{ ClientID string }
	steps := [][]string{
		{"configs", "list"}, {"authorisations", "list"}, {"records"}, {"audit", "--principal", "nobody"},
		{"principals", "create", "--title", "another"},
		{"principals", "list"},
		{"principals", "roles", principal, "--role", "managed-challenge-consumer"},
		{"tokens", "create", "--principal", principal, "--ttl", "90d"},
		{"tokens", "list"},
		{"configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", ".example.com"},
		{"configs", "test", "self-example"},
		{"providers"},
		{"authorisations", "create", "www.example.com"},
		{"authorisations", "delete", "www.example.com"},
		{"configs", "delete", "self-example"},
		{"audit"},
	}
	for _, args := range steps {
		out := h.MustAdmin(append(args, "-o", "json")...)
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("admin %s -o json: not JSON: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
		default:
			t.Errorf("admin %s -o json: %s, want an object or an array", strings.Join(args, " "), out)
		}
		if args[0] == "tokens" && args[1] == "create" {
			json.Unmarshal([]byte(out), &tok)
		}
	}
	type listedToken struct {
		ClientID         string
		Created, Expires time.Time
	}
	var listed []listedToken
	json.Unmarshal([]byte(h.MustAdmin("tokens", "list", "-o", "json")), &listed)
	if i := slices.IndexFunc(listed, func(l listedToken) bool { return l.ClientID == tok.ClientID }); i < 0 || listed[i].Expires.Sub(listed[i].Created) != 90*24*time.Hour {
		t.Errorf("token %s, created with --ttl 90d, in %+v: want it to expire 90 days after its creation", tok.ClientID, listed)
	}
	for _, args := range [][]string{{"tokens", "rotate", tok.ClientID}, {"tokens", "revoke", tok.ClientID}} {
		var v map[string]any
		if out := h.MustAdmin(append(args, "-o", "json")...); json.Unmarshal([]byte(out), &v) != nil || v["clientID"] != tok.ClientID {
			t.Errorf("admin %s -o json: %s", strings.Join(args, " "), out)
		}
	}
}

// TestCarefulDefaults: keygen --out writes keys its owner alone may read,
// the newest first, and rotation keeps the old ones opening what they
// sealed; a keys file others may read is warned about; the hub's / leads
// to the console; the start-up log says what is on.
func TestCarefulDefaults(t *testing.T) {
	h := testutil.NewHubSetup(t, testutil.HubOptions{DNSSEC: true})
	keys := filepath.Join(h.Dir, "hub.keys")
	if fi, err := os.Stat(keys); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keygen --out wrote %v %v, want mode 0600", fi.Mode(), err)
	}
	principal := h.MustAdmin("principals", "create", "--title", "sealed with k1", "--role", "managed-challenge-consumer")
	h.MustAdmin("keygen", "--id", "k2", "--out", "hub.keys")
	text, _ := os.ReadFile(keys)
	if lines := strings.Split(strings.TrimSpace(string(text)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "k2 ") || !strings.HasPrefix(lines[1], "k1 ") {
		t.Errorf("after a rotation the keys file holds %q, want k2 then k1", lines)
	}
	if out := h.MustAdmin("principals", "list"); !strings.Contains(out, principal) || strings.Contains(out, "chmod") {
		t.Errorf("after a rotation: %s", out)
	}
	os.Chmod(keys, 0o644)
	if out := h.MustAdmin("principals", "list"); !strings.Contains(out, "chmod 600") {
		t.Errorf("no warning about a keys file others may read:\n%s", out)
	}
	os.Chmod(keys, 0o600)

	p := h.Server()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + p.Hub + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Errorf("GET / on the hub: %d to %q, want 302 to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, want := range []string{`"msg":"the zone is signed (DNSSEC)"`, `(CSK, algorithm 13)`, `"msg":"the API"`, `"registration":"open"`,
		`"doors":["/acmeproxy","/api/v1/managedchallenge","/api/v1/delegations","/httpreq","/console"]`} {
		if !strings.Contains(p.Output(), want) {
			t.Errorf("the start-up log lacks %s:\n%s", want, p.Output())
		}
	}
}
