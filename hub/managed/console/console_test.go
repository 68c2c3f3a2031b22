// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/console"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/issuertest"
)

var ctx = context.Background()

// browser is a client with cookies, as a browser is, that does not follow
// redirects: the tests look at each answer.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

type answer struct {
	status int
	header http.Header
	body   string
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: srv.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, base: srv.URL, c: c}
}

func (b *browser) do(method, path string, form url.Values, header ...string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

func (b *browser) get(path string) answer                   { return b.do(http.MethodGet, path, nil) }
func (b *browser) post(path string, form url.Values) answer { return b.do(http.MethodPost, path, form) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(b.get(path).body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", path)
	}
	return html.UnescapeString(m[1])
}

func (b *browser) signIn(tok managed.NewToken) answer {
	b.t.Helper()
	return b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "client_id": {tok.ClientID},
		"secret": {tok.Secret}, "next": {"/console/configs"}})
}

type fixture struct {
	svc           *managed.Service
	admin, client managed.NewToken
	srv           *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	svc, client := hubtest.Managed(t)
	h, err := console.New(&doors.Door{Service: svc}, console.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return &fixture{svc: svc, admin: hubtest.Token(t, svc, managed.RoleAdmin), client: client, srv: srv}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	if a := b.get("/console/tokens"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/signin?next=%2Fconsole%2Ftokens" {
		t.Errorf("a page without a session: %d %s", a.status, a.header.Get("Location"))
	}
	if a := b.signIn(f.client); a.status != http.StatusForbidden || !strings.Contains(a.body, "does not carry the managed-challenge-admin role: it cannot sign in to the console") {
		t.Errorf("a consumer token signs in: %d\n%s", a.status, a.body)
	}
	wrong := f.admin
	wrong.Secret = "wrong"
	if a := b.signIn(wrong); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "unknown API token, or wrong secret") ||
		strings.Contains(a.body, "wrong\"") {
		t.Errorf("a wrong secret: %d", a.status)
	}
	if a := b.post("/console/signin", url.Values{"csrf": {"forged"}, "client_id": {f.admin.ClientID}, "secret": {f.admin.Secret}}); a.status != http.StatusForbidden {
		t.Errorf("a sign-in with a forged CSRF token: %d", a.status)
	}
	a := b.signIn(f.admin)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/configs" {
		t.Fatalf("sign in: %d %s\n%s", a.status, a.header.Get("Location"), a.body)
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "__Host-acmehub-session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.MaxAge <= 0 {
		t.Errorf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, expiring", session)
	}
	if strings.Contains(a.header.Get("Set-Cookie"), f.admin.Secret) {
		t.Error("the cookie holds the token's secret")
	}
	if a := b.get("/console/"); a.status != http.StatusOK || !strings.Contains(a.body, "records present now") {
		t.Errorf("the dashboard after sign-in: %d", a.status)
	}
	log, _ := f.svc.AuditLog(ctx, store.AuditQuery{})
	if !strings.Contains(fmt.Sprint(log), "sign in to the console") || !strings.Contains(fmt.Sprint(log), "refused: API token "+f.client.ClientID) {
		t.Errorf("sign-ins are not audited: %v", log)
	}

	// Revoking the token ends the session at once; signing out ends it too.
	f.svc.RevokeToken(ctx, hubtest.Admin, f.admin.ClientID)
	if a := b.get("/console/"); a.status != http.StatusSeeOther {
		t.Errorf("a session of a revoked token: %d", a.status)
	}
	other := hubtest.Token(t, f.svc, managed.RoleAdmin)
	b.signIn(other)
	b.post("/console/signout", url.Values{"csrf": {b.csrf("/console/")}})
	if a := b.get("/console/"); a.status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", a.status)
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]|\son[a-z]+=|\sstyle=|javascript:`)

// TestPagesAndCSRF: every page renders under the Content-Security-Policy
// (no inline script or style), every form carries the session's CSRF
// token, and a change without it, or from another site, is refused.
func TestPagesAndCSRF(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	for _, path := range []string{"/console/", "/console/configs", "/console/configs/new", "/console/configs/self-example", "/console/principals",
		"/console/tokens", "/console/delegations", "/console/audit", "/console/signin"} {
		a := b.get(path)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d", path, a.status)
			continue
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if m := inlineScript.FindString(a.body); m != "" {
			t.Errorf("%s: inline script or style %q", path, m)
		}
		forms, tokens := strings.Count(a.body, `method="post"`), strings.Count(a.body, `name="csrf"`)
		if forms != tokens {
			t.Errorf("%s: %d forms, %d CSRF tokens", path, forms, tokens)
		}
		if a.header.Get("Cache-Control") != "no-store" || a.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, a.header)
		}
	}
	form := url.Values{"kind": {"application"}, "title": {"cluster prod"}, "role": {managed.RoleConsumer}}
	if a := b.post("/console/principals", form); a.status != http.StatusForbidden || !strings.Contains(a.body, "CSRF") {
		t.Errorf("a change without the CSRF token: %d", a.status)
	}
	// A form another origin's page sends is refused though its CSRF
	// token is right: browsers say so in Sec-Fetch-Site, older ones only
	// in Origin, which must then name the host the form was sent to.
	host := strings.TrimPrefix(f.srv.URL, "https://")
	for _, tc := range []struct {
		name   string
		header []string
	}{
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
		{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site"}},
		{"Origin of another site", []string{"Origin", "https://evil.example"}},
		{"Origin of another port", []string{"Origin", "https://" + strings.Split(host, ":")[0] + ":1"}},
		{"Sec-Fetch-Site cross-site, Origin of the console", []string{"Sec-Fetch-Site", "cross-site", "Origin", f.srv.URL}},
	} {
		form.Set("csrf", b.csrf("/console/principals"))
		if a := b.do(http.MethodPost, "/console/principals", form, tc.header...); a.status != http.StatusForbidden ||
			!strings.Contains(a.body, "another site") {
			t.Errorf("a change with %s: %d", tc.name, a.status)
		}
	}
	if ps, _ := f.svc.Principals(ctx); slices.ContainsFunc(ps, func(p store.Principal) bool { return p.Title == "cluster prod" }) {
		t.Fatal("a cross-origin form created a principal")
	}
	for _, header := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", f.srv.URL}} {
		form.Set("csrf", b.csrf("/console/principals"))
		form.Set("title", "same origin "+header[0])
		if a := b.do(http.MethodPost, "/console/principals", form, header...); a.status != http.StatusSeeOther {
			t.Errorf("a change from the console's own page (%s): %d", header[0], a.status)
		}
	}
	form.Set("title", "cluster prod")
	other := newBrowser(t, f.srv)
	other.signIn(hubtest.Token(t, f.svc, managed.RoleAdmin))
	form.Set("csrf", other.csrf("/console/principals"))
	if a := b.post("/console/principals", form); a.status != http.StatusForbidden {
		t.Errorf("a change with another session's CSRF token: %d", a.status)
	}
	form.Set("csrf", b.csrf("/console/principals"))
	if a := b.post("/console/principals", form); a.status != http.StatusSeeOther {
		t.Fatalf("adding a principal: %d\n%s", a.status, a.body)
	}
	ps, _ := f.svc.Principals(ctx)
	if ps[len(ps)-1].Title != "cluster prod" {
		t.Errorf("principals %+v", ps)
	}
	log, _ := f.svc.AuditLog(ctx, store.AuditQuery{Limit: 1})
	if log[0].ClientID != f.admin.ClientID || log[0].Address != "127.0.0.1" || !strings.Contains(log[0].Detail, "create principal") {
		t.Errorf("the change is not audited as the signed-in token's: %+v", log[0])
	}
}

// TestTokenSecretShownOnce: a token made in the console shows its secret
// on the next page only, with ready snippets; a reload, the token list and
// the audit log never show it.
// TestDelegationsPage: the page lists the delegations and its form asks
// the config's provider; one that cannot write CNAMEs (self) is refused
// with the cause, the form kept.
func TestDelegationsPage(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	a := b.post("/console/delegations", url.Values{"csrf": {b.csrf("/console/delegations")}, "identifier": {"app.example.com"},
		"target": {"d420c923.auth.example.org"}})
	if a.status != http.StatusBadGateway || !strings.Contains(a.body, "provider self of config self-example cannot write CNAMEs") ||
		!strings.Contains(a.body, `value="d420c923.auth.example.org"`) {
		t.Errorf("a delegation through a provider without CNAMEs: %d\n%s", a.status, a.body)
	}
	if a := b.get("/console/delegations"); a.status != http.StatusOK || !strings.Contains(a.body, "No delegations yet") {
		t.Errorf("the page after a refusal: %d\n%s", a.status, a.body)
	}
}

func TestTokenSecretShownOnce(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	ps, _ := f.svc.Principals(ctx)
	a := b.post("/console/tokens", url.Values{"csrf": {b.csrf("/console/tokens")}, "principal": {ps[0].ID}, "title": {"cert-manager prod"},
		"scope": {managed.RoleConsumer}, "domains": {".prod.example.com\n"}, "ttl": {"2160h"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/tokens/secret" {
		t.Fatalf("create: %d %s", a.status, a.header.Get("Location"))
	}
	shown := b.get("/console/tokens/secret")
	secret := regexp.MustCompile(`id="client-secret" value="([A-Za-z0-9_-]{43})"`).FindStringSubmatch(shown.body)
	clientID := regexp.MustCompile(`id="client-id" value="(hub_[a-z0-9]+)"`).FindStringSubmatch(shown.body)
	if shown.status != http.StatusOK || secret == nil || clientID == nil {
		t.Fatalf("the secret page: %d\n%s", shown.status, shown.body)
	}
	if strings.Contains(a.body+fmt.Sprint(a.header), secret[1]) {
		t.Error("the answer to the create carries the secret in the clear")
	}
	for _, want := range []string{"HTTPREQ_PASSWORD=" + secret[1], "ACMEPROXY_PASSWORD=" + secret[1], "--from-literal=clientSecret=" + secret[1],
		"Auth Secret: " + secret[1], "solverName: hub", "url: " + f.srv.URL} {
		if !strings.Contains(html.UnescapeString(shown.body), want) {
			t.Errorf("the secret page lacks %q", want)
		}
	}
	caller, err := f.svc.Authenticate(ctx, clientID[1], secret[1])
	if err != nil || caller.Domains.Strings()[0] != ".prod.example.com" {
		t.Errorf("the token shown does not work as made: %v %v", caller, err)
	}
	if again := b.get("/console/tokens/secret"); again.status != http.StatusGone || strings.Contains(again.body, secret[1]) {
		t.Errorf("the secret page again: %d", again.status)
	}
	for _, path := range []string{"/console/tokens", "/console/audit", "/console/"} {
		if strings.Contains(b.get(path).body, secret[1]) {
			t.Errorf("%s shows the secret", path)
		}
	}

	// Rotation shows the new secret once; the old one stops working.
	if a := b.post("/console/tokens/"+clientID[1]+"/rotate", url.Values{"csrf": {b.csrf("/console/tokens")}}); a.status != http.StatusSeeOther {
		t.Fatalf("rotate: %d", a.status)
	}
	rotated := regexp.MustCompile(`id="client-secret" value="([A-Za-z0-9_-]{43})"`).FindStringSubmatch(b.get("/console/tokens/secret").body)
	if rotated == nil || rotated[1] == secret[1] {
		t.Fatal("no new secret after rotation")
	}
	if _, err := f.svc.Authenticate(ctx, clientID[1], secret[1]); err == nil {
		t.Error("the old secret works after rotation")
	}
	if a := b.post("/console/tokens/"+clientID[1]+"/revoke", url.Values{"csrf": {b.csrf("/console/tokens")}}); a.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", a.status)
	}
	if _, err := f.svc.Authenticate(ctx, clientID[1], rotated[1]); err == nil {
		t.Error("a revoked token works")
	}
	if a := b.post("/console/tokens", url.Values{"csrf": {b.csrf("/console/tokens")}, "principal": {ps[0].ID}, "ttl": {"forever"}, "scope": {managed.RoleConsumer}}); a.status != http.StatusUnprocessableEntity ||
		!strings.Contains(a.body, "lifetime &#34;forever&#34;") {
		t.Errorf("a bad lifetime: %d", a.status)
	}
}

// TestConfigForms: add, edit (credentials kept), test, and delete a config;
// a bad rule is answered with its cause and the form as it was sent.
func TestConfigForms(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	form := url.Values{"csrf": {b.csrf("/console/configs/new")}, "new": {"true"}, "id": {"self-net"}, "title": {"example.net"},
		"provider": {"self"}, "zone": {"example.net"}, "rules": {"example.net\n.example.net\n!vault.example.net"}, "ttl": {"30"},
		"nameservers": {"192.0.2.53:53"}}
	if a := b.post("/console/configs", form); a.status != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", a.status, a.body)
	}
	c, ok := f.svc.Config("self-net")
	if !ok || len(c.Rules) != 3 || c.TTL != 30 || c.Propagation != `{"nameservers":["192.0.2.53:53"]}` {
		t.Fatalf("config %+v", c)
	}
	if a := b.post("/console/configs", form); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "exists already") {
		t.Errorf("adding the same ID again: %d", a.status)
	}
	form.Set("new", "false")
	form.Set("rules", "example.net\n*.*.example.net")
	a := b.post("/console/configs", form)
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "*.*.example.net") || !strings.Contains(a.body, `role="alert"`) {
		t.Errorf("a bad rule: %d\n%s", a.status, a.body)
	}
	if a := b.post("/console/configs/self-net/test", url.Values{"csrf": {b.csrf("/console/configs")}}); a.status != http.StatusOK ||
		!strings.Contains(a.body, "the provider accepts its credentials") {
		t.Errorf("test: %d", a.status)
	}
	if a := b.post("/console/configs/self-net/delete", url.Values{"csrf": {b.csrf("/console/configs")}}); a.status != http.StatusSeeOther {
		t.Errorf("delete: %d", a.status)
	}
	if _, ok := f.svc.Config("self-net"); ok {
		t.Error("the config is still there")
	}
}

// TestAuditPage: filtered by result and identifier, newest first, in
// pages of 50 with a link to the older ones.
func TestAuditPage(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	caller, _ := f.svc.Authenticate(ctx, f.client.ClientID, f.client.Secret)
	for i := range 60 {
		f.svc.Present(ctx, caller, managed.Request{Identifier: fmt.Sprintf("h%02d.example.com", i), Value: "v", Via: "httpreq"})
	}
	f.svc.Present(ctx, caller, managed.Request{Identifier: "www.example.org", Value: "v", Via: "httpreq"})
	a := b.get("/console/audit?result=failed")
	if a.status != http.StatusOK || strings.Count(a.body, `<tr class="bad">`) != 1 || !strings.Contains(a.body, "no managed challenge config matches www.example.org") {
		t.Errorf("failures: %d, %d rows", a.status, strings.Count(a.body, `<tr class="bad">`))
	}
	a = b.get("/console/audit?result=ok&identifier=H07.example.com")
	if strings.Count(a.body, `<tr class="good">`) != 1 {
		t.Errorf("one identifier: %d rows", strings.Count(a.body, `<tr class="good">`))
	}
	// Principals by title, with the token's client ID.
	if who := "<td>cluster<br><code class=\"sub id\">" + f.client.ClientID + "</code></td>"; !strings.Contains(a.body, who) {
		t.Errorf("the row does not name its principal and token as %s:\n%s", who, a.body)
	}
	first := b.get("/console/audit?result=ok&since=1h")
	older := regexp.MustCompile(`href="(/console/audit\?[^"]+)"`).FindStringSubmatch(first.body)
	if strings.Count(first.body, `<tr class="good">`) != 50 || older == nil || strings.Index(first.body, "h59.example.com") > strings.Index(first.body, "h58.example.com") {
		t.Fatalf("first page: %d rows, older link %v", strings.Count(first.body, `<tr class="good">`), older)
	}
	next := b.get(html.UnescapeString(older[1]))
	if rows := strings.Count(next.body, `<tr class="good">`); rows < 10 || strings.Contains(next.body, "h59.example.com") {
		t.Errorf("second page: %d rows", rows)
	}
	if a := b.get("/console/audit?since=yesterday"); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "neither a time") {
		t.Errorf("a bad time: %d", a.status)
	}
}

