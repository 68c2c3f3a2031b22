package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
)

// hubSetup is a directory holding the hub's keys and a config.cfg with
// [hub] on, for the real acmehub server and acmehub admin.
type hubSetup struct {
	t   *testing.T
	dir string
	env []string // added to every process's environment
}

// hubOptions shape a hubSetup.
type hubOptions struct {
	// Database is a postgres:// URL, or "" for SQLite in the directory.
	Database string
	// Hub is appended to the [hub] section.
	Hub string
	// TLS serves the hub over HTTPS with a self-signed certificate for
	// 127.0.0.1; otherwise plain HTTP.
	TLS bool
	// Env is added to every process's environment.
	Env []string
}

// newHubSetup writes the keys and config.cfg.
func newHubSetup(t *testing.T, o hubOptions) *hubSetup {
	t.Helper()
	h := &hubSetup{t: t, dir: t.TempDir(), env: o.Env}
	keygen := testutil.StartCmd(t, &exec.Cmd{Dir: h.dir}, "admin", "keygen", "--id", "k1")
	if code := keygen.Wait(10 * time.Second); code != 0 {
		t.Fatalf("admin keygen: exit %d", code)
	}
	os.WriteFile(filepath.Join(h.dir, "hub.keys"), []byte(keygen.Output()), 0o600)
	db := `connection = "acmehub.db"`
	if o.Database != "" {
		db = fmt.Sprintf("engine = \"postgres\"\nconnection = %q", o.Database)
	}
	tls := `tls = "none"`
	if o.TLS {
		testutil.WriteSelfSignedCert(t, filepath.Join(h.dir, "hub.crt"), filepath.Join(h.dir, "hub.key"), "hub")
		tls = "tls = \"cert\"\ntls_cert_fullchain = \"hub.crt\"\ntls_cert_privkey = \"hub.key\""
	}
	cfg := fmt.Sprintf(`[general]
domain = "auth.example.org"
listen = "127.0.0.1:0"
[database]
%s
[api]
port = "0"
[logconfig]
logformat = "json"
[hub]
enabled = true
listen = "127.0.0.1:0"
keys_file = "hub.keys"
%s
%s
`, db, tls, o.Hub)
	if err := os.WriteFile(filepath.Join(h.dir, "config.cfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// admin runs acmehub admin and returns its exit code and output.
func (h *hubSetup) admin(args ...string) (int, string) {
	h.t.Helper()
	p := testutil.StartCmd(h.t, &exec.Cmd{Dir: h.dir, Env: h.env}, append([]string{"admin", "-c", "config.cfg"}, args...)...)
	code := p.Wait(30 * time.Second)
	return code, strings.TrimSpace(p.Output())
}

// mustAdmin is admin, failing the test unless it succeeds.
func (h *hubSetup) mustAdmin(args ...string) string {
	h.t.Helper()
	code, out := h.admin(args...)
	if code != 0 {
		h.t.Fatalf("acmehub admin %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// token creates a consumer principal and token with acmehub admin.
func (h *hubSetup) token() (clientID, secret string) {
	h.t.Helper()
	return h.tokenFor("managed-challenge-consumer")
}

// tokenFor creates a principal holding role and a token carrying it.
func (h *hubSetup) tokenFor(role string) (clientID, secret string) {
	h.t.Helper()
	principal := h.mustAdmin("principals", "create", "--title", "holder of "+role, "--role", role)
	var tok struct{ ClientID, Secret string }
	if err := json.Unmarshal([]byte(h.mustAdmin("tokens", "create", "--principal", principal, "--scope", role, "-o", "json")), &tok); err != nil || tok.Secret == "" {
		h.t.Fatalf("tokens create -o json: %v", err)
	}
	return tok.ClientID, tok.Secret
}

// server starts acmehub server and waits until it is ready.
func (h *hubSetup) server() *testutil.Process {
	h.t.Helper()
	p := testutil.StartCmd(h.t, &exec.Cmd{Dir: h.dir, Env: h.env}, "server", "-c", "config.cfg")
	if err := p.WaitReady(15 * time.Second); err != nil {
		h.t.Fatal(err)
	}
	if p.Hub == "" {
		h.t.Fatalf("no hub address in the ready line:\n%s", p.Output())
	}
	return p
}

// httpreqPresent sends lego's httpreq present for fqdn to the hub at addr.
func httpreqPresent(t *testing.T, addr, clientID, secret, fqdn, value string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"fqdn": fqdn, "value": value})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/httpreq/present", bytes.NewReader(body))
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var p struct{ Detail string }
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p.Detail
}

const hubValue = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

// TestTokenChangesReachEveryReplica: two servers share one PostgreSQL
// database; a token rotated or revoked with acmehub admin is refused by
// both at once, and the rotated secret works on both.
func TestTokenChangesReachEveryReplica(t *testing.T) {
	h := newHubSetup(t, hubOptions{Database: pgtest.Database(t)})
	h.mustAdmin("configs", "put", "--id", "self-example", "--zone", "example.com", "--rule", ".example.com")
	clientID, secret := h.token()
	replicas := []*testutil.Process{h.server(), h.server()}
	presentAll := func(secret string) []int {
		var codes []int
		for _, r := range replicas {
			code, _ := httpreqPresent(t, r.Hub, clientID, secret, "_acme-challenge.www.example.com.", hubValue)
			codes = append(codes, code)
		}
		return codes
	}
	if got := presentAll(secret); fmt.Sprint(got) != "[200 200]" {
		t.Fatalf("present on both replicas: %v", got)
	}
	var rotated struct{ Secret string }
	if err := json.Unmarshal([]byte(h.mustAdmin("tokens", "rotate", clientID, "-o", "json")), &rotated); err != nil || rotated.Secret == "" {
		t.Fatalf("tokens rotate: %v", err)
	}
	if got := presentAll(secret); fmt.Sprint(got) != "[401 401]" {
		t.Errorf("the old secret right after the rotation: %v", got)
	}
	if got := presentAll(rotated.Secret); fmt.Sprint(got) != "[200 200]" {
		t.Errorf("the new secret: %v", got)
	}
	h.mustAdmin("tokens", "revoke", clientID)
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
	h := newHubSetup(t, hubOptions{Hub: `cleanup_after = "10s"`, Env: do.ProxyEnv(t)})
	os.WriteFile(filepath.Join(h.dir, "do.json"), []byte(`{"api_token": "dop_v1_good"}`), 0o600)
	h.mustAdmin("configs", "put", "--id", "do", "--provider", "digitalocean", "--zone", "example.com", "--rule", ".example.com",
		"--credentials-file", "do.json")
	clientID, secret := h.token()
	held := do.HoldCreates()
	server := h.server()
	answered := make(chan int, 1)
	go func() {
		code, _ := httpreqPresent(t, server.Hub, clientID, secret, "_acme-challenge.www.example.com.", hubValue)
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

	restarted := h.server()
	deadline := time.Now().Add(30 * time.Second)
	for len(do.TXT("example.com", "_acme-challenge.www")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the record is still at DigitalOcean 30 s after the restart:\n%s", restarted.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := h.mustAdmin("records", "-o", "json"); out != "null" {
		t.Errorf("records remembered after the sweep: %s", out)
	}
	if out := h.mustAdmin("audit", "--identifier", "www.example.com", "-o", "json"); !strings.Contains(out, `"Action": "sweep"`) {
		t.Errorf("the sweep is not audited:\n%s", out)
	}
}
