// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package akamai_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers/akamai"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

// current is the fake Edge DNS the test under way talks to.
var current fakes.CurrentFake

// TestMain sends the process's requests for the API client's host to the
// current fake: Akamai's client goes through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &current, nil, fakes.AkamaiHost))
}

var good = akamai.Credentials{
	Host:         "https://" + fakes.AkamaiHost + "/", // as copied from a browser: trimmed
	ClientToken:  "akab-client-token",
	ClientSecret: "client-secret-base64=",
	AccessToken:  "akab-access-token",
}

func fake(t *testing.T) *fakes.FakeAkamai {
	f := fakes.NewFakeAkamai(t, good.ClientToken, good.ClientSecret, good.AccessToken, "example.com")
	current.Set(f)
	return f
}

// TestValuesCoexist: values are added to the name's record set and removed
// from it by value, through the signed calls Edge DNS takes (the zone
// read; the set read, created, replaced, deleted).
func TestValuesCoexist(t *testing.T) {
	const set = "/config-dns/v2/zones/example.com/names/_acme-challenge.www.example.com/types/TXT"
	for name, c := range map[string]akamai.Credentials{
		"the config's zone": good,
		"a parent zone":     {Host: good.Host, ClientToken: good.ClientToken, ClientSecret: good.ClientSecret, AccessToken: good.AccessToken, Zone: "example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			f := fake(t)
			p := providertest.NewWriter[*akamai.Writer](t, akamai.Name, "example.com", c)
			zone := "example.com"
			if c.Zone != "" {
				zone = "www.example.com" // the config's zone, below Edge DNS's
			}
			providertest.ProviderConformance(t, p, zone, func() []string { return f.TXT("_acme-challenge.www." + zone) })
			if c.Zone == "" {
				f.Took(t, "GET /config-dns/v2/zones/example.com", "GET "+set, "POST "+set, "PUT "+set, "DELETE "+set)
			}
		})
	}
}

// TestCNAMEs: the CNAME of a delegation is a record set of its own,
// created, kept and deleted as the hub's delegations do; a name holding a
// TXT set is refused before Edge DNS is asked to create anything.
func TestCNAMEs(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*akamai.Writer](t, akamai.Name, "example.com", good)
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("_acme-challenge.www.example.com") })
	if got := f.CNAME("_acme-challenge.example.com"); got != "" {
		t.Errorf("Edge DNS holds the CNAME %q after its removal", got)
	}
}

// TestAnotherWriterInBetween: Edge DNS has no conditional write. A set
// another writer created or deleted between the provider's read and its
// write refuses the write (409, 404); a stale write of another writer
// landing after the provider's is found when the change is read back. The
// change is then made again on what is there.
func TestAnotherWriterInBetween(t *testing.T) {
	ctx := context.Background()
	const name = "_acme-challenge.www.example.com"
	for _, tc := range []struct {
		what   string
		before []string // the set before the change
		other  []string // the set another writer leaves
		after  bool     // the other writer's write lands after the provider's
		append bool     // "second" appended, or "first" cleaned up
		want   []string
	}{
		{"the set created first by another writer (409)", nil, []string{"another writer's"}, false, true, []string{"another writer's", "second"}},
		{"the set deleted by another writer (404)", []string{"first"}, nil, false, true, []string{"second"}},
		{"a stale write without this value after it", []string{"first"}, []string{"first", "another writer's"}, true, true, []string{"first", "another writer's", "second"}},
		{"a cleanup undone by a stale write after it", []string{"first", "kept"}, []string{"first", "kept", "another writer's"}, true, false, []string{"kept", "another writer's"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			f := fake(t)
			p := providertest.NewWriter[*akamai.Writer](t, akamai.Name, "example.com", good)
			f.SetTXT("example.com", name, tc.before...)
			other := func() { f.SetTXT("example.com", name, tc.other...) }
			if tc.after {
				f.AfterNextWrite(other)
			} else {
				f.BeforeNextWrite(other)
			}
			var err error
			if tc.append {
				_, err = p.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "second"))
			} else {
				_, err = p.DeleteRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "first"))
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.TXT(name); !testutil.SameElements(got, tc.want) {
				t.Errorf("Edge DNS holds %q, want %q", got, tc.want)
			}
		})
	}
}

// TestErrorsNamed: Edge DNS's own problems reach the caller on one line,
// with what was attempted; a read refused is never taken for "no record".
func TestErrorsNamed(t *testing.T) {
	ctx := context.Background()
	f := fake(t)
	wrong := good
	wrong.ClientSecret = "revoked"
	bad := providertest.NewWriter[*akamai.Writer](t, akamai.Name, "example.com", wrong)
	if err := bad.Test(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "The signature does not match") {
		t.Errorf("Test with a wrong secret: %v", err)
	}
	if _, err := bad.AppendRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil ||
		!strings.Contains(err.Error(), "adding a TXT value at _acme-challenge.www.example.com") || !strings.Contains(err.Error(), "Not authorized") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("append with a wrong secret: %q", err)
	}
	f.SetTXT("example.com", "_acme-challenge.www.example.com", "v")
	if _, err := bad.DeleteRecords(ctx, "example.com.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil || !strings.Contains(err.Error(), "The signature does not match") {
		t.Errorf("a cleanup with a wrong secret reports %v; the value is still there", err)
	}
	p := providertest.NewWriter[*akamai.Writer](t, akamai.Name, "example.com", good)
	if err := p.Test(ctx, "example.org"); err == nil || !strings.Contains(err.Error(), `reading zone example.org: `) || !strings.Contains(err.Error(), `Zone "example.org" does not exist`) {
		t.Errorf("Test of a zone the account does not hold: %v", err)
	}
	if _, err := p.AppendRecords(ctx, "example.org.", providertest.TXTRecord("_acme-challenge.www", "v")); err == nil || !strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("a value in a zone the account does not hold: %v", err)
	}
}

// TestCredentials: the four EdgeGrid fields are required, and named when
// missing; the host is a host name.
func TestCredentials(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{}`, "host, client_token, client_secret, access_token required"},
		{`{"host": "h", "client_token": "c", "client_secret": "s"}`, "access_token required"},
		{`{"host": "akab-x.luna.akamaiapis.net/config-dns", "client_token": "c", "client_secret": "s", "access_token": "a"}`, "is a host name"},
		{`{"host": "h", "client_token": "c", "client_secret": "s", "access_token": "a", "max_body": 1}`, "unknown field"},
	} {
		if _, err := akamai.New([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.json, err, tc.want)
		}
	}
}
