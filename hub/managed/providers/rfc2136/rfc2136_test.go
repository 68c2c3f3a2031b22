// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package rfc2136_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/managed/providers/rfc2136"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

const challenge = "_acme-challenge.www.example.com"

// TestAgainstRealServers: against BIND 9 and Knot DNS, each granting the
// key TXT and CNAME records at two challenge names only, two values at one
// name coexist, a cleanup removes exactly its value, a CNAME is set, kept,
// refused where a name is taken and removed, and the key is checked
// without a change; a wrong secret, a wrong algorithm and a name outside
// the policy are errors that say so.
func TestAgainstRealServers(t *testing.T) {
	for name, start := range map[string]func(testing.TB, string, ...string) *testutil.Primary{
		"BIND 9": testutil.StartBIND, "Knot DNS": testutil.StartKnot,
	} {
		t.Run(name, func(t *testing.T) {
			againstServer(t, start(t, "example.com", challenge, "_acme-challenge.example.com"))
		})
	}
}

func againstServer(t *testing.T, bind *testutil.Primary) {
	ctx := context.Background()
	good := rfc2136.Credentials{Nameserver: bind.Addr, TSIGKeyName: bind.KeyName, TSIGSecret: bind.Secret}
	p := providertest.NewWriter[*rfc2136.Writer](t, rfc2136.Name, "example.com", good)
	served := func(name string) []string {
		t.Helper()
		values, err := dnsclient.Resolver{}.ServedTXT(ctx, bind.Addr, name)
		if err != nil {
			t.Fatal(err)
		}
		return values
	}

	providertest.ProviderConformance(t, p, "example.com", func() []string { return served(challenge) })
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www", func() []string { return served(challenge) })
	if _, err := p.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "second client's value")); err != nil {
		t.Fatal(err)
	}

	wrongSecret := good
	wrongSecret.TSIGSecret = "c2VjcmV0IHRoYXQgdGhlIHNlcnZlciBkb2VzIG5vdCBrbm93"
	wrongAlgorithm := good
	wrongAlgorithm.TSIGAlgorithm = "HMACSHA512"
	for _, tc := range []struct {
		name  string
		c     rfc2136.Credentials
		label string
		want  []string
	}{
		{"wrong secret", wrongSecret, "_acme-challenge.www", []string{"TSIG key " + bind.KeyName, bind.Addr}},
		{"wrong algorithm", wrongAlgorithm, "_acme-challenge.www", []string{"TSIG key " + bind.KeyName, "HMACSHA512"}},
		{"a name the policy does not grant", good, "_acme-challenge.other", []string{"_acme-challenge.other.example.com", "grant key " + bind.KeyName + " this name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := providertest.NewWriter[*rfc2136.Writer](t, rfc2136.Name, "example.com", tc.c)
			_, err := p.AppendRecords(ctx, "example.com.", providertest.TXTRecord(tc.label, "refused value"))
			if err == nil {
				t.Fatal("the update was accepted")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if tc.c != good {
				if err := p.Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "TSIG key") {
					t.Errorf("Test with a key the server does not accept: %v", err)
				}
			}
		})
	}
	if got := served(challenge); !slices.Equal(got, []string{"second client's value"}) {
		t.Errorf("BIND serves %q after the refused updates", got)
	}
}

// TestCredentials: what a config's credentials must hold, and the error
// that names the field otherwise.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"no nameserver", `{"tsig_key_name": "k", "tsig_secret": "c2VjcmV0"}`, "nameserver"},
		{"no secret", `{"nameserver": "127.0.0.1:53", "tsig_key_name": "k"}`, "tsig_secret"},
		{"secret not base64", `{"nameserver": "127.0.0.1:53", "tsig_key_name": "k", "tsig_secret": "not base64!"}`, "tsig_secret is not base64"},
		{"MD5", `{"nameserver": "127.0.0.1:53", "tsig_key_name": "k", "tsig_secret": "c2VjcmV0", "tsig_algorithm": "HMACMD5"}`, "tsig_algorithm"},
		{"unknown field", `{"nameserver": "127.0.0.1:53", "tsig_key_name": "k", "tsig_secret": "c2VjcmV0", "zone": "x"}`, "zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := rfc2136.New([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%s) = %v, want an error naming %s", tc.json, err, tc.want)
			}
		})
	}
	for _, alg := range []string{"", "hmac-sha256", "HMACSHA512", "hmac_sha1"} {
		if _, err := rfc2136.New([]byte(`{"nameserver": "ns1.example.com", "tsig_key_name": "k", "tsig_secret": "c2VjcmV0", "tsig_algorithm": "` + alg + `"}`)); err != nil {
			t.Errorf("algorithm %q: %v", alg, err)
		}
	}
}
