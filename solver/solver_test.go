// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package solver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/internal/testutil"
)

const accountFile = `{
  "example.com": {"username":"u1","password":"p1","fulldomain":"s1.auth.example.org","subdomain":"s1","allowfrom":[]},
  "*.Wild.Example.com.": {"username":"u2","password":"p2","fulldomain":"S2.auth.example.org.","subdomain":"s2","allowfrom":[],"server_url":"https://acme-dns.example.org"}
}`

func TestCandidates(t *testing.T) {
	for name, want := range map[string][]string{
		"app.example.com":   {"app.example.com", "*.app.example.com", "example.com", "com"},
		"*.App.Example.COM": {"app.example.com", "*.app.example.com", "example.com", "com"},
		"example.com.":      {"example.com", "*.example.com", "com"},
	} {
		if got := Candidates(name); !slices.Equal(got, want) {
			t.Errorf("Candidates(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	accts, err := ParseAccounts([]byte(accountFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dnsName, user, found string
	}{
		{"example.com", "u1", "example.com"},
		{"app.example.com", "u1", "example.com"},         // parent domain
		{"wild.example.com", "u2", "*.wild.example.com"}, // the wildcard's bare name, as cert-manager sends it
		{"deep.wild.example.com", "u1", "example.com"},
	}
	for _, tt := range tests {
		acct, found, err := accts.Lookup(tt.dnsName)
		if err != nil || acct.Username != tt.user || found != tt.found {
			t.Errorf("Lookup(%s) = %s via %s, %v; want %s via %s", tt.dnsName, acct.Username, found, err, tt.user, tt.found)
		}
	}
	if acct, _, _ := accts.Lookup("wild.example.com"); acct.FullDomain != "s2.auth.example.org" || acct.ServerURL == "" {
		t.Errorf("account fields not kept or normalised: %+v", acct)
	}
	_, _, err = accts.Lookup("other.org")
	if err == nil || !strings.Contains(err.Error(), "tried other.org, *.other.org, org") {
		t.Errorf("error %v does not list the names tried", err)
	}
}

func TestParseAccountsErrors(t *testing.T) {
	for data, want := range map[string]string{
		`not json`:       "not a JSON map",
		`{"a.com": "x"}`: "not a JSON map",
		`{"a.com": {"username":"u","password":"p"}}`:                 `account for "a.com" lacks username, password or subdomain`,
		`{"a.com": {"username":"u","password":"p","subdomain":"s"}}`: `account for "a.com" lacks fulldomain`,
	} {
		if _, err := ParseAccounts([]byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAccounts(%s) = %v, want %q", data, err, want)
		}
	}
}

func TestSecrets(t *testing.T) {
	client := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "acme-dns"},
		Data:       map[string][]byte{"acmedns.json": []byte(accountFile)},
	})
	var (
		mu        sync.Mutex
		selectors []string
	)
	client.PrependWatchReactor("secrets", func(action k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		selectors = append(selectors, action.(k8stesting.WatchActionImpl).WatchRestrictions.Fields.String())
		return false, nil, nil
	})
	s, ctx := secretsOf(t, client)

	data, err := s.Key(ctx, "team-a", "acme-dns", "acmedns.json")
	if err != nil || string(data) != accountFile {
		t.Fatalf("Key = %q, %v", data, err)
	}
	for _, tt := range []struct{ ns, name, key, want string }{
		{"team-a", "acme-dns", "other.json", "secret team-a/acme-dns has no key other.json"},
		{"team-a", "missing", "acmedns.json", "secret team-a/missing not found"},
		{"team-b", "acme-dns", "acmedns.json", "secret team-b/acme-dns not found"},
	} {
		if _, err := s.Key(ctx, tt.ns, tt.name, tt.key); err == nil || err.Error() != tt.want {
			t.Errorf("Key(%s/%s %s) = %v, want %q", tt.ns, tt.name, tt.key, err, tt.want)
		}
	}

	// A Secret created later is seen through its watch.
	client.CoreV1().Secrets("team-b").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "acme-dns"},
		Data:       map[string][]byte{"acmedns.json": []byte("{}")},
	}, metav1.CreateOptions{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := s.Key(ctx, "team-b", "acme-dns", "acmedns.json"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a new Secret was not seen within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// One watch per Secret read, each selecting that Secret by name.
	if got := s.Watched(); !testutil.SameElements(got, []string{"team-a/acme-dns", "team-a/missing", "team-b/acme-dns"}) {
		t.Errorf("watched %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(selectors) < 3 {
		t.Errorf("%d watches started, want one per Secret", len(selectors))
	}
	for _, sel := range selectors {
		if !strings.HasPrefix(sel, "metadata.name=") {
			t.Errorf("a watch without a name selector: %q", sel)
		}
	}
}

// TestSecretWatchesExpire: a watch unused for the idle period stops; the
// next read starts it again.
func TestSecretWatchesExpire(t *testing.T) {
	client := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "acme-dns"},
		Data:       map[string][]byte{"acmedns.json": []byte(accountFile)},
	})
	stop := make(chan struct{})
	defer close(stop)
	s := NewSecretsForClient(client, stop, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Key(ctx, "team-a", "acme-dns", "acmedns.json"); err != nil {
		t.Fatal(err)
	}
	for len(s.Watched()) != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("an idle watch did not stop")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := s.Key(ctx, "team-a", "acme-dns", "acmedns.json"); err != nil || len(s.Watched()) != 1 {
		t.Fatalf("read after expiry: %v, watched %q", err, s.Watched())
	}
}

