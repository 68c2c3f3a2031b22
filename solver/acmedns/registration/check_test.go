// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package registration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers/rfc2136"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/internal/testutil/issuertest"
	"github.com/acmehub/acmehub/internal/testutil/providertest"
	"github.com/acmehub/acmehub/solver"
)

// resolverOf is what the check asks: the test's resolver.
func resolverOf(r *testutil.Resolver) dnsclient.Resolver {
	return dnsclient.Resolver{Servers: []string{r.Addr}, Timeout: time.Second}
}

// checkFixture is a server, two clients registered with it and their
// CNAMEs in a resolver, for TestCheck's cases.
type checkFixture struct {
	srv                      *server.Server
	api, dnsAddr, fulldomain string
	kube                     *fake.Clientset
	r                        *Registrar
	rs                       *testutil.Resolver
	cfg                      CheckConfig
}

func TestCheck(t *testing.T) {
	f := &checkFixture{}
	f.srv, f.api, _ = startServer(t, nil)
	for _, a := range f.srv.DNSAddrs() {
		if a.Network() == "udp" {
			f.dnsAddr = a.String()
		}
	}
	f.kube = fake.NewClientset()
	f.r = &Registrar{Kube: f.kube}
	res, err := f.r.Register(ctx, Config{API: f.api, Client: "shop", FQDNs: []string{"shop.example.com", "www.shop.example.com"}, Namespace: "certs"})
	if err != nil {
		t.Fatal(err)
	}
	f.fulldomain = res.Rows[0].FullDomain
	res2, _ := f.r.Register(ctx, Config{API: f.api, Client: "unrelated", FQDNs: []string{"x.example.net"}, Namespace: "certs"})
	f.rs = testutil.NewResolver(t)
	f.rs.Set("_acme-challenge.shop.example.com", f.fulldomain)
	f.rs.Set("_acme-challenge.www.shop.example.com", f.fulldomain)
	f.rs.Set("_acme-challenge.x.example.net", res2.Rows[0].FullDomain)
	f.cfg = CheckConfig{Namespace: "certs", Resolver: resolverOf(f.rs), Nameservers: []string{f.dnsAddr}, Timeout: 5 * time.Second}

	t.Run("all well", f.allWell)
	t.Run("a limit below two values per name", f.limitBelowTwoPerName)
	t.Run("no server_url: --api", f.noServerURL)
	t.Run("allowfrom refuses the check's address: no new account", f.allowFromRefuses)
	t.Run("a missing CNAME", f.missingCNAME)
	t.Run("a missing CNAME repaired by the hub", f.repairedByTheHub)
	t.Run("a name removed: its CNAME removed by the hub", f.nameRemovedThroughTheHub)
	t.Run("the probe not served", f.probeNotServed)
	t.Run("credentials refused: registered anew", f.credentialsRefused)
}

