// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package registration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/acmehub/acmehub/hub/acmedns/client"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/solver"
)

var ctx = context.Background()

// server runs an acmehub server on loopback and counts /register calls.
func startServer(t *testing.T, mutate func(*config.Config)) (*server.Server, string, *atomic.Int32) {
	t.Helper()
	srv := hubtest.Start(t, mutate)
	var calls atomic.Int32
	api := "http://" + srv.APIAddr().String()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/register" {
			calls.Add(1)
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, api+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		var buf [64 << 10]byte
		n, _ := resp.Body.Read(buf[:])
		w.Write(buf[:n])
	}))
	t.Cleanup(proxy.Close)
	return srv, proxy.URL, &calls
}

func secretAccounts(t *testing.T, kube *fake.Clientset, name string) (*corev1.Secret, solver.Accounts) {
	t.Helper()
	s, err := kube.CoreV1().Secrets("certs").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accts, err := solver.ParseAccounts(s.Data["acmedns.json"])
	if err != nil {
		t.Fatal(err)
	}
	return s, accts
}

func TestRegister(t *testing.T) {
	srv, api, calls := startServer(t, func(c *config.Config) {
		c.AcmeHub.RegistrationUser, c.AcmeHub.RegistrationPassword = "reg", "s3cret"
	})
	kube := fake.NewClientset()
	r := &Registrar{Kube: kube}
	cfg := Config{API: api, Client: "shop", FQDNs: []string{"shop.example.com", "*.shop.example.com", "Shop.Example.com."},
		AllowFrom: []string{"192.0.2.0/24"}, BasicAuthUser: "reg", BasicAuthPassword: "s3cret", Namespace: "certs"}

	res, err := r.Register(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Registered || !res.Changed || calls.Load() != 1 {
		t.Fatalf("first run: %+v, %d /register calls", res, calls.Load())
	}
	secret, accts := secretAccounts(t, kube, "acme-dns-shop-client")
	if len(accts) != 2 {
		t.Fatalf("account file has %d names, want shop.example.com and *.shop.example.com: %v", len(accts), accts)
	}
	a, b := accts["shop.example.com"], accts["*.shop.example.com"]
	if a.Username != b.Username || a.FullDomain != b.FullDomain || a.ServerURL != api || len(a.AllowFrom) != 1 {
		t.Errorf("accounts %+v and %+v: want one account, with server_url and allowfrom", a, b)
	}
	if _, err := srv.Accounts().Authenticate(ctx, a.Username, a.Password, nil); err != nil {
		t.Fatalf("the registered credentials do not work: %v", err)
	}
	if res.TXTLimit != 4 {
		t.Errorf("txtlimit = %d, want 4 (two names, a value and a wildcard's each)", res.TXTLimit)
	}
	if secret.Labels[ManagedByLabel] != ManagedBy || !strings.Contains(secret.Annotations[CNAMEsAnnotation], "_acme-challenge.shop.example.com. CNAME "+a.FullDomain+".") {
		t.Errorf("labels %v, annotations %v", secret.Labels, secret.Annotations)
	}
	if len(res.Rows) != 2 || res.Rows[0].String() != "_acme-challenge.shop.example.com. CNAME "+a.FullDomain+"." {
		t.Errorf("rows = %v", res.Rows)
	}
	events, _ := kube.CoreV1().Events("certs").List(ctx, metav1.ListOptions{})
	if len(events.Items) != 1 || events.Items[0].Reason != "AccountRegistered" || events.Items[0].InvolvedObject.Name != "acme-dns-shop-client" {
		t.Errorf("events = %+v", events.Items)
	}

	// Again with the same input: nothing registered, nothing written.
	res, err = r.Register(ctx, cfg)
	if err != nil || res.Registered || res.Changed || calls.Load() != 1 {
		t.Fatalf("second run: %+v, %v, %d /register calls", res, err, calls.Load())
	}

	// A new name joins the client's account.
	cfg.FQDNs = append(cfg.FQDNs, "api.shop.example.com")
	res, err = r.Register(ctx, cfg)
	if err != nil || res.Registered || !res.Changed || calls.Load() != 1 {
		t.Fatalf("run with a new name: %+v, %v, %d /register calls", res, err, calls.Load())
	}
	if _, accts := secretAccounts(t, kube, "acme-dns-shop-client"); accts["api.shop.example.com"].Username != a.Username {
		t.Errorf("the new name got another account: %+v", accts["api.shop.example.com"])
	}

	// Wrong basic-auth password: an error, nothing written.
	other := cfg
	other.Client, other.BasicAuthPassword = "other", "wrong"
	if _, err := r.Register(ctx, other); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong registration password: %v", err)
	}
	if _, err := kube.CoreV1().Secrets("certs").Get(ctx, "acme-dns-other-client", metav1.GetOptions{}); err == nil {
		t.Error("a Secret was written after a refused registration")
	}
}

