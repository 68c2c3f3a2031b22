// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build chart

package chart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmwebhook "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/webhook"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/kubetest"
	"github.com/acmehub/acmehub/solver"
)

// TestChartRBACSuffices applies the chart's ServiceAccounts, roles and
// bindings to a real kube-apiserver with the aggregation layer, and runs the
// real binaries as the chart's ServiceAccounts, with tokens from the
// TokenRequest API: the webhook serves Presents and CleanUps that
// cert-manager's ServiceAccount sends through the aggregation layer, and a
// client's register and check write its Secret, and nothing else.
// rbacFixture is the chart's RBAC applied to a control plane, with the
// webhook running as the chart's ServiceAccount.
type rbacFixture struct {
	ctx     context.Context
	admin   *rest.Config
	kube    kubernetes.Interface
	dir     string
	webhook *testutil.Process
	metrics int
}

const (
	rbacGroup     = "acme.chart.test"
	rbacRelease   = "acmehub"
	rbacClientNS  = "team-a"
	rbacClientKey = "Y2hhcnQtcmJhYy1rZXktYXV0aG9yaXNhdGlvbi0wMDA"
)

func TestChartRBACSuffices(t *testing.T) {
	f := newRBACFixture(t)
	acct := f.client(t)
	f.certManager(t, acct)
	f.metricsCounted(t)
}

