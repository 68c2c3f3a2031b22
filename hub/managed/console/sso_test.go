// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/console"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/oidcprovider"
)

// ssoFixture is the console behind TLS with single sign-on through a real
// OpenID provider (zitadel/oidc's), acmehub-admins mapped to the admin
// role; noTokens switches the token sign-in off.
func ssoFixture(t *testing.T, noTokens bool) (*fixture, *oidcprovider.Provider) {
	t.Helper()
	svc, client := hubtest.Managed(t)
	var ui http.Handler
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ui.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	op := oidcprovider.Start(t, srv.URL+"/console/signin/callback")
	h, err := console.New(&doors.Door{Service: svc}, console.Options{NoTokenSignin: noTokens, SSO: &console.SSO{
		Issuer: op.Issuer, ClientID: oidcprovider.ClientID, ClientSecret: oidcprovider.Secret,
		RedirectURL: srv.URL + "/console/signin/callback", Scopes: []string{"openid", "profile", "email", "groups"},
		GroupsClaim: "groups", Roles: map[string][]string{oidcprovider.AdminGroup: {managed.RoleAdmin}}, Name: "Acme ID"}})
	if err != nil {
		t.Fatal(err)
	}
	ui = h
	return &fixture{svc: svc, admin: hubtest.Token(t, svc, managed.RoleAdmin), client: client, srv: srv}, op
}

var loginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// ssoSignIn goes through the provider as a person: the console sends the
// browser to the provider, whose login page takes the person's name and
// password and sends it back with a code. It returns the console's
// answer to the callback.
func (b *browser) ssoSignIn(person, password, next string) answer {
	b.t.Helper()
	start := b.get("/console/signin/sso?next=" + url.QueryEscape(next))
	auth, err := url.Parse(start.header.Get("Location"))
	if start.status != http.StatusSeeOther || err != nil {
		b.t.Fatalf("the console's sign-in through the provider: %d %q", start.status, start.header.Get("Location"))
	}
	if q := auth.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		b.t.Errorf("the authorization request lacks PKCE, a nonce or a state: %s", auth.RawQuery)
	}
	// The provider's pages, followed as a browser follows them.
	follow := func(method, u string, form url.Values) (*http.Response, string) {
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.c.Do(req)
		if err != nil {
			b.t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, sb.String()
	}
	resp, _ := follow(http.MethodGet, auth.String(), nil)
	for resp.StatusCode/100 == 3 && !strings.Contains(resp.Header.Get("Location"), "/login/") {
		resp, _ = follow(http.MethodGet, resp.Request.URL.ResolveReference(mustURL(b.t, resp.Header.Get("Location"))).String(), nil)
	}
	loginURL := resp.Request.URL.ResolveReference(mustURL(b.t, resp.Header.Get("Location")))
	_, page := follow(http.MethodGet, loginURL.String(), nil)
	m := loginID.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("the provider's login page:\n%s", page)
	}
	resp, _ = follow(http.MethodPost, loginURL.ResolveReference(mustURL(b.t, "/login/username")).String(),
		url.Values{"id": {m[1]}, "username": {person}, "password": {password}})
	for resp.StatusCode/100 == 3 {
		next := resp.Request.URL.ResolveReference(mustURL(b.t, resp.Header.Get("Location")))
		if strings.HasPrefix(next.String(), b.base) {
			return b.get(strings.TrimPrefix(next.String(), b.base))
		}
		resp, _ = follow(http.MethodGet, next.String(), nil)
	}
	b.t.Fatalf("the provider did not send the browser back to the console: %d", resp.StatusCode)
	return answer{}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSingleSignOn: a person in acmehub-admins signs in through the
