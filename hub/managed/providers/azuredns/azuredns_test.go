// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package azuredns_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers/azuredns"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

// current is the fake Entra ID and Azure DNS the test under way talks to.
var current fakes.CurrentFake

// TestMain sends the process's requests for Entra ID and Azure Resource
// Manager to the current fake, through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &current, nil, fakes.AzureARMHost, fakes.AzureLoginHost))
}

const (
	tenant       = "00000000-0000-0000-0000-0000000000aa"
	subscription = "00000000-0000-0000-0000-0000000000bb"
)

func fake(t *testing.T) *fakes.FakeAzureDNS {
	f := fakes.NewFakeAzureDNS(t, tenant, "acmehub-sp", "sp-secret", subscription, "dns-rg", "example.com")
	current.Set(f)
	return f
}

var good = azuredns.Credentials{SubscriptionID: subscription, ResourceGroup: "dns-rg", TenantID: tenant, ClientID: "acmehub-sp", ClientSecret: "sp-secret"}

// TestValuesCoexist: signed in as a service principal (Entra ID's
// discovery and token endpoint), values are added to the name's record set
// and removed from it by value, each write conditional on the set's ETag;
// the credentials are checked without a change.
func TestValuesCoexist(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*azuredns.Writer](t, azuredns.Name, "example.com", good)
	providertest.ProviderConformance(t, p, "example.com", func() []string { return f.TXT("_acme-challenge.www") })
	rs := "/subscriptions/" + subscription + "/resourceGroups/dns-rg/providers/Microsoft.Network/dnsZones/example.com/TXT/_acme-challenge.www"
	f.Took(t, "POST login.microsoftonline.com /"+tenant+"/oauth2/v2.0/token", "GET management.azure.com "+rs,
		"PUT management.azure.com "+rs, "DELETE management.azure.com "+rs)
}

// TestWorkloadIdentity: with no client secret in the config, the
// provider takes the ambient credentials; here Azure workload identity's
// (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID, as its
// webhook sets them in a pod), whose token the Azure SDK presents to
// Entra ID as the application's client assertion. No secret of Azure's
// is held anywhere.
func TestWorkloadIdentity(t *testing.T) {
	f := fake(t)
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	os.WriteFile(file, []byte("eyJhbGciOiJSUzI1NiJ9.a-projected-serviceaccount-token.sig"), 0o600)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", file)
	t.Setenv("AZURE_CLIENT_ID", "acmehub-sp")
	t.Setenv("AZURE_TENANT_ID", tenant)
	t.Setenv("AZURE_AUTHORITY_HOST", "https://"+fakes.AzureLoginHost+"/")
	f.Federate("eyJhbGciOiJSUzI1NiJ9.a-projected-serviceaccount-token.sig")

	ambient := azuredns.Credentials{SubscriptionID: subscription, ResourceGroup: "dns-rg"}
	p := providertest.NewWriter[*azuredns.Writer](t, azuredns.Name, "example.com", ambient)
	providertest.ProviderConformance(t, p, "example.com", func() []string { return f.TXT("_acme-challenge.www") })
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www") })

	f.Federate("another workload's token")
	refused := providertest.NewWriter[*azuredns.Writer](t, azuredns.Name, "example.com", ambient)
	if err := refused.Test(context.Background(), "example.com"); err == nil || !strings.Contains(err.Error(), "AADSTS700213") {
		t.Errorf("a token Entra ID has no federated credential for: %v", err)
	}
}

// TestCNAMEs: the CNAME of a delegation is a record set of its own,
// created (If-None-Match: *), kept and deleted (If-Match its ETag) as the
// hub's delegations do; a name holding a TXT set is refused before Azure
// is asked to create anything.
func TestCNAMEs(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*azuredns.Writer](t, azuredns.Name, "example.com", good)
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www") })
	if got := f.CNAME("_acme-challenge"); got != "" {
		t.Errorf("Azure DNS holds the CNAME %q after its removal", got)
	}
}

// TestErrorsNamed: Entra ID's and Azure's refusals reach the caller with
// what was attempted.
func TestErrorsNamed(t *testing.T) {
	ctx := context.Background()
	fake(t)
	wrong := good
	wrong.ClientSecret = "expired"
	if err := providertest.NewWriter[*azuredns.Writer](t, azuredns.Name, "example.com", wrong).Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("Test with a wrong secret: %v", err)
	}
	otherGroup := good
	otherGroup.ResourceGroup = "other-rg"
	if _, err := providertest.NewWriter[*azuredns.Writer](t, azuredns.Name, "example.com", otherGroup).AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil ||
		!strings.Contains(err.Error(), "adding a TXT value at _acme-challenge.www.example.com") {
		t.Errorf("a resource group without the zone: %v", err)
	}
}

// TestCredentials: a subscription and a resource group; a client ID with
// its secret and tenant.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"resource_group": "rg"}`, "subscription_id and resource_group are required"},
		{`{"subscription_id": "s", "resource_group": "rg", "client_id": "c"}`, "client_id goes with client_secret and tenant_id"},
		{`{"subscription_id": "s", "resource_group": "rg", "zone": "z"}`, "unknown field"},
	} {
		if _, err := azuredns.New("example.com", []byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.json, err, tc.want)
		}
	}
}
