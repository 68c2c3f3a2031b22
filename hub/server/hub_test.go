// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/managed/providers/self"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
)

// startManaged runs a server with the managed-challenge hub on loopback
// (no TLS), a config of provider self for example.com and below, and
// returns a consumer token.
func startManaged(t testing.TB, mutate func(*config.Config)) (*server.Server, managed.NewToken) {
	t.Helper()
	srv := hubtest.StartHub(t, mutate)
	if _, err := srv.Managed().PutConfig(context.Background(), hubtest.Admin, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{
		ID: "self-example", Title: "example.com, delegated to the hub", Provider: self.Name, Zone: "example.com",
		Rules: []string{"example.com", ".example.com", "!secret.example.com"}}}); err != nil {
		t.Fatal(err)
	}
	return srv, newToken(t, srv, managed.RoleConsumer)
}

func newToken(t testing.TB, srv *server.Server, roles ...string) managed.NewToken {
	t.Helper()
	return hubtest.Token(t, srv.Managed(), roles...)
}

func hubURL(srv *server.Server, path string) string { return "http://" + srv.HubAddr().String() + path }

func dnsTCP(srv *server.Server) string {
	for _, a := range srv.DNSAddrs() {
		if a.Network() == "tcp" {
			return a.String()
		}
	}
	return ""
}

// served asks the hub's DNS, over TCP so that many values fit, for the
// TXT values at name.
func served(t *testing.T, srv *server.Server, name string) (values []string, rcode int, aa bool) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(m, dnsTCP(srv))
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range r.Answer {
		values = append(values, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	slices.Sort(values)
	return values, r.Rcode, r.Authoritative
}

func post(t *testing.T, url, user, pass string, body any) (*http.Response, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp, answer
}

const digest = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

// TestHTTPReq speaks lego's httpreq protocol, both bodies, to the hub and
// reads the result from its DNS.
func TestHTTPReq(t *testing.T) {
	srv, tok := startManaged(t, nil)
	present, cleanup := hubURL(srv, "/httpreq/present"), hubURL(srv, "/httpreq/cleanup")
	body := map[string]string{"fqdn": "_acme-challenge.www.example.com.", "value": digest}
	resp, answer := post(t, present, tok.ClientID, tok.Secret, body)
	if resp.StatusCode != 200 || !bytes.Contains(answer, []byte(`"value":"`+digest+`"`)) {
		t.Fatalf("present: %d %s", resp.StatusCode, answer)
	}
	if got, rcode, aa := served(t, srv, "_acme-challenge.www.example.com"); !slices.Equal(got, []string{digest}) || rcode != dns.RcodeSuccess || !aa {
		t.Errorf("DNS after present: %q rcode %d AA %v", got, rcode, aa)
	}
	// RAW mode: the hub computes the digest and the record.
	keyAuth := "token-123.thumbprint-abc"
	sum := sha256.Sum256([]byte(keyAuth))
	raw := map[string]string{"domain": "api.example.com", "token": "token-123", "keyAuth": keyAuth}
	if resp, answer := post(t, present, tok.ClientID, tok.Secret, raw); resp.StatusCode != 200 {
		t.Fatalf("present RAW: %d %s", resp.StatusCode, answer)
	}
	if got, _, _ := served(t, srv, "_acme-challenge.api.example.com"); !slices.Equal(got, []string{base64.RawURLEncoding.EncodeToString(sum[:])}) {
		t.Errorf("DNS after RAW present: %q", got)
	}
	for _, b := range []any{body, raw} {
		if resp, answer := post(t, cleanup, tok.ClientID, tok.Secret, b); resp.StatusCode != 200 {
			t.Fatalf("cleanup: %d %s", resp.StatusCode, answer)
		}
	}
	if got, rcode, aa := served(t, srv, "_acme-challenge.www.example.com"); len(got) != 0 || rcode != dns.RcodeSuccess || !aa {
		t.Errorf("DNS after cleanup: %q rcode %d (want NODATA, authoritative)", got, rcode)
	}

	tests := []struct {
		name       string
		user, pass string
		body       any
		status     int
		detail     string
	}{
		{"no credentials", "", "", body, 401, "HTTP basic auth is required"},
		{"a wrong secret", tok.ClientID, "nope", body, 401, "unknown API token, or wrong secret"},
		{"an unknown client ID", "hub_unknown", tok.Secret, body, 401, "unknown API token, or wrong secret"},
		{"a name no config matches", tok.ClientID, tok.Secret, map[string]string{"fqdn": "_acme-challenge.example.net.", "value": digest}, 403, "no managed challenge config matches example.net"},
		{"a denied name", tok.ClientID, tok.Secret, map[string]string{"fqdn": "_acme-challenge.secret.example.com.", "value": digest}, 403, "no managed challenge config matches secret.example.com"},
		{"a record that is no challenge", tok.ClientID, tok.Secret, map[string]string{"fqdn": "www.example.com.", "value": digest}, 403, "is not _acme-challenge.<name>"},
		{"a body of neither kind", tok.ClientID, tok.Secret, map[string]string{"name": "x"}, 400, "needs fqdn and value"},
	}
	for _, tt := range tests {
		resp, answer := post(t, present, tt.user, tt.pass, tt.body)
		var p struct{ Detail string }
		json.Unmarshal(answer, &p)
		if resp.StatusCode != tt.status || !strings.Contains(p.Detail, tt.detail) || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d with detail %q", tt.name, resp.StatusCode, answer, tt.status, tt.detail)
		}
	}
	if got, rcode, _ := served(t, srv, "_acme-challenge.example.net"); rcode != dns.RcodeRefused || len(got) != 0 {
		t.Errorf("a name of no config: rcode %d, %q", rcode, got)
	}
}

