// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/solver"
)

const (
	keyA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	keyB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		raw  string
		want Config
		err  string
	}{
		{`{"accountSecretRef":{"name":"acme"}}`, Config{AccountSecretRef: SecretKeyRef{Name: "acme", Key: DefaultKey}}, ""},
		{`{"host":"https://acme-dns.example.org","accountSecretRef":{"name":"acme","key":"my.json"},"delegationCheck":"enforce"}`,
			Config{Host: "https://acme-dns.example.org", AccountSecretRef: SecretKeyRef{Name: "acme", Key: "my.json"}, DelegationCheck: "enforce"}, ""},
		{``, Config{}, "the webhook config is empty"},
		{`{}`, Config{}, "no accountSecretRef.name"},
		{`{"accountSecretRef":{"name":"a"},"hots":"x"}`, Config{}, `unknown field "hots"`},
		{`{"accountSecretRef":"a"}`, Config{}, "decoding the webhook config"},
		{`{"accountSecretRef":{"name":"a"},"delegationCheck":"strict"}`, Config{}, "must be off, warn or enforce"},
	}
	for _, tt := range tests {
		got, err := ParseConfig([]byte(tt.raw))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseConfig(%s) = %v, want error %q", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseConfig(%s) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

// env is an acmehub server on loopback with one registered account, and a
// fake cluster holding that account's Secret.
type env struct {
	srv    *server.Server
	svc    *accounts.Service
	api    string
	reg    accounts.Registration
	client *fake.Clientset
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := hubtest.Start(t, nil)
	reg, err := srv.Accounts().Register(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := json.Marshal(map[string]solver.Account{"example.com": {
		Username: reg.Username, Password: reg.Password, FullDomain: reg.FullDomain, SubDomain: reg.Subdomain,
	}})
	client := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "acme-dns"},
		Data:       map[string][]byte{DefaultKey: file},
	})
	return &env{srv: srv, svc: srv.Accounts(), api: "http://" + srv.APIAddr().String(), reg: reg, client: client}
}

func (e *env) solver(t testing.TB, opts Options) *Solver {
	t.Helper()
	if opts.DelegationCheck == "" {
		opts.DelegationCheck = solver.DelegationOff
	}
	s := New(opts)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	s.cluster.Use(e.client, stop, solver.DefaultSecretIdle)
	return s
}

func challenge(dnsName, key string, cfg any) *whapi.ChallengeRequest {
	raw, _ := json.Marshal(cfg)
	return &whapi.ChallengeRequest{
		Action: whapi.ChallengeActionPresent, Type: "dns-01", DNSName: dnsName, Key: key,
		ResourceNamespace: "team-a", ResolvedFQDN: "_acme-challenge." + dnsName + ".",
		Config: &apiextensionsv1.JSON{Raw: raw},
	}
}

func (e *env) values(t *testing.T) []string {
	t.Helper()
	v, ok := e.svc.Index().Lookup(e.reg.Subdomain)
	if !ok {
		t.Fatal("account missing")
	}
	return v
}

// TestWildcardAndApex presents the challenges of a certificate for
// example.com and *.example.com, which cert-manager both sends as DNSName
// example.com, through each backend: both values coexist, and cleaning one up
// keeps the other.
func TestWildcardAndApex(t *testing.T) {
	e := newEnv(t)
	backends := map[string]map[string]any{
		"embedded": {"accountSecretRef": map[string]string{"name": "acme-dns"}},
		"remote":   {"host": e.api + "/", "accountSecretRef": map[string]string{"name": "acme-dns"}},
	}
	for name, cfg := range backends {
		t.Run(name, func(t *testing.T) {
			s := e.solver(t, Options{Embedded: e.svc})
			apex, wild := challenge("example.com", keyA, cfg), challenge("example.com", keyB, cfg)
			for _, ch := range []*whapi.ChallengeRequest{apex, wild, apex} { // retries are harmless
				if err := s.Present(ch); err != nil {
					t.Fatalf("Present: %v", err)
				}
			}
			if got := e.values(t); !testutil.SameElements(got, []string{keyA, keyB}) {
				t.Fatalf("after Present: %q", got)
			}
			for range 2 { // cert-manager may clean up twice
				if err := s.CleanUp(wild); err != nil {
					t.Fatalf("CleanUp: %v", err)
				}
				if got := e.values(t); !slices.Equal(got, []string{keyA}) {
					t.Fatalf("after cleaning up one: %q", got)
				}
			}
			if err := s.CleanUp(apex); err != nil {
				t.Fatal(err)
			}
			if got := e.values(t); len(got) != 0 {
				t.Fatalf("after cleaning up both: %q", got)
			}
		})
	}
}

