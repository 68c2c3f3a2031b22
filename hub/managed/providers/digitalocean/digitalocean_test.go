// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package digitalocean_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers/digitalocean"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
)

const token = "dop_v1_test-token"

// current is the fake DigitalOcean's API the test under way talks to.
var current fakes.CurrentFake

// TestMain sends the process's requests for DigitalOcean's API to the
// current fake: the API client, made inside libdns/digitalocean, cannot be
// given another address, but it goes through HTTPS_PROXY.
func TestMain(m *testing.M) {
	os.Exit(fakes.MainBehindProxy(m, &current, nil, fakes.DigitalOceanHost))
}

func fake(t *testing.T) *fakes.FakeDigitalOcean {
	f := fakes.NewFakeDigitalOcean(t, token, "example.com")
	current.Set(f)
	return f
}

func txt(name, value string, ttl time.Duration) libdns.Record {
	return libdns.TXT{Name: name, Text: value, TTL: ttl}
}

// TestCNAMEs: the CNAME of a delegation is written, kept and removed as
// the hub's delegations do, through the calls DigitalOcean's API takes;
// a name holding records is refused before DigitalOcean is asked.
func TestCNAMEs(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*digitalocean.Writer](t, digitalocean.Name, "example.com", `{"api_token": "`+token+`"}`)
	providertest.CNAMEConformance(t, p, "example.com", "_acme-challenge", "_acme-challenge.www",
		func() []string { return f.TXT("example.com", "_acme-challenge.www") })
	for _, c := range f.Calls() {
		if c.Method == http.MethodPost && c.Body["type"] == "CNAME" && (c.Body["name"] != "_acme-challenge" || c.Body["ttl"] != float64(3600)) {
			t.Errorf("create body %v: want the relative name and a TTL of an hour", c.Body)
		}
	}
}

func TestAppendAndDeleteByValue(t *testing.T) {
	f := fake(t)
	// 45 records of the zone: the listing spans three pages of 20.
	for i := range 44 {
		f.Add("example.com", "A", fmt.Sprintf("host%02d", i), "192.0.2.1")
	}
	f.Add("example.com", "TXT", "_acme-challenge.www", "someone else's value")
	p := providertest.NewWriter[*digitalocean.Writer](t, digitalocean.Name, "example.com", `{"api_token": "`+token+`"}`)
	ctx := context.Background()

	for _, v := range []string{"value-1", "value-2"} {
		created, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{txt("_acme-challenge.www", v, 10*time.Second)})
		if err != nil || len(created) != 1 {
			t.Fatalf("AppendRecords %s: %v, %v", v, created, err)
		}
	}
	if got := f.TXT("example.com", "_acme-challenge.www"); !slices.Equal(got, []string{"someone else's value", "value-1", "value-2"}) {
		t.Fatalf("TXT after two appends: %q", got)
	}
	for _, c := range f.Calls() {
		if c.Method == http.MethodPost && (c.Body["ttl"] != float64(30) || c.Body["name"] != "_acme-challenge.www" || c.Body["type"] != "TXT") {
			t.Errorf("create body %v: want the relative name, type TXT and the TTL raised to 30", c.Body)
		}
	}

	deleted, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{txt("_acme-challenge.www", "value-1", 0)})
	if err != nil || len(deleted) != 1 {
		t.Fatalf("DeleteRecords: %v, %v", deleted, err)
	}
	if got := f.TXT("example.com", "_acme-challenge.www"); !slices.Equal(got, []string{"someone else's value", "value-2"}) {
		t.Errorf("TXT after deleting value-1: %q", got)
	}
	var pages []string
	for _, c := range f.Calls() {
		if c.Method == http.MethodGet {
			pages = append(pages, c.Query)
		}
	}
	if len(pages) != 3 || !strings.Contains(pages[1], "page=2") || !strings.Contains(pages[2], "page=3") {
		t.Errorf("listing asked for %q, want pages 1 to 3", pages)
	}
	// A value already gone is no error, and removes nothing else.
	if deleted, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{txt("_acme-challenge.www", "value-1", 0)}); err != nil || len(deleted) != 0 {
		t.Errorf("deleting a value that is gone: %v, %v", deleted, err)
	}
}