func TestHTTPReqRateLimit(t *testing.T) {
	srv, tok := startManaged(t, func(c *config.Config) { c.Hub.RequestsPerMinute = 3 })
	other := newToken(t, srv, managed.RoleConsumer)
	body := map[string]string{"fqdn": "_acme-challenge.www.example.com.", "value": digest}
	for i := range 3 {
		if resp, answer := post(t, hubURL(srv, "/httpreq/present"), tok.ClientID, tok.Secret, body); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, answer)
		}
	}
	resp, answer := post(t, hubURL(srv, "/httpreq/present"), tok.ClientID, tok.Secret, body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "20" {
		t.Errorf("the fourth request in a minute: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), answer)
	}
	if resp, _ := post(t, hubURL(srv, "/httpreq/present"), other.ClientID, other.Secret, body); resp.StatusCode != 200 {
		t.Errorf("another token was limited too: %d", resp.StatusCode)
	}
}

// certifyRequest is exactly what Certify's plugin sends: PascalCase, the
// credentials in the body.
func certifyRequest(tok managed.NewToken, identifier, key string) map[string]string {
	return map[string]string{"ChallengeType": "dns-01", "Identifier": identifier, "ResponseKey": key,
		"ResponseValue": digest, "AuthKey": tok.ClientID, "AuthSecret": tok.Secret}
}

// certifyRefusals: refusals name what the user can act on, in RFC 7807's
// detail, from requestbegin and request alike.
func certifyRefusals(t *testing.T, srv *server.Server, base string, tok managed.NewToken) {
	t.Helper()
	admin := newToken(t, srv, managed.RoleAdmin)
	wrong := tok
	wrong.Secret = "wrong"
	tests := []struct {
		name   string
		body   map[string]string
		status int
		detail string
	}{
		{"unknown token", certifyRequest(wrong, "www.example.com", "_acme-challenge.www.example.com"), 401, "unknown API token"},
		{"a token without the consumer role", certifyRequest(admin, "www.example.com", "_acme-challenge.www.example.com"), 403, "does not carry the managed-challenge-consumer role"},
		{"no config", certifyRequest(tok, "www.example.org", "_acme-challenge.www.example.org"), 403, "no managed challenge config matches www.example.org"},
		{"record name not allowed", certifyRequest(tok, "www.example.com", "_acme-challenge.other.example.com"), 403, "record _acme-challenge.other.example.com is not _acme-challenge.www.example.com"},
	}
	for _, tt := range tests {
		for _, call := range []string{"/requestbegin", "/request"} {
			resp, answer := post(t, base+call, "", "", tt.body)
			var p struct{ Detail string }
			json.Unmarshal(answer, &p)
			if resp.StatusCode != tt.status || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("%s %s: %d %s, want %d with detail %q", tt.name, call, resp.StatusCode, answer, tt.status, tt.detail)
			}
		}
	}
}

