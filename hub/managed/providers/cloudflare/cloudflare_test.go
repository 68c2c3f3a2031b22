// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cloudflare_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers/cloudflare"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

const token = "cf-test-token-0123456789"

// current is the fake Cloudflare's API the test under way talks to.
var current fakes.CurrentFake

// TestMain sends the process's requests for Cloudflare's API to the
// current fake: cert-manager's client has the API's address built in, but
// it goes through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &current, nil, fakes.CloudflareHost))
}

func fake(t *testing.T) *fakes.FakeCloudflare {
	f := fakes.NewFakeCloudflare(t, token, "global-key", "ops@example.com", "example.com")
	current.Set(f)
	return f
}

// TestCNAMEs: the CNAME of a delegation is written (not proxied), kept and
// removed as the hub's delegations do; a name holding records is refused
// before Cloudflare is asked to create anything.
func TestCNAMEs(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*cloudflare.Writer](t, cloudflare.Name, "example.com", map[string]string{"api_token": token})
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www.example.com") })
	if got := f.CNAME("_acme-challenge.example.com"); got != "" {
		t.Errorf("Cloudflare holds the CNAME %q after its removal", got)
	}
}

// TestAppendAndDeleteByValue: with a token or a global key, two values at
// one name coexist and a cleanup removes exactly its own, through the
// calls Cloudflare's API takes (the zone found by name, the records listed
// by type and name, created, deleted by ID).
func TestAppendAndDeleteByValue(t *testing.T) {
	for name, creds := range map[string]cloudflare.Credentials{
		"API token":  {APIToken: token},
		"global key": {APIKey: "global-key", Email: "ops@example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			f := fake(t)
			p := providertest.NewWriter[*cloudflare.Writer](t, cloudflare.Name, "example.com", creds)
			providertest.ProviderConformance(t, p, "example.com", func() []string { return f.TXT("_acme-challenge.www.example.com") })
			f.Took(t,
				"GET /client/v4/zones?name=example.com",
				"GET /client/v4/zones/00000000000000000000000000000001/dns_records?per_page=100&type=TXT&name=_acme-challenge.www.example.com",
				"POST /client/v4/zones/00000000000000000000000000000001/dns_records",
				"DELETE /client/v4/zones/00000000000000000000000000000001/dns_records/rec00000000000000000000000000001",
			)
		})
	}
}

// TestErrorsNamed: Cloudflare's own error codes and messages reach the
// caller on one line, with what was attempted.
func TestErrorsNamed(t *testing.T) {
	ctx := context.Background()
	f := fake(t)
	wrong := providertest.NewWriter[*cloudflare.Writer](t, cloudflare.Name, "example.com", cloudflare.Credentials{APIToken: "revoked"})
	if err := wrong.Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "9109: Invalid access token") {
		t.Errorf("Test with a revoked token: %v", err)
	}
	if _, err := wrong.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil ||
		!strings.Contains(err.Error(), "adding a TXT value at _acme-challenge.www.example.com") || !strings.Contains(err.Error(), "Invalid access token") {
		t.Errorf("append with a revoked token: %v", err)
	}
	p := providertest.NewWriter[*cloudflare.Writer](t, cloudflare.Name, "example.com", cloudflare.Credentials{APIToken: token})
	f.FailNextPost("DNS Validation Error")
	if _, err := p.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil || !strings.Contains(err.Error(), "81057: DNS Validation Error") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("a refused record: %q", err)
	}
	if err := p.Test(ctx, "example.org"); err == nil || !strings.Contains(err.Error(), "example.org") {
		t.Errorf("Test of a zone the account does not hold: %v", err)
	}
}

// TestCredentials: a token, or a key with its e-mail; not both, not neither.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{}`, "api_token, or api_key with email, is required"},
		{`{"api_key": "k"}`, "api_token, or api_key with email, is required"},
		{`{"api_token": "t", "api_key": "k", "email": "e"}`, "not both"},
		{`{"token": "t"}`, "unknown field"},
	} {
		if _, err := cloudflare.New([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.json, err, tc.want)
		}
	}
}
