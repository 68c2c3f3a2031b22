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
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmwebhook "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/webhook"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

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
func TestChartRBACSuffices(t *testing.T) {
	const (
		group     = "acme.chart.test"
		release   = "acmehub"
		clientNS  = "team-a"
		clientKey = "Y2hhcnQtcmJhYy1rZXktYXV0aG9yaXNhdGlvbi0wMDA"
	)
	dir := kubetest.WorldReadableDir(t)
	_, admin := kubetest.StartAggregatingControlPlane(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(admin)
	for _, ns := range []string{release, "cert-manager", clientNS, "elsewhere"} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The chart's identities and permissions, applied for real. The objects
	// that need a pod network or cert-manager (Deployment, Services,
	// APIService, PKI) are played by the processes below.
	applied := 0
	dyn := dynamic.NewForConfigOrDie(admin)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(admin)))
	for _, o := range render(t, filepath.Join(chartDir, "ci", "default-values.yaml"),
		"groupName="+group, "webhook.secretNamespaces={"+clientNS+"}",
		"acmeClients.team-a.fqdns={app.team-a.example.com}", "acmeClients.team-a.secretNamespace="+clientNS) {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret":
		default:
			continue
		}
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatal(err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "helm"}); err != nil {
			t.Fatalf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		applied++
	}
	t.Logf("applied %d RBAC objects of the chart", applied)
	// cert-manager's own chart creates its ServiceAccount.
	for _, sa := range []struct{ ns, name string }{{"cert-manager", "cert-manager"}, {"elsewhere", "intruder"}} {
		if _, err := kube.CoreV1().ServiceAccounts(sa.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa.name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// asServiceAccount returns a client configuration with a token the
	// TokenRequest API issued, and a kubeconfig file holding it.
	asServiceAccount := func(ns, name string) (*rest.Config, string) {
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{
			Spec: authv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest for %s/%s: %v", ns, name, err)
		}
		cfg := &rest.Config{Host: admin.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData}}
		kc := clientcmdapi.NewConfig()
		kc.Clusters["test"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
		kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name}
		kc.CurrentContext = "test"
		path := filepath.Join(dir, ns+"-"+name+".kubeconfig")
		if err := clientcmd.WriteToFile(*kc, path); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o644)
		return cfg, path
	}

	// The webhook as the chart's ServiceAccount, with its embedded server.
	_, webhookKubeconfig := asServiceAccount(release, release)
	port, metricsPort := testutil.FreeTCPPort(t), testutil.FreeTCPPort(t)
	webhook := testutil.StartCmd(t, &exec.Cmd{Dir: dir, Env: []string{"GROUP_NAME=" + group}}, "webhook",
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--cert-dir", filepath.Join(dir, "certs"),
		"--kubeconfig", webhookKubeconfig, "--authentication-kubeconfig", webhookKubeconfig, "--authorization-kubeconfig", webhookKubeconfig,
		"--server-domain", "auth.example.org", "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(dir, "data", "acmehub.db"), "--server-log-format", "json", "--delegation-check", "off",
		"--metrics-listen", "127.0.0.1:"+strconv.Itoa(metricsPort))
	if err := webhook.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	kubetest.RegisterAPIService(t, ctx, admin, kube, group, release, port)

	// The client's register, as the client's ServiceAccount, into the
	// Secret the chart created.
	_, clientKubeconfig := asServiceAccount(release, release+"-team-a-client")
	client := func(args ...string) (int, string) {
		p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, append(args, "--kubeconfig", clientKubeconfig, "--namespace", clientNS, "--client", "team-a")...)
		return p.Wait(60 * time.Second), p.Output()
	}
	if code, out := client("register", "--api", webhook.API, "--fqdn", "app.team-a.example.com"); code != 0 {
		t.Fatalf("register as the client's ServiceAccount: exit %d\n%s", code, out)
	}
	secret, err := kube.CoreV1().Secrets(clientNS).Get(ctx, "acme-dns-team-a-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := solver.ParseAccounts(secret.Data["acmedns.json"])
	if err != nil {
		t.Fatalf("the registered Secret: %v", err)
	}
	acct := accounts["app.team-a.example.com"]
	if code, out := client("register", "--api", webhook.API, "--fqdn", "app.team-a.example.com", "--secret-name", "another-secret"); code == 0 || !strings.Contains(out, "forbidden") {
		t.Errorf("register into another Secret: exit %d, want forbidden\n%s", code, out)
	}
	// The check reads, probes and reports on the Secret: the CNAME is
	// missing, which it may record as an Event.
	code, out := client("check", "--nameservers", webhook.DNSUDP, "--resolvers", webhook.DNSUDP, "--timeout", "10s")
	if code != 1 || strings.Contains(out, "forbidden") || !strings.Contains(out, "must be a CNAME to "+acct.FullDomain) {
		t.Errorf("check as the client's ServiceAccount: exit %d\n%s", code, out)
	}
	events, err := kube.CoreV1().Events(clientNS).List(ctx, metav1.ListOptions{})
	if err != nil || !slices.ContainsFunc(events.Items, func(e corev1.Event) bool { return e.InvolvedObject.Name == "acme-dns-team-a-client" }) {
		t.Errorf("no Event on the client's Secret: %v", err)
	}

	// cert-manager's controller, as its ServiceAccount, through the
	// aggregation layer.
	solverAs := func(ns, name string) *cmwebhook.Webhook {
		cfg, _ := asServiceAccount(ns, name)
		w := &cmwebhook.Webhook{}
		if err := w.Initialize(cfg, ctx.Done()); err != nil {
			t.Fatal(err)
		}
		return w
	}
	raw, _ := json.Marshal(map[string]any{"groupName": group, "solverName": "acme-dns",
		"config": map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-team-a-client", "key": "acmedns.json"}}})
	challenge := &whapi.ChallengeRequest{
		UID: "chart-rbac", Type: "dns-01", DNSName: "app.team-a.example.com", Key: clientKey,
		ResourceNamespace: clientNS, ResolvedFQDN: "_acme-challenge.app.team-a.example.com.", ResolvedZone: "example.com.",
		Config: &apiextensionsv1.JSON{Raw: raw},
	}
	cm := solverAs("cert-manager", "cert-manager")
	if err := cm.Present(challenge); err != nil {
		t.Fatalf("Present as cert-manager's ServiceAccount: %v\n%s", err, webhook.Output())
	}
	if got := testutil.TXT(t, webhook.DNSUDP, acct.FullDomain); !slices.Contains(got, clientKey) {
		t.Errorf("TXT %s after Present = %q", acct.FullDomain, got)
	}
	if err := cm.CleanUp(challenge); err != nil {
		t.Fatalf("CleanUp: %v", err)
	}
	if got := testutil.TXT(t, webhook.DNSUDP, acct.FullDomain); slices.Contains(got, clientKey) {
		t.Errorf("TXT %s after CleanUp = %q", acct.FullDomain, got)
	}
	if err := solverAs("elsewhere", "intruder").Present(challenge); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("Present as a ServiceAccount outside the chart = %v, want forbidden", err)
	}

	// The webhook's metrics, on the plain port the chart's ServiceMonitor
	// scrapes: the apiserver counted the Present and the CleanUp.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	counted := false
	for _, line := range strings.Split(string(body), "\n") {
		counted = counted || strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `group="`+group+`"`) && strings.Contains(line, `code="201"`)
	}
	if !counted {
		t.Errorf("/metrics does not count the solver's requests:\n%.2000s", body)
	}
}
