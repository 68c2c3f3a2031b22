// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmeproxy_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/doors/acmeproxy"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
)

// FuzzAcmeproxy: any form to any call is answered with JSON holding
// "result", a success (200) or a refusal (4xx, result false), never a panic
// or a server error.
func FuzzAcmeproxy(f *testing.F) {
	door, _ := hubtest.Door(f)
	h := acmeproxy.New(door, acmeproxy.Options{Prefix: "/acmeproxy", CreateSecret: "the-create-secret-0123"})
	create := httptest.NewRecorder()
	h.ServeHTTP(create, form("create_authorisation", "name=www.example.com&secret=the-create-secret-0123"))
	var created struct{ Result struct{ Secret string } }
	if err := json.Unmarshal(create.Body.Bytes(), &created); err != nil || created.Result.Secret == "" {
		f.Fatalf("create_authorisation: %d %s", create.Code, create.Body)
	}
	secret := created.Result.Secret
	for _, seed := range []string{
		"name=www.example.com&response=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0&secret=" + secret,
		"name=www.example.com&secret=" + secret,
		"name=a.b.example.com&suffix_match=true&secret=the-create-secret-0123",
		"name=&secret=", "name=%zz", "name=..&response=%00", "", "name=" + strings.Repeat("a.", 200) + "example.com",
	} {
		for _, call := range []string{"create_authorisation", "expire_authorisation", "publish_response", "expire_response"} {
			f.Add(call, seed)
		}
	}
	f.Fuzz(func(t *testing.T, call, body string) {
		switch call {
		case "create_authorisation", "expire_authorisation", "publish_response", "expire_response":
		default:
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, form(call, body))
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer["result"] == nil {
			t.Fatalf("%s %q: %d, not a JSON result: %s", call, body, w.Code, w.Body)
		}
		if w.Code >= 500 || w.Code != http.StatusOK && answer["result"] != false {
			t.Fatalf("%s %q: %d %s", call, body, w.Code, w.Body)
		}
	})
}

func form(call, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/acmeproxy/"+call, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
