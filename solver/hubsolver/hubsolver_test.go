// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package hubsolver

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/managed/providers/self"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/issuertest"
)

const key = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

// newSolver returns the solver reading Secrets from a fake cluster holding
// the token in team-a/hub-token.
func newSolver(t *testing.T, clientID, secret string) *Solver {
	t.Helper()
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "hub-token"},
		Data:       map[string][]byte{"clientID": []byte(clientID), "clientSecret": []byte(secret + "\n")},
	})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	s := New(Options{Timeout: 10 * time.Second})
	s.cluster.Use(kube, stop, time.Minute)
	return s
}

func challenge(url string, extra map[string]any) *whapi.ChallengeRequest {
	cfg := map[string]any{"url": url, "credentialsSecretRef": map[string]string{"name": "hub-token"}}
	for k, v := range extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return &whapi.ChallengeRequest{
		UID: "1", Type: "dns-01", DNSName: "*.app.example.com", Key: key, ResourceNamespace: "team-a",
		ResolvedFQDN: "_acme-challenge.app.example.com.", ResolvedZone: "example.com.", Config: &apiextensionsv1.JSON{Raw: raw},
	}
}

// startHub runs an acmehub server with the hub, a self config for
// app.example.com and a consumer token.
func startHub(t *testing.T) (*server.Server, managed.NewToken) {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(keys, []byte(managed.NewKeyLine("k")), 0o600)
	srv := hubtest.Start(t, func(c *config.Config) {
		c.Hub.Enabled, c.Hub.Listen, c.Hub.TLS, c.Hub.KeysFile = true, "127.0.0.1:0", "none", keys
	})
	ctx, admin, svc := context.Background(), managed.Caller{Principal: "test"}, srv.Managed()
	if _, err := svc.PutConfig(ctx, admin, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{
		ID: "self", Provider: self.Name, Zone: "app.example.com", Rules: []string{"app.example.com"}}}); err != nil {
		t.Fatal(err)
	}
	p, _ := svc.CreatePrincipal(ctx, admin, store.Principal{Kind: managed.KindApplication, Title: "cluster", Roles: []string{managed.RoleConsumer}})
	tok, err := svc.CreateToken(ctx, admin, managed.TokenOptions{Principal: p.ID, Scopes: []string{managed.RoleConsumer}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, tok
}

func txt(t *testing.T, srv *server.Server, name string) []string {
	t.Helper()
	var addr string
	for _, a := range srv.DNSAddrs() {
		if a.Network() == "udp" {
			addr = a.String()
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, err := dns.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out
}

func TestPresentAndCleanUpThroughTheHub(t *testing.T) {
	srv, tok := startHub(t)
	s := newSolver(t, tok.ClientID, tok.Secret)
	ch := challenge("http://"+srv.HubAddr().String(), nil)
	if err := s.Present(ch); err != nil {
		t.Fatal(err)
	}
	if got := txt(t, srv, "_acme-challenge.app.example.com"); !slices.Equal(got, []string{key}) {
		t.Fatalf("after Present the hub's DNS serves %q", got)
	}
	for range 2 {
		if err := s.CleanUp(ch); err != nil {
			t.Fatal(err)
		}
	}
	if got := txt(t, srv, "_acme-challenge.app.example.com"); len(got) != 0 {
		t.Errorf("after CleanUp: %q", got)
	}
	// The hub's refusal reaches cert-manager with its cause.
	other := challenge("http://"+srv.HubAddr().String(), nil)
	other.DNSName, other.ResolvedFQDN = "www.example.org", "_acme-challenge.www.example.org."
	if err := s.Present(other); err == nil || !strings.Contains(err.Error(), "403: no managed challenge config matches www.example.org") {
		t.Errorf("Present for a name of no config: %v", err)
	}
	bad := newSolver(t, tok.ClientID, "wrong")
	if err := bad.Present(ch); err == nil || !strings.Contains(err.Error(), "401: unknown API token, or wrong secret") {
		t.Errorf("Present with a wrong secret: %v", err)
	}
}

// TestCertifyWire checks, against a stand-in hub over TLS, what the solver
// sends: Certify's body with the credentials in it, status polls without
// them, and the synchronous call when requestbegin is unknown.
func TestCertifyWire(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []string
		begin = true
	)
	hubSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path+" "+string(body))
		beginOK := begin
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/managedchallenge/requestbegin":
			if !beginOK {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"id":"op-1","status":"pending"}`))
		case "/api/v1/managedchallenge/requeststatus/op-1":
			w.Write([]byte(`{"id":"op-1","status":"succeeded","result":{"isSuccess":true,"message":"served"}}`))
		case "/api/v1/managedchallenge/request", "/api/v1/managedchallenge/cleanup":
			w.Write([]byte(`{"isSuccess":true,"message":"ok"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer hubSrv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hubSrv.Certificate().Raw})
	s := newSolver(t, "hub_client", "s3cret")
	ch := challenge(hubSrv.URL, map[string]any{"caBundle": ca})
	if err := s.Present(ch); err != nil {
		t.Fatal(err)
	}
	want := `{"ChallengeType":"dns-01","Identifier":"app.example.com","ResponseKey":"_acme-challenge.app.example.com","ResponseValue":"` + key + `","AuthKey":"hub_client","AuthSecret":"s3cret"}`
	if len(calls) != 2 || calls[0] != "POST /api/v1/managedchallenge/requestbegin "+want || calls[1] != "GET /api/v1/managedchallenge/requeststatus/op-1 " {
		t.Fatalf("calls: %q", calls)
	}
	mu.Lock()
	begin, calls = false, nil
	mu.Unlock()
	if err := s.Present(ch); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || !strings.HasPrefix(calls[1], "POST /api/v1/managedchallenge/request {") {
		t.Errorf("calls without requestbegin: %q", calls)
	}
	// Without the caBundle the hub's certificate is not trusted.
	if err := s.Present(challenge(hubSrv.URL, nil)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Present without the caBundle: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	for raw, want := range map[string]string{
		`{"credentialsSecretRef":{"name":"t"}}`:                                                               "must be the hub's https:// URL",
		`{"url":"ftp://hub","credentialsSecretRef":{"name":"t"}}`:                                             "must be the hub's https:// URL",
		`{"url":"https://hub.example.org"}`:                                                                   "needs serviceAccountToken: {}",
		`{"url":"https://hub.example.org","credentialsSecretRef":{}}`:                                         "no credentialsSecretRef.name",
		`{"url":"https://hub.example.org","credentialsSecretRef":{"name":"t"},"serviceAccountToken":{}}`:      "give one",
		`{"url":"https://hub.example.org","credentialsSecretRef":{"name":"t"},"x":1}`:                         `unknown field "x"`,
		`{"url":"https://hub.example.org","credentialsSecretRef":{"name":"t"},"caBundle":"bm90IGEgY2VydA=="}`: "holds no PEM certificate",
	} {
		if _, err := ParseConfig([]byte(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%s) = %v, want %q", raw, err, want)
		}
	}
	c, err := ParseConfig([]byte(`{"url":"https://hub.example.org/","credentialsSecretRef":{"name":"t"}}`))
	if err != nil || c.URL != "https://hub.example.org" || c.CredentialsSecretRef.ClientIDKey != "clientID" || c.CredentialsSecretRef.ClientSecretKey != "clientSecret" {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = ParseConfig([]byte(`{"url":"https://hub.example.org/","serviceAccountToken":{}}`))
	if err != nil || c.ServiceAccountToken.Audience != "https://hub.example.org" {
		t.Errorf("serviceAccountToken's audience defaults to the url: %+v, %v", c.ServiceAccountToken, err)
	}
}

// TestServiceAccountToken: with serviceAccountToken, the solver shows the
// hub the projected token, read anew for each request, and no Secret is
// read; it refuses to show it to a hub it is not for, and names a token
// of the wrong audience or expired before the hub would.
func TestServiceAccountToken(t *testing.T) {
	srv, _ := startHub(t)
	hub := "http://" + srv.HubAddr().String()
	cluster := issuertest.New(t)
	ctx, admin, svc := context.Background(), managed.Caller{Principal: "test"}, srv.Managed()
	if _, err := svc.AddIssuer(ctx, admin, store.Issuer{ID: "cluster", URL: cluster.URL, Audience: hub}); err != nil {
		t.Fatal(err)
	}
	p, _ := svc.CreatePrincipal(ctx, admin, store.Principal{Kind: managed.KindApplication, Title: "webhook", Roles: []string{managed.RoleConsumer}})
	if _, err := svc.Bind(ctx, admin, managed.BindingOptions{Issuer: "cluster", Principal: p.ID, Scopes: []string{managed.RoleConsumer},
		Claims: map[string]string{"sub": managed.ServiceAccountSubject("acmehub", "acmehub")}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token")
	project := func(audience string, iat time.Time) {
		tok := cluster.Sign(t, "rsa-1", cluster.ServiceAccount("acmehub", "acmehub", audience, iat, nil))
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := newSolver(t, "", "") // its Secret is never read: it holds no token
	s.opts.TokenPath = path
	ch := challenge(hub, map[string]any{"credentialsSecretRef": nil, "serviceAccountToken": map[string]string{}})

	project(hub, time.Now())
	if err := s.Present(ch); err != nil {
		t.Fatal(err)
	}
	if got := txt(t, srv, "_acme-challenge.app.example.com"); !slices.Equal(got, []string{key}) {
		t.Fatalf("after Present the hub's DNS serves %q", got)
	}
	project(hub, time.Now()) // the kubelet's refresh: a new token, read for the cleanup
	if err := s.CleanUp(ch); err != nil {
		t.Fatal(err)
	}
	entries, _ := svc.AuditLog(ctx, store.AuditQuery{Identifier: "app.example.com"})
	if len(entries) == 0 || entries[0].Subject != "system:serviceaccount:acmehub:acmehub" || entries[0].Issuer != "cluster" {
		t.Errorf("audit: %+v", entries)
	}

	elsewhere := challenge("https://hub.attacker.example", map[string]any{"credentialsSecretRef": nil,
		"serviceAccountToken": map[string]string{"audience": hub}})
	if err := s.Present(elsewhere); err == nil || !strings.Contains(err.Error(), "shown only to the hub it is for") {
		t.Errorf("an Issuer naming another url: %v", err)
	}
	project("vault", time.Now())
	if err := s.Present(ch); err == nil || !strings.Contains(err.Error(), `is for [vault], not "`+hub+`"`) {
		t.Errorf("a token of another audience: %v", err)
	}
	project(hub, time.Now().Add(-time.Hour))
	if err := s.Present(ch); err == nil || !strings.Contains(err.Error(), "expired at") {
		t.Errorf("an expired token: %v", err)
	}
}