// provider and gets a session that works on every page, by name in the
// audit log; a person in no such group is refused, and audited; a
// tampered state, and a callback no sign-in started, are refused.
func TestSingleSignOn(t *testing.T) {
	f, _ := ssoFixture(t, false)
	b := newBrowser(t, f.srv)
	if a := b.get("/console/signin"); !strings.Contains(a.body, "Sign in with Acme ID") || !strings.Contains(a.body, `name="client_id"`) {
		t.Errorf("the sign-in page offers neither the provider nor the token: %s", a.body)
	}
	a := b.ssoSignIn(oidcprovider.Admin, oidcprovider.Password, "/console/tokens")
	if a.status != http.StatusOK || !strings.Contains(a.body, `http-equiv="refresh" content="0; url=/console/tokens"`) {
		t.Fatalf("the callback: %d\n%s", a.status, a.body)
	}
	if a := b.get("/console/tokens"); a.status != http.StatusOK || !strings.Contains(a.body, "Ada Admin &lt;admin@acmehub.test&gt;") {
		t.Errorf("the tokens page after the sign-in: %d\n%s", a.status, a.body)
	}
	log, _ := f.svc.AuditLog(ctx, store.AuditQuery{})
	if !slices.ContainsFunc(log, func(e store.AuditEntry) bool {
		return e.Principal == "Ada Admin <admin@acmehub.test>" && e.Detail == "sign in to the console" && e.Result == "ok" && e.Issuer == managed.SSOIssuer
	}) {
		t.Errorf("the sign-in is not audited by name: %+v", log)
	}
	// A change made in the console is the person's.
	if a := b.post("/console/principals", url.Values{"csrf": {b.csrf("/console/principals")}, "title": {"made by Ada"}, "kind": {"application"}}); a.status != http.StatusSeeOther {
		t.Errorf("creating a principal: %d\n%s", a.status, a.body)
	}
	log, _ = f.svc.AuditLog(ctx, store.AuditQuery{})
	if !slices.ContainsFunc(log, func(e store.AuditEntry) bool {
		return e.Principal == "Ada Admin <admin@acmehub.test>" && strings.Contains(e.Detail, "made by Ada")
	}) {
		t.Errorf("the person's change is not audited by their name: %+v", log)
	}
	if a := b.post("/console/signout", url.Values{"csrf": {b.csrf("/console/")}}); a.status != http.StatusSeeOther {
		t.Errorf("signing out: %d", a.status)
	}
	if a := b.get("/console/tokens"); a.status != http.StatusSeeOther {
		t.Errorf("a page after signing out: %d", a.status)
	}

	colleague := newBrowser(t, f.srv)
	if a := colleague.ssoSignIn(oidcprovider.Colleague, oidcprovider.Password, "/console/"); a.status != http.StatusForbidden ||
		!strings.Contains(a.body, "is in no group that maps to the managed-challenge-admin role") {
		t.Errorf("a person without the group: %d\n%s", a.status, a.body)
	}
	if a := colleague.get("/console/"); a.status != http.StatusSeeOther {
		t.Errorf("the colleague has a session: %d", a.status)
	}
	log, _ = f.svc.AuditLog(ctx, store.AuditQuery{Result: store.ResultFailed})
	if !slices.ContainsFunc(log, func(e store.AuditEntry) bool { return strings.HasPrefix(e.Principal, "Carl Colleague") }) {
		t.Errorf("the refused sign-in is not audited by name: %+v", log)
	}

	stray := newBrowser(t, f.srv)
	if a := stray.get("/console/signin/callback?code=x&state=y"); a.status != http.StatusBadRequest || !strings.Contains(a.body, "started no sign-in") {
		t.Errorf("a callback no sign-in started: %d\n%s", a.status, a.body)
	}
	stray.get("/console/signin/sso")
	if a := stray.get("/console/signin/callback?code=x&state=forged"); a.status != http.StatusBadRequest || !strings.Contains(a.body, "state does not match") {
		t.Errorf("a forged state: %d\n%s", a.status, a.body)
	}
}

// TestTokenSignInSwitchedOff: without the token sign-in the form is gone
// and a token is refused; single sign-on still works.
func TestTokenSignInSwitchedOff(t *testing.T) {
	f, _ := ssoFixture(t, true)
	b := newBrowser(t, f.srv)
	if a := b.get("/console/signin"); strings.Contains(a.body, `name="client_id"`) || !strings.Contains(a.body, "Sign in with Acme ID") {
		t.Errorf("the sign-in page: %s", a.body)
	}
	if a := b.post("/console/signin", url.Values{"client_id": {f.admin.ClientID}, "secret": {f.admin.Secret}}); a.status != http.StatusForbidden ||
		!strings.Contains(a.body, "switched off") {
		t.Errorf("a token sign-in: %d\n%s", a.status, a.body)
	}
	if a := b.ssoSignIn(oidcprovider.Admin, oidcprovider.Password, "/console/"); a.status != http.StatusOK {
		t.Errorf("single sign-on: %d\n%s", a.status, a.body)
	}
}
