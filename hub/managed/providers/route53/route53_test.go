// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package route53_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers/route53"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

const accessKey = "AKIAFAKEROUTE53TEST"

// current is the fake Route 53 the test under way talks to.
var current fakes.CurrentFake

// TestMain sends the process's requests for Route 53 to the current fake:
// the SDK goes through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &current, fakes.AWSEnv, fakes.Route53Host))
}

func fake(t *testing.T) *fakes.FakeRoute53 {
	f := fakes.NewFakeRoute53(t, accessKey, "example.com", "example.org")
	current.Set(f)
	return f
}

var good = route53.Credentials{AccessKeyID: accessKey, SecretAccessKey: "secret"}

// TestValuesCoexist: values are added to the name's record set and
// removed from it by value, through the calls Route 53's API takes (the
// hosted zone found by name, the set listed from its name, an atomic
// batch that deletes the set read and creates the new one).
func TestValuesCoexist(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*route53.Writer](t, route53.Name, "example.com", good)
	providertest.ProviderConformance(t, p, "example.com", func() []string { return f.TXT("_acme-challenge.www.example.com") })
	f.Took(t,
		"GET /2013-04-01/hostedzonesbyname?dnsname=example.com.",
		"GET /2013-04-01/hostedzone/Z00000001EXAMPLE/rrset?maxitems=1&name=_acme-challenge.www.example.com.&type=TXT",
		"POST /2013-04-01/hostedzone/Z00000001EXAMPLE/rrset",
	)
}

// TestCNAMEs: the CNAME of a delegation is a record set of its own,
// created, kept and deleted as the hub's delegations do; a name holding a
// TXT set is refused before Route 53 is asked to change anything.
func TestCNAMEs(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*route53.Writer](t, route53.Name, "example.com", good)
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www.example.com") })
	if got := f.CNAME("_acme-challenge.example.com"); got != "" {
		t.Errorf("Route 53 holds the CNAME %q after its removal", got)
	}
}

// TestAnotherWriterInBetween: a value another writer adds between the
// provider's read and its change is kept: Route 53 refuses the batch (the
// set deleted no longer matches), and the change is made again.
func TestAnotherWriterInBetween(t *testing.T) {
	ctx := context.Background()
	f := fake(t)
	p := providertest.NewWriter[*route53.Writer](t, route53.Name, "example.com", good)
	if _, err := p.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "first")); err != nil {
		t.Fatal(err)
	}
	f.BeforeChange = func() { f.Put("example.com", "_acme-challenge.www.example.com", "first", "another writer's") }
	if _, err := p.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "second")); err != nil {
		t.Fatal(err)
	}
	if got := f.TXT("_acme-challenge.www.example.com"); !slices.Equal(got, []string{"first", "another writer's", "second"}) {
		t.Errorf("Route 53 holds %q, want every writer's value", got)
	}
}

// TestErrorsNamed: Route 53's own errors reach the caller with what was
// attempted.
func TestErrorsNamed(t *testing.T) {
	ctx := context.Background()
	fake(t)
	wrong := providertest.NewWriter[*route53.Writer](t, route53.Name, "example.com", route53.Credentials{AccessKeyID: "AKIAREVOKED", SecretAccessKey: "secret"})
	if err := wrong.Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("Test with a revoked key: %v", err)
	}
	if _, err := wrong.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil ||
		!strings.Contains(err.Error(), "adding a TXT value at _acme-challenge.www.example.com") || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("append with a revoked key: %v", err)
	}
	p := providertest.NewWriter[*route53.Writer](t, route53.Name, "example.com", good)
	if err := p.Test(ctx, "example.net"); err == nil || !strings.Contains(err.Error(), "no public hosted zone example.net.") {
		t.Errorf("Test of a zone the account does not hold: %v", err)
	}
	byID := providertest.NewWriter[*route53.Writer](t, route53.Name, "example.com", route53.Credentials{AccessKeyID: accessKey, SecretAccessKey: "secret", HostedZoneID: "/hostedzone/ZNOSUCHZONE"})
	if _, err := byID.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil || !strings.Contains(err.Error(), "NoSuchHostedZone") {
		t.Errorf("a hosted zone ID the account does not hold: %v", err)
	}
}

// TestCredentials: an access key comes with its secret.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"access_key_id": "AKIA"}`, "go together"},
		{`{"secret_access_key": "s"}`, "go together"},
		{`{"zone": "x"}`, "unknown field"},
	} {
		if _, err := route53.New(context.Background(), []byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.json, err, tc.want)
		}
	}
}