// TestRegisterTooManyNames: a client with more names than the server keeps
// values for is refused with the way out, first registration or not.
func TestRegisterTooManyNames(t *testing.T) {
	srv, api, calls := startServer(t, func(c *config.Config) { c.AcmeHub.MaxTXTLimit = 5 })
	kube := fake.NewClientset()
	r := &Registrar{Kube: kube}
	cfg := Config{API: api, Client: "c", FQDNs: []string{"a.example.com", "b.example.com", "c.example.com"}, Namespace: "certs"}
	want := "client c has 3 names, whose account needs 6 values (2 per name), but the server at " + api +
		" keeps at most 5 per account: split the client into clients of at most 2 names each, or raise [acmehub] max_txt_limit on the server"
	if _, err := r.Register(ctx, cfg); err == nil || err.Error() != want {
		t.Errorf("first registration: %v\nwant %s", err, want)
	}
	if calls.Load() != 1 {
		t.Errorf("%d /register calls: a refused limit must not register with a smaller one", calls.Load())
	}
	cfg.FQDNs = cfg.FQDNs[:2]
	if _, err := r.Register(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.FQDNs = append(cfg.FQDNs, "c.example.com")
	if _, err := r.Register(ctx, cfg); err == nil || err.Error() != want {
		t.Errorf("adding a third name: %v\nwant %s", err, want)
	}
	_, accts := secretAccounts(t, kube, "acme-dns-c-client")
	if _, ok := accts["c.example.com"]; ok || len(accts) != 2 {
		t.Errorf("the Secret took the name whose values the account cannot keep: %v", accts)
	}
	acct, _ := srv.Accounts().Authenticate(ctx, accts["a.example.com"].Username, accts["a.example.com"].Password, nil)
	if acct.TXTLimit != 4 {
		t.Errorf("the account keeps %d values, want 4", acct.TXTLimit)
	}
}

// TestRegisterKeepsUp: names added to a client that has an account raise
// its limit to two values per name, so that /update, which cert-manager's
// acmeDNS solver and lego use, keeps every value of a certificate for the
// three names and their wildcards; an account an older acmehub registered
// with too low a limit is raised by the next run.
func TestRegisterKeepsUp(t *testing.T) {
	srv, api, calls := startServer(t, nil)
	kube := fake.NewClientset()
	r := &Registrar{Kube: kube}
	cfg := Config{API: api, Client: "www", FQDNs: []string{"www.example.com", "example.com"}, Namespace: "certs"}
	res, err := r.Register(ctx, cfg)
	if err != nil || res.TXTLimit != 4 {
		t.Fatalf("first run: %+v, %v; want a limit of 4", res, err)
	}
	cfg.FQDNs = append(cfg.FQDNs, "api.example.com")
	res, err = r.Register(ctx, cfg)
	if err != nil || res.Registered || !res.Changed || res.TXTLimit != 6 || calls.Load() != 1 {
		t.Fatalf("adding api.example.com: %+v, %v, %d /register calls; want the account's limit raised to 6", res, err, calls.Load())
	}
	_, accts := secretAccounts(t, kube, "acme-dns-www-client")
	a := accts["api.example.com"]
	cl := client.New()
	var values []string
	for i := range 6 {
		v := strings.Repeat(string(rune('a'+i)), 43)
		values = append([]string{v}, values...)
		if status, body, err := cl.TXT(ctx, api, "/update", client.Account{Username: a.Username, Password: a.Password, Subdomain: a.SubDomain}, v); err != nil || status != 200 {
			t.Fatalf("/update %d: %d %s %v", i, status, body, err)
		}
	}
	served, err := dnsclient.Resolver{}.ServedTXT(ctx, srv.DNSAddrs()[0].String(), a.FullDomain)
	if err != nil || !slices.Equal(served, values) {
		t.Errorf("after six /update calls the server serves %q, %v; want all six %q", served, err, values)
	}

	// An account left at 4 with three names, as an older register did:
	// the next run, with nothing to add, raises it.
	if _, err := srv.Accounts().RaiseTXTLimit(ctx, a.Username, 0); err != nil {
		t.Fatal(err)
	}
	other := Config{API: api, Client: "old", FQDNs: []string{"x.example.com", "y.example.com"}, Namespace: "certs"}
	if _, err := r.Register(ctx, other); err != nil {
		t.Fatal(err)
	}
	secret, old := secretAccounts(t, kube, "acme-dns-old-client")
	old["z.example.com"] = old["x.example.com"]
	secret.Data["acmedns.json"], _ = json.Marshal(old)
	if _, err := kube.CoreV1().Secrets("certs").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	other.FQDNs = append(other.FQDNs, "z.example.com")
	res, err = r.Register(ctx, other)
	if err != nil || res.Changed || res.TXTLimit != 6 {
		t.Errorf("run over an account of three names kept at 4: %+v, %v; want the limit raised to 6 and nothing written", res, err)
	}
}

// TestRegisterPlainAcmeDNS: against acme-dns (no txtlimit in its answer) one
// account for several names is warned about.
func TestRegisterPlainAcmeDNS(t *testing.T) {
	acmeDNS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"username": "3f2c1a2b-0000-4000-8000-000000000000", "password": strings.Repeat("p", 40),
			"fulldomain": "d1.auth.example.org", "subdomain": "d1", "allowfrom": []string{}})
	}))
	defer acmeDNS.Close()
	r := &Registrar{Kube: fake.NewClientset()}
	res, err := r.Register(ctx, Config{API: acmeDNS.URL, Client: "c", FQDNs: []string{"a.example.com", "b.example.com"}, Namespace: "certs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "keeps two values per account") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

// TestRegisterAddsToPlainAcmeDNS: a name added to an account on a plain
// acme-dns (no /txtlimit) is written, with a warning that counts the values
// the account keeps.
func TestRegisterAddsToPlainAcmeDNS(t *testing.T) {
	acmeDNS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/register" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"username": "3f2c1a2b-0000-4000-8000-000000000000", "password": strings.Repeat("p", 40),
			"fulldomain": "d1.auth.example.org", "subdomain": "d1", "allowfrom": []string{}})
	}))
	defer acmeDNS.Close()
	r := &Registrar{Kube: fake.NewClientset()}
	cfg := Config{API: acmeDNS.URL, Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs"}
	if res, err := r.Register(ctx, cfg); err != nil || len(res.Warnings) != 0 {
		t.Fatalf("one name: %+v, %v", res, err)
	}
	cfg.FQDNs = append(cfg.FQDNs, "b.example.com")
	res, err := r.Register(ctx, cfg)
	if err != nil || !res.Changed || res.TXTLimit != 2 {
		t.Fatalf("adding a name: %+v, %v", res, err)
	}
	want := "the server at " + acmeDNS.URL + " keeps two values per account (acme-dns): the 2 names of client c share one account, so their challenges wait for each other"
	if !slices.Equal(res.Warnings, []string{want}) {
		t.Errorf("warnings = %q, want %q", res.Warnings, want)
	}
}

