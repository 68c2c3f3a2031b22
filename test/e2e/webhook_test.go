// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// End to end through a real kube-apiserver's aggregation layer: the acmehub
// webhook binary, with its embedded server, is registered as an APIService
// and driven as cert-manager's controller drives webhook solvers. Needs
// $TEST_ASSET_ETCD, $TEST_ASSET_KUBE_APISERVER, $TEST_ASSET_KUBECTL
// (`make test-assets`); run with `make test-e2e`.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmwebhook "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/webhook"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/kubetest"
	"github.com/acmehub/acmehub/solver"
	"github.com/acmehub/acmehub/solver/acmedns/registration"
)

const (
	groupName = "acme.acmehub.test"
	webhookNS = "acmehub"
	teamNS    = "team-a"
	// A key authorisation digest, as cert-manager computes them.
	e2eKey = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
)

// webhookE2E is the webhook binary, with its embedded server, behind a
// control plane's aggregation layer, and what its cases share.
type webhookE2E struct {
	env     *envtest.Environment
	admin   *rest.Config
	ctx     context.Context
	kube    kubernetes.Interface
	dir     string
	webhook *testutil.Process
	acct    solver.Account        // the account of app.example.com
	good    *apiextensionsv1.JSON // an Issuer config naming its Secret
	cm      *cmwebhook.Webhook    // cert-manager's controller
	regKC   string                // the kubeconfig of register and check
}

func TestE2EAggregatedWebhook(t *testing.T) {
	e := startWebhookE2E(t)
	t.Run("Present then CleanUp through the aggregated API", e.presentAndCleanUp)
	t.Run("a user without RBAC is refused", e.strangerRefused)
	t.Run("a bad config is a failed ChallengeResponse, not a crash", e.badConfigs)
	t.Run("a Secret outside the webhook's resourceNames is refused clearly", e.secretOutsideResourceNames)
	t.Run("memory stays flat with 1,000 unrelated Secrets in the namespace", e.unrelatedSecrets)
	e.regKC = e.registrarKubeconfig(t)
	t.Run("acmehub register writes the account Secret the webhook uses; acmehub check finds the missing CNAME", e.registerAndCheck)
	t.Run("a standalone acmehub server: basic auth on /register, a failed propagation, credentials made invalid", e.standaloneServer)
	t.Run("the hub solver, through the aggregated API, to a managed-challenge hub", e.hubSolver)
	t.Run("SIGTERM closes the embedded server and exits 0", e.sigterm)
}

// startWebhookE2E starts the control plane, grants what the chart grants
// to three identities (the webhook, cert-manager's controller, a
// stranger), runs the real webhook binary as the unprivileged user of a
// container, registers its APIService, and stores an account its embedded
// server registered as a registration Job stores it.
func startWebhookE2E(t testing.TB) *webhookE2E {
	e := &webhookE2E{dir: kubetest.WorldReadableDir(t)}
	e.env, e.admin = kubetest.StartAggregatingControlPlane(t, e.dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	e.ctx, e.kube = ctx, kubernetes.NewForConfigOrDie(e.admin)
	webhookUser := addUser(t, e.env, e.admin, "acmehub-webhook")
	grantRBAC(t, ctx, e.kube)
	kubeconfig := writeKubeconfig(t, webhookUser, filepath.Join(e.dir, "webhook.kubeconfig"))

	port := testutil.FreeTCPPort(t)
	cmd := &exec.Cmd{Dir: e.dir, Env: []string{"GROUP_NAME=" + groupName}}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	e.webhook = testutil.StartCmd(t, cmd, "webhook",
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--cert-dir", filepath.Join(e.dir, "certs"),
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--server-domain", "auth.example.org", "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(e.dir, "data", "acmehub.db"), "--server-log-format", "json",
		"--delegation-check", "off")
	if err := e.webhook.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	e.createNamespace(t, webhookNS)
	kubetest.RegisterAPIService(t, ctx, e.admin, e.kube, groupName, webhookNS, port)

	e.acct = register(t, e.webhook.API)
	file, _ := json.Marshal(map[string]solver.Account{"app.example.com": e.acct})
	e.createNamespace(t, teamNS)
	kubetest.MustCreate(t, func() error {
		_, err := e.kube.CoreV1().Secrets(teamNS).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-dns-app"},
			Data:       map[string][]byte{"acmedns.json": file},
		}, metav1.CreateOptions{})
		return err
	})
	e.good = issuerConfig(map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-app", "key": "acmedns.json"}})
	e.cm = e.solverFor(t, addUser(t, e.env, e.admin, "cert-manager"))
	return e
}