func TestCertify(t *testing.T) {
	srv, tok := startManaged(t, nil)
	base := hubURL(srv, "/api/v1/managedchallenge")

	// requestbegin, then status polled without credentials.
	start := time.Now()
	resp, answer := post(t, base+"/requestbegin", "", "", certifyRequest(tok, "www.example.com", "_acme-challenge.www.example.com"))
	var op struct {
		ID, Status string
		Result     *struct {
			IsSuccess bool
			Message   string
		}
	}
	if err := json.Unmarshal(answer, &op); err != nil || resp.StatusCode/100 != 2 || len(op.ID) < 40 {
		t.Fatalf("requestbegin: %d %s", resp.StatusCode, answer)
	}
	for op.Status != "succeeded" && op.Status != "failed" {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("operation still %s", op.Status)
		}
		r, err := http.Get(base + "/requeststatus/" + op.ID)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ = io.ReadAll(r.Body)
		r.Body.Close()
		json.Unmarshal(answer, &op)
		if bytes.Contains(answer, []byte(tok.Secret)) {
			t.Fatalf("the status echoes the secret: %s", answer)
		}
	}
	if op.Status != "succeeded" || op.Result == nil || !op.Result.IsSuccess {
		t.Fatalf("operation: %s", answer)
	}
	// The self provider's names are delegated to the hub: its DNS is
	// what was checked, not the config's zone.
	if want := "the value is served at _acme-challenge.www.example.com by the hub's DNS, to which the name is delegated"; op.Result.Message != want {
		t.Errorf("the operation's message %q, want %q", op.Result.Message, want)
	}
	if got, _, _ := served(t, srv, "_acme-challenge.www.example.com"); !slices.Equal(got, []string{digest}) {
		t.Errorf("DNS after requestbegin: %q", got)
	}
	if r, _ := http.Get(base + "/requeststatus/not-an-operation"); r.StatusCode != 404 {
		t.Errorf("an unknown operation: %d", r.StatusCode)
	}

	// request, synchronous; then cleanup.
	resp, answer = post(t, base+"/request", "", "", certifyRequest(tok, "example.com", "_acme-challenge.example.com"))
	if resp.StatusCode != 200 || !bytes.Contains(answer, []byte(`"isSuccess":true`)) {
		t.Fatalf("request: %d %s", resp.StatusCode, answer)
	}
	for _, id := range []string{"www.example.com", "example.com"} {
		resp, answer = post(t, base+"/cleanup", "", "", certifyRequest(tok, id, "_acme-challenge."+id))
		if resp.StatusCode != 200 || !bytes.Contains(answer, []byte(`"isSuccess":true`)) {
			t.Fatalf("cleanup %s: %d %s", id, resp.StatusCode, answer)
		}
		if got, _, _ := served(t, srv, "_acme-challenge."+id); len(got) != 0 {
			t.Errorf("DNS after cleanup: %q", got)
		}
	}

	certifyRefusals(t, srv, base, tok)
	// Every request is audited, with the value's hash and not the value.
	log, err := srv.Managed().AuditLog(context.Background(), store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range log {
		if e.ClientID == tok.ClientID && e.Result == "ok" && e.Detail == "certify" && e.Address == "127.0.0.1" && e.ValueHash == managed.ValueHash(digest) {
			ok++
		}
		if strings.Contains(fmt.Sprint(e), digest) {
			t.Errorf("the audit log holds the value: %+v", e)
		}
	}
	if ok != 4 {
		t.Errorf("%d successful Certify requests audited, want 4", ok)
	}
}