// TestPlainAcmeDNS: a remote without POST /delete (acme-dns) gets the update,
// and cleaning up is a logged no-op.
func TestPlainAcmeDNS(t *testing.T) {
	e := newEnv(t)
	var updates []string
	acmeDNS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prefix/update" {
			http.NotFound(w, r)
			return
		}
		var body struct{ Subdomain, Txt string }
		json.NewDecoder(r.Body).Decode(&body)
		if r.Header.Get("X-Api-User") != e.reg.Username || r.Header.Get("X-Api-Key") != e.reg.Password || body.Subdomain != e.reg.Subdomain {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error": "forbidden"}`)
			return
		}
		updates = append(updates, body.Txt)
		fmt.Fprintf(w, `{"txt": %q}`, body.Txt)
	}))
	defer acmeDNS.Close()
	s := e.solver(t, Options{})
	ch := challenge("example.com", keyA, map[string]any{"host": acmeDNS.URL + "/prefix", "accountSecretRef": map[string]string{"name": "acme-dns"}})
	if err := s.Present(ch); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(updates, []string{keyA}) {
		t.Errorf("updates = %q", updates)
	}
	if err := s.CleanUp(ch); err != nil {
		t.Errorf("CleanUp against acme-dns: %v, want a no-op", err)
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	// A second Secret whose account the server does not know.
	bogus, _ := json.Marshal(map[string]solver.Account{"example.com": {
		Username: "3f2c1a2b-0000-4000-8000-000000000000", Password: accounts.NewPassword(),
		FullDomain: e.reg.FullDomain, SubDomain: e.reg.Subdomain,
	}})
	e.client.CoreV1().Secrets("team-a").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "bogus"},
		Data:       map[string][]byte{DefaultKey: bogus, "broken.json": []byte("{")},
	}, metav1.CreateOptions{})

	ref := func(name, key string) map[string]string { return map[string]string{"name": name, "key": key} }
	tests := []struct {
		name    string
		opts    Options
		dnsName string
		cfg     map[string]any
		want    string
	}{
		{"no host, no embedded server", Options{}, "example.com",
			map[string]any{"accountSecretRef": ref("acme-dns", "")}, "has no host and this webhook runs no embedded acmehub server"},
		{"missing secret", Options{Embedded: e.svc}, "example.com",
			map[string]any{"accountSecretRef": ref("nope", "")}, "secret team-a/nope not found"},
		{"missing key", Options{Embedded: e.svc}, "example.com",
			map[string]any{"accountSecretRef": ref("acme-dns", "other.json")}, "secret team-a/acme-dns has no key other.json"},
		{"broken account file", Options{Embedded: e.svc}, "example.com",
			map[string]any{"accountSecretRef": ref("bogus", "broken.json")}, "secret team-a/bogus key broken.json: not a JSON map"},
		{"no account for the name", Options{Embedded: e.svc}, "example.net",
			map[string]any{"accountSecretRef": ref("acme-dns", "")}, "secret team-a/acme-dns key acmedns.json: no account for example.net (tried example.net, *.example.net, net)"},
		{"unknown credentials, embedded", Options{Embedded: e.svc}, "example.com",
			map[string]any{"accountSecretRef": ref("bogus", "")}, "refuses the credentials of account 3f2c1a2b-0000-4000-8000-000000000000"},
		{"unknown credentials, remote", Options{}, "example.com",
			map[string]any{"host": e.api, "accountSecretRef": ref("bogus", "")}, "refused to present the value of " + e.reg.FullDomain},
		{"unreachable remote", Options{}, "example.com",
			map[string]any{"host": "http://127.0.0.1:1", "accountSecretRef": ref("acme-dns", "")}, "POST http://127.0.0.1:1/present"},
		{"delegation enforced", Options{Embedded: e.svc, Resolver: dnsclient.Resolver{Servers: []string{"127.0.0.1:1"}, Timeout: 100 * time.Millisecond}},
			"example.com", map[string]any{"accountSecretRef": ref("acme-dns", ""), "delegationCheck": "enforce"},
			"_acme-challenge.example.com must be a CNAME to " + e.reg.FullDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.solver(t, tt.opts)
			err := s.Present(challenge(tt.dnsName, keyA, tt.cfg))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Present = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("not initialised", func(t *testing.T) {
		err := New(Options{}).Present(challenge("example.com", keyA, map[string]any{"accountSecretRef": ref("acme-dns", "")}))
		if err == nil || !strings.Contains(err.Error(), "not initialised") {
			t.Errorf("Present = %v", err)
		}
	})
	t.Run("delegation warned", func(t *testing.T) {
		s := e.solver(t, Options{Embedded: e.svc, DelegationCheck: solver.DelegationWarn,
			Resolver: dnsclient.Resolver{Servers: []string{"127.0.0.1:1"}, Timeout: 100 * time.Millisecond}})
		if err := s.Present(challenge("example.com", keyA, map[string]any{"accountSecretRef": ref("acme-dns", "")})); err != nil {
			t.Errorf("warn mode failed the challenge: %v", err)
		}
	})
}

func TestInitializeTwice(t *testing.T) {
	s := New(Options{})
	for range 2 {
		stop := make(chan struct{})
		if err := s.Initialize(&restConfig, stop); err != nil {
			t.Fatal(err)
		}
		close(stop)
	}
	if s.cluster.Secrets() == nil {
		t.Error("no Secret reader after Initialize")
	}
}

// restConfig points nowhere: Initialize only builds clients.
var restConfig = rest.Config{Host: "https://127.0.0.1:1"}