func (e *webhookE2E) createNamespace(t testing.TB, name string) {
	kubetest.MustCreate(t, func() error {
		_, err := e.kube.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	})
}

// writeKubeconfig writes user's kubeconfig at path, readable by all.
func writeKubeconfig(t testing.TB, user *envtest.AuthenticatedUser, path string) string {
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, kc, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// issuerConfig is an Issuer's webhook block for the solver acme-dns.
func issuerConfig(config map[string]any) *apiextensionsv1.JSON {
	raw, _ := json.Marshal(map[string]any{"groupName": groupName, "solverName": "acme-dns", "config": config})
	return &apiextensionsv1.JSON{Raw: raw}
}

// request is a challenge for app.example.com with cfg.
func request(cfg *apiextensionsv1.JSON) *whapi.ChallengeRequest {
	return &whapi.ChallengeRequest{
		UID: "e2e-1", Type: "dns-01", DNSName: "app.example.com", Key: e2eKey,
		ResourceNamespace: teamNS, ResolvedFQDN: "_acme-challenge.app.example.com.", ResolvedZone: "example.com.",
		Config: cfg,
	}
}

// solverFor is cert-manager's own client for webhook solvers, as user.
func (e *webhookE2E) solverFor(t testing.TB, user *envtest.AuthenticatedUser) *cmwebhook.Webhook {
	w := &cmwebhook.Webhook{}
	if err := w.Initialize(user.Config(), e.ctx.Done()); err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *webhookE2E) presentAndCleanUp(t *testing.T) {
	if err := e.cm.Present(request(e.good)); err != nil {
		t.Fatalf("Present: %v", err)
	}
	if got := testutil.TXT(t, e.webhook.DNSUDP, e.acct.FullDomain); !slices.Equal(got, []string{e2eKey}) {
		t.Fatalf("TXT %s after Present = %q", e.acct.FullDomain, got)
	}
	for range 2 { // cert-manager may clean up twice
		if err := e.cm.CleanUp(request(e.good)); err != nil {
			t.Fatalf("CleanUp: %v", err)
		}
	}
	if got := testutil.TXT(t, e.webhook.DNSUDP, e.acct.FullDomain); len(got) != 0 {
		t.Fatalf("TXT %s after CleanUp = %q", e.acct.FullDomain, got)
	}
}

func (e *webhookE2E) strangerRefused(t *testing.T) {
	err := e.solverFor(t, addUser(t, e.env, e.admin, "mallory")).Present(request(e.good))
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("Present as mallory = %v, want forbidden", err)
	}
	if got := testutil.TXT(t, e.webhook.DNSUDP, e.acct.FullDomain); len(got) != 0 {
		t.Fatalf("a refused request changed DNS: %q", got)
	}
}