// TestAuditEntry: a refusal names the principal of a known token, and
// "unknown token" for others; every entry opens whole on a page of its own.
func TestAuditEntry(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	door := &doors.Door{Service: f.svc}
	r := httptest.NewRequest(http.MethodPost, "/httpreq/present", nil)
	for _, clientID := range []string{f.client.ClientID, "hub_nosuchtoken"} {
		door.Admit(r, "present", clientID, &managed.Request{Record: "_acme-challenge.www.example.com.", Via: "httpreq"},
			func(ctx context.Context) (managed.Caller, error) { return f.svc.Authenticate(ctx, clientID, "wrong") })
	}
	caller, _ := f.svc.Authenticate(ctx, f.client.ClientID, f.client.Secret)
	f.svc.Present(ctx, caller, managed.Request{Identifier: "www.example.com", Value: "v", Via: "httpreq"})
	a := b.get("/console/audit?result=failed")
	for _, want := range []string{
		"<td>cluster<br><code class=\"sub id\">" + f.client.ClientID + "</code></td>",
		"<td><span class=\"muted\">unknown token</span><br><code class=\"sub id\">hub_nosuchtoken</code></td>",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the refusals lack %s:\n%s", want, a.body)
		}
	}
	log, _ := f.svc.AuditLog(ctx, store.AuditQuery{Result: store.ResultOK, Identifier: "www.example.com"})
	if len(log) != 1 {
		t.Fatalf("audit log %+v", log)
	}
	e := log[0]
	a = b.get(fmt.Sprintf("/console/audit/%d", e.ID))
	if a.status != http.StatusOK {
		t.Fatalf("the entry's page: %d", a.status)
	}
	for _, want := range []string{e.At.UTC().Format("2006-01-02 15:04:05"), "present", "cluster", e.ClientID, "www.example.com",
		"_acme-challenge.www.example.com", e.ValueHash, `href="/console/configs/self-example"`, "httpreq", "ms"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the entry's page lacks %q", want)
		}
	}
	if a := b.get("/console/audit?identifier=www.example.com"); !strings.Contains(a.body, fmt.Sprintf(`href="/console/audit/%d"`, e.ID)) {
		t.Error("the audit log does not link to the entry")
	}
	for _, path := range []string{"/console/audit/999999", "/console/audit/x"} {
		if a := b.get(path); a.status != http.StatusNotFound || !strings.Contains(a.body, "has no entry") || !strings.Contains(a.body, "<h1>Not found</h1>") {
			t.Errorf("%s: %d", path, a.status)
		}
	}
}

