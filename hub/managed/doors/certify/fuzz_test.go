// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package certify_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acmehub/acmehub/hub/certifyapi"
	"github.com/acmehub/acmehub/hub/managed/doors/certify"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
)

// FuzzCertify: any body to any call is answered with a success or a
// refusal (4xx), never a panic or a server error.
func FuzzCertify(f *testing.F) {
	door, tok := hubtest.Door(f)
	h := certify.New(door, certify.Options{})
	defer h.Close()
	for _, seed := range []string{
		`{"ChallengeType":"dns-01","Identifier":"www.example.com","ResponseKey":"_acme-challenge.www.example.com","ResponseValue":"v","AuthKey":"` + tok.ClientID + `","AuthSecret":"` + tok.Secret + `"}`,
		`{"Identifier":"*.example.com","ResponseValue":"v","AuthKey":"` + tok.ClientID + `","AuthSecret":"` + tok.Secret + `"}`,
		`{"ChallengeType":"http-01"}`, `{}`, `[]`, `{"Identifier":7}`, ``,
	} {
		for _, call := range []string{"requestbegin", "request", "cleanup"} {
			f.Add(call, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, call string, body []byte) {
		if call != "requestbegin" && call != "request" && call != "cleanup" {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, certifyapi.Base+"/"+call, bytes.NewReader(body)))
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", call, body, w.Code, w.Body)
		}
	})
}
