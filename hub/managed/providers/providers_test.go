// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package providers_test

import (
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

var example = providers.Provider{
	Name: "example",
	Credentials: []providers.Field{
		{Name: "server", Help: "host:port of the server", Required: true},
		{Name: "secret", Help: "the key", Secret: true, Required: true},
		{Name: "region", Help: "where"},
		{Name: "allow", Help: "addresses", List: true},
	},
	New: func(providers.Env, store.ChallengeConfig, []byte) (providers.Writer, error) { return nil, nil },
}

// TestCheck: credentials are read against the provider's fields before
// the provider sees them, with errors that name the field.
func TestCheck(t *testing.T) {
	none := providers.Provider{Name: "none", New: example.New}
	for _, tc := range []struct {
		name        string
		p           providers.Provider
		credentials string
		want        string // "" for no error
	}{
		{"every field", example, `{"server": "ns1:53", "secret": "s", "region": "eu", "allow": ["10.0.0.0/8"]}`, ""},
		{"required fields only", example, `{"server": "ns1:53", "secret": "s"}`, ""},
		{"a required field missing", example, `{"server": "ns1:53"}`, "field secret of provider example is required: the key"},
		{"a required field empty", example, `{"server": " ", "secret": "s"}`, "field server of provider example is required"},
		{"an unknown field", example, `{"server": "ns1:53", "secret": "s", "zone": "x"}`, `provider example has no field "zone"; its fields are server, secret, region, allow`},
		{"a number for a string", example, `{"server": 53, "secret": "s"}`, "field server of provider example must be a string"},
		{"a string for a list", example, `{"server": "ns1:53", "secret": "s", "allow": "10.0.0.0/8"}`, "field allow of provider example must be a list of strings"},
		{"not an object", example, `["server"]`, "provider example takes a JSON object with server, secret, region, allow"},
		{"empty", example, ``, "takes a JSON object"},
		{"null", example, `null`, "takes a JSON object"},
		{"none for a provider without fields", none, ``, ""},
		{"an empty object for a provider without fields", none, `{}`, ""},
		{"fields for a provider without fields", none, `{"token": "x"}`, "provider none takes none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check([]byte(tc.credentials))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check(%s) = %v", tc.credentials, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check(%s) = %v, want an error with %q", tc.credentials, err, tc.want)
			}
		})
	}
}
