// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package clouddns_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers/clouddns"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

// current is the fake Google's token endpoint and Cloud DNS the test under way talks to.
var current fakes.CurrentFake

// TestMain sends the process's requests for Google's token endpoint and
// Cloud DNS to the current fake, through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &current, nil, fakes.CloudDNSHost, fakes.GoogleTokenHost, fakes.GoogleSTSHost))
}

func fake(t *testing.T) *fakes.FakeCloudDNS {
	f := fakes.NewFakeCloudDNS(t, "acme-project", "example-com", "example.com")
	current.Set(f)
	return f
}

// TestValuesCoexist: with a service account's key (its JWT checked by the
// token endpoint), values are added to the name's record set and removed
// from it by value, and the credentials are checked without a change.
func TestValuesCoexist(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*clouddns.Writer](t, clouddns.Name, "example.com", clouddns.Credentials{Project: "acme-project", ManagedZone: "example-com", ServiceAccount: string(f.ServiceAccount())})
	providertest.ProviderConformance(t, p, "example.com", func() []string { return f.TXT("_acme-challenge.www.example.com") })
	f.Took(t,
		"POST oauth2.googleapis.com /token",
		"GET dns.googleapis.com /dns/v1/projects/acme-project/managedZones/example-com/rrsets?alt=json&name=_acme-challenge.www.example.com.&prettyPrint=false&type=TXT",
		"POST dns.googleapis.com /dns/v1/projects/acme-project/managedZones/example-com/changes?alt=json&prettyPrint=false",
	)
}

// TestWorkloadIdentityFederation: with no key in the config, the provider
// takes the application default credentials; here workload identity
// federation's (GOOGLE_APPLICATION_CREDENTIALS naming an external account
// whose token is a projected ServiceAccount token), which Google's own
// client exchanges at the Security Token Service for an access token.
// No key of Google's is held anywhere.
func TestWorkloadIdentityFederation(t *testing.T) {
	f := fake(t)
	const pool = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/clusters/providers/cluster-a"
	dir := t.TempDir()
	tokenFile, config := filepath.Join(dir, "token"), filepath.Join(dir, "external-account.json")
	os.WriteFile(tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9.a-projected-serviceaccount-token.sig"), 0o600)
	os.WriteFile(config, f.ExternalAccount(pool, tokenFile), 0o600)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", config)
	f.Federate(pool, "eyJhbGciOiJSUzI1NiJ9.a-projected-serviceaccount-token.sig")

	p := providertest.NewWriter[*clouddns.Writer](t, clouddns.Name, "example.com", clouddns.Credentials{Project: "acme-project", ManagedZone: "example-com"})
	providertest.ProviderConformance(t, p, "example.com", func() []string { return f.TXT("_acme-challenge.www.example.com") })
	if calls := f.Calls(); len(calls) == 0 || !strings.HasPrefix(calls[0], "POST sts.googleapis.com /v1/token") {
		t.Errorf("the first call is not the token exchange: %q", calls)
	}
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www.example.com") })

	f.Federate(pool, "another workload's token")
	refused := providertest.NewWriter[*clouddns.Writer](t, clouddns.Name, "example.com", clouddns.Credentials{Project: "acme-project", ManagedZone: "example-com"})
	if err := refused.Test(context.Background(), "example.com"); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("a token the pool does not accept: %v", err)
	}
}

// TestCNAMEs: the CNAME of a delegation is a record set of its own,
// added, kept and deleted as the hub's delegations do; a name holding a
// TXT set is refused before Cloud DNS is asked to change anything.
func TestCNAMEs(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*clouddns.Writer](t, clouddns.Name, "example.com",
		clouddns.Credentials{Project: "acme-project", ManagedZone: "example-com", ServiceAccount: string(f.ServiceAccount())})
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www.example.com") })
	if got := f.CNAME("_acme-challenge.example.com"); got != "" {
		t.Errorf("Cloud DNS holds the CNAME %q after its removal", got)
	}
}

// TestErrorsNamed: Google's refusals reach the caller with what was
// attempted.
func TestErrorsNamed(t *testing.T) {
	ctx := context.Background()
	f := fake(t)
	other := fakes.NewFakeCloudDNS(t, "acme-project", "example-com", "example.com") // another key
	wrongKey := providertest.NewWriter[*clouddns.Writer](t, clouddns.Name, "example.com", clouddns.Credentials{Project: "acme-project", ManagedZone: "example-com", ServiceAccount: string(other.ServiceAccount())})
	if err := wrongKey.Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "Invalid JWT Signature") {
		t.Errorf("Test with a key Google does not know: %v", err)
	}
	wrongZone := providertest.NewWriter[*clouddns.Writer](t, clouddns.Name, "example.com", clouddns.Credentials{Project: "acme-project", ManagedZone: "example-org", ServiceAccount: string(f.ServiceAccount())})
	if _, err := wrongZone.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil ||
		!strings.Contains(err.Error(), "adding a TXT value at _acme-challenge.www.example.com") || !strings.Contains(err.Error(), "example-org") {
		t.Errorf("a managed zone the project does not have: %v", err)
	}
}

// TestCredentials: the project and the managed zone are required.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"project": "p"}`, "managed_zone are required"},
		{`{"managed_zone": "z"}`, "project and managed_zone are required"},
		{`{"project": "p", "managed_zone": "z", "service_account": "{}"}`, "credentials"},
		{`{"project": "p", "managed_zone": "z", "zone": "x"}`, "unknown field"},
	} {
		if _, err := clouddns.New([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.json, err, tc.want)
		}
	}
}
