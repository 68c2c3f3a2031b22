// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/fakes"
	"github.com/acmehub/acmehub/internal/testutil/kubetest"
	"github.com/acmehub/acmehub/solver"
)

// tenCertificates is how many Certificates share one acme-dns account.
const tenCertificates = 10

// TestE2ECertManagerTenCertificatesOneAccount: cert-manager's own
// controller, pebble and the webhook binary issue ten Certificates whose
// names all delegate to one acme-dns account. Against a plain acme-dns,
// which keeps two values an account, the webhook makes Presents wait for a
// slot instead of refusing them at once into cert-manager's back-off; then
// against the embedded server, which keeps every live value. No Order
// fails; the time and the number of Presents cert-manager saw refused are
// printed.
//
// cert-manager waits 60 s after its self-check passes before it asks the
// CA to validate, and only then cleans up: a slot is held at least a
// minute, so two slots serve ten names in no less than five minutes, and
// its five challenge workers serve ten names on the embedded server in no
// less than two. The limits leave room above those floors. Needs
// $TEST_ASSET_CERT_MANAGER and $TEST_ASSET_PEBBLE (`make test-assets`).
func TestE2ECertManagerTenCertificatesOneAccount(t *testing.T) {
	cmBin, pebbleBin := os.Getenv("TEST_ASSET_CERT_MANAGER"), os.Getenv("TEST_ASSET_PEBBLE")
	if cmBin == "" || pebbleBin == "" {
		t.Fatal("$TEST_ASSET_CERT_MANAGER or $TEST_ASSET_PEBBLE is not set: run `make test-e2e`")
	}
	c := startCertManagerE2E(t, cmBin, pebbleBin)
	t.Run("the embedded server", func(t *testing.T) {
		c.issueTen(t, "embedded", "", 3*time.Minute)
	})
	// The rest wait mostly (for acme-dns's two values, for the CA): side
	// by side, each in its namespace and zone.
	t.Run("a plain acme-dns, two values an account", func(t *testing.T) {
		t.Parallel()
		c.issueTen(t, "plain", c.plainAPI, 10*time.Minute)
	})
	t.Run("no ticket: the hub writes the CNAME into BIND", func(t *testing.T) {
		t.Parallel()
		c.issueWithoutTicket(t, "bind", "example.net", companyBIND)
	})
	t.Run("no ticket: the hub writes the CNAME at DigitalOcean", func(t *testing.T) {
		t.Parallel()
		c.issueWithoutTicket(t, "digitalocean", "example.io", companyDigitalOcean)
	})
	t.Run("no hub secret: the webhook's ServiceAccount token, bound at the hub", func(t *testing.T) {
		t.Parallel()
		c.issueByServiceAccount(t, "identity", "id.example.com")
	})
}

// companyDNS starts the company's DNS for zone, only the hub holding its
// credentials: it returns the hub's environment, the config's provider and
// credentials, and the zone's name server.
type companyDNS func(t *testing.T, zone, name string) (env []string, provider string, credentials []byte, nameserver string)

