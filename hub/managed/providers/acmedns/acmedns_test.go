// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers/acmedns"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
)

const (
	value1 = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	value2 = "7oVzv4F2rTDL4D8KDHkQpw6NnXoZz7Ly9r1Mcx7Qc3E"
)

// register makes an account on the acmehub server srv answering as an
// acme-dns, and returns its credentials.
func register(t *testing.T, srv *server.Server) acmedns.Credentials {
	t.Helper()
	resp, err := http.Post("http://"+srv.APIAddr().String()+"/register", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c acmedns.Credentials
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	c.ServerURL = "http://" + srv.APIAddr().String()
	return c
}

func dnsAddr(srv *server.Server) string {
	for _, a := range srv.DNSAddrs() {
		if a.Network() == "udp" {
			return a.String()
		}
	}
	return ""
}

// TestFrontingAnAcmeHubServer: a hub whose config holds an account of
// another acmehub server answers Certify and httpreq clients through it.
// A value is served at the account's fulldomain by that server before the
// synchronous request answers, cleanup removes it, and a request naming
// the identifier may name the fulldomain as its record, as cert-manager
// does after following the CNAME.
func TestFrontingAnAcmeHubServer(t *testing.T) {
	backing := hubtest.Start(t, nil)
	account := register(t, backing)
	creds, _ := json.Marshal(account)
	h := hubtest.StartHub(t, nil)
	ctx := context.Background()
	if _, err := h.Managed().PutConfig(ctx, hubtest.Admin, managed.ConfigInput{
		ChallengeConfig: store.ChallengeConfig{ID: "front", Provider: acmedns.Name, Zone: "example.com", Rules: []string{".example.com"},
			Propagation: `{"nameservers": ["` + dnsAddr(backing) + `"]}`},
		Credentials: creds,
	}); err != nil {
		t.Fatal(err)
	}
	tok := hubtest.Token(t, h.Managed(), managed.RoleConsumer)
	served := func() []string {
		values, err := dnsclient.Resolver{}.ServedTXT(ctx, dnsAddr(backing), account.FullDomain)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(values)
		return values
	}
	post := func(path string, body any, basic bool) (int, string) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, "http://"+h.HubAddr().String()+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		if basic {
			req.SetBasicAuth(tok.ClientID, tok.Secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(answer)
	}
	certify := func(value string) map[string]string {
		return map[string]string{"ChallengeType": "dns-01", "Identifier": "www.example.com", "ResponseKey": "_acme-challenge.www.example.com",
			"ResponseValue": value, "AuthKey": tok.ClientID, "AuthSecret": tok.Secret}
	}

	if status, answer := post("/api/v1/managedchallenge/request", certify(value1), false); status != 200 {
		t.Fatalf("Certify request: %d %s", status, answer)
	} else if !strings.Contains(answer, "served at "+account.FullDomain+" by the name servers 127.0.0.1:") {
		t.Errorf("the request's message does not name the account's name servers, which it checked: %s", answer)
	}
	if got := served(); !slices.Equal(got, []string{value1}) {
		t.Errorf("served at %s after the request: %q", account.FullDomain, got)
	}
	if status, answer := post("/httpreq/present", map[string]string{"fqdn": "_acme-challenge.api.example.com.", "value": value2}, true); status != 200 {
		t.Fatalf("httpreq present: %d %s", status, answer)
	}
	// lego names only the CNAME's target, here the fulldomain: no identifier.
	if status, answer := post("/httpreq/present", map[string]string{"fqdn": account.FullDomain + ".", "value": value2}, true); status != 403 ||
		!strings.Contains(answer, "HTTPREQ_MODE=RAW") {
		t.Errorf("httpreq present at the fulldomain: %d %s", status, answer)
	}
	if got := served(); !slices.Equal(got, []string{value2, value1}) {
		t.Errorf("served after the second present: %q", got)
	}
	followed := certify(value1)
	followed["ResponseKey"] = account.FullDomain
	if status, answer := post("/api/v1/managedchallenge/request", followed, false); status != 200 {
		t.Errorf("Certify request naming the fulldomain: %d %s", status, answer)
	}
	elsewhere := certify(value2)
	elsewhere["ResponseKey"] = "_acme-challenge.other.example.com"
	if status, answer := post("/api/v1/managedchallenge/request", elsewhere, false); status != 403 ||
		!strings.Contains(answer, "record _acme-challenge.other.example.com is neither _acme-challenge.www.example.com nor "+account.FullDomain) {
		t.Errorf("a record that is neither the challenge name nor the fulldomain: %d %s", status, answer)
	}
	if status, answer := post("/api/v1/managedchallenge/cleanup", certify(value1), false); status != 200 {
		t.Fatalf("Certify cleanup: %d %s", status, answer)
	}
	if got := served(); !slices.Equal(got, []string{value2}) {
		t.Errorf("served after cleaning up the first value: %q", got)
	}

	testCredentials(t, account)
}

// testCredentials: Test checks an account's credentials against its server.
func testCredentials(t *testing.T, account acmedns.Credentials) {
	ctx := context.Background()
	creds, _ := json.Marshal(account)
	p, err := acmedns.New(creds, dnsclient.Resolver{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Test(ctx, "example.com"); err != nil {
		t.Errorf("Test with good credentials: %v", err)
	}
	account.Password = strings.Repeat("x", 40)
	bad, _ := json.Marshal(account)
	p, _ = acmedns.New(bad, dnsclient.Resolver{}, nil)
	if err := p.Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "refuses the credentials of account "+account.Username) {
		t.Errorf("Test with a wrong password: %v", err)
	}
}

// plainAcmeDNS is acme-dns's API as it is: /update only, the two newest
// values of an account kept.
type plainAcmeDNS struct {
	mu     sync.Mutex
	values []string
	calls  []string
}

func (p *plainAcmeDNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, r.URL.Path)
	if r.URL.Path != "/update" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-Api-User") != "user" || r.Header.Get("X-Api-Key") != "key" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error": "forbidden"}`))
		return
	}
	var body struct{ Subdomain, TXT string }
	json.NewDecoder(r.Body).Decode(&body)
	p.values = append(p.values, body.TXT)
	if len(p.values) > 2 {
		p.values = p.values[1:]
	}
	json.NewEncoder(w).Encode(map[string]string{"txt": body.TXT})
}

func TestPlainAcmeDNS(t *testing.T) {
	plain := &plainAcmeDNS{}
	srv := httptest.NewServer(plain)
	t.Cleanup(srv.Close)
	creds := `{"server_url": "` + srv.URL + `", "username": "user", "password": "key", "fulldomain": "abc.auth.example.org", "subdomain": "abc"}`
	p, err := acmedns.New([]byte(creds), dnsclient.Resolver{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "_acme-challenge.www", Text: value1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "_acme-challenge.www", Text: value1}}); err != nil {
		t.Errorf("cleanup on a plain acme-dns: %v", err)
	}
	if want := []string{"/present", "/update", "/delete"}; !slices.Equal(plain.calls, want) {
		t.Errorf("calls %q, want %q", plain.calls, want)
	}
	if !slices.Equal(plain.values, []string{value1}) {
		t.Errorf("values %q: the value stays on a plain acme-dns", plain.values)
	}
	if err := p.Test(ctx, "example.com"); !errors.Is(err, acmedns.ErrUncheckable) {
		t.Errorf("Test against a plain acme-dns: %v", err)
	}

	for creds, want := range map[string]string{
		`{"username": "u"}`: "server_url, password, fulldomain, subdomain missing",
		`{"server_url": "ftp://x", "username": "u", "password": "p", "fulldomain": "f.x", "subdomain": "f"}`: `server_url "ftp://x" is not an http(s) URL`,
		`{"api_token": "x"}`: `unknown field "api_token"`,
	} {
		if _, err := acmedns.New([]byte(creds), dnsclient.Resolver{}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("credentials %s: %v, want %q", creds, err, want)
		}
	}
}
