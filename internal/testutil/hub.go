// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// HubSetup is a directory holding the hub's keys and a config.cfg with
// [hub] on, for the real acmehub server and acmehub admin.
type HubSetup struct {
	t testing.TB
	// Dir holds the keys, config.cfg and the SQLite database.
	Dir    string
	binary string
	env    []string // added to every process's environment
	key    string   // the DNSSEC key's files, without extension
}

// HubOptions shape a HubSetup.
type HubOptions struct {
	// Database is a postgres:// URL, or "" for SQLite in the directory.
	Database string
	// Listen is the hub's address; "": a port of the kernel's on 127.0.0.1.
	Listen string
	// Hub is appended to the [hub] section.
	Hub string
	// TLS serves the hub over HTTPS with a self-signed certificate for
	// 127.0.0.1; otherwise plain HTTP.
	TLS bool
	// Env is added to every process's environment.
	Env []string
	// DNSSEC signs the zone, and the names delegated to the hub, with a
	// CSK made by acmehub dnssec keygen (DS prints the parent's DS).
	DNSSEC bool
	// Binary is the acmehub binary to run; default Binary's.
	Binary string
}

// NewHubSetup writes the keys and config.cfg.
func NewHubSetup(t testing.TB, o HubOptions) *HubSetup {
	t.Helper()
	h := &HubSetup{t: t, Dir: t.TempDir(), env: o.Env, binary: o.Binary}
	keygen := StartCmd(t, &exec.Cmd{Path: h.binary, Dir: h.Dir}, "admin", "keygen", "--id", "k1", "--out", "hub.keys")
	if code := keygen.Wait(10 * time.Second); code != 0 {
		t.Fatalf("admin keygen: exit %d", code)
	}
	db := `connection = "acmehub.db"`
	if o.Database != "" {
		db = fmt.Sprintf("engine = \"postgres\"\nconnection = %q", o.Database)
	}
	tls := `tls = "none"`
	if o.TLS {
		WriteSelfSignedCert(t, filepath.Join(h.Dir, "hub.crt"), filepath.Join(h.Dir, "hub.key"), "hub")
		tls = "tls = \"cert\"\ntls_cert_fullchain = \"hub.crt\"\ntls_cert_privkey = \"hub.key\""
	}
	var dnssec string
	if o.DNSSEC {
		keygen := StartCmd(t, &exec.Cmd{Path: h.binary, Dir: h.Dir}, "dnssec", "keygen", "auth.example.org")
		if code := keygen.Wait(10 * time.Second); code != 0 {
			t.Fatalf("dnssec keygen: exit %d\n%s", code, keygen.Output())
		}
		h.key = filepath.Join(h.Dir, strings.TrimSpace(keygen.Output()))
		dnssec = fmt.Sprintf("[dnssec]\nkeys = [%q]", h.key)
	}
	cfg := Fixture(t, "configs/hub.cfg", map[string]string{"Database": db, "TLS": tls, "Hub": o.Hub, "DNSSEC": dnssec,
		"Listen": cmp.Or(o.Listen, "127.0.0.1:0")})
	if err := os.WriteFile(filepath.Join(h.Dir, "config.cfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// DS is the DS record a parent publishes for zone, a name delegated to the
// hub, signed with the setup's DNSSEC key (HubOptions.DNSSEC).
func (h *HubSetup) DS(zone string) string {
	h.t.Helper()
	ds := StartCmd(h.t, &exec.Cmd{Path: h.binary, Dir: h.Dir}, "dnssec", "ds", "--zone", zone, h.key)
	if code := ds.Wait(10 * time.Second); code != 0 {
		h.t.Fatalf("dnssec ds: exit %d\n%s", code, ds.Output())
	}
	return strings.TrimSpace(ds.Output())
}

// Admin runs acmehub admin and returns its exit code and output.
func (h *HubSetup) Admin(args ...string) (int, string) {
	h.t.Helper()
	p := StartCmd(h.t, &exec.Cmd{Path: h.binary, Dir: h.Dir, Env: h.env}, append([]string{"admin", "-c", "config.cfg"}, args...)...)
	code := p.Wait(30 * time.Second)
	return code, strings.TrimSpace(p.Output())
}

// MustAdmin is Admin, failing the test unless it succeeds.
func (h *HubSetup) MustAdmin(args ...string) string {
	h.t.Helper()
	code, out := h.Admin(args...)
	if code != 0 {
		h.t.Fatalf("acmehub admin %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// Token creates a consumer principal and token with acmehub admin.
func (h *HubSetup) Token() (clientID, secret string) {
	h.t.Helper()
	return h.TokenFor("managed-challenge-consumer")
}

// TokenFor creates a principal holding role and a token carrying it.
func (h *HubSetup) TokenFor(role string) (clientID, secret string) {
	h.t.Helper()
	principal := h.MustAdmin("principals", "create", "--title", "holder of "+role, "--role", role)
	var tok struct{ ClientID, Secret string }
	if err := json.Unmarshal([]byte(h.MustAdmin("tokens", "create", "--principal", principal, "--scope", role, "-o", "json")), &tok); err != nil || tok.Secret == "" {
		h.t.Fatalf("tokens create -o json: %v", err)
	}
	return tok.ClientID, tok.Secret
}

// Server starts acmehub server and waits until it is ready.
func (h *HubSetup) Server() *Process {
	h.t.Helper()
	p := StartCmd(h.t, &exec.Cmd{Path: h.binary, Dir: h.Dir, Env: h.env}, "server", "-c", "config.cfg")
	if err := p.WaitReady(15 * time.Second); err != nil {
		h.t.Fatal(err)
	}
	if p.Hub == "" {
		h.t.Fatalf("no hub address in the ready line:\n%s", p.Output())
	}
	return p
}

// HTTPReq sends lego's httpreq action ("present" or "cleanup") for fqdn
// to the hub at addr, and returns the status and the problem's detail.
func HTTPReq(t testing.TB, addr, action, clientID, secret, fqdn, value string) (int, string) {
	t.Helper()
	return httpreq(addr, action, fqdn, value, func(r *http.Request) { r.SetBasicAuth(clientID, secret) })
}

// HTTPReqBearer is HTTPReq with an issuer's token instead of an API token.
func HTTPReqBearer(t testing.TB, addr, action, token, fqdn, value string) (int, string) {
	t.Helper()
	return httpreq(addr, action, fqdn, value, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
}

func httpreq(addr, action, fqdn, value string, authorize func(*http.Request)) (int, string) {
	body, _ := json.Marshal(map[string]string{"fqdn": fqdn, "value": value})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/httpreq/"+action, bytes.NewReader(body))
	authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var p struct{ Detail string }
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p.Detail
}

// HubValue is a challenge value the hub tests present.
const HubValue = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