func companyBIND(t *testing.T, zone, name string) ([]string, string, []byte, string) {
	bind := testutil.StartBIND(t, zone, "_acme-challenge."+name)
	creds, _ := json.Marshal(map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": bind.Secret})
	return nil, "rfc2136", creds, bind.Addr
}

func companyDigitalOcean(t *testing.T, zone, _ string) ([]string, string, []byte, string) {
	do := fakes.NewFakeDigitalOcean(t, "do-token", zone)
	return do.ProxyEnv(t), "digitalocean", []byte(`{"api_token": "do-token"}`), do.ServeDNS(t)
}

// issueWithoutTicket: the company's zone lives in a DNS only a hub holds
// credentials for (dns). acmehub register, run as the chart's Job runs it
// with a hub token of the delegate role, registers the account with the
// webhook's embedded server, writes the Secret, and has the hub write
// _acme-challenge.app.<zone>'s CNAME there; the Certificate becomes Ready
// with no record written by this test.
func (c *certManagerE2E) issueWithoutTicket(t *testing.T, ns, zone string, dns companyDNS) {
	name := "app." + zone
	c.namespace(t, ns)
	env, provider, creds, nameserver := dns(t, zone, name)
	c.resolver.Forward(zone, nameserver)
	h := testutil.NewHubSetup(t, testutil.HubOptions{Env: env})
	os.WriteFile(filepath.Join(h.Dir, "company.json"), creds, 0o600)
	h.MustAdmin("configs", "put", "--id", "company", "--provider", provider, "--zone", zone, "--rule", "."+zone,
		"--credentials-file", "company.json")
	principal := h.MustAdmin("principals", "create", "--title", "cluster "+ns, "--role", "managed-challenge-delegate")
	var tok struct{ ClientID, Secret string }
	json.Unmarshal([]byte(h.MustAdmin("tokens", "create", "--principal", principal, "--scope", "managed-challenge-delegate",
		"--domain", name, "-o", "json")), &tok)
	hub := h.Server()

	// The chart's register Job: its environment, its flags.
	job := testutil.StartCmd(t, &exec.Cmd{Env: []string{"ACMEHUB_API=" + c.webhook.API, "ACMEHUB_CLIENT=app", "ACMEHUB_FQDNS=" + name,
		"ACMEHUB_NAMESPACE=" + ns, "ACMEHUB_HUB=http://" + hub.Hub, "ACMEHUB_HUB_CLIENT_ID=" + tok.ClientID, "ACMEHUB_HUB_SECRET=" + tok.Secret,
		"KUBECONFIG=" + c.kubeconfig}}, "register", "--wait=1m")
	if code := job.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("acmehub register --hub: exit %d\n%s", code, job.Output())
	}
	if !strings.Contains(job.Output(), "The hub wrote these records") {
		t.Errorf("register's output does not say the hub wrote the records:\n%s", job.Output())
	}
	c.issuer(t, ns, "acme-dns", map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-app-client", "key": "acmedns.json"}})
	c.issueOne(t, ns, name, "register said:\n"+job.Output())
	c.noneFailed(t, ns)
}

// issueOne asks for a Certificate of name in ns from the Issuer pebble
// and waits until it is Ready, at most 3 minutes; otherwise the test fails
// with the Certificate described and context.
func (c *certManagerE2E) issueOne(t *testing.T, ns, name, context string) {
	t.Helper()
	kubetest.MustCreate(t, func() error {
		_, err := c.cm.CertmanagerV1().Certificates(ns).Create(c.ctx, &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: "app"},
			Spec: cmapi.CertificateSpec{DNSNames: []string{name}, SecretName: "app-tls",
				IssuerRef: cmmeta.IssuerReference{Name: "pebble", Kind: cmapi.IssuerKind}},
		}, metav1.CreateOptions{})
		return err
	})
	if ready := c.waitReadyN(t, ns, 1, 3*time.Minute); ready != 1 {
		c.describe(t, ns)
		t.Fatalf("the Certificate is not Ready after 3 minutes; %s", context)
	}
}

// certManagerE2E is a control plane with cert-manager's CRDs, the webhook
// binary (with its embedded server) behind the aggregation layer,
// cert-manager's controller, pebble, a plain acme-dns and the resolver
// both CAs and cert-manager's self-check ask.
type certManagerE2E struct {
	ctx      context.Context
	kube     kubernetes.Interface
	cm       cmclient.Interface
	webhook  *testutil.Process
	resolver *testutil.Resolver
	pebble   *testutil.Pebble
	plainAPI string // the plain acme-dns's API
	// kubeconfig is the cluster administrator's, as cert-manager's.
	kubeconfig string
	admin      *rest.Config
	env        *envtest.Environment
	// hubToken is where the webhook reads its ServiceAccount token for a
	// hub (--hub-token-file), as the kubelet projects it in a pod.
	hubToken string
}