func (f *checkFixture) allWell(t *testing.T) {
	findings, err := f.r.Check(ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 3 {
		t.Fatalf("%d findings, want one per FQDN of every labelled Secret: %+v", len(findings), findings)
	}
	for _, fd := range findings {
		if len(fd.Problems) != 0 || fd.Credentials != "ok" || fd.Propagation != "ok" || fd.Delegation != "ok" {
			t.Errorf("finding %+v", fd)
		}
	}
	_, accts := secretAccounts(t, f.kube, "acme-dns-shop-client")
	if values, _ := f.srv.Accounts().Index().Lookup(accts["shop.example.com"].SubDomain); len(values) != 0 {
		t.Errorf("the probe was left in place: %q", values)
	}
}

func (f *checkFixture) limitBelowTwoPerName(t *testing.T) {
	// An account of two names kept at two values, as acme-dns's
	// registrations are.
	low, err := f.srv.Accounts().Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	acct := solver.Account{Username: low.Username, Password: low.Password, FullDomain: low.FullDomain, SubDomain: low.Subdomain, ServerURL: f.api}
	file, _ := json.Marshal(map[string]solver.Account{"a.example.org": acct, "b.example.org": acct})
	if _, err := f.kube.CoreV1().Secrets("certs").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "low"}, Data: map[string][]byte{"acmedns.json": file},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.rs.Set("_acme-challenge.a.example.org", low.FullDomain)
	f.rs.Set("_acme-challenge.b.example.org", low.FullDomain)
	c := f.cfg
	c.SecretName = "low"
	findings, err := f.r.Check(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want := "the account keeps 2 values, fewer than 4 for its 2 names: values written with /update evict each other; run acmehub register for the client, which raises the limit"
	for _, fd := range findings {
		if fd.TXTLimit != 2 || len(fd.Problems) != 1 || fd.Problems[0] != want {
			t.Errorf("finding %+v, want the limit reported", fd)
		}
	}
	if _, err := f.srv.Accounts().RaiseTXTLimit(ctx, low.Username, 4); err != nil {
		t.Fatal(err)
	}
	findings, _ = f.r.Check(ctx, c)
	for _, fd := range findings {
		if fd.TXTLimit != 4 || len(fd.Problems) != 0 {
			t.Errorf("after raising the limit: finding %+v", fd)
		}
	}
}

func (f *checkFixture) noServerURL(t *testing.T) {
	// An account file of an older registration script: no server_url.
	_, accts := secretAccounts(t, f.kube, "acme-dns-unrelated-client")
	a := accts["x.example.net"]
	a.ServerURL = ""
	file, _ := json.Marshal(map[string]solver.Account{"x.example.net": a})
	if _, err := f.kube.CoreV1().Secrets("certs").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "legacy"}, Data: map[string][]byte{"acmedns.json": file},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := f.cfg
	c.SecretName = "legacy"
	findings, err := f.r.Check(ctx, c)
	if err != nil || len(findings) != 1 || findings[0].Credentials != "unknown: the account has no server_url" ||
		!strings.Contains(findings[0].Problems[0], "no --api was given") {
		t.Errorf("without --api: %+v, %v", findings, err)
	}
	c.API = f.api
	findings, err = f.r.Check(ctx, c)
	if err != nil || len(findings) != 1 || len(findings[0].Problems) != 0 || findings[0].Credentials != "ok" || findings[0].Propagation != "ok" {
		t.Errorf("with --api: %+v, %v", findings, err)
	}
	secret, _ := f.kube.CoreV1().Secrets("certs").Get(ctx, "legacy", metav1.GetOptions{})
	if !slices.Equal(secret.Data["acmedns.json"], file) {
		t.Errorf("the Secret was rewritten: %s", secret.Data["acmedns.json"])
	}
}

func (f *checkFixture) allowFromRefuses(t *testing.T) {
	res, err := f.r.Register(ctx, Config{API: f.api, Client: "walled", FQDNs: []string{"w.example.com"}, AllowFrom: []string{"192.0.2.0/24"}, Namespace: "certs"})
	if err != nil {
		t.Fatal(err)
	}
	f.rs.Set("_acme-challenge.w.example.com", res.Rows[0].FullDomain)
	c := f.cfg
	c.SecretName = "acme-dns-walled-client"
	findings, err := f.r.Check(ctx, c)
	want := "the server takes the account's credentials but refuses its updates from this address: the account's allowfrom (192.0.2.0/24) does not admit where the check runs"
	if err != nil || len(findings) != 1 || findings[0].Credentials != "ok; updates refused from here" || !slices.Equal(findings[0].Problems, []string{want}) {
		t.Errorf("findings %+v, %v", findings, err)
	}
	if _, accts := secretAccounts(t, f.kube, "acme-dns-walled-client"); accts["w.example.com"].FullDomain != strings.TrimSuffix(res.Rows[0].FullDomain, ".") {
		t.Errorf("the account was replaced: %+v", accts)
	}
}