func TestRegisterErrors(t *testing.T) {
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "broken"},
		Data:       map[string][]byte{"acmedns.json": []byte("{")},
	})
	r := &Registrar{Kube: kube}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs"}, "no API URL"},
		{Config{API: "http://127.0.0.1:1", FQDNs: []string{"a.example.com"}, Namespace: "certs"}, "no client name"},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.*.example.com"}, Namespace: "certs"}, `FQDN "a.*.example.com" is not a domain name`},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs", BasicAuthUser: "u"}, "needs a password"},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs", SecretName: "broken"}, "secret certs/broken key acmedns.json: not a JSON map"},
		{Config{API: "http://127.0.0.1:1", Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs"}, "POST http://127.0.0.1:1/register"},
	} {
		if _, err := r.Register(ctx, tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Register(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestRegisterReplacesALostAccount: a Secret kept while the server lost its
// database (or the account was deregistered) holds credentials the server
// no longer takes. The next run registers anew at once, rewrites every
// name of the dead account, keeps the Secret's labels (a Secret the chart
// made stays Helm's, for the next install to adopt), and says so: in the
// result and in a Warning Event that names the old account.
func TestRegisterReplacesALostAccount(t *testing.T) {
	srv, api, calls := startServer(t, nil)
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "acme-dns-shop-client",
		Labels: map[string]string{ManagedByLabel: "Helm", ClientLabel: "shop"}}})
	r := &Registrar{Kube: kube}
	cfg := Config{API: api, Client: "shop", FQDNs: []string{"shop.example.com", "www.shop.example.com"}, Namespace: "certs"}
	if _, err := r.Register(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	_, before := secretAccounts(t, kube, "acme-dns-shop-client")
	old := before["shop.example.com"]
	if err := srv.Accounts().Deregister(ctx, old.Username); err != nil {
		t.Fatal(err)
	}

	res, err := r.Register(ctx, cfg)
	if err != nil {
		t.Fatalf("run over a lost account: %v", err)
	}
	if !res.Registered || !res.Changed || res.Replaced != old.FullDomain || calls.Load() != 2 {
		t.Fatalf("run over a lost account: %+v, %d /register calls; want a new account replacing %s", res, calls.Load(), old.FullDomain)
	}
	secret, after := secretAccounts(t, kube, "acme-dns-shop-client")
	fresh := after["shop.example.com"]
	if fresh.Username == old.Username || after["www.shop.example.com"].Username != fresh.Username || len(after) != 2 {
		t.Errorf("accounts after the run: %+v; want both names on one new account", after)
	}
	if _, err := srv.Accounts().Authenticate(ctx, fresh.Username, fresh.Password, nil); err != nil {
		t.Errorf("the new credentials do not work: %v", err)
	}
	if secret.Labels[ManagedByLabel] != "Helm" || secret.Labels[ClientLabel] != "shop" {
		t.Errorf("labels %v: want the chart's managed-by kept beside the client's label", secret.Labels)
	}
	if !strings.Contains(secret.Annotations[CNAMEsAnnotation], "CNAME "+fresh.FullDomain+".") {
		t.Errorf("CNAMEs annotation %q does not name the new account", secret.Annotations[CNAMEsAnnotation])
	}
	events, _ := kube.CoreV1().Events("certs").List(ctx, metav1.ListOptions{})
	var replaced []corev1.Event
	for _, e := range events.Items {
		if e.Reason == "AccountReplaced" {
			replaced = append(replaced, e)
		}
	}
	if len(replaced) != 1 || replaced[0].Type != corev1.EventTypeWarning || !strings.Contains(replaced[0].Message, old.FullDomain) ||
		!strings.Contains(replaced[0].Message, fresh.FullDomain) {
		t.Errorf("events %+v: want one Warning AccountReplaced naming %s and %s", replaced, old.FullDomain, fresh.FullDomain)
	}

	// The run after that changes nothing.
	if res, err := r.Register(ctx, cfg); err != nil || res.Changed || res.Registered || res.Replaced != "" {
		t.Errorf("third run: %+v, %v; want nothing done", res, err)
	}
}

// TestRegisterWaitsForTheServer: a registration Job installed with its
// server finds it still starting (/health 503, then up) and waits for it
// instead of failing; without Wait it asks at once.
func TestRegisterWaitsForTheServer(t *testing.T) {
	_, api, _ := startServer(t, nil)
	var healths atomic.Int32
	target, _ := url.Parse(api)
	forward := httputil.NewSingleHostReverseProxy(target)
	starting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && healths.Add(1) <= 2 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	defer starting.Close()
	r := &Registrar{Kube: fake.NewClientset()}
	cfg := Config{API: starting.URL, Client: "c", FQDNs: []string{"a.example.com"}, Namespace: "certs", Wait: time.Minute}
	res, err := r.Register(ctx, cfg)
	if err != nil || !res.Registered {
		t.Fatalf("Register while the server starts: %+v, %v", res, err)
	}
	if n := healths.Load(); n != 3 {
		t.Errorf("/health asked %d times, want 3: twice starting, once up", n)
	}
	cfg.Client, cfg.Wait = "d", 0
	healths.Store(0)
	if _, err := r.Register(ctx, cfg); err != nil || healths.Load() != 0 {
		t.Errorf("without Wait: %v, /health asked %d times", err, healths.Load())
	}
}