// TestRefusalPages: what the console refuses comes in its layout, with a
// language, a title, a heading, the reason and a way back.
func TestRefusalPages(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	signedOut := b.post("/console/principals", url.Values{"title": {"x"}})
	b.signIn(f.admin)
	for _, tc := range []struct {
		name   string
		a      answer
		status int
		title  string
		back   string
	}{
		{"a change without a session", signedOut, http.StatusUnauthorized, "Not signed in", `href="/console/signin"`},
		{"a change without a CSRF token", b.post("/console/principals", url.Values{"title": {"x"}}), http.StatusForbidden, "Refused", `href="/console/"`},
		{"a config that is not there", b.get("/console/configs/nosuchconfig"), http.StatusNotFound, "Not found", `href="/console/"`},
	} {
		a := tc.a
		if a.status != tc.status || !strings.HasPrefix(a.body, "<!doctype html>") || !strings.Contains(a.body, `<html lang="en">`) ||
			!strings.Contains(a.body, "<title>"+tc.title+" · acmehub</title>") || !strings.Contains(a.body, "<h1>"+tc.title+"</h1>") ||
			!strings.Contains(a.body, `role="alert"`) || !strings.Contains(a.body, tc.back) {
			t.Errorf("%s: %d\n%s", tc.name, a.status, a.body)
		}
	}
}

