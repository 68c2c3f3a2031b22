// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
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
	do := fakes.NewFakeDigitalOcean(t, "dop_v1_good", "example.com")
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
	if out := h.MustAdmin("audit", "--identifier", "www.example.com", "-o", "json"); !strings.Contains(out, `"action": "sweep"`) {
		t.Errorf("the sweep is not audited:\n%s", out)
	}
}

// TestRFC2136IntoBIND: a config of provider rfc2136 writes into a real
// BIND 9 through the hub's httpreq door: two clients' values at one name
// coexist, a cleanup removes exactly its client's value, a name outside the
// config's rules is refused before BIND is asked, `configs test` checks the
// key without a change, a wrong key is a 502 that names TSIG; and a value
// left behind by a killed server is swept from BIND after the restart.
func TestRFC2136IntoBIND(t *testing.T) {
	bind := testutil.StartBIND(t, "example.com", "_acme-challenge.www.example.com", "_acme-challenge.api.example.com")
	h := testutil.NewHubSetup(t, testutil.HubOptions{Hub: `cleanup_after = "10s"`})
	put := func(id, secret, rule string) {
		creds, _ := json.Marshal(map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": secret})
		os.WriteFile(filepath.Join(h.Dir, id+".json"), creds, 0o600)
		h.MustAdmin("configs", "put", "--id", id, "--provider", "rfc2136", "--zone", "example.com", "--rule", rule,
			"--nameserver", bind.Addr, "--credentials-file", id+".json")
	}
	put("bind", bind.Secret, "www.example.com")
	put("bind-wrong-key", "d3Jvbmcga2V5IGZvciB0aGlzIHNlcnZlcg==", "api.example.com")
	if out := h.MustAdmin("configs", "test", "bind", "-o", "json"); !strings.Contains(out, `"ok": true`) {
		t.Errorf("configs test bind: %s", out)
	}
	if code, out := h.Admin("configs", "test", "bind-wrong-key"); code == 0 || !strings.Contains(out, "TSIG key "+bind.KeyName) {
		t.Errorf("configs test with a wrong key: exit %d\n%s", code, out)
	}
	served := func() []string {
		values, err := dnsclient.Resolver{}.ServedTXT(context.Background(), bind.Addr, "_acme-challenge.www.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return values
	}
	server := h.Server()
	a, aSecret := valuesCoexist(t, h, server, "BIND", served)
	if code, out := testutil.HTTPReq(t, server.Hub, "present", a, aSecret, "_acme-challenge.api.example.com.", "v"); code != 502 ||
		!strings.Contains(out, "TSIG key "+bind.KeyName) {
		t.Errorf("a config whose key BIND refuses: %d %s", code, out)
	}

	// Client b's value is left behind by a killed server: the restarted
	// server's sweep removes it from BIND.
	server.Cmd.Process.Signal(syscall.SIGKILL)
	<-server.Done()
	restarted := h.Server()
	deadline := time.Now().Add(30 * time.Second)
	for len(served()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("BIND still serves %q 30 s after the restart:\n%s", served(), restarted.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cloudRow is one cloud provider through the hub: its fake API (reached
// through HTTPS_PROXY as the real one would be), the credentials it takes,
// credentials its API refuses (with the refusal's words), and checks of
// its own.
type cloudRow struct {
	provider, where string
	// start starts the fake; it returns the processes' environment, the
	// values the API holds at _acme-challenge.www.example.com and the
	// credentials it takes.
	start func(t *testing.T) (env []string, held func() []string, good map[string]string)
	// refused are credentials the API refuses at present time, and what
	// the refusal that reaches the client says.
	refused map[string]string
	refusal string
	more    func(t *testing.T, h *testutil.HubSetup, server *testutil.Process, clientID, secret string)
}

// TestCloudProvidersThroughTheHub: for each cloud provider, a config
// checked by `configs test`, then through the hub's httpreq door: two
// clients' values at one name coexist, a cleanup removes exactly its
// client's value, a name outside the config's rules is refused before the
// API is asked (valuesCoexist), and the API's own refusal of a config's
// credentials reaches the client in a 502.
func TestCloudProvidersThroughTheHub(t *testing.T) {
	var cf *fakes.FakeCloudflare
	rows := []cloudRow{
		{provider: "cloudflare", where: "Cloudflare",
			start: func(t *testing.T) ([]string, func() []string, map[string]string) {
				cf = fakes.NewFakeCloudflare(t, "cf-token", "", "", "example.com")
				return cf.ProxyEnv(t), func() []string { return cf.TXT("_acme-challenge.www.example.com") },
					map[string]string{"api_token": "cf-token"}
			},
			more: cloudflareRefusals(&cf)},
		{provider: "route53", where: "Route 53",
			start: func(t *testing.T) ([]string, func() []string, map[string]string) {
				r53 := fakes.NewFakeRoute53(t, "AKIAHUBTEST", "example.com")
				return r53.ProxyEnv(t), func() []string { return r53.TXT("_acme-challenge.www.example.com") },
					map[string]string{"access_key_id": "AKIAHUBTEST", "secret_access_key": "s"}
			},
			refused: map[string]string{"access_key_id": "AKIAREVOKED", "secret_access_key": "s"}, refusal: "InvalidClientTokenId"},
		{provider: "clouddns", where: "Cloud DNS",
			start: func(t *testing.T) ([]string, func() []string, map[string]string) {
				gcp := fakes.NewFakeCloudDNS(t, "acme-project", "example-com", "example.com")
				return gcp.ProxyEnv(t), func() []string { return gcp.TXT("_acme-challenge.www.example.com") },
					map[string]string{"project": "acme-project", "managed_zone": "example-com", "service_account": string(gcp.ServiceAccount())}
			}},
		{provider: "azuredns", where: "Azure DNS",
			start: func(t *testing.T) ([]string, func() []string, map[string]string) {
				az := fakes.NewFakeAzureDNS(t, "tenant-1", "acmehub-sp", "sp-secret", "subscription-1", "dns-rg", "example.com")
				return az.ProxyEnv(t), func() []string { return az.TXT("_acme-challenge.www") },
					map[string]string{"subscription_id": "subscription-1", "resource_group": "dns-rg", "tenant_id": "tenant-1",
						"client_id": "acmehub-sp", "client_secret": "sp-secret"}
			},
			refused: map[string]string{"subscription_id": "subscription-1", "resource_group": "dns-rg", "tenant_id": "tenant-1",
				"client_id": "acmehub-sp", "client_secret": "expired"}, refusal: "AADSTS7000215"},
		{provider: "akamai", where: "Edge DNS",
			start: func(t *testing.T) ([]string, func() []string, map[string]string) {
				edge := fakes.NewFakeAkamai(t, "akab-client-token", "client-secret", "akab-access-token", "example.com")
				return edge.ProxyEnv(t), func() []string { return edge.TXT("_acme-challenge.www.example.com") },
					map[string]string{"host": fakes.AkamaiHost, "client_token": "akab-client-token", "client_secret": "client-secret",
						"access_token": "akab-access-token"}
			},
			refused: map[string]string{"host": fakes.AkamaiHost, "client_token": "akab-client-token", "client_secret": "revoked",
				"access_token": "akab-access-token"}, refusal: "The signature does not match"},
	}
	for _, row := range rows {
		t.Run(row.provider, func(t *testing.T) {
			env, held, good := row.start(t)
			h := testutil.NewHubSetup(t, testutil.HubOptions{Env: env})
			put := func(id, rule string, creds map[string]string) {
				raw, _ := json.Marshal(creds)
				os.WriteFile(filepath.Join(h.Dir, id+".json"), raw, 0o600)
				h.MustAdmin("configs", "put", "--id", id, "--provider", row.provider, "--zone", "example.com", "--rule", rule,
					"--credentials-file", id+".json")
			}
			put("good", "www.example.com", good)
			if row.refused != nil {
				put("refused", "api.example.com", row.refused)
			}
			if out := h.MustAdmin("configs", "test", "good", "-o", "json"); !strings.Contains(out, `"ok": true`) {
				t.Errorf("configs test: %s", out)
			}
			server := h.Server()
			a, aSecret := valuesCoexist(t, h, server, row.where, held)
			if row.refused != nil {
				if code, out := testutil.HTTPReq(t, server.Hub, "present", a, aSecret, "_acme-challenge.api.example.com.", "v"); code != 502 ||
					!strings.Contains(out, row.refusal) {
					t.Errorf("a config whose credentials %s refuses: %d %s, want 502 with %q", row.where, code, out, row.refusal)
				}
			}
			if row.more != nil {
				row.more(t, h, server, a, aSecret)
			}
		})
	}
}

// cloudflareRefusals: credentials with a field Cloudflare's provider does
// not know are refused before they are stored, a refused request never
// reaches Cloudflare, and Cloudflare's own error reaches the client.
func cloudflareRefusals(cf **fakes.FakeCloudflare) func(*testing.T, *testutil.HubSetup, *testutil.Process, string, string) {
	return func(t *testing.T, h *testutil.HubSetup, server *testutil.Process, a, aSecret string) {
		os.WriteFile(filepath.Join(h.Dir, "bad.json"), []byte(`{"api_token": "cf-token", "zone_id": "x"}`), 0o600)
		if code, out := h.Admin("configs", "put", "--id", "cf-bad", "--provider", "cloudflare", "--zone", "example.com", "--rule", "api.example.com",
			"--credentials-file", "bad.json"); code == 0 || !strings.Contains(out, `provider cloudflare has no field "zone_id"`) {
			t.Errorf("credentials with a field Cloudflare's provider does not know: exit %d\n%s", code, out)
		}
		calls := len((*cf).Calls())
		if code, out := testutil.HTTPReq(t, server.Hub, "present", a, aSecret, "_acme-challenge.mail.example.com.", "v"); code != 403 {
			t.Errorf("a name outside the config's rules: %d %s", code, out)
		}
		if n := len((*cf).Calls()); n != calls {
			t.Errorf("a refused request reached Cloudflare (%d calls)", n-calls)
		}
		(*cf).FailNextPost("DNS Validation Error")
		if code, out := testutil.HTTPReq(t, server.Hub, "present", a, aSecret, "_acme-challenge.www.example.com.", "refused value"); code != 502 ||
			!strings.Contains(out, "81057: DNS Validation Error") {
			t.Errorf("Cloudflare's refusal: %d %s", code, out)
		}
	}
}

// valuesCoexist presents two clients' values at _acme-challenge.www.example.com
// through the hub's httpreq door, then cleans up the first client's value,
// then asks for a name outside the config's rules (refused), and checks
// what the provider (named by where) holds after each, by held. It returns
// the first client's token.
func valuesCoexist(t *testing.T, h *testutil.HubSetup, server *testutil.Process, where string, held func() []string) (string, string) {
	t.Helper()
	a, aSecret := h.Token()
	b, bSecret := h.Token()
	const fqdn = "_acme-challenge.www.example.com."
	for _, c := range []struct{ id, secret, value string }{{a, aSecret, "value of client a"}, {b, bSecret, "value of client b"}} {
		if code, out := testutil.HTTPReq(t, server.Hub, "present", c.id, c.secret, fqdn, c.value); code != 200 {
			t.Fatalf("present %s: %d %s", c.value, code, out)
		}
	}
	if got := held(); !testutil.SameElements(got, []string{"value of client a", "value of client b"}) {
		t.Fatalf("%s holds %q after two clients' presents", where, got)
	}
	if code, out := testutil.HTTPReq(t, server.Hub, "cleanup", a, aSecret, fqdn, "value of client a"); code != 200 {
		t.Fatalf("cleanup: %d %s", code, out)
	}
	if got := held(); !slices.Equal(got, []string{"value of client b"}) {
		t.Fatalf("%s holds %q after client a's cleanup", where, got)
	}
	if code, out := testutil.HTTPReq(t, server.Hub, "present", a, aSecret, "_acme-challenge.mail.example.com.", "v"); code != 403 {
		t.Errorf("a name outside the config's rules: %d %s", code, out)
	}
	if got := held(); !slices.Equal(got, []string{"value of client b"}) {
		t.Errorf("%s holds %q after a refused present", where, got)
	}
	return a, aSecret
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

// TestDelegationsIntoBIND: through the hub's delegations door, a token
// with the delegate role has the hub write a CNAME into a real BIND 9; a
// token without the role, a name outside the token's domains and a name
// that holds TXT values are refused and nothing is written; the CNAME is
// removed again, and every step is audited.
func TestDelegationsIntoBIND(t *testing.T) {
	bind := testutil.StartBIND(t, "example.com", "_acme-challenge.app.example.com", "_acme-challenge.www.example.com")
	h := testutil.NewHubSetup(t, testutil.HubOptions{})
	creds, _ := json.Marshal(map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": bind.Secret})
	os.WriteFile(filepath.Join(h.Dir, "bind.json"), creds, 0o600)
	h.MustAdmin("configs", "put", "--id", "bind", "--provider", "rfc2136", "--zone", "example.com", "--rule", ".example.com",
		"--nameserver", bind.Addr, "--credentials-file", "bind.json")
	principal := h.MustAdmin("principals", "create", "--title", "register job", "--role", "managed-challenge-delegate")
	var tok struct{ ClientID, Secret string }
	json.Unmarshal([]byte(h.MustAdmin("tokens", "create", "--principal", principal, "--scope", "managed-challenge-delegate",
		"--domain", "app.example.com", "--domain", "www.example.com", "-o", "json")), &tok)
	consumer, consumerSecret := h.Token()
	server := h.Server()
	cname := func(name string) string { return cnameAt(t, bind.Addr, name) }
	const target = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org"
	call := func(method, path, clientID, secret, body string) (int, string) {
		return delegations(t, server.Hub, method, path, clientID, secret, body)
	}
	if code, out := call("POST", "", tok.ClientID, tok.Secret, `{"identifier": "app.example.com", "target": "`+target+`"}`); code != 200 ||
		!strings.Contains(out, `"name":"_acme-challenge.app.example.com"`) {
		t.Fatalf("delegate: %d %s", code, out)
	}
	if got := cname("_acme-challenge.app.example.com"); got != target {
		t.Fatalf("BIND serves the CNAME %q, want %s", got, target)
	}
	if code, out := testutil.HTTPReq(t, server.Hub, "present", consumer, consumerSecret, "_acme-challenge.www.example.com.", "a value"); code != 200 {
		t.Fatalf("present: %d %s", code, out)
	}
	for _, tc := range []struct {
		name, clientID, secret, identifier string
		code                               int
	}{
		{"a token without the role", consumer, consumerSecret, "app.example.com", 403},
		{"a name outside the token's domains", tok.ClientID, tok.Secret, "api.example.com", 403},
		{"a name holding TXT values", tok.ClientID, tok.Secret, "www.example.com", 409},
		{"a wrong secret", tok.ClientID, "wrong", "app.example.com", 401},
	} {
		if code, out := call("POST", "", tc.clientID, tc.secret, `{"identifier": "`+tc.identifier+`", "target": "other.auth.example.org"}`); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, out, tc.code)
		}
	}
	for _, name := range []string{"_acme-challenge.api.example.com", "_acme-challenge.www.example.com"} {
		if got := cname(name); got != "" {
			t.Errorf("a refused delegation wrote %s CNAME %s", name, got)
		}
	}
	if got := cname("_acme-challenge.app.example.com"); got != target {
		t.Errorf("after the refusals BIND serves the CNAME %q, want %s", got, target)
	}
	if code, out := call("GET", "", tok.ClientID, tok.Secret, ""); code != 200 || !strings.Contains(out, target) {
		t.Errorf("list: %d %s", code, out)
	}
	if code, out := call("DELETE", "/app.example.com", tok.ClientID, tok.Secret, ""); code != 200 {
		t.Errorf("undelegate: %d %s", code, out)
	}
	if got := cname("_acme-challenge.app.example.com"); got != "" {
		t.Errorf("after the removal BIND serves the CNAME %q", got)
	}
	audit := h.MustAdmin("audit", "--identifier", "app.example.com")
	for _, want := range []string{"delegate", "undelegate", "CNAME to " + target, "refused"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, audit)
		}
	}
}

// cnameAt asks the server at addr for the CNAME at name; "" when none.
func cnameAt(t *testing.T, addr, name string) string {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name+".", dns.TypeCNAME)
	r, err := dns.Exchange(q, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range r.Answer {
		if c, ok := rr.(*dns.CNAME); ok {
			return strings.TrimSuffix(c.Target, ".")
		}
	}
	return ""
}

// delegations calls the hub's delegations door at hub with a token.
func delegations(t *testing.T, hub, method, path, clientID, secret, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+hub+"/api/v1/delegations"+path, strings.NewReader(body))
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
