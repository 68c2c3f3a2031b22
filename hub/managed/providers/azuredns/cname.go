// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package azuredns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/dns/armdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
)

// The CNAMEs of delegations, through Azure Resource Manager's record sets
// directly: cert-manager's client writes TXT records only. The
// credentials are the config's, as cert-manager reads them: a service
// principal, else workload identity, else a managed identity.

// cnameTTL is the TTL of the CNAMEs the hub writes: they stay for years.
const cnameTTL = 3600

// recordSets makes the record sets client of c's subscription.
func recordSets(c Credentials) (*armdns.RecordSetsClient, error) {
	cfg := cloud.AzurePublic
	switch strings.ToUpper(c.Environment) {
	case "", "AZURECLOUD", "AZUREPUBLICCLOUD":
	case "AZUREUSGOVERNMENT", "AZUREUSGOVERNMENTCLOUD":
		cfg = cloud.AzureGovernment
	case "AZURECHINACLOUD":
		cfg = cloud.AzureChina
	default:
		return nil, fmt.Errorf("environment %q: want AzurePublicCloud, AzureUSGovernmentCloud or AzureChinaCloud", c.Environment)
	}
	opts := policy.ClientOptions{Cloud: cfg}
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch {
	case c.ClientID != "":
		cred, err = azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	case os.Getenv("AZURE_FEDERATED_TOKEN_FILE") != "":
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: opts})
	default:
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts})
	}
	if err != nil {
		return nil, err
	}
	return armdns.NewRecordSetsClient(c.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
}

// CNAME returns the target of the CNAME record set at name.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	target, _, err := p.cname(ctx, name)
	return target, err
}

func (p *Writer) cname(ctx context.Context, name string) (string, *string, error) {
	got, err := p.sets.Get(ctx, p.group, p.zone, name, armdns.RecordTypeCNAME, nil)
	if notFound(err) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, providers.Explain("reading the CNAME at "+p.fqdn(name), err)
	}
	if got.Properties == nil || got.Properties.CnameRecord == nil {
		return "", got.Etag, nil
	}
	return strings.ToLower(strings.TrimSuffix(deref(got.Properties.CnameRecord.Cname), ".")), got.Etag, nil
}

// SetCNAME creates the CNAME record set (If-None-Match: *) unless the name
// holds one already (the same: nothing to do) or TXT values; Azure refuses
// a CNAME beside any other set, which is reported as the name taken.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	held, _, err := p.cname(ctx, name)
	switch {
	case err != nil:
		return err
	case held == target:
		return nil
	case held != "":
		return fmt.Errorf("%s: %w: a CNAME to %s", p.fqdn(name), providers.ErrNameTaken, held)
	}
	if _, err := p.sets.Get(ctx, p.group, p.zone, name, armdns.RecordTypeTXT, nil); err == nil {
		return fmt.Errorf("%s: %w: a TXT record set", p.fqdn(name), providers.ErrNameTaken)
	} else if !notFound(err) {
		return providers.Explain("reading the TXT record set at "+p.fqdn(name), err)
	}
	set := armdns.RecordSet{Properties: &armdns.RecordSetProperties{TTL: to.Ptr[int64](cnameTTL),
		CnameRecord: &armdns.CnameRecord{Cname: to.Ptr(target + ".")}}}
	_, err = p.sets.CreateOrUpdate(ctx, p.group, p.zone, name, armdns.RecordTypeCNAME, set,
		&armdns.RecordSetsClientCreateOrUpdateOptions{IfNoneMatch: to.Ptr("*")})
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode == http.StatusConflict || re.StatusCode == http.StatusPreconditionFailed) {
		return fmt.Errorf("%s: %w: %s", p.fqdn(name), providers.ErrNameTaken, re.ErrorCode)
	}
	if err != nil {
		return providers.Explain("creating the CNAME "+p.fqdn(name), err)
	}
	return nil
}

// DeleteCNAME deletes the CNAME record set at name, if it still points at
// target (If-Match its ETag).
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	held, etag, err := p.cname(ctx, name)
	if err != nil || held != strings.ToLower(strings.TrimSuffix(target, ".")) {
		return err
	}
	if _, err := p.sets.Delete(ctx, p.group, p.zone, name, armdns.RecordTypeCNAME, &armdns.RecordSetsClientDeleteOptions{IfMatch: etag}); err != nil {
		return providers.Explain("deleting the CNAME "+p.fqdn(name), err)
	}
	return nil
}

func (p *Writer) fqdn(name string) string { return name + "." + p.zone }

func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