// TestSecretForbidden: a Secret the webhook may not read fails at once with
// an error saying so, not after the challenge's timeout.
func TestSecretForbidden(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("RBAC: access denied"))
	})
	s, ctx := secretsOf(t, client)
	_, err := s.Key(ctx, "team-a", "other", "acmedns.json")
	if err == nil || !strings.Contains(err.Error(), "secret team-a/other: the webhook's service account may not read it") {
		t.Fatalf("Key = %v", err)
	}
	if ctx.Err() != nil {
		t.Error("the refusal waited for the timeout")
	}
}

// fakeResolver answers TXT questions for _acme-challenge names from a table
// of CNAMEs, as a recursive resolver returns a chain.
func fakeResolver(t *testing.T, cnames map[string]string) string {
	t.Helper()
	return testutil.DNS(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		name := strings.ToLower(r.Question[0].Name)
		for i := 0; i < 10; i++ {
			target, ok := cnames[name]
			if !ok {
				break
			}
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target})
			name = target
		}
		if len(m.Answer) == 0 {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
}

func TestCheckDelegation(t *testing.T) {
	addr := fakeResolver(t, map[string]string{
		"_acme-challenge.good.example.com.":    "3f2c.auth.example.org.",
		"_acme-challenge.chain.example.com.":   "_acme-challenge.central.example.net.",
		"_acme-challenge.central.example.net.": "3f2c.auth.example.org.",
		"_acme-challenge.wrong.example.com.":   "9999.auth.example.org.",
	})
	r := dnsclient.Resolver{Servers: []string{addr}, Timeout: time.Second}
	ctx := context.Background()
	tests := []struct {
		dnsName string
		want    string // "" for delegated
	}{
		{"good.example.com", ""},
		{"*.good.example.com", ""},
		{"chain.example.com", ""},
		{"wrong.example.com", "_acme-challenge.wrong.example.com must be a CNAME to 3f2c.auth.example.org (found: 9999.auth.example.org)"},
		{"missing.example.com", "_acme-challenge.missing.example.com must be a CNAME to 3f2c.auth.example.org (found: none)"},
	}
	for _, tt := range tests {
		err := CheckDelegation(ctx, r, tt.dnsName, "3f2c.auth.example.org")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.dnsName, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%s: %v, want %q", tt.dnsName, err, tt.want)
		}
		var de *DelegationError
		if err != nil && !errors.As(err, &de) {
			t.Errorf("%s: error is not a *DelegationError", tt.dnsName)
		}
	}
	dead := dnsclient.Resolver{Servers: []string{"127.0.0.1:1"}, Timeout: 200 * time.Millisecond}
	if err := CheckDelegation(ctx, dead, "good.example.com", "3f2c.auth.example.org"); err == nil || !strings.Contains(err.Error(), "found: no answer") {
		t.Errorf("unreachable resolver: %v", err)
	}
}

func TestParseDelegationMode(t *testing.T) {
	for in, want := range map[string]DelegationMode{"off": DelegationOff, "WARN": DelegationWarn, "enforce": DelegationEnforce} {
		if got, err := ParseDelegationMode(in); err != nil || got != want {
			t.Errorf("%s: %v, %v", in, got, err)
		}
	}
	if _, err := ParseDelegationMode("strict"); err == nil || !strings.Contains(err.Error(), "off, warn or enforce") {
		t.Errorf("strict: %v", err)
	}
}

// secretsOf is a Secret reader over client, stopped with the test, and a
// context of ten seconds for its reads.
func secretsOf(t *testing.T, client *fake.Clientset) (*Secrets, context.Context) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return NewSecretsForClient(client, stop, time.Hour), ctx
}