// TestConcurrentClientsAtOneName: 50 clients present and clean up values at
// one name at once; what DNS serves is exactly what is left.
func TestConcurrentClientsAtOneName(t *testing.T) {
	srv, _ := startManaged(t, nil)
	const n = 50
	tokens := make([]managed.NewToken, n)
	for i := range n {
		tokens[i] = newToken(t, srv, managed.RoleConsumer)
	}
	value := func(i int) string { return fmt.Sprintf("value-of-client-%02d-%s", i, strings.Repeat("x", 20)) }
	body := func(i int) map[string]string {
		return map[string]string{"fqdn": "_acme-challenge.busy.example.com.", "value": value(i)}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if resp, answer := post(t, hubURL(srv, "/httpreq/present"), tokens[i].ClientID, tokens[i].Secret, body(i)); resp.StatusCode != 200 {
				t.Errorf("present %d: %d %s", i, resp.StatusCode, answer)
			}
		})
	}
	wg.Wait()
	got, _, _ := served(t, srv, "_acme-challenge.busy.example.com")
	var want []string
	for i := range n {
		want = append(want, value(i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after %d presents DNS serves %d values", n, len(got))
	}
	// The even clients clean up, concurrently with odd clients presenting again.
	for i := range n {
		wg.Go(func() {
			action := "/httpreq/present"
			if i%2 == 0 {
				action = "/httpreq/cleanup"
			}
			if resp, answer := post(t, hubURL(srv, action), tokens[i].ClientID, tokens[i].Secret, body(i)); resp.StatusCode != 200 {
				t.Errorf("%s %d: %d %s", action, i, resp.StatusCode, answer)
			}
		})
	}
	wg.Wait()
	got, _, _ = served(t, srv, "_acme-challenge.busy.example.com")
	want = want[:0]
	for i := 1; i < n; i += 2 {
		want = append(want, value(i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("DNS serves %q, want the %d odd clients' values", got, len(want))
	}
	records, _ := srv.Managed().Records(context.Background())
	if len(records) != n { // each odd client presented twice
		t.Errorf("%d records remembered, want %d", len(records), n)
	}
}

// acmeproxyCaller posts a form to acmeproxy's API of srv and returns the
// status and the JSON answer.
func acmeproxyCaller(t *testing.T, srv *server.Server) func(path string, form url.Values) (int, map[string]any) {
	return func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(hubURL(srv, "/acmeproxy/"+path), form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: not JSON: %v", path, err)
		}
		return resp.StatusCode, body
	}
}

// result is the "result" object of an acmeproxy answer.
func result(body map[string]any) map[string]any { r, _ := body["result"].(map[string]any); return r }

// acmeproxySuffixMatch: an authorisation with suffix match answers for the
// names below it too.
func acmeproxySuffixMatch(t *testing.T, srv *server.Server, call func(string, url.Values) (int, map[string]any)) {
	t.Helper()
	status, body := call("create_authorisation", url.Values{"name": {"team.example.com"}, "suffix_match": {"true"}, "secret": {"the-create-secret-0123456789"}})
	team, _ := result(body)["secret"].(string)
	if status != 200 || result(body)["suffix_match"] != true {
		t.Fatalf("create with suffix match: %d %v", status, body)
	}
	if status, body := call("publish_response", url.Values{"name": {"a.b.team.example.com"}, "response": {digest}, "secret": {team}}); status != 200 ||
		result(body)["authorisation"] != "team.example.com" {
		t.Errorf("publish below a suffix-match authorisation: %d %v", status, body)
	}
	if got, _, _ := served(t, srv, "_acme-challenge.a.b.team.example.com"); !slices.Equal(got, []string{digest}) {
		t.Errorf("DNS after publish below team.example.com: %q", got)
	}

}

// TestAcmeproxy speaks acmeproxy's form API, as its dehydrated and certbot
// hooks do, and reads the result from the hub's DNS.
func TestAcmeproxy(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "create.secret")
	os.WriteFile(secretFile, []byte("the-create-secret-0123456789\n"), 0o600)
	srv, _ := startManaged(t, func(c *config.Config) { c.Hub.AcmeproxyCreateSecretFile = secretFile })
	call := acmeproxyCaller(t, srv)

	if status, body := call("create_authorisation", url.Values{"name": {"www.example.com"}, "secret": {"wrong"}}); status != 401 || body["result"] != false {
		t.Errorf("create with a wrong secret: %d %v", status, body)
	}
	status, body := call("create_authorisation", url.Values{"name": {"www.example.com"}, "secret": {"the-create-secret-0123456789"}})
	secret, _ := result(body)["secret"].(string)
	if status != 200 || len(secret) != 32 || result(body)["authorisation"] != "www.example.com" || result(body)["suffix_match"] != false {
		t.Fatalf("create: %d %v", status, body)
	}
	if status, body := call("create_authorisation", url.Values{"name": {"WWW.example.com."}, "secret": {"the-create-secret-0123456789"}}); status != 403 ||
		!strings.Contains(fmt.Sprint(body["error"]), "www.example.com has an authorisation already") {
		t.Errorf("a second create of the name: %d %v", status, body)
	}
	if status, body := call("create_authorisation", url.Values{"name": {"example.net"}, "secret": {"the-create-secret-0123456789"}}); status != 403 ||
		!strings.Contains(fmt.Sprint(body["error"]), "no managed challenge config matches example.net") {
		t.Errorf("create for a name of no config: %d %v", status, body)
	}

	publish := url.Values{"name": {"www.example.com"}, "response": {digest}, "secret": {secret}}
	if status, body := call("publish_response", publish); status != 200 || result(body)["published"] != true {
		t.Fatalf("publish: %d %v", status, body)
	}
	if got, _, _ := served(t, srv, "_acme-challenge.www.example.com"); !slices.Equal(got, []string{digest}) {
		t.Errorf("DNS after publish: %q", got)
	}
	records, _ := srv.Managed().Records(context.Background())
	if len(records) != 1 || records[0].Expires.Sub(records[0].Created) != 5*time.Minute {
		t.Errorf("the response does not expire five minutes after publication: %+v", records)
	}
	// The secret answers for its name only.
	for _, name := range []string{"x.www.example.com", "api.example.com"} {
		if status, body := call("publish_response", url.Values{"name": {name}, "response": {digest}, "secret": {secret}}); status != 401 {
			t.Errorf("publish for %s with the secret of www.example.com: %d %v", name, status, body)
		}
	}
	if status, body := call("expire_response", url.Values{"name": {"www.example.com"}, "secret": {secret}}); status != 200 || result(body)["expired"] != true {
		t.Fatalf("expire_response: %d %v", status, body)
	}
	if got, _, _ := served(t, srv, "_acme-challenge.www.example.com"); len(got) != 0 {
		t.Errorf("DNS after expire_response: %q", got)
	}

	acmeproxySuffixMatch(t, srv, call)

	// expire_authorisation rotates the secret: the old one stops at once.
	status, body = call("expire_authorisation", url.Values{"name": {"www.example.com"}, "secret": {secret}})
	rotated, _ := result(body)["secret"].(string)
	if status != 200 || len(rotated) != 32 || rotated == secret {
		t.Fatalf("expire_authorisation: %d %v", status, body)
	}
	if status, _ := call("publish_response", publish); status != 401 {
		t.Errorf("publish with the old secret: %d", status)
	}
	publish.Set("secret", rotated)
	if status, body := call("publish_response", publish); status != 200 {
		t.Errorf("publish with the new secret: %d %v", status, body)
	}
	if err := srv.Managed().DeleteAuthorisation(context.Background(), hubtest.Admin, "www.example.com"); err != nil {
		t.Fatal(err)
	}
	if status, _ := call("publish_response", publish); status != 401 {
		t.Errorf("publish after the authorisation was deleted: %d", status)
	}
	if status, body := call("publish_response", url.Values{"response": {digest}}); status != 400 || !strings.Contains(fmt.Sprint(body["error"]), "name is required") {
		t.Errorf("a form without a name: %d %v", status, body)
	}
}

// TestAcmeproxyCreationOff: without a create secret, authorisations are
// made with acmehub admin only, unless creation is open.
func TestAcmeproxyCreationOff(t *testing.T) {
	for _, open := range []bool{false, true} {
		srv, _ := startManaged(t, func(c *config.Config) { c.Hub.AcmeproxyOpenCreation = open })
		resp, err := http.PostForm(hubURL(srv, "/acmeproxy/create_authorisation"), url.Values{"name": {"www.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := map[bool]int{false: 403, true: 200}[open]; resp.StatusCode != want || !open && !bytes.Contains(body, []byte("acmehub admin authorisations create")) {
			t.Errorf("open creation %v: %d %s", open, resp.StatusCode, body)
		}
	}
}