func TestRetries(t *testing.T) {
	f := fake(t)
	p := providertest.NewWriter[*digitalocean.Writer](t, digitalocean.Name, "example.com", `{"api_token": "`+token+`"}`)
	ctx := context.Background()

	f.Fail(http.MethodPost, http.StatusTooManyRequests, "1")
	start := time.Now()
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{txt("_acme-challenge.a", "v", time.Minute)}); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1 s", waited)
	}
	f.Fail(http.MethodGet, http.StatusBadGateway, "")
	f.Fail(http.MethodDelete, http.StatusInternalServerError, "")
	if _, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{txt("_acme-challenge.a", "v", 0)}); err != nil {
		t.Fatalf("after a 502 and a 500: %v", err)
	}
	if got := f.TXT("example.com", "_acme-challenge.a"); len(got) != 0 {
		t.Errorf("TXT after delete: %q", got)
	}
	// Given up after five attempts, with DigitalOcean's answer.
	for range 5 {
		f.Fail(http.MethodPost, http.StatusServiceUnavailable, "0")
	}
	_, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{txt("_acme-challenge.a", "v", 0)})
	if want := "creating TXT record _acme-challenge.a.example.com: 503 Service Unavailable (after 5 attempts): injected failure 503"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("five 503s: %v, want %q", err, want)
	}
}

func TestErrorsNamed(t *testing.T) {
	fake(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name, credentials, zone, want string
	}{
		{"an unknown zone", `{"api_token": "` + token + `"}`, "example.net.", "listing the records of example.net: 404 Not Found: The resource you were accessing could not be found."},
		{"a wrong token", `{"api_token": "dop_v1_revoked"}`, "example.com.", "listing the records of example.com: 401 Unauthorized: Unable to authenticate you"},
	} {
		err := providertest.NewWriter[*digitalocean.Writer](t, digitalocean.Name, "example.com", tt.credentials).Test(ctx, tt.zone)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	for creds, want := range map[string]string{
		`{"api_token": ""}`: "api_token is empty",
		`{"token": "x"}`:    `unknown field "token"`,
		`not json`:          `want {"api_token": "…"}`,
	} {
		_, err := digitalocean.New([]byte(creds))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("credentials %s: %v, want %q", creds, err, want)
		}
	}
}

// TestThroughTheHub: Certify's synchronous request through a hub whose
// config writes in DigitalOcean answers once DigitalOcean's name server
// (here the fake's responder, a moment after the API call) serves the
// value; cleanup removes exactly that record; DigitalOcean's refusals reach
// the client with its message.
func TestThroughTheHub(t *testing.T) {
	f := fake(t)
	f.Delay = 400 * time.Millisecond
	nameserver := f.ServeDNS(t)
	srv := hubtest.StartHub(t, nil)
	svc, ctx := srv.Managed(), context.Background()
	if _, err := svc.PutConfig(ctx, hubtest.Admin, managed.ConfigInput{
		ChallengeConfig: store.ChallengeConfig{ID: "do", Provider: digitalocean.Name, Zone: "example.com", Rules: []string{".example.com"},
			Propagation: `{"nameservers": ["` + nameserver + `"]}`},
		Credentials: []byte(`{"api_token": "` + token + `"}`),
	}); err != nil {
		t.Fatal(err)
	}
	tok := hubtest.Token(t, svc, managed.RoleConsumer)
	const value = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	call := func(path string) (int, string) {
		body, _ := json.Marshal(map[string]string{"ChallengeType": "dns-01", "Identifier": "www.example.com",
			"ResponseKey": "_acme-challenge.www.example.com", "ResponseValue": value, "AuthKey": tok.ClientID, "AuthSecret": tok.Secret})
		resp, err := http.Post("http://"+srv.HubAddr().String()+"/api/v1/managedchallenge/"+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(answer)
	}
	served := func() []string {
		values, err := dnsclient.Resolver{}.ServedTXT(ctx, nameserver, "_acme-challenge.www.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return values
	}

	start := time.Now()
	if status, answer := call("request"); status != 200 || !strings.Contains(answer, `"isSuccess":true`) {
		t.Fatalf("request: %d %s", status, answer)
	}
	if waited := time.Since(start); waited < f.Delay {
		t.Errorf("request answered after %v, before the name server served the value (%v)", waited, f.Delay)
	}
	if got := served(); !slices.Equal(got, []string{value}) {
		t.Errorf("the name server serves %q", got)
	}
	f.Add("example.com", "TXT", "_acme-challenge.www", "another client's value")
	if status, answer := call("cleanup"); status != 200 {
		t.Fatalf("cleanup: %d %s", status, answer)
	}
	if got := f.TXT("example.com", "_acme-challenge.www"); !slices.Equal(got, []string{"another client's value"}) {
		t.Errorf("TXT at DigitalOcean after cleanup: %q", got)
	}

	f.Fail(http.MethodPost, http.StatusUnprocessableEntity, "")
	if status, answer := call("request"); status != http.StatusBadGateway || !strings.Contains(answer, "DigitalOcean: creating TXT record _acme-challenge.www.example.com: 422 Unprocessable Entity: injected failure 422") {
		t.Errorf("a refusal by DigitalOcean: %d %s", status, answer)
	}
}