func (f *checkFixture) missingCNAME(t *testing.T) {
	f.rs.Set("_acme-challenge.www.shop.example.com", "elsewhere.example.org")
	defer f.rs.Set("_acme-challenge.www.shop.example.com", f.fulldomain)
	findings, err := f.r.Check(ctx, CheckConfig{Namespace: "certs", SecretName: "acme-dns-shop-client", Resolver: resolverOf(f.rs), Nameservers: []string{f.dnsAddr}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var bad []Finding
	for _, fd := range findings {
		if len(fd.Problems) > 0 {
			bad = append(bad, fd)
		}
	}
	if len(bad) != 1 || bad[0].FQDN != "www.shop.example.com" || !strings.Contains(bad[0].Delegation, "must be a CNAME to "+strings.TrimSuffix(f.fulldomain, ".")) {
		t.Errorf("findings %+v, want www.shop.example.com's delegation reported", findings)
	}
}

// companyZone starts the company's zone example.org in BIND, granting the
// names, which the resolver forwards to; and a hub holding its key (an
// rfc2136 config). It returns the hub with a token of the delegate role,
// and a Writer of the zone to look at it and change it behind the hub.
func (f *checkFixture) companyZone(t *testing.T, names ...string) (*Hub, *rfc2136.Writer) {
	hub, w := f.companyHub(t, names...)
	tok := hubtest.Token(t, hub.Managed(), managed.RoleDelegate)
	return &Hub{URL: "http://" + hub.HubAddr().String(), ClientID: tok.ClientID, Secret: tok.Secret}, w
}

// companyZoneByServiceAccount is companyZone where the hub trusts the
// cluster's issuer and binds the Jobs' ServiceAccount to the delegate
// role: the Hub holds a projected token's file, no hub token.
func (f *checkFixture) companyZoneByServiceAccount(t *testing.T, names ...string) (*Hub, *rfc2136.Writer) {
	hub, w := f.companyHub(t, names...)
	cluster, svc := issuertest.New(t), hub.Managed()
	url := "http://" + hub.HubAddr().String()
	if _, err := svc.AddIssuer(ctx, hubtest.Admin, store.Issuer{ID: "cluster", URL: cluster.URL, Audience: url}); err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePrincipal(ctx, hubtest.Admin, store.Principal{Kind: managed.KindApplication, Title: "register Job", Roles: []string{managed.RoleDelegate}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bind(ctx, hubtest.Admin, managed.BindingOptions{Issuer: "cluster", Principal: p.ID, Scopes: []string{managed.RoleDelegate},
		Claims: map[string]string{"sub": managed.ServiceAccountSubject("certs", "acmehub-register")}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(cluster.Sign(t, "rsa-1", cluster.ServiceAccount("certs", "acmehub-register", url, time.Now(), nil))), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Hub{URL: url, TokenFile: file}, w
}

func (f *checkFixture) companyHub(t *testing.T, names ...string) (*server.Server, *rfc2136.Writer) {
	bind := testutil.StartBIND(t, "example.org", names...)
	f.rs.Forward("example.org", bind.Addr)
	hub := hubtest.StartHub(t, nil)
	creds, _ := json.Marshal(map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": bind.Secret})
	if _, err := hub.Managed().PutConfig(ctx, hubtest.Admin, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{ID: "company",
		Provider: "rfc2136", Zone: "example.org", Rules: []string{".example.org"}}, Credentials: creds}); err != nil {
		t.Fatal(err)
	}
	return hub, providertest.NewWriter[*rfc2136.Writer](t, rfc2136.Name, "example.org", string(creds))
}

// repairedByTheHub: a client whose names live in a zone only a hub may
// write (BIND, through an rfc2136 config) is registered with the hub
// writing its CNAME; once that CNAME is deleted behind the hub's back, the
// check reports the drift, --repair has the hub write it again, and the
// next check finds it in place. Register and check show the hub their
// ServiceAccount's token, as the chart's Jobs do.
func (f *checkFixture) repairedByTheHub(t *testing.T) {
	h, w := f.companyZoneByServiceAccount(t, "_acme-challenge.app.example.org")
	res, err := f.r.Register(ctx, Config{API: f.api, Client: "repair", FQDNs: []string{"app.example.org"}, Namespace: "certs", Hub: h})
	if err != nil || len(res.Delegated) != 1 {
		t.Fatalf("register --hub: %+v, %v", res, err)
	}
	c := f.cfg
	c.SecretName = "acme-dns-repair-client"
	if findings, err := f.r.Check(ctx, c); err != nil || len(findings) != 1 || findings[0].Delegation != "ok" {
		t.Fatalf("the check after register --hub: %+v, %v", findings, err)
	}
	if err := w.DeleteCNAME(ctx, "example.org.", "_acme-challenge.app", strings.TrimSuffix(res.Rows[0].FullDomain, ".")); err != nil {
		t.Fatal(err)
	}
	if findings, err := f.r.Check(ctx, c); err != nil || len(findings) != 1 || len(findings[0].Problems) == 0 {
		t.Fatalf("the check after the CNAME was deleted: %+v, %v", findings, err)
	}
	c.Hub, c.Repair = h, true
	findings, err := f.r.Check(ctx, c)
	if err != nil || len(findings) != 1 || findings[0].Delegation != "repaired by the hub" || len(findings[0].Problems) != 0 ||
		!strings.Contains(findings[0].Action, "the hub wrote _acme-challenge.app.example.org. CNAME") {
		t.Fatalf("check --repair: %+v, %v", findings, err)
	}
	c.Repair = false
	if findings, err := f.r.Check(ctx, c); err != nil || len(findings) != 1 || findings[0].Delegation != "ok" {
		t.Errorf("the check after the repair: %+v, %v", findings, err)
	}
}

// nameRemovedThroughTheHub: register --hub writes the CNAMEs of a
// client's two names; run again without one of them, it takes that name
// out of the Secret and has the hub remove its CNAME, the other's kept;
// removing the client removes the last CNAME and keeps the Secret.
func (f *checkFixture) nameRemovedThroughTheHub(t *testing.T) {
	h, w := f.companyZone(t, "_acme-challenge.one.example.org", "_acme-challenge.two.example.org")
	cname := func(label string) string {
		got, err := w.CNAME(ctx, "example.org.", label)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	cfg := Config{API: f.api, Client: "pruned", FQDNs: []string{"one.example.org", "two.example.org"}, Namespace: "certs", Hub: h}
	res, err := f.r.Register(ctx, cfg)
	if err != nil || cname("_acme-challenge.one") == "" || cname("_acme-challenge.two") == "" {
		t.Fatalf("register --hub of two names: %+v, %v; CNAMEs %q %q", res, err, cname("_acme-challenge.one"), cname("_acme-challenge.two"))
	}
	cfg.FQDNs = []string{"one.example.org"}
	res, err = f.r.Register(ctx, cfg)
	if err != nil || !slices.Equal(res.Removed, []string{"two.example.org"}) || !res.Changed {
		t.Fatalf("register --hub without two.example.org: %+v, %v", res, err)
	}
	if cname("_acme-challenge.two") != "" || cname("_acme-challenge.one") == "" {
		t.Errorf("after the removal BIND holds the CNAMEs %q (one) and %q (two)", cname("_acme-challenge.one"), cname("_acme-challenge.two"))
	}
	if _, accts := secretAccounts(t, f.kube, "acme-dns-pruned-client"); len(accts) != 1 || accts["one.example.org"].Username == "" {
		t.Errorf("the Secret holds %v, want one.example.org only", accts)
	}
	if res, err := f.r.Register(ctx, cfg); err != nil || res.Changed || len(res.Removed) != 0 {
		t.Errorf("a third run changed something: %+v, %v", res, err)
	}
	// The client goes: its CNAMEs go, its Secret stays.
	if names, err := f.r.Remove(ctx, Config{Client: "pruned", Namespace: "certs", Hub: h}); err != nil || !slices.Equal(names, []string{"one.example.org"}) {
		t.Fatalf("Remove: %q, %v", names, err)
	}
	if got := cname("_acme-challenge.one"); got != "" {
		t.Errorf("after the client's removal BIND holds the CNAME %q", got)
	}
	if _, accts := secretAccounts(t, f.kube, "acme-dns-pruned-client"); len(accts) != 1 {
		t.Errorf("the client's removal took its Secret: %v", accts)
	}
}

func (f *checkFixture) probeNotServed(t *testing.T) {
	c := f.cfg
	c.SecretName, c.Nameservers, c.Timeout = "acme-dns-shop-client", []string{f.rs.Addr}, 300*time.Millisecond
	findings, err := f.r.Check(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) == 0 || !strings.Contains(findings[0].Propagation, "not served by "+f.rs.Addr) || len(findings[0].Problems) == 0 {
		t.Errorf("findings %+v", findings)
	}
}

func (f *checkFixture) credentialsRefused(t *testing.T) {
	_, accts := secretAccounts(t, f.kube, "acme-dns-shop-client")
	old := accts["shop.example.com"]
	if err := f.srv.Accounts().Deregister(ctx, old.Username); err != nil {
		t.Fatal(err)
	}
	findings, err := f.r.Check(ctx, CheckConfig{Namespace: "certs", SecretName: "acme-dns-shop-client", Resolver: resolverOf(f.rs), Nameservers: []string{f.dnsAddr}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, accts = secretAccounts(t, f.kube, "acme-dns-shop-client")
	fresh := accts["shop.example.com"]
	if fresh.Username == old.Username || accts["www.shop.example.com"].Username != fresh.Username {
		t.Fatalf("the Secret still holds the refused account: %+v", accts)
	}
	if _, err := f.srv.Accounts().Authenticate(ctx, fresh.Username, fresh.Password, nil); err != nil {
		t.Errorf("the new account does not work: %v", err)
	}
	for _, fd := range findings {
		if fd.Credentials != "refused: registered anew" || !strings.Contains(strings.Join(fd.Problems, "; "), "the CNAMEs changed to "+fresh.FullDomain) ||
			fd.Propagation != "ok" || !strings.Contains(fd.Delegation, "must be a CNAME to "+fresh.FullDomain) {
			t.Errorf("finding %+v", fd)
		}
	}
	events, _ := f.kube.CoreV1().Events("certs").List(ctx, metav1.ListOptions{})
	found := false
	for _, e := range events.Items {
		if e.Reason == "AccountCheckFailed" && e.InvolvedObject.Name == "acme-dns-shop-client" && strings.Contains(e.Message, "CNAMEs changed") {
			found = true
		}
	}
	if !found {
		t.Error("no Event on the Secret about the new CNAMEs")
	}
}

// TestCheckPlainAcmeDNS: against acme-dns (no /present, no /delete) the
// probe goes through /update and stays, which the check says, with a
// warning for an account serving several names.
func TestCheckPlainAcmeDNS(t *testing.T) {
	var (
		mu      sync.Mutex
		updates []string
	)
	acmeDNS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/update" {
			http.NotFound(w, r)
			return
		}
		var body struct{ Txt string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		updates = append(updates, body.Txt)
		mu.Unlock()
		fmt.Fprintf(w, `{"txt": %q}`, body.Txt)
	}))
	defer acmeDNS.Close()
	acct := solver.Account{Username: "3f2c1a2b-0000-4000-8000-000000000000", Password: strings.Repeat("p", 40),
		FullDomain: "d1.auth.example.org", SubDomain: "d1", AllowFrom: []string{}, ServerURL: acmeDNS.URL}
	file, _ := json.Marshal(map[string]solver.Account{"a.example.com": acct, "b.example.com": acct})
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "acme-dns-c-client", Labels: map[string]string{ManagedByLabel: "Helm", ClientLabel: "c"}},
		Data:       map[string][]byte{"acmedns.json": file},
	})
	rs := testutil.NewResolver(t)
	rs.Set("_acme-challenge.a.example.com", "d1.auth.example.org")
	rs.Set("_acme-challenge.b.example.com", "d1.auth.example.org")
	// The zone's server: serves whatever acme-dns was last given.
	zone := testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		mu.Lock()
		for _, v := range updates {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{v}})
		}
		mu.Unlock()
		w.WriteMsg(m)
	})

	r := &Registrar{Kube: kube}
	findings, err := r.Check(ctx, CheckConfig{Namespace: "certs", Resolver: resolverOf(rs),
		Nameservers: []string{zone}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 2 || len(updates) != 1 {
		t.Fatalf("%d findings, %d updates: %+v", len(findings), len(updates), findings)
	}
	for _, f := range findings {
		if len(f.Problems) != 0 || f.Credentials != "ok" || f.Propagation != "ok" || f.Delegation != "ok" ||
			!strings.Contains(f.Action, "the probe stays as one of acme-dns's two values") ||
			!strings.Contains(f.Action, "serves 2 names, whose challenges share acme-dns's two values") {
			t.Errorf("finding %+v", f)
		}
	}
}
