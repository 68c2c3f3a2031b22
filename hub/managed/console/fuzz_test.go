// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/console"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
)

// FuzzConsole: any form to any change, and any query to any page, from a
// signed-in administrator with a valid CSRF token, is answered without a
// panic or a server error.
func FuzzConsole(f *testing.F) {
	door, _ := hubtest.Door(f)
	svc := door.Service
	h, err := console.New(door, console.Options{})
	if err != nil {
		f.Fatal(err)
	}
	admin := hubtest.Token(f, svc, managed.RoleAdmin)
	caller, err := svc.AuthenticateAdmin(ctx, admin.ClientID, admin.Secret)
	if err != nil {
		f.Fatal(err)
	}
	session, _, err := svc.OpenSession(ctx, caller)
	if err != nil {
		f.Fatal(err)
	}
	csrf := svc.CSRFToken(session)
	routes := []string{"POST /console/configs", "POST /console/configs/self-example/test", "POST /console/configs/x/delete",
		"POST /console/principals", "POST /console/principals/p/roles", "POST /console/tokens", "POST /console/tokens/" + admin.ClientID + "/rotate",
		"POST /console/tokens/t/revoke", "GET /console/audit", "GET /console/configs/self-example", "GET /console/tokens", "GET /console/",
		"GET /console/tokens/secret", "POST /console/signin", "GET /console/identity", "POST /console/identity/issuers",
		"POST /console/identity/issuers/x/remove", "POST /console/identity/bindings", "POST /console/identity/bindings/b/remove"}
	for _, seed := range []string{
		"new=true&id=c1&provider=self&zone=example.com&rules=.example.com&ttl=60",
		"new=false&id=self-example&provider=digitalocean&zone=example.com&rules=*.*.x&ttl=-1&credentials=%7B",
		"kind=user&title=t&role=managed-challenge-consumer&role=nope",
		"principal=prn_x&scope=managed-challenge-admin&ttl=1h&domains=!x",
		"since=24h&until=2026-01-02T15:04&result=failed&identifier=%00&before=-5&principal=%27",
		"id=cluster-b&url=https://oidc.b.example&jwks=%7B%22keys%22%3A%5B%5D%7D&audience=",
		"issuer=cluster-b&principal=prn_x&claims=sub%3Dsystem%3Aserviceaccount%3Aa%3A*%0Anope&scope=managed-challenge-consumer&domains=.x",
		"", "%zz", "id=" + strings.Repeat("a", 5000),
	} {
		for i := range routes {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, form string) {
		method, path, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		var r *http.Request
		if method == http.MethodGet {
			r = httptest.NewRequest(method, path, nil)
			r.URL.RawQuery = form
		} else {
			values, _ := url.ParseQuery(form)
			if values == nil {
				values = url.Values{}
			}
			values.Set("csrf", csrf)
			r = httptest.NewRequest(method, path, strings.NewReader(values.Encode()+"&"+form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r.AddCookie(&http.Cookie{Name: "__Host-acmehub-session", Value: session})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, form, w.Code, w.Body)
		}
	})
}
