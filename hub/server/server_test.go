// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
)

const (
	valueA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	valueB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2"
	valueC = "ccccccccccccccccccccccccccccccccccccccccccc"
)

// testHub is an acmehub server on loopback, with real clients to talk to it.
type testHub struct {
	t       *testing.T
	srv     *server.Server
	api     string // http://127.0.0.1:port
	udp     string
	tcp     string
	cfg     config.Config
	stopped chan error
	cancel  context.CancelFunc
}

// startHub runs a server on 127.0.0.1 with ephemeral ports and a fresh SQLite
// database, after mutate has adjusted the default configuration.
func startHub(t *testing.T, mutate func(c *config.Config)) *testHub {
	t.Helper()
	cfg := hubtest.Config(t, mutate)
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h := &testHub{t: t, srv: srv, cfg: cfg, api: "http://" + srv.APIAddr().String(), cancel: cancel, stopped: make(chan error, 1)}
	for _, a := range srv.DNSAddrs() {
		if a.Network() == "udp" {
			h.udp = a.String()
		} else {
			h.tcp = a.String()
		}
	}
	go func() { h.stopped <- srv.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *testHub) stop() {
	h.cancel()
	select {
	case err := <-h.stopped:
		if err != nil {
			h.t.Errorf("server stopped with %v", err)
		}
		h.stopped <- nil
	case <-time.After(server.ShutdownTimeout + 5*time.Second):
		h.t.Error("server did not stop")
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (h *testHub) do(method, path string, header map[string]string, body string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.api+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

type registration struct {
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	FullDomain string   `json:"fulldomain"`
	Subdomain  string   `json:"subdomain"`
	AllowFrom  []string `json:"allowfrom"`
}

func (h *testHub) register(body string) registration {
	h.t.Helper()
	r := h.do("POST", "/register", nil, body)
	if r.status != http.StatusCreated {
		h.t.Fatalf("register %q: %d %s", body, r.status, r.body)
	}
	var reg registration
	if err := json.Unmarshal([]byte(r.body), &reg); err != nil {
		h.t.Fatal(err)
	}
	return reg
}

func (h *testHub) update(reg registration, value string) response {
	h.t.Helper()
	return h.do("POST", "/update", map[string]string{
		"X-Api-User": reg.Username, "X-Api-Key": reg.Password, "Content-Type": "application/json",
	}, fmt.Sprintf(`{"subdomain":%q,"txt":%q}`+"\n", reg.Subdomain, value))
}

// txt asks the server for the TXT values of name over network.
func (h *testHub) txt(network, name string) (rcode int, values []string) {
	h.t.Helper()
	addr := h.udp
	if network == "tcp" {
		addr = h.tcp
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		h.t.Fatalf("DNS %s %s: %v", network, name, err)
	}
	for _, rr := range r.Answer {
		values = append(values, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return r.Rcode, values
}

func (h *testHub) wantTXT(name string, want ...string) {
	h.t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		rcode, got := h.txt(network, name)
		if rcode != dns.RcodeSuccess || !slices.Equal(got, want) {
			h.t.Errorf("%s TXT %s = %s %q, want NOERROR %q", network, name, dns.RcodeToString[rcode], got, want)
		}
	}
}

var registerReply = regexp.MustCompile(`^\{"username":"[0-9a-f-]{36}","password":"[A-Za-z0-9_-]{40}","fulldomain":"[0-9a-f-]{36}\.auth\.example\.org","subdomain":"[0-9a-f-]{36}","allowfrom":\[.*\]\}$`)

func TestRegister(t *testing.T) {
	h := startHub(t, nil)
	tests := []struct {
		name, body, contentType string
		status                  int
		wantBody                string   // exact, for errors
		allowFrom               []string // for successes
	}{
		{"empty body", "", "", 201, "", []string{}},
		{"null", "null", "", 201, "", []string{}},
		{"empty object", "{}", "application/json", 201, "", []string{}},
		{"allowfrom", `{"allowfrom":["192.0.2.0/24"]}`, "application/json", 201, "", []string{"192.0.2.0/24"}},
		{"AllowFrom (old goacmedns)", `{"AllowFrom":["192.0.2.0/24","2001:db8::/32"]}`, "", 201, "", []string{"192.0.2.0/24", "2001:db8::/32"}},
		{"allowFrom, form Content-Type", `{"allowFrom":["[::1]/64"]}`, "application/x-www-form-urlencoded", 201, "", []string{"::1/64"}},
		{"unknown keys ignored", `{"colour":"blue"}`, "text/plain", 201, "", []string{}},
		{"malformed JSON", `{"allowfrom":`, "", 400, `{"error": "malformed_json_payload"}`, nil},
		{"allowfrom not a list", `{"allowfrom":"x"}`, "", 400, `{"error": "malformed_json_payload"}`, nil},
		{"address without mask", `{"allowfrom":["1.2.3.4"]}`, "", 400, `{"error": "invalid_allowfrom_cidr"}`, nil},
		{"txtlimit too high", `{"txtlimit":1000}`, "", 400, `{"error": "invalid_txtlimit", "max_txtlimit": 10}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.contentType != "" {
				header["Content-Type"] = tt.contentType
			}
			r := h.do("POST", "/register", header, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.status != 201 {
				if r.body != tt.wantBody {
					t.Errorf("body %q, want %q", r.body, tt.wantBody)
				}
				return
			}
			if !registerReply.MatchString(r.body) {
				t.Errorf("reply is not acme-dns's one-line JSON in its key order: %s", r.body)
			}
			var reg registration
			json.Unmarshal([]byte(r.body), &reg)
			if !slices.Equal(reg.AllowFrom, tt.allowFrom) {
				t.Errorf("allowfrom = %q, want %q", reg.AllowFrom, tt.allowFrom)
			}
			if reg.FullDomain != reg.Subdomain+".auth.example.org" {
				t.Errorf("fulldomain %q does not match subdomain %q", reg.FullDomain, reg.Subdomain)
			}
			// A registered account exists in DNS at once: NODATA, not NXDOMAIN.
			if rcode, values := h.txt("udp", reg.FullDomain); rcode != dns.RcodeSuccess || len(values) != 0 {
				t.Errorf("new account: %s %q, want NOERROR without values", dns.RcodeToString[rcode], values)
			}
		})
	}
}

func TestRegistrationSettings(t *testing.T) {
	t.Run("disabled: 404", func(t *testing.T) {
		h := startHub(t, func(c *config.Config) { c.API.DisableRegistration = true })
		if r := h.do("POST", "/register", nil, ""); r.status != 404 {
			t.Errorf("status %d, want 404", r.status)
		}
	})
	t.Run("basic auth", func(t *testing.T) {
		h := startHub(t, func(c *config.Config) {
			c.AcmeHub.RegistrationUser, c.AcmeHub.RegistrationPassword = "registrar", "s3cret"
		})
		r := h.do("POST", "/register", nil, "")
		if r.status != 401 || r.body != `{"error": "unauthorized"}` || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("without credentials: %d %s %v", r.status, r.body, r.header)
		}
		basic := func(user, pass string) map[string]string {
			req, _ := http.NewRequest("POST", "/", nil)
			req.SetBasicAuth(user, pass)
			return map[string]string{"Authorization": req.Header.Get("Authorization")}
		}
		if r := h.do("POST", "/register", basic("registrar", "wrong"), ""); r.status != 401 {
			t.Errorf("wrong password: %d", r.status)
		}
		if r := h.do("POST", "/register", basic("registrar", "s3cret"), ""); r.status != 201 {
			t.Errorf("right credentials: %d %s", r.status, r.body)
		}
	})
}

func TestUpdate(t *testing.T) {
	h := startHub(t, nil)
	reg := h.register("")
	other := h.register("")
	restricted := h.register(`{"allowfrom":["192.0.2.0/24"]}`)
	loopback := h.register(`{"allowfrom":["127.0.0.0/8"]}`)

	forbidden := `{"error": "forbidden"}`
	body := func(sub, txt string) string { return fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, sub, txt) }
	headers := func(user, key string) map[string]string {
		return map[string]string{"X-Api-User": user, "X-Api-Key": key}
	}
	tests := []struct {
		name     string
		header   map[string]string
		body     string
		status   int
		wantBody string
	}{
		{"success", headers(reg.Username, reg.Password), body(reg.Subdomain, valueA), 200, `{"txt": "` + valueA + `"}`},
		{"acme.sh: JSON sent as a form", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password,
			"Content-Type": "application/x-www-form-urlencoded"}, body(reg.Subdomain, valueA), 200, `{"txt": "` + valueA + `"}`},
		{"old goacmedns keys SubDomain, Txt", headers(reg.Username, reg.Password),
			fmt.Sprintf(`{"SubDomain":%q,"Txt":%q}`, reg.Subdomain, valueA), 200, `{"txt": "` + valueA + `"}`},
		{"unknown user", headers("3f2c1a2b-0000-4000-8000-000000000000", reg.Password), body(reg.Subdomain, valueA), 401, forbidden},
		{"user not a UUID", headers("admin", reg.Password), body(reg.Subdomain, valueA), 401, forbidden},
		{"no headers", nil, body(reg.Subdomain, valueA), 401, forbidden},
		{"wrong key", headers(reg.Username, other.Password), body(reg.Subdomain, valueA), 401, forbidden},
		{"malformed key", headers(reg.Username, reg.Password[:30]), body(reg.Subdomain, valueA), 401, forbidden},
		{"another account's subdomain", headers(reg.Username, reg.Password), body(other.Subdomain, valueA), 401, forbidden},
		{"malformed body", headers(reg.Username, reg.Password), `{"subdomain":`, 401, forbidden},
		{"allowfrom mismatch", headers(restricted.Username, restricted.Password), body(restricted.Subdomain, valueA), 401, forbidden},
		{"allowfrom match", headers(loopback.Username, loopback.Password), body(loopback.Subdomain, valueA), 200, `{"txt": "` + valueA + `"}`},
		{"X-Forwarded-For ignored by default", map[string]string{"X-Api-User": restricted.Username, "X-Api-Key": restricted.Password,
			"X-Forwarded-For": "192.0.2.7"}, body(restricted.Subdomain, valueA), 401, forbidden},
		{"txt too short", headers(reg.Username, reg.Password), body(reg.Subdomain, valueA[:42]), 400, `{"error": "bad_txt"}`},
		{"txt too long", headers(reg.Username, reg.Password), body(reg.Subdomain, valueA+"a"), 400, `{"error": "bad_txt"}`},
		{"txt with a bad character", headers(reg.Username, reg.Password), body(reg.Subdomain, valueA[:42]+"="), 400, `{"error": "bad_txt"}`},
		{"no txt", headers(reg.Username, reg.Password), fmt.Sprintf(`{"subdomain":%q}`, reg.Subdomain), 400, `{"error": "bad_txt"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", "/update", tt.header, tt.body)
			if r.status != tt.status || r.body != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.wantBody)
			}
		})
	}
	h.wantTXT(reg.FullDomain, valueA)
	h.wantTXT(restricted.FullDomain)
}

func TestUseHeader(t *testing.T) {
	h := startHub(t, func(c *config.Config) { c.API.UseHeader = true })
	reg := h.register(`{"allowfrom":["192.0.2.0/24"]}`)
	for _, tt := range []struct {
		xff    string
		status int
	}{
		{"", 401},
		{"203.0.113.1", 401},
		{"203.0.113.1, 192.0.2.7", 200},
		{"192.0.2.7, 203.0.113.1", 401}, // the client prepended an allowed address
		{"not-an-ip", 401},
	} {
		r := h.do("POST", "/update", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password, "X-Forwarded-For": tt.xff},
			fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, reg.Subdomain, valueA))
		if r.status != tt.status {
			t.Errorf("X-Forwarded-For %q: %d %s, want %d", tt.xff, r.status, r.body, tt.status)
		}
	}
}

// TestTwoMostRecentValues is acme-dns's semantics, without its loss of values
// written within the same second.
func TestTwoMostRecentValues(t *testing.T) {
	h := startHub(t, nil)
	reg := h.register("")
	name := strings.ToUpper(reg.FullDomain[:8]) + reg.FullDomain[8:] // answers keep the question's case
	for _, step := range []struct {
		value string
		want  []string
	}{
		{valueA, []string{valueA}},
		{valueB, []string{valueB, valueA}},
		{valueC, []string{valueC, valueB}},
		{valueB, []string{valueB, valueC}},
	} {
		if r := h.update(reg, step.value); r.status != 200 {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		h.wantTXT(name, step.want...)
	}
}

func TestExtensions(t *testing.T) {
	h := startHub(t, nil)
	reg := h.register("")
	auth := map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password}
	h.update(reg, valueA)
	h.update(reg, valueB)

	t.Run("delete one value", func(t *testing.T) {
		body := fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, reg.Subdomain, valueA)
		for range 2 { // idempotent
			r := h.do("POST", "/delete", auth, body)
			if r.status != 200 || r.body != `{"txt": "`+valueA+`"}` {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			h.wantTXT(reg.FullDomain, valueB)
		}
		if r := h.do("POST", "/delete", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": strings.Repeat("x", 40)}, body); r.status != 401 {
			t.Errorf("delete with a wrong key: %d", r.status)
		}
		if r := h.do("POST", "/delete", auth, fmt.Sprintf(`{"subdomain":%q,"txt":"x"}`, reg.Subdomain)); r.status != 400 {
			t.Errorf("delete of a malformed value: %d", r.status)
		}
	})

	t.Run("higher per-account limit", func(t *testing.T) {
		big := h.register(`{"txtlimit":3}`)
		for _, v := range []string{valueA, valueB, valueC} {
			h.update(big, v)
		}
		h.wantTXT(big.FullDomain, valueC, valueB, valueA)
	})

	t.Run("limit raised for an account that gained names", func(t *testing.T) { testTXTLimit(t, h, reg) })

	t.Run("rotate", func(t *testing.T) { testRotate(t, h, &reg, auth) })
	t.Run("allowfrom", func(t *testing.T) { testAllowFrom(t, h) })

	t.Run("deregister", func(t *testing.T) {
		if r := h.do("POST", "/deregister", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": strings.Repeat("x", 40)}, ""); r.status != 401 {
			t.Errorf("deregister with a wrong key: %d", r.status)
		}
		r := h.do("POST", "/deregister", auth, "")
		if r.status != 200 || !strings.Contains(r.body, reg.Subdomain) {
			t.Fatalf("deregister: %d %s", r.status, r.body)
		}
		if rcode, _ := h.txt("udp", reg.FullDomain); rcode != dns.RcodeNameError {
			t.Errorf("deregistered account: %s, want NXDOMAIN", dns.RcodeToString[rcode])
		}
		if r := h.update(reg, valueC); r.status != 401 {
			t.Errorf("update after deregistration: %d %s (cached credentials must be dropped)", r.status, r.body)
		}
	})
}

// testRotate: POST /rotate gives the account a new password; the old one
// is refused at once, the new one works.
func testRotate(t *testing.T, h *testHub, reg *registration, auth map[string]string) {
	if r := h.do("POST", "/rotate", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": strings.Repeat("x", 40)}, ""); r.status != 401 {
		t.Errorf("rotate with a wrong key: %d", r.status)
	}
	r := h.do("POST", "/rotate", auth, "")
	var rotated struct{ Username, Password string }
	if err := json.Unmarshal([]byte(r.body), &rotated); r.status != 200 || err != nil || rotated.Username != reg.Username ||
		!accounts.ValidAPIKey(rotated.Password) || rotated.Password == reg.Password {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if r := h.update(*reg, valueC); r.status != 401 {
		t.Errorf("update with the password rotated away: %d %s", r.status, r.body)
	}
	reg.Password = rotated.Password
	auth["X-Api-Key"] = rotated.Password
	if r := h.update(*reg, valueC); r.status != 200 {
		t.Errorf("update with the new password: %d %s", r.status, r.body)
	}
	h.wantTXT(reg.FullDomain, valueC, valueB)
}

// testAllowFrom: POST /allowfrom replaces the list, refuses what is no
// CIDR, and once the caller's address is outside it, the account refuses
// the caller (its list too).
func testAllowFrom(t *testing.T, h *testHub) {
	reg := h.register("")
	auth := map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password}
	wrong := map[string]string{"X-Api-User": reg.Username, "X-Api-Key": strings.Repeat("x", 40)}
	if r := h.do("POST", "/allowfrom", wrong, `{"allowfrom": ["10.0.0.0/8"]}`); r.status != 401 || r.body != `{"error": "forbidden"}` {
		t.Errorf("allowfrom with a wrong key: %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ body, status, answer string }{
		{`{"allowfrom": ["127.0.0.0/8", "[::1]/128"]}`, "200", `{"allowfrom":["127.0.0.0/8","::1/128"]}`},
		{`{"allowfrom": ["not a cidr"]}`, "400", `{"error": "invalid_allowfrom_cidr"}`},
		{`{"allow": []}`, "400", `{"error": "malformed_json_payload"}`},
		{`{"allowfrom": ["10.0.0.0/8"]}`, "200", `{"allowfrom":["10.0.0.0/8"]}`},
		// Now 127.0.0.1 may not change the account, nor its allowfrom.
		{`{"allowfrom": []}`, "401", `{"error": "forbidden"}`},
	} {
		if r := h.do("POST", "/allowfrom", auth, tc.body); fmt.Sprint(r.status) != tc.status || r.body != tc.answer {
			t.Errorf("allowfrom %s: %d %s, want %s %s", tc.body, r.status, r.body, tc.status, tc.answer)
		}
	}
	if r := h.update(reg, valueA); r.status != 401 {
		t.Errorf("update from outside the new allowfrom: %d %s", r.status, r.body)
	}
}

// testTXTLimit: POST /txtlimit raises an account's limit (never lowers
// it), within max_txt_limit, for its own credentials only; /update then
// keeps every value.
func testTXTLimit(t *testing.T, h *testHub, reg registration) {
	grown := h.register("")
	own := map[string]string{"X-Api-User": grown.Username, "X-Api-Key": grown.Password}
	limit := func(header map[string]string, body string) response {
		return h.do("POST", "/txtlimit", header, body)
	}
	values := make([]string, 6)
	for i := range values {
		values[i] = strings.Repeat(string(rune('d'+i)), 42) + "1"
	}
	for _, tt := range []struct {
		name   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{"read", own, fmt.Sprintf(`{"subdomain":%q}`, grown.Subdomain), 200, `{"txtlimit": 2, "max_txtlimit": 10}`},
		{"raise to three names' worth", own, fmt.Sprintf(`{"subdomain":%q,"txtlimit":6}`, grown.Subdomain), 200, `{"txtlimit": 6, "max_txtlimit": 10}`},
		{"lower: unchanged", own, fmt.Sprintf(`{"subdomain":%q,"txtlimit":4}`, grown.Subdomain), 200, `{"txtlimit": 6, "max_txtlimit": 10}`},
		{"past max_txt_limit", own, fmt.Sprintf(`{"subdomain":%q,"txtlimit":11}`, grown.Subdomain), 400, `{"error": "invalid_txtlimit", "max_txtlimit": 10}`},
		{"another account's subdomain", own, fmt.Sprintf(`{"subdomain":%q,"txtlimit":8}`, reg.Subdomain), 401, `{"error": "forbidden"}`},
		{"wrong key", map[string]string{"X-Api-User": grown.Username, "X-Api-Key": strings.Repeat("x", 40)},
			fmt.Sprintf(`{"subdomain":%q,"txtlimit":8}`, grown.Subdomain), 401, `{"error": "forbidden"}`},
		{"malformed", own, `{"txtlimit":"six"}`, 400, `{"error": "malformed_json_payload"}`},
	} {
		if r := limit(tt.header, tt.body); r.status != tt.status || r.body != tt.want {
			t.Errorf("%s: %d %s, want %d %s", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
	// allowfrom guards values; the limit may be raised from elsewhere
	// (the registration Job), values still only from there.
	restricted := h.register(`{"allowfrom":["192.0.2.0/24"]}`)
	rh := map[string]string{"X-Api-User": restricted.Username, "X-Api-Key": restricted.Password}
	if r := limit(rh, fmt.Sprintf(`{"subdomain":%q,"txtlimit":4}`, restricted.Subdomain)); r.status != 200 || r.body != `{"txtlimit": 4, "max_txtlimit": 10}` {
		t.Errorf("limit of an account whose allowfrom excludes the caller: %d %s", r.status, r.body)
	}
	if r := h.update(restricted, valueA); r.status != 401 {
		t.Errorf("update from outside allowfrom: %d %s", r.status, r.body)
	}
	// cert-manager's acmeDNS solver and lego write with /update: all six
	// values of three names and their wildcards are served.
	for _, v := range values {
		h.update(grown, v)
	}
	h.wantTXT(grown.FullDomain, values[5], values[4], values[3], values[2], values[1], values[0])
}

// TestClientsHangingUp: many concurrent updates through the HTTP API, a
// share of whose clients hang up at random moments; afterwards every
// account's values are the same in memory, in the database and over DNS.
func TestClientsHangingUp(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acmehub.db")
	h := startHub(t, func(c *config.Config) { c.Database.Connection = db; c.AcmeHub.FailedAuthPerMinute = 0 })
	regs := make([]registration, 6)
	for i := range regs {
		regs[i] = h.register("")
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range 600 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			reg := regs[i%len(regs)]
			path := "/update"
			if i%3 == 0 {
				path = "/present"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%2 == 0 {
				time.AfterFunc(time.Duration(i%7)*300*time.Microsecond, cancel)
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", h.api+path,
				strings.NewReader(fmt.Sprintf(`{"subdomain":%q,"txt":"%043d"}`, reg.Subdomain, i)))
			req.Header.Set("X-Api-User", reg.Username)
			req.Header.Set("X-Api-Key", reg.Password)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	// Requests cut off by their clients may still be finishing.
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	within(t, 5*time.Second, "memory, database and DNS agreeing", func() bool {
		for _, reg := range regs {
			set, err := st.TXT(context.Background(), reg.Subdomain)
			if err != nil {
				t.Fatal(err)
			}
			memory, _ := h.srv.Accounts().Index().Lookup(reg.Subdomain)
			_, served := h.txt("tcp", reg.FullDomain)
			if !slices.Equal(memory, set.Values) || !slices.Equal(served, set.Values) {
				return false
			}
		}
		return true
	})
}

// TestPresent: POST /present holds values that no /update evicts, each until
// POST /delete; the account's limit of held values is answered 429, and the
// metrics show each account's live values.
func TestPresent(t *testing.T) {
	h := startHub(t, func(c *config.Config) { c.AcmeHub.PresentLimit = 20 })
	reg := h.register("")
	auth := map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password}
	body := func(v string) string { return fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, reg.Subdomain, v) }

	values := make([]string, 20)
	var wg sync.WaitGroup
	for i := range values {
		values[i] = fmt.Sprintf("%043d", i)
		wg.Go(func() {
			if r := h.do("POST", "/present", auth, body(values[i])); r.status != 200 || r.body != `{"txt": "`+values[i]+`"}` {
				t.Errorf("present: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	for _, v := range []string{valueA, valueB, valueC} {
		h.update(reg, v)
	}
	// Over UDP the answer is truncated (22 values pass 1232 bytes); TCP has them all.
	_, got := h.txt("tcp", reg.FullDomain)
	if want := append([]string{valueB, valueC}, values...); !testutil.SameElements(got, want) {
		t.Fatalf("DNS serves %d values, want the %d presented and the 2 newest updated: %q", len(got), len(values), got)
	}
	r := h.do("POST", "/present", auth, body(valueA))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || r.body != `{"error": "too_many_live_values"}` {
		t.Errorf("present past the limit: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if m := h.do("GET", "/metrics", nil, ""); !strings.Contains(m.body, `acmehub_live_challenge_values{subdomain="`+reg.Subdomain+`"} 20`) {
		t.Errorf("/metrics lacks the account's 20 live values")
	}
	for i, v := range values {
		if r := h.do("POST", "/delete", auth, body(v)); r.status != 200 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if _, got := h.txt("tcp", reg.FullDomain); len(got) != 2+len(values)-1-i || slices.Contains(got, v) {
			t.Fatalf("after deleting %d values DNS serves %d", i+1, len(got))
		}
	}
	if r := h.do("POST", "/present", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": strings.Repeat("x", 40)}, body(valueA)); r.status != 401 {
		t.Errorf("present with a wrong key: %d", r.status)
	}
	if r := h.do("POST", "/present", auth, body("x")); r.status != 400 {
		t.Errorf("present of a malformed value: %d", r.status)
	}
}

// TestAPIOnIPv6 listens on ::1 written as acme-dns's sample writes it,
// "[::1]", and plainly.
func TestAPIOnIPv6(t *testing.T) {
	for _, ip := range []string{"[::1]", "::1"} {
		t.Run(ip, func(t *testing.T) {
			h := startHub(t, func(c *config.Config) { c.API.IP = ip; c.General.Listen = "[::1]:0" })
			if !strings.HasPrefix(h.api, "http://[::1]:") {
				t.Fatalf("API bound at %s", h.api)
			}
			reg := h.register("")
			if r := h.update(reg, valueA); r.status != 200 {
				t.Fatalf("update over IPv6: %d %s", r.status, r.body)
			}
			h.wantTXT(reg.FullDomain, valueA)
		})
	}
}

func TestHTTPRules(t *testing.T) {
	h := startHub(t, func(c *config.Config) { c.API.CORSOrigins = []string{"https://*.example.org"} })
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		wantBody           string
		wantHeader         map[string]string
	}{
		{"health", "GET", "/health", nil, "", 200, "", nil},
		{"unknown path", "GET", "/nope", nil, "", 404, `{"error": "not_found"}`, nil},
		{"wrong method", "GET", "/update", nil, "", 405, `{"error": "method_not_allowed"}`, map[string]string{"Allow": "POST"}},
		{"wrong method on health", "POST", "/health", nil, "", 405, `{"error": "method_not_allowed"}`, map[string]string{"Allow": "GET, HEAD"}},
		{"body over 64 KiB", "POST", "/register", nil, `{"allowfrom":["` + strings.Repeat("1", 70000) + `"]}`, 413, `{"error": "payload_too_large"}`, nil},
		{"allowed origin", "GET", "/health", map[string]string{"Origin": "https://app.example.org"}, "", 200, "",
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.org"}},
		{"preflight", "OPTIONS", "/update", map[string]string{"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST"}, "", 204, "",
			map[string]string{"Access-Control-Allow-Methods": "POST"}},
		{"other origin", "GET", "/health", map[string]string{"Origin": "https://evil.example.com"}, "", 200, "",
			map[string]string{"Access-Control-Allow-Origin": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.header, tt.body)
			if r.status != tt.status || r.body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", r.status, r.body, tt.status, tt.wantBody)
			}
			if v := r.header.Get("Vary"); v != "Origin" {
				t.Errorf("Vary = %q, want Origin on every response", v)
			}
			for k, v := range tt.wantHeader {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	h := startHub(t, nil)
	reg := h.register("")
	h.update(reg, valueA)
	h.txt("udp", reg.FullDomain)
	h.txt("udp", "missing.auth.example.org")
	r := h.do("GET", "/metrics", nil, "")
	if r.status != 200 {
		t.Fatalf("/metrics: %d", r.status)
	}
	for _, want := range []string{
		`acmehub_dns_questions_total{qtype="TXT",rcode="NOERROR"} 1`,
		`acmehub_dns_questions_total{qtype="TXT",rcode="NXDOMAIN"} 1`,
		`acmehub_api_requests_total{code="201",route="/register"} 1`,
		`acmehub_api_requests_total{code="200",route="/update"} 1`,
		`acmehub_api_request_duration_seconds_bucket{route="/update"`,
		`acmehub_dns_answer_duration_seconds_bucket`,
		"acmehub_accounts 1",
		"go_gc_heap_live_bytes ",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestSeparateMetricsListener(t *testing.T) {
	h := startHub(t, func(c *config.Config) { c.AcmeHub.MetricsListen = "127.0.0.1:0" })
	if r := h.do("GET", "/metrics", nil, ""); r.status != 404 {
		t.Errorf("/metrics on the API while metrics_listen is set: %d", r.status)
	}
}

func TestBusyPorts(t *testing.T) {
	h := startHub(t, nil)
	for name, mutate := range map[string]func(c *config.Config){
		"DNS": func(c *config.Config) { c.General.Listen = h.udp },
		"API": func(c *config.Config) { c.API.Port = config.Port(h.api[strings.LastIndex(h.api, ":")+1:]) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.General.Listen, cfg.API.Port = "127.0.0.1:0", "0"
			cfg.Database.Connection = filepath.Join(t.TempDir(), "db")
			mutate(&cfg)
			start := time.Now()
			srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				stopped, cancel := context.WithCancel(context.Background())
				cancel()
				srv.Run(stopped) // releases what New bound
				t.Fatal("started on a busy port")
			}
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "address already in use") {
				t.Errorf("error %q does not say which port is busy", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v to fail", d)
			}
		})
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "acmehub.db")
	h := startHub(t, func(c *config.Config) { c.Database.Connection = db })
	reg := h.register("")
	h.update(reg, valueA)
	h.update(reg, valueB)
	h.stop()

	h = startHub(t, func(c *config.Config) { c.Database.Connection = db })
	h.wantTXT(reg.FullDomain, valueB, valueA)
	if r := h.update(reg, valueC); r.status != 200 {
		t.Errorf("credentials lost across a restart: %d %s", r.status, r.body)
	}
	h.wantTXT(reg.FullDomain, valueC, valueB)
}

func TestEmbeddedUse(t *testing.T) {
	h := startHub(t, nil)
	reg := h.register("")
	svc := h.srv.Accounts()
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, reg.Username, reg.Password, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddTXT(ctx, reg.Subdomain, valueA); err != nil {
		t.Fatal(err)
	}
	h.wantTXT(reg.FullDomain, valueA)
}

// eventually retries check until it passes or a second has gone by.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	within(t, time.Second, what, check)
}

// within retries check until it passes or limit has gone by.
func within(t *testing.T, limit time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoServersOnePostgres runs two servers on one PostgreSQL database: what
// one writes, the other serves within a second.
func TestTwoServersOnePostgres(t *testing.T) {
	dsn := pgtest.Database(t)
	pg := func(c *config.Config) { c.Database.Engine, c.Database.Connection = config.EnginePostgres, dsn }
	a, b := startHub(t, pg), startHub(t, pg)

	reg := a.register("")
	eventually(t, "registration seen by the other server", func() bool {
		rcode, _ := b.txt("udp", reg.FullDomain)
		return rcode == dns.RcodeSuccess
	})
	if r := a.update(reg, valueA); r.status != 200 {
		t.Fatal(r.body)
	}
	eventually(t, "value written through A served by B", func() bool {
		_, values := b.txt("udp", reg.FullDomain)
		return slices.Equal(values, []string{valueA})
	})
	if r := b.update(reg, valueB); r.status != 200 {
		t.Fatal(r.body)
	}
	eventually(t, "value written through B served by A", func() bool {
		_, values := a.txt("udp", reg.FullDomain)
		return slices.Equal(values, []string{valueB, valueA})
	})
	// A password rotated through B stops working on A at once.
	r := b.do("POST", "/rotate", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password}, "")
	var rotated struct{ Password string }
	if err := json.Unmarshal([]byte(r.body), &rotated); r.status != 200 || err != nil {
		t.Fatalf("rotate through B: %d %s", r.status, r.body)
	}
	if r := a.update(reg, valueC); r.status != 401 {
		t.Errorf("A still accepts the password rotated away: %d", r.status)
	}
	reg.Password = rotated.Password
	if r := a.update(reg, valueC); r.status != 200 {
		t.Errorf("A refuses the new password: %d %s", r.status, r.body)
	}
	if r := b.do("POST", "/deregister", map[string]string{"X-Api-User": reg.Username, "X-Api-Key": reg.Password}, ""); r.status != 200 {
		t.Fatal(r.body)
	}
	eventually(t, "deregistration seen by A", func() bool {
		rcode, _ := a.txt("udp", reg.FullDomain)
		return rcode == dns.RcodeNameError
	})
	if r := a.update(reg, valueC); r.status != 401 {
		t.Errorf("A still accepts a deregistered account's key: %d", r.status)
	}
}

// TestReplicaRecoversFromLostDatabase: two servers share a PostgreSQL
// database and take writes; one loses the database (every connection cut and
// new ones refused, as when PostgreSQL restarts) while the other keeps
// writing. The cut server says so on /health. The database then comes back
// turning most connections away at first, so the first full read fails; once
// it is back for good both serve exactly what the database holds, without
// any further write.
// writeUntil has every server write to every account until stop, which
// waits for the writers to end.
func writeUntil(regs []registration, servers ...*testHub) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for si, h := range servers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				reg := regs[i%len(regs)]
				req, _ := http.NewRequest("POST", h.api+"/update", strings.NewReader(
					fmt.Sprintf(`{"subdomain":%q,"txt":"%d%042d"}`, reg.Subdomain, si, i)))
				req.Header.Set("X-Api-User", reg.Username)
				req.Header.Set("X-Api-Key", reg.Password)
				if resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req); err == nil {
					resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return func() { close(done); wg.Wait() }
}

// health is the status of the server's /health, 0 when it does not answer.
func health(h *testHub) int {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(h.api + "/health")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestReplicaRecoversFromLostDatabase(t *testing.T) {
	dsn := pgtest.Database(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testutil.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	viaProxy := u.String()
	a := startHub(t, func(c *config.Config) { c.Database.Engine, c.Database.Connection = config.EnginePostgres, dsn })
	b := startHub(t, func(c *config.Config) { c.Database.Engine, c.Database.Connection = config.EnginePostgres, viaProxy })

	regs := make([]registration, 4)
	for i := range regs {
		regs[i] = a.register("")
	}
	stop := writeUntil(regs, a, b)
	within(t, 5*time.Second, "writes through both servers", func() bool {
		_, va := a.txt("tcp", regs[0].FullDomain)
		_, vb := b.txt("tcp", regs[0].FullDomain)
		return len(va) == 2 && len(vb) == 2
	})

	proxy.Cut()
	within(t, 5*time.Second, "the cut server's /health reports the lost database", func() bool { return health(b) == http.StatusServiceUnavailable })
	if code := health(a); code != http.StatusOK {
		t.Errorf("the other server's /health = %d", code)
	}
	// A keeps writing while B cannot see it.
	_, before := a.txt("tcp", regs[1].FullDomain)
	within(t, 5*time.Second, "A writing during the cut", func() bool {
		_, now := a.txt("tcp", regs[1].FullDomain)
		return !slices.Equal(now, before)
	})
	stop()
	// The database comes back for one connection, the listener's, and turns
	// the rest away for a while: reading everything again fails at first.
	refused := proxy.Refused()
	proxy.Allow(1)
	within(t, 15*time.Second, "a read turned away after the listener reconnected", func() bool { return proxy.Refused() > refused })
	proxy.Restore()

	db, err := store.OpenPostgres(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	within(t, 20*time.Second, "both servers serving the database's values", func() bool {
		for _, reg := range regs {
			set, err := db.TXT(context.Background(), reg.Subdomain)
			if err != nil {
				return false
			}
			_, va := a.txt("tcp", reg.FullDomain)
			_, vb := b.txt("tcp", reg.FullDomain)
			if !slices.Equal(va, set.Values) || !slices.Equal(vb, set.Values) {
				return false
			}
		}
		return true
	})
	within(t, 15*time.Second, "the cut server's /health back to 200", func() bool { return health(b) == http.StatusOK })
}

// TestPeriodicResync: a change another server makes that no notification
// announces (written straight into the database) is served after the next
// periodic resync.
func TestPeriodicResync(t *testing.T) {
	dsn := pgtest.Database(t)
	h := startHub(t, func(c *config.Config) {
		c.Database.Engine, c.Database.Connection = config.EnginePostgres, dsn
		c.AcmeHub.ResyncInterval.Duration = 300 * time.Millisecond
	})
	reg := h.register("")
	h.update(reg, valueA)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE txt SET value = $1, seq = seq + 10 WHERE subdomain = $2 AND value = $3`, valueB, reg.Subdomain, valueA); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "the silent change served after a resync", func() bool {
		_, values := h.txt("udp", reg.FullDomain)
		return slices.Equal(values, []string{valueB})
	})
}

type fixture struct {
	Accounts []struct {
		Username   string   `json:"username"`
		Password   string   `json:"password"`
		FullDomain string   `json:"fulldomain"`
		Subdomain  string   `json:"subdomain"`
		Values     []string `json:"txt_values_served"`
	} `json:"accounts"`
}

// TestAcmeDNSDatabase serves databases written by acme-dns: same credentials
// accepted, same values answered.
func TestAcmeDNSDatabase(t *testing.T) {
	for _, name := range []string{"acme-dns-v1.1", "acme-dns-v2"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name+".accounts.json"))
			if err != nil {
				t.Fatal(err)
			}
			var f fixture
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(t.TempDir(), "acme-dns.db")
			orig, err := os.ReadFile(filepath.Join("..", "..", "testdata", name+".db"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(db, orig, 0o600)
			h := startHub(t, func(c *config.Config) { c.Database.Engine, c.Database.Connection = "sqlite3", db })
			for _, acct := range f.Accounts {
				rcode, values := h.txt("udp", acct.FullDomain)
				if rcode != dns.RcodeSuccess || !testutil.SameElements(values, acct.Values) {
					t.Errorf("%s: %s %q, acme-dns served %q", acct.FullDomain, dns.RcodeToString[rcode], values, acct.Values)
				}
			}
			first := f.Accounts[0]
			reg := registration{Username: first.Username, Password: first.Password, Subdomain: first.Subdomain}
			if r := h.update(reg, valueC); r.status != 200 {
				t.Fatalf("acme-dns credentials refused: %d %s", r.status, r.body)
			}
			rcode, values := h.txt("tcp", first.FullDomain)
			if rcode != dns.RcodeSuccess || len(values) != 2 || values[0] != valueC {
				t.Errorf("after an update: %s %q", dns.RcodeToString[rcode], values)
			}
			// The second account only accepts updates from 192.0.2.0/24 and 2001:db8::/32.
			second := f.Accounts[1]
			reg = registration{Username: second.Username, Password: second.Password, Subdomain: second.Subdomain}
			if r := h.update(reg, valueC); r.status != 401 {
				t.Errorf("allowfrom from acme-dns ignored: %d", r.status)
			}
		})
	}
}

func TestTLSAndHSTS(t *testing.T) {
	dir := t.TempDir()
	chain, key := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	testutil.WriteSelfSignedCert(t, chain, key, "localhost")
	h := startHub(t, func(c *config.Config) {
		c.API.TLS, c.API.TLSCertFullchain, c.API.TLSCertPrivkey = "cert", chain, key
		c.API.HSTSEnabled, c.API.HSTSMaxAge, c.API.HSTSIncludeSubdoms = true, 600, true
	})
	pool := x509.NewCertPool()
	chainPEM, _ := os.ReadFile(chain)
	pool.AppendCertsFromPEM(chainPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err := client.Get("https://" + h.srv.APIAddr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=600; includeSubDomains" {
		t.Errorf("status %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	cfg := config.Default()
	cfg.General.Listen, cfg.API.Port = "127.0.0.1:0", "0"
	cfg.Database.Connection = filepath.Join(t.TempDir(), "db")
	cfg.API.TLS, cfg.API.TLSCertFullchain, cfg.API.TLSCertPrivkey = "cert", filepath.Join(dir, "nope.pem"), key
	if _, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "nope.pem") {
		t.Errorf("missing certificate: %v", err)
	}
}
