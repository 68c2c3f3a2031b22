// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package cloudflare writes TXT records in a Cloudflare zone through
// cert-manager's Cloudflare client (pkg/issuer/acme/dns/cloudflare), with
// an API token (Zone:Read and DNS:Edit on the zone) or a global API key
// and its account's e-mail: one record per value, found and removed by its
// value; the CNAMEs of delegations through Cloudflare's API directly
// (cname.go). The clients go through HTTPS_PROXY when it is set. Whether a
// value is served is asked of Cloudflare's name servers through DNS.
package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cmcloudflare "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/cloudflare"
	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "cloudflare"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "a TXT record per value in a Cloudflare zone, through its API",
		Credentials: []providers.Field{
			{Name: "api_token", Help: "an API token with Zone:Read and DNS:Edit on the zone (or api_key and email)", Secret: true},
			{Name: "api_key", Help: "the global API key, with email, when there is no api_token", Secret: true},
			{Name: "email", Help: "the account's e-mail, with api_key"},
		},
		New: func(_ providers.Env, _ store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(credentials)
		},
	})
}

// Credentials are a config's credentials for Cloudflare: an API token, or
// a global API key with the account's e-mail.
type Credentials struct {
	APIToken string `json:"api_token,omitempty"`
	APIKey   string `json:"api_key,omitempty"`
	Email    string `json:"email,omitempty"`
}

// Writer writes TXT records in a Cloudflare zone.
type Writer struct {
	providers.CertManager
	api *cmcloudflare.DNSProvider
	c   Credentials
}

// New makes a provider from a config's credentials (JSON, see Credentials).
func New(credentials []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(credentials, &c, `{"api_token": "…"} or {"api_key": "…", "email": "…"}`); err != nil {
		return nil, err
	}
	switch {
	case c.APIToken != "" && (c.APIKey != "" || c.Email != ""):
		return nil, errors.New("credentials: api_token, or api_key with email; not both")
	case c.APIToken == "" && (c.APIKey == "" || c.Email == ""):
		return nil, errors.New("credentials: api_token, or api_key with email, is required")
	}
	api, err := cmcloudflare.NewDNSProviderCredentials(c.Email, c.APIKey, c.APIToken, nil, "acmehub")
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return &Writer{CertManager: providers.CertManager{Presenter: api}, api: api, c: c}, nil
}

// Test checks the credentials against the zone: Cloudflare finds it by
// name for them (a read).
func (p *Writer) Test(ctx context.Context, zone string) error {
	z, err := cmcloudflare.FindNearestZoneForFQDN(ctx, p.api, dns.Fqdn(zone))
	if err != nil {
		return providers.Explain("finding zone "+strings.TrimSuffix(zone, "."), err)
	}
	if !strings.EqualFold(strings.TrimSuffix(z.Name, "."), strings.TrimSuffix(zone, ".")) {
		return fmt.Errorf("the credentials reach zone %s, not %s", z.Name, strings.TrimSuffix(zone, "."))
	}
	return nil
}
