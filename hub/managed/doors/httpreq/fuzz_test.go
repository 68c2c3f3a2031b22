// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package httpreq

import (
	"errors"
	"testing"

	"github.com/acmehub/acmehub/hub/managed"
)

// FuzzDecode: any body decodes to a request or to a refusal a client can
// read, never a panic nor an empty request.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"fqdn":"_acme-challenge.www.example.com.","value":"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}`,
		`{"domain":"www.example.com","token":"t","keyAuth":"t.thumb"}`,
		`{"domain":"www.example.com"}`, `{"fqdn":1}`, `[]`, `null`, ``, `{"keyAuth":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decode(body)
		if err != nil {
			var e *managed.Error
			if !errors.As(err, &e) || e.Code != managed.CodeInvalid {
				t.Fatalf("decode(%q) = %v, not a refusal", body, err)
			}
			return
		}
		if req.Value == "" || req.Identifier == "" && req.Record == "" {
			t.Fatalf("decode(%q) = %+v: nothing to present", body, req)
		}
	})
}