func (e *webhookE2E) badConfigs(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"accountSecretRef":{"name":"missing"}}`:                                 "secret team-a/missing not found",
		`{"acountSecretRef":{"name":"acme-dns-app"}}`:                             `unknown field "acountSecretRef"`,
		`{"accountSecretRef":{"name":"acme-dns-app"}, "delegationCheck":"maybe"}`: "must be off, warn or enforce",
	} {
		err := e.cm.Present(request(&apiextensionsv1.JSON{Raw: []byte(`{"groupName":"` + groupName + `","solverName":"acme-dns","config":` + cfg + `}`)}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: Present = %v, want %q", cfg, err, want)
		}
	}
	select {
	case <-e.webhook.Done():
		t.Fatalf("the webhook exited:\n%s", e.webhook.Output())
	default:
	}
	if err := e.cm.Present(request(e.good)); err != nil {
		t.Errorf("Present after bad requests: %v", err)
	}
}

func (e *webhookE2E) secretOutsideResourceNames(t *testing.T) {
	cfg := issuerConfig(map[string]any{"accountSecretRef": map[string]string{"name": "someone-elses"}})
	err := e.cm.Present(request(cfg))
	if err == nil || !strings.Contains(err.Error(), "secret team-a/someone-elses: the webhook's service account may not read it") {
		t.Fatalf("Present = %v", err)
	}
}

func (e *webhookE2E) unrelatedSecrets(t *testing.T) {
	before := rssKiB(t, e.webhook.Cmd.Process.Pid)
	payload := map[string][]byte{"blob": make([]byte, 32<<10)}
	for i := range 1000 {
		if _, err := e.kube.CoreV1().Secrets(teamNS).Create(e.ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%04d", i)}, Data: payload,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if err := e.cm.Present(request(e.good)); err != nil {
			t.Fatal(err)
		}
	}
	after := rssKiB(t, e.webhook.Cmd.Process.Pid)
	t.Logf("webhook RSS: %d KiB before, %d KiB after 1,000 unrelated Secrets of 32 KiB (31 MiB) appeared", before, after)
	if after-before > 16<<10 {
		t.Errorf("RSS grew by %d KiB: unrelated Secrets are held", after-before)
	}
}

// registrarKubeconfig is the identity of a registration Job and check
// CronJob: Secrets and Events of its namespace.
func (e *webhookE2E) registrarKubeconfig(t *testing.T) string {
	registrar := addUser(t, e.env, e.admin, "acmehub-register")
	kubetest.MustCreate(t, func() error {
		_, err := e.kube.RbacV1().Roles(teamNS).Create(e.ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-register"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update"}},
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
			},
		}, metav1.CreateOptions{})
		return err
	})
	kubetest.MustCreate(t, func() error {
		_, err := e.kube.RbacV1().RoleBindings(teamNS).Create(e.ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-register"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "acmehub-register"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "acmehub-register"}},
		}, metav1.CreateOptions{})
		return err
	})
	return writeKubeconfig(t, registrar, filepath.Join(e.dir, "register.kubeconfig"))
}

// registrations is the server's count of accounts registered, as its
// metrics line.
func (e *webhookE2E) registrations(t *testing.T) string {
	resp, err := http.Get(e.webhook.API + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, `acmehub_api_requests_total{code="201",route="/register"}`) {
			return line
		}
	}
	return ""
}

// registerAndCheck: register writes the Secret once (a second run
// registers nothing), the webhook presents with it; check finds the
// missing CNAME.
func (e *webhookE2E) registerAndCheck(t *testing.T) {
	run := func() string {
		p := testutil.StartCmd(t, &exec.Cmd{Dir: e.dir}, "register", "--kubeconfig", e.regKC, "--api", e.webhook.API,
			"--client", "shop", "--fqdn", "shop.example.com", "--fqdn", "*.shop.example.com", "--namespace", teamNS)
		if code := p.Wait(30 * time.Second); code != 0 {
			t.Fatalf("acmehub register: exit %d:\n%s", code, p.Output())
		}
		return p.Output()
	}
	before := e.registrations(t)
	if out := run(); !strings.Contains(out, "Registered a new account") || !strings.Contains(out, "_acme-challenge.shop.example.com. CNAME ") {
		t.Fatalf("first run:\n%s", out)
	}
	once := e.registrations(t)
	if once == before {
		t.Fatal("the first run did not register")
	}
	if out := run(); !strings.Contains(out, "is up to date") {
		t.Fatalf("second run:\n%s", out)
	}
	if e.registrations(t) != once {
		t.Error("the second run registered again")
	}
	shopKey := "c2hvcC1rZXktYXV0aG9yaXNhdGlvbi1kaWdlc3QtMDA"
	shop := request(issuerConfig(map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-shop-client"}}))
	shop.DNSName, shop.Key, shop.ResolvedFQDN = "shop.example.com", shopKey, "_acme-challenge.shop.example.com."
	if err := e.cm.Present(shop); err != nil {
		t.Fatalf("Present with the registered account: %v", err)
	}
	accts := e.accounts(t, "acme-dns-shop-client")
	if got := testutil.TXT(t, e.webhook.DNSUDP, accts["shop.example.com"].FullDomain); !slices.Contains(got, shopKey) {
		t.Errorf("DNS serves %q for the registered account", got)
	}
	e.checkFindsNoCNAME(t, accts["shop.example.com"].FullDomain)
}

// accounts reads the account file of a client's Secret.
func (e *webhookE2E) accounts(t *testing.T, name string) solver.Accounts {
	secret, err := e.kube.CoreV1().Secrets(teamNS).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accts, err := solver.ParseAccounts(secret.Data["acmedns.json"])
	if err != nil {
		t.Fatal(err)
	}
	return accts
}

// checkFindsNoCNAME: the credentials work and the probe is served, but no
// CNAME delegates the names yet (the resolver knows none); an Event says so.
func (e *webhookE2E) checkFindsNoCNAME(t *testing.T, fulldomain string) {
	check := func(args ...string) (int, string) {
		p := testutil.StartCmd(t, &exec.Cmd{Dir: e.dir}, append([]string{"check", "--kubeconfig", e.regKC, "--namespace", teamNS,
			"--nameservers", e.webhook.DNSUDP, "--resolvers", e.webhook.DNSUDP, "--timeout", "10s"}, args...)...)
		return p.Wait(60 * time.Second), p.Output()
	}
	code, out := check("--client", "shop")
	if code != 1 || !strings.Contains(out, "_acme-challenge.shop.example.com must be a CNAME to "+fulldomain) {
		t.Fatalf("check without the CNAMEs: exit %d:\n%s", code, out)
	}
	code, out = check("--output", "json")
	var findings []registration.Finding
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &findings); err != nil || code != 1 {
		t.Fatalf("check -o json: exit %d, %v:\n%s", code, err, out)
	}
	for _, f := range findings {
		if f.Secret == teamNS+"/acme-dns-shop-client" && (f.Credentials != "ok" || f.Propagation != "ok" || f.Delegation == "ok") {
			t.Errorf("finding %+v", f)
		}
	}
	if !e.event(t, "acme-dns-shop-client", "") {
		t.Error("no Event on the Secret for the missing CNAME")
	}
}

// event reports whether an AccountCheckFailed Event on the Secret name
// says substr.
func (e *webhookE2E) event(t *testing.T, name, substr string) bool {
	list, err := e.kube.CoreV1().Events(teamNS).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(list.Items, func(ev corev1.Event) bool {
		return ev.InvolvedObject.Name == name && ev.Reason == "AccountCheckFailed" && strings.Contains(ev.Message, substr)
	})
}

// standaloneServer: register against a standalone server whose /register
// takes basic auth, in the self-registration format; check of a working
// account, of a name server without the value, and of credentials made
// invalid (registered anew, the new CNAMEs reported).
func (e *webhookE2E) standaloneServer(t *testing.T) {
	sdir := kubetest.WorldReadableDir(t)
	cfg := filepath.Join(sdir, "config.cfg")
	os.WriteFile(cfg, []byte(testutil.Fixture(t, "configs/registration.cfg", map[string]string{"Database": filepath.Join(sdir, "data", "acmehub.db")})), 0o644)
	server := testutil.StartCmd(t, &exec.Cmd{Dir: sdir, Env: []string{"ACMEHUB_REGISTRATION_PASSWORD=correct horse"}}, "server", "-c", cfg)
	if err := server.WaitReady(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	passwordFile := filepath.Join(sdir, "password")
	os.WriteFile(passwordFile, []byte("correct horse\n"), 0o644)
	run := func(args ...string) (int, string) {
		p := testutil.StartCmd(t, &exec.Cmd{Dir: sdir}, append(args, "--kubeconfig", e.regKC, "--namespace", teamNS, "--client", "billing")...)
		return p.Wait(60 * time.Second), p.Output()
	}
	register := []string{"register", "--api", server.API, "--fqdn", "billing.example.com"}
	if code, out := run(register...); code == 0 || !strings.Contains(out, "401") {
		t.Errorf("register without the registration password: exit %d\n%s", code, out)
	}
	if code, out := run(append(register, "--basic-auth-user", "registrar", "--basic-auth-password-file", passwordFile)...); code != 0 {
		t.Fatalf("register with basic auth: exit %d\n%s", code, out)
	}
	file := e.selfRegistrationFile(t, "acme-dns-billing-client")
	fulldomain := file["billing.example.com"]["fulldomain"].(string)
	resolver := testutil.NewResolver(t) // knows the CNAMEs of the client's names
	resolver.Set("_acme-challenge.billing.example.com", fulldomain)
	check := func(nameserver string) (int, string) {
		return run("check", "--nameservers", nameserver, "--resolvers", resolver.Addr, "--timeout", "3s",
			"--basic-auth-user", "registrar", "--basic-auth-password-file", passwordFile)
	}
	if code, out := check(server.DNSUDP); code != 0 {
		t.Fatalf("check of a working account: exit %d\n%s", code, out)
	}
	// A name server that serves nothing: the zone's values never reach it.
	stale := testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		w.WriteMsg(m)
	})
	if code, out := check(stale); code != 1 || !strings.Contains(out, "not served by "+stale) || !e.event(t, "acme-dns-billing-client", "not served by "+stale) {
		t.Errorf("check against a name server without the value: exit %d\n%s", code, out)
	}
	e.damagePassword(t, "acme-dns-billing-client", file)
	code, out := check(server.DNSUDP)
	if code != 1 || !strings.Contains(out, "registered anew") || !e.event(t, "acme-dns-billing-client", "CNAMEs changed") {
		t.Errorf("check with refused credentials: exit %d\n%s", code, out)
	}
	accts := e.accounts(t, "acme-dns-billing-client")
	if accts["billing.example.com"].FullDomain == fulldomain || !strings.Contains(out, accts["billing.example.com"].FullDomain) {
		t.Errorf("after re-registration the Secret holds %+v; the old fulldomain was %s\n%s", accts, fulldomain, out)
	}
}

// selfRegistrationFile reads a client's Secret and checks its format: each
// FQDN mapped to the /register answer, and the API it came from (as
// goacmedns stores it).
func (e *webhookE2E) selfRegistrationFile(t *testing.T, name string) map[string]map[string]any {
	secret, err := e.kube.CoreV1().Secrets(teamNS).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]any
	if err := json.Unmarshal(secret.Data["acmedns.json"], &file); err != nil {
		t.Fatal(err)
	}
	for fqdn, entry := range file {
		var keys []string
		for k := range entry {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"allowfrom", "fulldomain", "password", "server_url", "subdomain", "username"}) {
			t.Fatalf("acmedns.json entry of %s: %s", fqdn, secret.Data["acmedns.json"])
		}
	}
	return file
}

// damagePassword makes the account's password in the Secret wrong, as a
// damaged Secret would hold it.
func (e *webhookE2E) damagePassword(t *testing.T, name string, file map[string]map[string]any) {
	for _, entry := range file {
		entry["password"] = "not-the-password-0000000000000000000000000"
	}
	secret, err := e.kube.CoreV1().Secrets(teamNS).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data["acmedns.json"], _ = json.Marshal(file)
	if _, err := e.kube.CoreV1().Secrets(teamNS).Update(e.ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// hubSolver: the solver hub, through the aggregated API, presents and
// cleans up at a managed-challenge hub with a token from a Secret.
func (e *webhookE2E) hubSolver(t *testing.T) {
	h := testutil.NewHubSetup(t, testutil.HubOptions{})
	principal := h.MustAdmin("principals", "create", "--title", "e2e cluster", "--role", "managed-challenge-consumer")
	h.MustAdmin("configs", "put", "--id", "self-app", "--zone", "app.example.com", "--rule", "app.example.com")
	var tok struct{ ClientID, Secret string }
	if err := json.Unmarshal([]byte(h.MustAdmin("tokens", "create", "--principal", principal, "--domain", "app.example.com", "-o", "json")), &tok); err != nil {
		t.Fatal(err)
	}
	hub := h.Server()
	kubetest.MustCreate(t, func() error {
		_, err := e.kube.CoreV1().Secrets(teamNS).Create(e.ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "hub-token"},
			StringData: map[string]string{"clientID": tok.ClientID, "clientSecret": tok.Secret},
		}, metav1.CreateOptions{})
		return err
	})
	raw, _ := json.Marshal(map[string]any{"groupName": groupName, "solverName": "hub", "config": map[string]any{
		"url": "http://" + hub.Hub, "credentialsSecretRef": map[string]string{"name": "hub-token"}}})
	ch := request(&apiextensionsv1.JSON{Raw: raw})
	if err := e.cm.Present(ch); err != nil {
		t.Fatalf("Present through the hub: %v", err)
	}
	if got := testutil.TXT(t, hub.DNSUDP, "_acme-challenge.app.example.com"); !slices.Equal(got, []string{e2eKey}) {
		t.Fatalf("the hub's DNS serves %q", got)
	}
	if err := e.cm.CleanUp(ch); err != nil {
		t.Fatalf("CleanUp through the hub: %v", err)
	}
	if got := testutil.TXT(t, hub.DNSUDP, "_acme-challenge.app.example.com"); len(got) != 0 {
		t.Errorf("after CleanUp the hub's DNS serves %q", got)
	}
}

func (e *webhookE2E) sigterm(t *testing.T) {
	e.webhook.Cmd.Process.Signal(syscall.SIGTERM)
	if code := e.webhook.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM:\n%s", code, e.webhook.Output())
	}
	if !strings.Contains(e.webhook.Output(), `"msg":"stopped"`) {
		t.Errorf("the embedded server did not stop in order:\n%s", e.webhook.Output())
	}
}

// BenchmarkWebhookMemory: the webhook's resident memory, with its embedded
// server as the chart runs it by default, once it is ready, and after 100
// challenges presented and cleaned up through the aggregated API as
// cert-manager's controller does (goal: under 80 MiB). Run once
// (-benchtime 1x); ns/op is the time of the 100 challenges.
func BenchmarkWebhookMemory(b *testing.B) {
	e := startWebhookE2E(b)
	pid := e.webhook.Cmd.Process.Pid
	time.Sleep(2 * time.Second) // start-up's garbage collected
	idle := rssKiB(b, pid)
	for b.Loop() {
		for i := range 100 {
			ch := request(e.good)
			ch.UID, ch.Key = k8stypes.UID(fmt.Sprintf("bench-%d", i)), fmt.Sprintf("%043d", i)
			if err := e.cm.Present(ch); err != nil {
				b.Fatal(err)
			}
			if err := e.cm.CleanUp(ch); err != nil {
				b.Fatal(err)
			}
		}
	}
	after := rssKiB(b, pid)
	b.ReportMetric(float64(idle)/1024, "MiB-RSS-idle")
	b.ReportMetric(float64(after)/1024, "MiB-RSS-after-100")
	// Of it: the heap and stacks, and the executable's clean file pages.
	b.ReportMetric(float64(statusKiB(b, pid, "RssAnon"))/1024, "MiB-anon-after-100")
	b.ReportMetric(float64(statusKiB(b, pid, "RssFile"))/1024, "MiB-file-after-100")
}

// rssKiB reads a process's resident set size.
func rssKiB(t testing.TB, pid int) int { return statusKiB(t, pid, "VmRSS") }

// statusKiB reads a size in KiB from a process's status: VmRSS, or its
// parts RssAnon (heap and stacks) and RssFile (the executable's pages).
func statusKiB(t testing.TB, pid int, field string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kib int
			fmt.Sscan(rest, &kib)
			return kib
		}
	}
	t.Fatalf("no %s", field)
	return 0
}

func addUser(t testing.TB, env *envtest.Environment, admin *rest.Config, name string) *envtest.AuthenticatedUser {
	t.Helper()
	u, err := env.AddUser(envtest.User{Name: name}, admin)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// grantRBAC grants what the Helm chart grants: the webhook may delegate
// authentication and authorisation and read Secrets; cert-manager may create
// challenge payloads in the solver's group.
func grantRBAC(t testing.TB, ctx context.Context, kube kubernetes.Interface) {
	t.Helper()
	rbac := kube.RbacV1()
	roles := map[string][]rbacv1.PolicyRule{
		// Narrowed to the account Secrets by name ("missing" is named but absent).
		"acmehub-webhook:secret-reader": {{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"},
			ResourceNames: []string{"acme-dns-app", "missing", "acme-dns-shop-client", "hub-token"}}},
		"acmehub-webhook:domain-solver": {{APIGroups: []string{groupName}, Resources: []string{"*"}, Verbs: []string{"create"}}},
	}
	for name, rules := range roles {
		if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bindings := []struct{ role, user string }{
		{"system:auth-delegator", "acmehub-webhook"},
		{"acmehub-webhook:secret-reader", "acmehub-webhook"},
		{"acmehub-webhook:domain-solver", "cert-manager"},
	}
	for _, b := range bindings {
		if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: b.user + ":" + b.role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: b.user}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rbac.RoleBindings("kube-system").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "acmehub-webhook:webhook-authentication-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "acmehub-webhook"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// register registers an account with the acme-dns API at api.
func register(t testing.TB, api string) solver.Account {
	t.Helper()
	resp, err := http.Post(api+"/register", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a solver.Account
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	return a
}