// TestProviderCredentialFields: the config form shows each provider's own
// credential fields (secrets as password inputs, required ones marked);
// a config of provider rfc2136 filled in through them is stored with its
// credentials sealed and passes its test against a real BIND; a missing
// field is refused naming it, and the other values come back.
func TestProviderCredentialFields(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	page := b.get("/console/configs/new").body
	for _, want := range []string{
		`<fieldset class="credentials" data-provider="rfc2136">`,
		`<input id="cred-rfc2136-tsig_secret" name="cred-rfc2136-tsig_secret" type="password"`,
		`<label for="cred-rfc2136-nameserver">nameserver <span class="required">(required)</span></label>`,
		`<input id="cred-digitalocean-api_token" name="cred-digitalocean-api_token" type="password"`,
		`<textarea id="cred-acme-dns-allowfrom" name="cred-acme-dns-allowfrom"`,
		`<fieldset class="credentials" data-provider="self">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the config form lacks %s", want)
		}
	}
	if strings.Contains(page, `name="credentials"`) {
		t.Error("the config form still has a raw JSON box")
	}

	bind := testutil.StartBIND(t, "example.org", "_acme-challenge.www.example.org")
	form := url.Values{"csrf": {b.csrf("/console/configs/new")}, "new": {"true"}, "id": {"bind"}, "provider": {"rfc2136"},
		"zone": {"example.org"}, "rules": {"www.example.org"}, "ttl": {"60"}, "nameservers": {bind.Addr},
		"cred-rfc2136-nameserver": {bind.Addr}, "cred-rfc2136-tsig_key_name": {bind.KeyName},
		// Another provider's fields, filled in before the provider was changed: not sent by
		// the page's script, ignored by the hub when a browser without it sends them.
		"cred-digitalocean-api_token": {"dop_v1_other"}}
	a := b.post("/console/configs", form)
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "field tsig_secret of provider rfc2136 is required") ||
		!strings.Contains(a.body, `value="`+bind.KeyName+`"`) {
		t.Errorf("a missing secret: %d\n%s", a.status, a.body)
	}
	form.Set("cred-rfc2136-tsig_secret", bind.Secret)
	if a := b.post("/console/configs", form); a.status != http.StatusSeeOther {
		t.Fatalf("adding the rfc2136 config: %d\n%s", a.status, a.body)
	}
	c, _ := f.svc.Config("bind")
	if len(c.Credentials) == 0 || strings.Contains(string(c.Credentials), bind.Secret) || strings.Contains(string(c.Credentials), "dop_v1_other") {
		t.Errorf("stored credentials %q: want them sealed", c.Credentials)
	}
	if a := b.post("/console/configs/bind/test", url.Values{"csrf": {b.csrf("/console/configs")}}); a.status != http.StatusOK ||
		!strings.Contains(a.body, "the provider accepts its credentials") {
		t.Errorf("testing the rfc2136 config against BIND: %d\n%s", a.status, a.body)
	}
	if strings.Contains(b.get("/console/configs/bind").body, bind.Secret) {
		t.Error("the edit form shows the secret back")
	}
}

// fakeAccounts are acme-dns accounts as the Accounts page manages them.
type fakeAccounts struct {
	list     []store.AccountInfo
	rotated  []string
	password string
}

func (f *fakeAccounts) Accounts(context.Context) ([]store.AccountInfo, error) { return f.list, nil }

func (f *fakeAccounts) Rotate(_ context.Context, username string) (string, error) {
	f.rotated = append(f.rotated, username)
	return f.password, nil
}

func (f *fakeAccounts) Deregister(_ context.Context, username string) error {
	i := slices.IndexFunc(f.list, func(a store.AccountInfo) bool { return a.Username == username })
	if i < 0 {
		return store.ErrNotFound
	}
	f.list = slices.Delete(f.list, i, i+1)
	return nil
}

// TestAccountsPage: the acme-dns accounts are listed, those unused for a
// while found (unknown times counting as unused), a password rotated and
// shown once, an account deregistered; each change audited.
func TestAccountsPage(t *testing.T) {
	now := time.Now()
	accts := &fakeAccounts{password: strings.Repeat("p", 40), list: []store.AccountInfo{
		{Username: "used-lately", Subdomain: "s1", Created: now.Add(-200 * 24 * time.Hour), LastUsed: now.Add(-time.Hour), Values: 1},
		{Username: "stale", Subdomain: "s2", Created: now.Add(-200 * 24 * time.Hour), LastUsed: now.Add(-100 * 24 * time.Hour)},
		{Username: "from-acme-dns", Subdomain: "s3"},
	}}
	svc, _ := hubtest.Managed(t)
	h, err := console.New(&doors.Door{Service: svc}, console.Options{Accounts: accts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv)
	b.signIn(hubtest.Token(t, svc, managed.RoleAdmin))
	if a := b.get("/console/accounts?unused=90d"); a.status != http.StatusOK || strings.Contains(a.body, "used-lately") ||
		!strings.Contains(a.body, "stale") || !strings.Contains(a.body, "from-acme-dns") {
		t.Errorf("accounts unused for 90 days: %d\n%s", a.status, a.body)
	}
	if a := b.get("/console/accounts?unused=yesterday"); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "a duration such as 90d") {
		t.Errorf("an unreadable filter: %d", a.status)
	}
	a := b.post("/console/accounts/stale/rotate", url.Values{"csrf": {b.csrf("/console/accounts")}})
	if a.status != http.StatusOK || !strings.Contains(a.body, accts.password) || !slices.Equal(accts.rotated, []string{"stale"}) ||
		a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("rotate: %d %v\n%s", a.status, accts.rotated, a.body)
	}
	if a := b.post("/console/accounts/stale/deregister", url.Values{"csrf": {b.csrf("/console/accounts")}}); a.status != http.StatusSeeOther {
		t.Errorf("deregister: %d\n%s", a.status, a.body)
	}
	if a := b.get("/console/accounts?done=deregistered"); strings.Contains(a.body, "<code>stale</code>") || !strings.Contains(a.body, "is deregistered") {
		t.Errorf("after the deregistration: %d\n%s", a.status, a.body)
	}
	entries, _ := svc.AuditLog(context.Background(), store.AuditQuery{})
	var details []string
	for _, e := range entries {
		details = append(details, e.Detail)
	}
	if !slices.Contains(details, "rotate the password of account stale") || !slices.Contains(details, "deregister account stale") {
		t.Errorf("the audit log: %q", details)
	}
}

// TestWorkloadIdentityPage: an administrator trusts an issuer with its
// key set given, binds a ServiceAccount to a principal, sees both, and
// removes them; a claim that is not NAME=VALUE is refused with the form
// kept.
func TestWorkloadIdentityPage(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.srv)
	b.signIn(f.admin)
	cluster := issuertest.New(t)
	if a := b.post("/console/identity/issuers", url.Values{"csrf": {b.csrf("/console/identity")}, "id": {"cluster-b"}, "url": {cluster.URL},
		"jwks": {string(cluster.JWKS())}, "audience": {"https://hub.example"}}); a.status != http.StatusSeeOther {
		t.Fatalf("adding an issuer: %d\n%s", a.status, a.body)
	}
	p, _ := f.svc.CreatePrincipal(ctx, hubtest.Admin, store.Principal{Kind: managed.KindApplication, Title: "cluster b", Roles: []string{managed.RoleConsumer}})
	form := url.Values{"csrf": {b.csrf("/console/identity")}, "issuer": {"cluster-b"}, "principal": {p.ID},
		"claims": {"sub=system:serviceaccount:acmehub:acmehub\nnot a claim"}, "scope": {managed.RoleConsumer}, "domains": {".b.example.com"}}
	if a := b.post("/console/identity/bindings", form); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "write NAME=VALUE") ||
		!strings.Contains(a.body, "not a claim") {
		t.Errorf("a claim that is not NAME=VALUE: %d", a.status)
	}
	form.Set("claims", "sub=system:serviceaccount:acmehub:acmehub")
	if a := b.post("/console/identity/bindings", form); a.status != http.StatusSeeOther {
		t.Fatalf("binding: %d\n%s", a.status, a.body)
	}
	page := b.get("/console/identity")
	if !strings.Contains(page.body, "<code>cluster-b</code>") || !strings.Contains(page.body, "sub=system:serviceaccount:acmehub:acmehub") ||
		!strings.Contains(page.body, "given") {
		t.Errorf("the page does not list the issuer and its binding:\n%s", page.body)
	}
	bindings, _ := f.svc.Bindings(ctx, "cluster-b")
	if len(bindings) != 1 || bindings[0].Domains[0] != ".b.example.com" {
		t.Fatalf("bindings %+v", bindings)
	}
	if a := b.post("/console/identity/bindings/"+bindings[0].ID+"/remove", url.Values{"csrf": {b.csrf("/console/identity")}}); a.status != http.StatusSeeOther {
		t.Errorf("removing the binding: %d", a.status)
	}
	if a := b.post("/console/identity/issuers/cluster-b/remove", url.Values{"csrf": {b.csrf("/console/identity")}}); a.status != http.StatusSeeOther {
		t.Errorf("removing the issuer: %d", a.status)
	}
	if issuers, _ := f.svc.Issuers(ctx); len(issuers) != 0 {
		t.Errorf("issuers left: %+v", issuers)
	}
}