func startCertManagerE2E(t *testing.T, cmBin, pebbleBin string) *certManagerE2E {
	dir := kubetest.WorldReadableDir(t)
	env, admin := kubetest.StartAggregatingControlPlane(t, dir, testutil.CertManagerCRDs(t))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	c := &certManagerE2E{ctx: ctx, kube: kubernetes.NewForConfigOrDie(admin), cm: cmclient.NewForConfigOrDie(admin),
		admin: admin, env: env, hubToken: filepath.Join(dir, "hub-token")}

	c.resolver = testutil.NewResolver(t)
	c.resolver.Zone("example.com")
	c.plainAPI = c.startPlainAcmeDNS(t)

	webhookUser := addUser(t, env, admin, "acmehub-webhook")
	c.grantWebhook(t)
	kubeconfig := writeKubeconfig(t, webhookUser, filepath.Join(dir, "webhook.kubeconfig"))
	port := testutil.FreeTCPPort(t)
	cmd := &exec.Cmd{Dir: dir, Env: []string{"GROUP_NAME=" + groupName}}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	c.webhook = testutil.StartCmd(t, cmd, "webhook",
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--cert-dir", filepath.Join(dir, "certs"),
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--server-domain", "auth.example.org", "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(dir, "data", "acmehub.db"), "--server-log-format", "json",
		"--resolvers", c.resolver.Addr, "--delegation-check", "enforce", "--hub-token-file", c.hubToken)
	if err := c.webhook.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	c.resolver.Forward("auth.example.org", c.webhook.DNSUDP)
	c.namespace(t, webhookNS)
	kubetest.RegisterAPIService(t, ctx, admin, c.kube, groupName, webhookNS, port)

	c.pebble = testutil.StartPebble(t, pebbleBin, c.resolver.Addr)

	// cert-manager's controller has its chart's rights and more: the
	// cluster's administrator.
	cmUser, err := env.AddUser(envtest.User{Name: "cert-manager", Groups: []string{"system:masters"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	c.kubeconfig = writeKubeconfig(t, cmUser, filepath.Join(dir, "cert-manager.kubeconfig"))
	testutil.StartCertManager(t, cmBin, c.kubeconfig, c.resolver.Addr)
	return c
}

// startPlainAcmeDNS starts an acme-dns as acme-dns itself behaves: an
// acmehub server whose own endpoints (/present, /delete) are not found, so
// that an account keeps the last two values /update wrote. It returns the
// API's URL.
func (c *certManagerE2E) startPlainAcmeDNS(t *testing.T) string {
	srv := testutil.StartAcmeDNS(t, "acme-dns.example.org", "")
	c.resolver.Forward("acme-dns.example.org", srv.DNSUDP)
	target, _ := url.Parse(srv.API)
	proxy := httputil.NewSingleHostReverseProxy(target)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/register", "/update", "/health":
			proxy.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(plain.Close)
	return plain.URL
}

// grantWebhook grants the webhook what the chart grants it.
func (c *certManagerE2E) grantWebhook(t *testing.T) {
	rbac := c.kube.RbacV1()
	roles := map[string][]rbacv1.PolicyRule{
		"acmehub-webhook:secret-reader": {{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}},
		"acmehub-webhook:challenge-events": {
			{APIGroups: []string{"acme.cert-manager.io"}, Resources: []string{"challenges"}, Verbs: []string{"list", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
		},
	}
	for name, rules := range roles {
		kubetest.MustCreate(t, func() error {
			_, err := rbac.ClusterRoles().Create(c.ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{})
			return err
		})
	}
	for _, role := range []string{"system:auth-delegator", "acmehub-webhook:secret-reader", "acmehub-webhook:challenge-events"} {
		kubetest.MustCreate(t, func() error {
			_, err := rbac.ClusterRoleBindings().Create(c.ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "acmehub-webhook:" + strings.ReplaceAll(role, ":", "-")},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "acmehub-webhook"}},
			}, metav1.CreateOptions{})
			return err
		})
	}
	kubetest.MustCreate(t, func() error {
		_, err := rbac.RoleBindings("kube-system").Create(c.ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-webhook:webhook-authentication-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "acmehub-webhook"}},
		}, metav1.CreateOptions{})
		return err
	})
}

func (c *certManagerE2E) namespace(t *testing.T, name string) {
	kubetest.MustCreate(t, func() error {
		_, err := c.kube.CoreV1().Namespaces().Create(c.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	})
}

// issueTen creates, in namespace ns, an Issuer for pebble whose webhook
// solver writes to one account at api ("" for the embedded server), the
// names' CNAMEs to that account, and ten Certificates; all must be Ready
// within limit, with no Order or CertificateRequest failed.
func (c *certManagerE2E) issueTen(t *testing.T, ns, api string, limit time.Duration) {
	c.namespace(t, ns)
	acct := register(t, cmp.Or(api, c.webhook.API))
	names := map[string]solver.Account{}
	for i := range tenCertificates {
		name := fmt.Sprintf("app%d.%s.example.com", i, ns)
		names[name] = acct
		c.resolver.Set("_acme-challenge."+name, acct.FullDomain)
	}
	file, _ := json.Marshal(names)
	kubetest.MustCreate(t, func() error {
		_, err := c.kube.CoreV1().Secrets(ns).Create(c.ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-dns"}, Data: map[string][]byte{"acmedns.json": file},
		}, metav1.CreateOptions{})
		return err
	})
	config := map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns", "key": "acmedns.json"}}
	if api != "" {
		config["host"] = api
	}
	c.issuer(t, ns, "acme-dns", config)

	const nudge = "told a waiting challenge that a slot is free"
	nudgedBefore := strings.Count(c.webhook.Output(), nudge)
	start := time.Now()
	for i := range tenCertificates {
		kubetest.MustCreate(t, func() error {
			_, err := c.cm.CertmanagerV1().Certificates(ns).Create(c.ctx, &cmapi.Certificate{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app%d", i)},
				Spec: cmapi.CertificateSpec{
					DNSNames:   []string{fmt.Sprintf("app%d.%s.example.com", i, ns)},
					SecretName: fmt.Sprintf("app%d-tls", i),
					IssuerRef:  cmmeta.IssuerReference{Name: "pebble", Kind: cmapi.IssuerKind},
				},
			}, metav1.CreateOptions{})
			return err
		})
	}
	ready := c.waitReady(t, ns, limit)
	took := time.Since(start)
	refusals := c.presentErrors(t, ns)
	t.Logf("%s: %d of %d Certificates Ready in %v; Presents cert-manager saw refused: %d; refused challenges told of a free slot: %d",
		ns, ready, tenCertificates, took.Round(time.Second), refusals, strings.Count(c.webhook.Output(), nudge)-nudgedBefore)
	if ready != tenCertificates {
		c.describe(t, ns)
		t.Fatalf("%d of %d Certificates Ready after %v", ready, tenCertificates, limit)
	}
	c.noneFailed(t, ns)
	for i := range tenCertificates {
		s, err := c.kube.CoreV1().Secrets(ns).Get(c.ctx, fmt.Sprintf("app%d-tls", i), metav1.GetOptions{})
		if err != nil || len(s.Data["tls.crt"]) == 0 {
			t.Errorf("Certificate app%d: no certificate in its Secret: %v", i, err)
		}
	}
}