// newRBACFixture applies the chart's identities and permissions for real;
// the objects that need a pod network or cert-manager (Deployment,
// Services, APIService, PKI) are played by the processes it starts: the
// webhook, as the chart's ServiceAccount, with its embedded server.
func newRBACFixture(t *testing.T) *rbacFixture {
	f := &rbacFixture{dir: kubetest.WorldReadableDir(t)}
	_, f.admin = kubetest.StartAggregatingControlPlane(t, f.dir)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	f.ctx, f.kube = ctx, kubernetes.NewForConfigOrDie(f.admin)
	for _, ns := range []string{rbacRelease, "cert-manager", rbacClientNS, "elsewhere"} {
		if _, err := f.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	applied := 0
	for _, o := range render(t, filepath.Join(chartDir, "ci", "default-values.yaml"),
		"groupName="+rbacGroup, "webhook.secretNamespaces={"+rbacClientNS+"}",
		"acmeClients.team-a.fqdns={app.team-a.example.com}", "acmeClients.team-a.secretNamespace="+rbacClientNS) {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret":
			if err := kubetest.Apply(ctx, f.admin, o, false); err != nil {
				t.Fatal(err)
			}
			applied++
		}
	}
	t.Logf("applied %d RBAC objects of the chart", applied)
	// cert-manager's own chart creates its ServiceAccount.
	for _, sa := range []struct{ ns, name string }{{"cert-manager", "cert-manager"}, {"elsewhere", "intruder"}} {
		if _, err := f.kube.CoreV1().ServiceAccounts(sa.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa.name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kc := f.kubeconfig(t, rbacRelease, rbacRelease)
	port := testutil.FreeTCPPort(t)
	f.metrics = testutil.FreeTCPPort(t)
	f.webhook = testutil.StartCmd(t, &exec.Cmd{Dir: f.dir, Env: []string{"GROUP_NAME=" + rbacGroup}}, "webhook",
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--cert-dir", filepath.Join(f.dir, "certs"),
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--server-domain", "auth.example.org", "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(f.dir, "data", "acmehub.db"), "--server-log-format", "json", "--delegation-check", "off",
		"--metrics-listen", "127.0.0.1:"+strconv.Itoa(f.metrics))
	if err := f.webhook.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	kubetest.RegisterAPIService(t, ctx, f.admin, f.kube, rbacGroup, rbacRelease, port)
	return f
}

// kubeconfig is a kubeconfig file of ServiceAccount ns/name.
func (f *rbacFixture) kubeconfig(t *testing.T, ns, name string) string {
	path := filepath.Join(f.dir, ns+"-"+name+".kubeconfig")
	kubetest.AsServiceAccount(t, f.admin, ns, name, path)
	return path
}

// client: register, as the client's ServiceAccount, writes the Secret
// the chart created and no other; check reads, probes and reports on it
// (the CNAME is missing), and may record an Event. It returns the account.
func (f *rbacFixture) client(t *testing.T) solver.Account {
	kc := f.kubeconfig(t, rbacRelease, rbacRelease+"-team-a-client")
	run := func(args ...string) (int, string) {
		p := testutil.StartCmd(t, &exec.Cmd{Dir: f.dir}, append(args, "--kubeconfig", kc, "--namespace", rbacClientNS, "--client", "team-a")...)
		return p.Wait(60 * time.Second), p.Output()
	}
	if code, out := run("register", "--api", f.webhook.API, "--fqdn", "app.team-a.example.com"); code != 0 {
		t.Fatalf("register as the client's ServiceAccount: exit %d\n%s", code, out)
	}
	secret, err := f.kube.CoreV1().Secrets(rbacClientNS).Get(f.ctx, "acme-dns-team-a-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := solver.ParseAccounts(secret.Data["acmedns.json"])
	if err != nil {
		t.Fatalf("the registered Secret: %v", err)
	}
	acct := accounts["app.team-a.example.com"]
	if code, out := run("register", "--api", f.webhook.API, "--fqdn", "app.team-a.example.com", "--secret-name", "another-secret"); code == 0 || !strings.Contains(out, "forbidden") {
		t.Errorf("register into another Secret: exit %d, want forbidden\n%s", code, out)
	}
	code, out := run("check", "--nameservers", f.webhook.DNSUDP, "--resolvers", f.webhook.DNSUDP, "--timeout", "10s")
	if code != 1 || strings.Contains(out, "forbidden") || !strings.Contains(out, "must be a CNAME to "+acct.FullDomain) {
		t.Errorf("check as the client's ServiceAccount: exit %d\n%s", code, out)
	}
	events, err := f.kube.CoreV1().Events(rbacClientNS).List(f.ctx, metav1.ListOptions{})
	if err != nil || !slices.ContainsFunc(events.Items, func(e corev1.Event) bool { return e.InvolvedObject.Name == "acme-dns-team-a-client" }) {
		t.Errorf("no Event on the client's Secret: %v", err)
	}
	return acct
}

// certManager: cert-manager's controller, as its ServiceAccount, presents
// and cleans up through the aggregation layer; a ServiceAccount outside
// the chart is refused.
func (f *rbacFixture) certManager(t *testing.T, acct solver.Account) {
	solverAs := func(ns, name string) *cmwebhook.Webhook {
		w := &cmwebhook.Webhook{}
		if err := w.Initialize(kubetest.AsServiceAccount(t, f.admin, ns, name, filepath.Join(f.dir, ns+"-"+name+".kubeconfig")), f.ctx.Done()); err != nil {
			t.Fatal(err)
		}
		return w
	}
	raw, _ := json.Marshal(map[string]any{"groupName": rbacGroup, "solverName": "acme-dns",
		"config": map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-team-a-client", "key": "acmedns.json"}}})
	challenge := &whapi.ChallengeRequest{
		UID: "chart-rbac", Type: "dns-01", DNSName: "app.team-a.example.com", Key: rbacClientKey,
		ResourceNamespace: rbacClientNS, ResolvedFQDN: "_acme-challenge.app.team-a.example.com.", ResolvedZone: "example.com.",
		Config: &apiextensionsv1.JSON{Raw: raw},
	}
	cm := solverAs("cert-manager", "cert-manager")
	if err := cm.Present(challenge); err != nil {
		t.Fatalf("Present as cert-manager's ServiceAccount: %v\n%s", err, f.webhook.Output())
	}
	if got := testutil.TXT(t, f.webhook.DNSUDP, acct.FullDomain); !slices.Contains(got, rbacClientKey) {
		t.Errorf("TXT %s after Present = %q", acct.FullDomain, got)
	}
	if err := cm.CleanUp(challenge); err != nil {
		t.Fatalf("CleanUp: %v", err)
	}
	if got := testutil.TXT(t, f.webhook.DNSUDP, acct.FullDomain); slices.Contains(got, rbacClientKey) {
		t.Errorf("TXT %s after CleanUp = %q", acct.FullDomain, got)
	}
	if err := solverAs("elsewhere", "intruder").Present(challenge); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("Present as a ServiceAccount outside the chart = %v, want forbidden", err)
	}
}

// metricsCounted: the webhook's metrics, on the plain port the chart's
// ServiceMonitor scrapes, count the Present and the CleanUp.
func (f *rbacFixture) metricsCounted(t *testing.T) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", f.metrics))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	counted := false
	for _, line := range strings.Split(string(body), "\n") {
		counted = counted || strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `group="`+rbacGroup+`"`) && strings.Contains(line, `code="201"`)
	}
	if !counted {
		t.Errorf("/metrics does not count the solver's requests:\n%.2000s", body)
	}
}
