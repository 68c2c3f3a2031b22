// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package azuredns writes TXT records in an Azure DNS zone through
// cert-manager's Azure DNS client (pkg/issuer/acme/dns/azuredns), as a
// service principal (client ID and secret) or with the ambient credentials
// (workload identity, a managed identity): a value is added to the name's
// record set and removed from it, the others kept, each write conditional
// on the set's ETag, so that a concurrent writer's change is not lost.
package azuredns

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/dns/armdns"
	cmazuredns "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/azuredns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "azuredns"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "TXT values added to and removed from a record set of an Azure DNS zone",
		Credentials: []providers.Field{
			{Name: "subscription_id", Help: "the Azure subscription of the zone", Required: true},
			{Name: "resource_group", Help: "the zone's resource group", Required: true},
			{Name: "tenant_id", Help: "the service principal's tenant"},
			{Name: "client_id", Help: "the service principal's application (client) ID, with DNS Zone Contributor on the zone; empty: the ambient credentials"},
			{Name: "client_secret", Help: "the service principal's secret", Secret: true},
			{Name: "environment", Help: "AzurePublicCloud (the default), AzureUSGovernmentCloud or AzureChinaCloud"},
		},
		New: func(_ providers.Env, cfg store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(cfg.Zone, credentials)
		},
	})
}

// Credentials are a config's credentials for Azure DNS.
type Credentials struct {
	SubscriptionID string `json:"subscription_id"`
	ResourceGroup  string `json:"resource_group"`
	TenantID       string `json:"tenant_id,omitempty"`
	ClientID       string `json:"client_id,omitempty"`
	ClientSecret   string `json:"client_secret,omitempty"`
	Environment    string `json:"environment,omitempty"`
}

// Writer writes TXT records in an Azure DNS zone.
type Writer struct {
	providers.CertManager
	zone string
	// sets and group write the CNAMEs of delegations (cname.go).
	sets  *armdns.RecordSetsClient
	group string
}

// New makes a provider for zone (the config's, as Azure DNS names it) from
// a config's credentials (JSON, see Credentials).
func New(zone string, raw []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(raw, &c, `{"subscription_id", "resource_group", "tenant_id", "client_id", "client_secret", "environment"}`); err != nil {
		return nil, err
	}
	switch {
	case c.SubscriptionID == "" || c.ResourceGroup == "":
		return nil, errors.New("credentials: subscription_id and resource_group are required")
	case c.ClientID != "" && (c.ClientSecret == "" || c.TenantID == ""):
		return nil, errors.New("credentials: client_id goes with client_secret and tenant_id (none of them: the ambient credentials)")
	}
	zone = strings.TrimSuffix(zone, ".")
	api, err := cmazuredns.NewDNSProviderCredentials(c.Environment, c.ClientID, c.ClientSecret, c.SubscriptionID, c.TenantID, c.ResourceGroup,
		zone, nil, c.ClientID == "", nil)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	sets, err := recordSets(c)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return &Writer{CertManager: providers.CertManager{Presenter: api}, zone: zone, sets: sets, group: c.ResourceGroup}, nil
}

// Test checks the credentials against the zone without a change: a
// cleanup of a value at a name that has none, which reads the name's
// record set (not found) and removes nothing.
func (p *Writer) Test(ctx context.Context, zone string) error {
	probe := "_acmehub-credentials-check." + strings.TrimSuffix(zone, ".") + "."
	if err := p.Presenter.CleanUp(ctx, "", probe, "probe"); err != nil {
		return providers.Explain("reading the record set of "+strings.TrimSuffix(probe, "."), err)
	}
	return nil
}
