// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package clouddns writes TXT records in a Google Cloud DNS managed zone
// through cert-manager's Cloud DNS client (pkg/issuer/acme/dns/clouddns),
// with a service account's key or the ambient credentials (workload
// identity, the metadata server): a value is added to the name's record
// set and removed from it, the others kept, each change one atomic
// deletion and addition.
package clouddns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	cmclouddns "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/clouddns"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"
	clouddns "google.golang.org/api/dns/v1"
	"google.golang.org/api/option"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "clouddns"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "TXT values added to and removed from a record set of a Google Cloud DNS managed zone",
		Credentials: []providers.Field{
			{Name: "project", Help: "the Google Cloud project of the managed zone", Required: true},
			{Name: "managed_zone", Help: "the managed zone's name (not its DNS name), e.g. example-com", Required: true},
			{Name: "service_account", Help: "the service account's key file (JSON) with roles/dns.admin on the zone; empty: the ambient credentials", Secret: true},
		},
		New: func(_ providers.Env, _ store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(credentials)
		},
	})
}

// Credentials are a config's credentials for Cloud DNS.
type Credentials struct {
	Project        string `json:"project"`
	ManagedZone    string `json:"managed_zone"`
	ServiceAccount string `json:"service_account,omitempty"`
}

// Writer writes TXT records in a Cloud DNS managed zone.
type Writer struct {
	providers.CertManager
	api *cmclouddns.DNSProvider
	// svc writes the CNAMEs of delegations, which cert-manager's client
	// does not; as the project's managed zone.
	svc                  *clouddns.Service
	project, managedZone string
}

// New makes a provider from a config's credentials (JSON, see Credentials).
func New(raw []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(raw, &c, `{"project", "managed_zone", "service_account"}`); err != nil {
		return nil, err
	}
	if c.Project == "" || c.ManagedZone == "" {
		return nil, errors.New("credentials: project and managed_zone are required")
	}
	// The context is the token source's for the provider's life.
	ctx := context.Background()
	var (
		api    *cmclouddns.DNSProvider
		client *http.Client
		err    error
	)
	if c.ServiceAccount != "" {
		api, err = cmclouddns.NewDNSProviderServiceAccountBytes(ctx, c.Project, []byte(c.ServiceAccount), nil, c.ManagedZone)
		if err == nil {
			var conf *jwt.Config
			if conf, err = google.JWTConfigFromJSON([]byte(c.ServiceAccount), clouddns.NdevClouddnsReadwriteScope); err == nil {
				client = conf.Client(ctx)
			}
		}
	} else {
		api, err = cmclouddns.NewDNSProviderCredentials(ctx, c.Project, nil, c.ManagedZone)
		if err == nil {
			client, err = google.DefaultClient(ctx, clouddns.NdevClouddnsReadwriteScope)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	svc, err := clouddns.NewService(ctx, option.WithHTTPClient(client))
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return &Writer{CertManager: providers.CertManager{Presenter: api}, api: api, svc: svc, project: c.Project, managedZone: c.ManagedZone}, nil
}

// Test checks the credentials against the managed zone without a change:
// a cleanup of a value at a name that has none, which lists the name's
// record sets (a read) and finds nothing to remove.
func (p *Writer) Test(ctx context.Context, zone string) error {
	probe := "_acmehub-credentials-check." + strings.TrimSuffix(zone, ".") + "."
	if err := p.api.CleanUp(ctx, "", probe, "probe"); err != nil {
		return providers.Explain("reading the record sets of "+strings.TrimSuffix(probe, "."), err)
	}
	return nil
}