// issuer creates, in ns, the Issuer pebble whose webhook solver acme-dns
// has config.
func (c *certManagerE2E) issuer(t *testing.T, ns, solverName string, config map[string]any) {
	raw, _ := json.Marshal(config)
	ca, err := os.ReadFile(c.pebble.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	kubetest.MustCreate(t, func() error {
		_, err := c.cm.CertmanagerV1().Issuers(ns).Create(c.ctx, &cmapi.Issuer{
			ObjectMeta: metav1.ObjectMeta{Name: "pebble"},
			Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{
				Server: c.pebble.Directory, CABundle: ca, Email: "ops@example.com",
				PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "pebble-account"}},
				Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{
					Webhook: &cmacme.ACMEIssuerDNS01ProviderWebhook{GroupName: groupName, SolverName: solverName, Config: &apiextensionsv1.JSON{Raw: raw}},
				}}},
			}}},
		}, metav1.CreateOptions{})
		return err
	})
}

// waitReady waits until every Certificate in ns is Ready, at most limit,
// and returns how many are.
func (c *certManagerE2E) waitReady(t *testing.T, ns string, limit time.Duration) int {
	return c.waitReadyN(t, ns, tenCertificates, limit)
}

// waitReadyN waits until n Certificates in ns are Ready, at most limit,
// and returns how many are.
func (c *certManagerE2E) waitReadyN(t *testing.T, ns string, n int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		list, err := c.cm.CertmanagerV1().Certificates(ns).List(c.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, crt := range list.Items {
			for _, cond := range crt.Status.Conditions {
				if cond.Type == cmapi.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue {
					ready++
				}
			}
		}
		if ready == n || time.Now().After(deadline) {
			return ready
		}
		time.Sleep(time.Second)
	}
}

// presentErrors counts the Presents cert-manager recorded as failed.
func (c *certManagerE2E) presentErrors(t *testing.T, ns string) int {
	events, err := c.kube.CoreV1().Events(ns).List(c.ctx, metav1.ListOptions{FieldSelector: "reason=PresentError"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events.Items {
		n += int(max(ev.Count, 1))
		if ev.Series != nil {
			n += int(ev.Series.Count)
		}
	}
	return n
}

// noneFailed: no Order and no CertificateRequest of ns failed.
func (c *certManagerE2E) noneFailed(t *testing.T, ns string) {
	orders, err := c.cm.AcmeV1().Orders(ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders.Items {
		switch o.Status.State {
		case cmacme.Errored, cmacme.Invalid, cmacme.Expired:
			t.Errorf("Order %s: %s: %s", o.Name, o.Status.State, o.Status.Reason)
		}
	}
	requests, err := c.cm.CertmanagerV1().CertificateRequests(ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range requests.Items {
		for _, cond := range r.Status.Conditions {
			if cond.Type == cmapi.CertificateRequestConditionReady && cond.Reason == cmapi.CertificateRequestReasonFailed {
				t.Errorf("CertificateRequest %s failed: %s", r.Name, cond.Message)
			}
		}
	}
}

// describe logs where each Challenge of ns stands.
func (c *certManagerE2E) describe(t *testing.T, ns string) {
	challenges, err := c.cm.AcmeV1().Challenges(ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("listing Challenges: %v", err)
		return
	}
	for _, ch := range challenges.Items {
		t.Logf("Challenge %s (%s): %s presented=%v processing=%v: %s", ch.Name, ch.Spec.DNSName, ch.Status.State, ch.Status.Presented, ch.Status.Processing, ch.Status.Reason)
	}
	t.Logf("webhook:\n%s", c.webhook.Output())
}
