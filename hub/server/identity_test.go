// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/issuertest"
)

const hubAudience = "https://hub.example"

// boundCluster is a hub trusting a cluster's issuer, whose webhook's
// ServiceAccount is bound as a consumer for www.example.com and below.
func boundCluster(t *testing.T) (*server.Server, *issuertest.Issuer) {
	t.Helper()
	srv, _ := startManaged(t, func(c *config.Config) { c.Hub.URL = hubAudience })
	svc, ctx := srv.Managed(), context.Background()
	cluster := issuertest.New(t)
	if _, err := svc.AddIssuer(ctx, hubtest.Admin, store.Issuer{ID: "cluster-b", URL: cluster.URL}); err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePrincipal(ctx, hubtest.Admin, store.Principal{Kind: managed.KindApplication, Title: "cluster-b's webhook",
		Roles: []string{managed.RoleConsumer}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bind(ctx, hubtest.Admin, managed.BindingOptions{Issuer: "cluster-b", Principal: p.ID,
		Claims: map[string]string{"sub": managed.ServiceAccountSubject("acmehub", "acmehub-webhook")},
		Scopes: []string{managed.RoleConsumer}, Domains: []string{"www.example.com", ".www.example.com"}}); err != nil {
		t.Fatal(err)
	}
	return srv, cluster
}

func postBearer(t *testing.T, url, token string, body any) (*http.Response, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp, answer
}

// TestBearerTokensAtEveryDoor: a bound ServiceAccount's token answers
// challenges through httpreq, Certify's API and acmeproxy with no secret
// of the hub's, and the audit log names its issuer, subject and ID.
func TestBearerTokensAtEveryDoor(t *testing.T) {
	srv, cluster := boundCluster(t)
	claims := cluster.ServiceAccount("acmehub", "acmehub-webhook", hubAudience, time.Now(), nil)
	token := cluster.Sign(t, "rsa-1", claims)
	name := "_acme-challenge.www.example.com"

	if resp, answer := postBearer(t, hubURL(srv, "/httpreq/present"), token, map[string]string{"fqdn": name + ".", "value": digest}); resp.StatusCode != 200 {
		t.Fatalf("httpreq present: %d %s", resp.StatusCode, answer)
	}
	if got, _, _ := served(t, srv, name); !slices.Equal(got, []string{digest}) {
		t.Errorf("served after httpreq present: %q", got)
	}
	if resp, answer := postBearer(t, hubURL(srv, "/httpreq/cleanup"), token, map[string]string{"fqdn": name + ".", "value": digest}); resp.StatusCode != 200 {
		t.Fatalf("httpreq cleanup: %d %s", resp.StatusCode, answer)
	}
	certify := map[string]string{"ChallengeType": "dns-01", "Identifier": "api.www.example.com", "ResponseKey": "_acme-challenge.api.www.example.com",
		"ResponseValue": digest}
	if resp, answer := postBearer(t, hubURL(srv, "/api/v1/managedchallenge/request"), token, certify); resp.StatusCode != 200 || !bytes.Contains(answer, []byte(`"isSuccess":true`)) {
		t.Fatalf("Certify request: %d %s", resp.StatusCode, answer)
	}
	form := url.Values{"name": {"www.example.com"}, "response": {digest}}
	req, _ := http.NewRequest(http.MethodPost, hubURL(srv, "/acmeproxy/publish_response"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(answer, []byte(`"published":true`)) {
		t.Fatalf("acmeproxy publish_response: %d %s", resp.StatusCode, answer)
	}

	entries, err := srv.Managed().AuditLog(context.Background(), store.AuditQuery{Identifier: "api.www.example.com"})
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit of the Certify request: %v %v", entries, err)
	}
	e := entries[0]
	if e.Issuer != "cluster-b" || e.Subject != "system:serviceaccount:acmehub:acmehub-webhook" || e.TokenID != claims["jti"] || e.ClientID != "" || e.Result != "ok" {
		t.Errorf("audit entry %+v: want issuer cluster-b, the ServiceAccount, the token's jti, no client ID", e)
	}

	// Bound, but the name is outside the binding's Domain Match Rules.
	resp, answer = postBearer(t, hubURL(srv, "/httpreq/present"), token, map[string]string{"fqdn": "_acme-challenge.mail.example.com.", "value": digest})
	if resp.StatusCode != 403 || !bytes.Contains(answer, []byte("may not answer for mail.example.com")) {
		t.Errorf("a name outside the binding's domains: %d %s", resp.StatusCode, answer)
	}
}

// TestForgedBearerTokens: every token that is not a bound
// ServiceAccount's of a trusted issuer, for the hub, now, is refused with
// 401 naming the check that failed, writes nothing, and is audited.
func TestForgedBearerTokens(t *testing.T) {
	srv, cluster := boundCluster(t)
	otherCluster := issuertest.New(t) // trusted by nobody
	now := time.Now()
	webhook := func(edit func(map[string]any)) map[string]any {
		return cluster.ServiceAccount("acmehub", "acmehub-webhook", hubAudience, now, edit)
	}
	good := cluster.Sign(t, "rsa-1", webhook(nil))
	cluster.AddKey(t, "stolen-elsewhere", false)
	tests := []struct {
		name, token, check, issuer string
	}{
		{"for another audience", cluster.Sign(t, "rsa-1", webhook(func(c map[string]any) { c["aud"] = []string{"vault"} })), "audience", "cluster-b"},
		{"expired", cluster.Sign(t, "rsa-1", cluster.ServiceAccount("acmehub", "acmehub-webhook", hubAudience, now.Add(-20*time.Minute), nil)), "expiry", "cluster-b"},
		{"of another cluster's issuer", otherCluster.Sign(t, "rsa-1", otherCluster.ServiceAccount("acmehub", "acmehub-webhook", hubAudience, now, nil)), "issuer", "?"},
		{"of an unbound ServiceAccount", cluster.Sign(t, "rsa-1", cluster.ServiceAccount("default", "default", hubAudience, now, nil)), "binding", "cluster-b"},
		{"its signature tampered with", issuertest.Tampered(good, webhook(func(c map[string]any) { c["sub"] = "system:serviceaccount:acmehub:other" })), "signature", "cluster-b"},
		{"signed with a key the issuer does not publish", cluster.Sign(t, "stolen-elsewhere", webhook(nil)), "signature", "cluster-b"},
		{"alg none", issuertest.AlgNone(webhook(nil)), "algorithm", "?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, answer := postBearer(t, hubURL(srv, "/httpreq/present"), tt.token, map[string]string{"fqdn": "_acme-challenge.www.example.com.", "value": digest})
			var p struct{ Detail string }
			_ = json.Unmarshal(answer, &p)
			if resp.StatusCode != 401 || !strings.Contains(p.Detail, tt.check+" check failed") {
				t.Errorf("%d %s, want 401 naming the %s check", resp.StatusCode, answer, tt.check)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
			if sig := tt.token[strings.LastIndex(tt.token, ".")+1:]; sig != "" && strings.Contains(string(answer), sig) {
				t.Error("the refusal repeats the token")
			}
		})
	}
	svc, ctx := srv.Managed(), context.Background()
	if records, err := svc.Records(ctx); err != nil || len(records) != 0 {
		t.Errorf("records after the forged tokens: %v %v", records, err)
	}
	if got, _, _ := served(t, srv, "_acme-challenge.www.example.com"); len(got) != 0 {
		t.Errorf("served after the forged tokens: %q", got)
	}
	entries, err := svc.AuditLog(ctx, store.AuditQuery{Result: store.ResultFailed})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if !slices.ContainsFunc(entries, func(e store.AuditEntry) bool {
			return e.Issuer == tt.issuer && e.Action == "present" && strings.Contains(e.Result, "refused: bearer token") &&
				strings.Contains(e.Result, tt.check+" check failed")
		}) {
			t.Errorf("%s: no audit entry of issuer %s naming the %s check in %+v", tt.name, tt.issuer, tt.check, entries)
		}
	}
}

// TestIssuersOfTheConfigFile: an issuer declared in the configuration,
// its keys given as a file, is trusted beside the database's: its tokens
// pass once bound, it is listed as the configuration's, and the command
// line can neither replace nor remove it.
func TestIssuersOfTheConfigFile(t *testing.T) {
	cluster := issuertest.New(t)
	jwks := filepath.Join(t.TempDir(), "cluster.jwks")
	if err := os.WriteFile(jwks, cluster.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	cluster.Down.Store(true) // nothing is fetched: the keys are given
	srv, _ := startManaged(t, func(c *config.Config) {
		c.Hub.URL = hubAudience
		c.Hub.Issuers = []config.Issuer{{ID: "cluster-c", URL: cluster.URL, JWKSFile: jwks}}
	})
	svc, ctx := srv.Managed(), context.Background()
	issuers, err := svc.Issuers(ctx)
	if err != nil || len(issuers) != 1 || !issuers[0].Config || issuers[0].Audience != hubAudience || issuers[0].Skew != managed.DefaultSkew {
		t.Fatalf("issuers %+v, %v: want cluster-c of the configuration, with the defaults", issuers, err)
	}
	if _, err := svc.AddIssuer(ctx, hubtest.Admin, store.Issuer{ID: "cluster-c", URL: "https://other.example"}); err == nil ||
		!strings.Contains(err.Error(), "the configuration file declares") {
		t.Errorf("adding an issuer of the configuration's ID: %v", err)
	}
	if err := svc.RemoveIssuer(ctx, hubtest.Admin, "cluster-c"); err == nil || !strings.Contains(err.Error(), "declared in the configuration file") {
		t.Errorf("removing the configuration's issuer: %v", err)
	}
	p, _ := svc.CreatePrincipal(ctx, hubtest.Admin, store.Principal{Kind: managed.KindApplication, Title: "c", Roles: []string{managed.RoleConsumer}})
	if _, err := svc.Bind(ctx, hubtest.Admin, managed.BindingOptions{Issuer: "cluster-c", Principal: p.ID, Scopes: []string{managed.RoleConsumer},
		Claims: map[string]string{"sub": managed.ServiceAccountSubject("acmehub", "*")}}); err != nil {
		t.Fatal(err)
	}
	token := cluster.Sign(t, "rsa-1", cluster.ServiceAccount("acmehub", "acmehub", hubAudience, time.Now(), nil))
	if resp, answer := postBearer(t, hubURL(srv, "/httpreq/present"), token, map[string]string{"fqdn": "_acme-challenge.www.example.com.", "value": digest}); resp.StatusCode != 200 {
		t.Errorf("a bound token of the configuration's issuer: %d %s", resp.StatusCode, answer)
	}
}
