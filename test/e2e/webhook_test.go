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
	"sync"
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

func TestE2EAggregatedWebhook(t *testing.T) {
	dir := kubetest.WorldReadableDir(t)

	env, admin := kubetest.StartAggregatingControlPlane(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(admin)

	// Identities: the webhook, cert-manager's controller, and a stranger.
	webhookUser := addUser(t, env, admin, "acmehub-webhook")
	certManager := addUser(t, env, admin, "cert-manager")
	stranger := addUser(t, env, admin, "mallory")
	grantRBAC(t, ctx, kube)

	kubeconfig := filepath.Join(dir, "webhook.kubeconfig")
	kc, err := webhookUser.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, kc, 0o644); err != nil {
		t.Fatal(err)
	}

	// The real webhook binary, as the unprivileged user of a container, with
	// its embedded acmehub server.
	port := testutil.FreeTCPPort(t)
	cmd := &exec.Cmd{Dir: dir, Env: []string{"GROUP_NAME=" + groupName}}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	webhook := testutil.StartCmd(t, cmd, "webhook",
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--cert-dir", filepath.Join(dir, "certs"),
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--server-domain", "auth.example.org", "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(dir, "data", "acmehub.db"), "--server-log-format", "json",
		"--delegation-check", "off")
	if err := webhook.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}

	kubetest.MustCreate(t, func() error {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: webhookNS}}, metav1.CreateOptions{})
		return err
	})
	kubetest.RegisterAPIService(t, ctx, admin, kube, groupName, webhookNS, port)

	// An account registered through the embedded server's acme-dns API, stored
	// as a registration job stores it.
	acct := register(t, webhook.API)
	file, _ := json.Marshal(map[string]solver.Account{"app.example.com": acct})
	kubetest.MustCreate(t, func() error {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: teamNS}}, metav1.CreateOptions{})
		return err
	})
	kubetest.MustCreate(t, func() error {
		_, err := kube.CoreV1().Secrets(teamNS).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-dns-app"},
			Data:       map[string][]byte{"acmedns.json": file},
		}, metav1.CreateOptions{})
		return err
	})

	issuerConfig := func(config map[string]any) *apiextensionsv1.JSON {
		raw, _ := json.Marshal(map[string]any{"groupName": groupName, "solverName": "acme-dns", "config": config})
		return &apiextensionsv1.JSON{Raw: raw}
	}
	good := issuerConfig(map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-app", "key": "acmedns.json"}})
	request := func(cfg *apiextensionsv1.JSON) *whapi.ChallengeRequest {
		return &whapi.ChallengeRequest{
			UID: "e2e-1", Type: "dns-01", DNSName: "app.example.com", Key: e2eKey,
			ResourceNamespace: teamNS, ResolvedFQDN: "_acme-challenge.app.example.com.", ResolvedZone: "example.com.",
			Config: cfg,
		}
	}
	// cert-manager's own client for webhook solvers.
	solverFor := func(user *envtest.AuthenticatedUser) *cmwebhook.Webhook {
		w := &cmwebhook.Webhook{}
		if err := w.Initialize(user.Config(), ctx.Done()); err != nil {
			t.Fatal(err)
		}
		return w
	}
	cm := solverFor(certManager)

	t.Run("Present then CleanUp through the aggregated API", func(t *testing.T) {
		if err := cm.Present(request(good)); err != nil {
			t.Fatalf("Present: %v", err)
		}
		if got := testutil.TXT(t, webhook.DNSUDP, acct.FullDomain); !slices.Equal(got, []string{e2eKey}) {
			t.Fatalf("TXT %s after Present = %q", acct.FullDomain, got)
		}
		for range 2 { // cert-manager may clean up twice
			if err := cm.CleanUp(request(good)); err != nil {
				t.Fatalf("CleanUp: %v", err)
			}
		}
		if got := testutil.TXT(t, webhook.DNSUDP, acct.FullDomain); len(got) != 0 {
			t.Fatalf("TXT %s after CleanUp = %q", acct.FullDomain, got)
		}
	})

	t.Run("a user without RBAC is refused", func(t *testing.T) {
		err := solverFor(stranger).Present(request(good))
		if err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Fatalf("Present as mallory = %v, want forbidden", err)
		}
		if got := testutil.TXT(t, webhook.DNSUDP, acct.FullDomain); len(got) != 0 {
			t.Fatalf("a refused request changed DNS: %q", got)
		}
	})

	t.Run("a bad config is a failed ChallengeResponse, not a crash", func(t *testing.T) {
		for cfg, want := range map[string]string{
			`{"accountSecretRef":{"name":"missing"}}`:                                 "secret team-a/missing not found",
			`{"acountSecretRef":{"name":"acme-dns-app"}}`:                             `unknown field "acountSecretRef"`,
			`{"accountSecretRef":{"name":"acme-dns-app"}, "delegationCheck":"maybe"}`: "must be off, warn or enforce",
		} {
			err := cm.Present(request(&apiextensionsv1.JSON{Raw: []byte(`{"groupName":"` + groupName + `","solverName":"acme-dns","config":` + cfg + `}`)}))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("config %s: Present = %v, want %q", cfg, err, want)
			}
		}
		select {
		case <-webhook.Done():
			t.Fatalf("the webhook exited:\n%s", webhook.Output())
		default:
		}
		if err := cm.Present(request(good)); err != nil {
			t.Errorf("Present after bad requests: %v", err)
		}
	})

	t.Run("a Secret outside the webhook's resourceNames is refused clearly", func(t *testing.T) {
		cfg := issuerConfig(map[string]any{"accountSecretRef": map[string]string{"name": "someone-elses"}})
		err := cm.Present(request(cfg))
		if err == nil || !strings.Contains(err.Error(), "secret team-a/someone-elses: the webhook's service account may not read it") {
			t.Fatalf("Present = %v", err)
		}
	})

	t.Run("memory stays flat with 1,000 unrelated Secrets in the namespace", func(t *testing.T) {
		before := rssKiB(t, webhook.Cmd.Process.Pid)
		payload := map[string][]byte{"blob": make([]byte, 32<<10)}
		for i := range 1000 {
			if _, err := kube.CoreV1().Secrets(teamNS).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%04d", i)}, Data: payload,
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for range 5 {
			if err := cm.Present(request(good)); err != nil {
				t.Fatal(err)
			}
		}
		after := rssKiB(t, webhook.Cmd.Process.Pid)
		t.Logf("webhook RSS: %d KiB before, %d KiB after 1,000 unrelated Secrets of 32 KiB (31 MiB) appeared", before, after)
		if after-before > 16<<10 {
			t.Errorf("RSS grew by %d KiB: unrelated Secrets are held", after-before)
		}
	})

	// The identity of a registration Job and check CronJob: Secrets and
	// Events of its namespace.
	registrar := addUser(t, env, admin, "acmehub-register")
	kubetest.MustCreate(t, func() error {
		_, err := kube.RbacV1().Roles(teamNS).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-register"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update"}},
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
			},
		}, metav1.CreateOptions{})
		return err
	})
	kubetest.MustCreate(t, func() error {
		_, err := kube.RbacV1().RoleBindings(teamNS).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-register"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "acmehub-register"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "acmehub-register"}},
		}, metav1.CreateOptions{})
		return err
	})
	regKC, err := registrar.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	regKubeconfig := filepath.Join(dir, "register.kubeconfig")
	if err := os.WriteFile(regKubeconfig, regKC, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("acmehub register writes the account Secret the webhook uses; acmehub check finds the missing CNAME", func(t *testing.T) {
		registrations := func() string {
			resp, err := http.Get(webhook.API + "/metrics")
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
		run := func() string {
			p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, "register", "--kubeconfig", regKubeconfig, "--api", webhook.API,
				"--client", "shop", "--fqdn", "shop.example.com", "--fqdn", "*.shop.example.com", "--namespace", teamNS)
			if code := p.Wait(30 * time.Second); code != 0 {
				t.Fatalf("acmehub register: exit %d:\n%s", code, p.Output())
			}
			return p.Output()
		}
		before := registrations()
		if out := run(); !strings.Contains(out, "Registered a new account") || !strings.Contains(out, "_acme-challenge.shop.example.com. CNAME ") {
			t.Fatalf("first run:\n%s", out)
		}
		once := registrations()
		if once == before {
			t.Fatal("the first run did not register")
		}
		if out := run(); !strings.Contains(out, "is up to date") {
			t.Fatalf("second run:\n%s", out)
		}
		if registrations() != once {
			t.Error("the second run registered again")
		}
		shopKey := "c2hvcC1rZXktYXV0aG9yaXNhdGlvbi1kaWdlc3QtMDA"
		shop := request(issuerConfig(map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-shop-client"}}))
		shop.DNSName, shop.Key, shop.ResolvedFQDN = "shop.example.com", shopKey, "_acme-challenge.shop.example.com."
		if err := cm.Present(shop); err != nil {
			t.Fatalf("Present with the registered account: %v", err)
		}
		secret, err := kube.CoreV1().Secrets(teamNS).Get(ctx, "acme-dns-shop-client", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		accts, err := solver.ParseAccounts(secret.Data["acmedns.json"])
		if err != nil {
			t.Fatal(err)
		}
		if got := testutil.TXT(t, webhook.DNSUDP, accts["shop.example.com"].FullDomain); !slices.Contains(got, shopKey) {
			t.Errorf("DNS serves %q for the registered account", got)
		}

		// acmehub check: the credentials work and the probe is served, but no
		// CNAME delegates the names yet (the resolver knows none).
		check := func(args ...string) (int, string) {
			p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, append([]string{"check", "--kubeconfig", regKubeconfig, "--namespace", teamNS,
				"--nameservers", webhook.DNSUDP, "--resolvers", webhook.DNSUDP, "--timeout", "10s"}, args...)...)
			return p.Wait(60 * time.Second), p.Output()
		}
		code, out := check("--client", "shop")
		if code != 1 || !strings.Contains(out, "_acme-challenge.shop.example.com must be a CNAME to "+accts["shop.example.com"].FullDomain) {
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
		events, err := kube.CoreV1().Events(teamNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		reported := false
		for _, e := range events.Items {
			reported = reported || e.Reason == "AccountCheckFailed" && e.InvolvedObject.Name == "acme-dns-shop-client"
		}
		if !reported {
			t.Error("no Event on the Secret for the missing CNAME")
		}
	})

	t.Run("a standalone acmehub server: basic auth on /register, a failed propagation, credentials made invalid", func(t *testing.T) {
		sdir := kubetest.WorldReadableDir(t)
		cfg := filepath.Join(sdir, "config.cfg")
		os.WriteFile(cfg, []byte(`[general]
domain = "acme.example.net"
listen = "127.0.0.1:0"
[database]
connection = "`+filepath.Join(sdir, "data", "acmehub.db")+`"
[api]
ip = "127.0.0.1"
port = "0"
[logconfig]
logformat = "json"
[acmehub]
registration_user = "registrar"
`), 0o644)
		server := testutil.StartCmd(t, &exec.Cmd{Dir: sdir, Env: []string{"ACMEHUB_REGISTRATION_PASSWORD=correct horse"}}, "server", "-c", cfg)
		if err := server.WaitReady(15 * time.Second); err != nil {
			t.Fatal(err)
		}
		passwordFile := filepath.Join(sdir, "password")
		os.WriteFile(passwordFile, []byte("correct horse\n"), 0o644)
		// A resolver on loopback that knows the CNAMEs of the client's names.
		var delegated sync.Map
		resolver := testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			if target, ok := delegated.Load(strings.ToLower(q.Question[0].Name)); ok {
				m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target.(string)})
			} else {
				m.Rcode = dns.RcodeNameError
			}
			w.WriteMsg(m)
		})
		// A name server that serves nothing: the zone's values never reach it.
		stale := testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Authoritative = true
			w.WriteMsg(m)
		})
		run := func(args ...string) (int, string) {
			p := testutil.StartCmd(t, &exec.Cmd{Dir: sdir}, append(args, "--kubeconfig", regKubeconfig, "--namespace", teamNS, "--client", "billing")...)
			return p.Wait(60 * time.Second), p.Output()
		}
		register := []string{"register", "--api", server.API, "--fqdn", "billing.example.com"}
		if code, out := run(register...); code == 0 || !strings.Contains(out, "401") {
			t.Errorf("register without the registration password: exit %d\n%s", code, out)
		}
		if code, out := run(append(register, "--basic-auth-user", "registrar", "--basic-auth-password-file", passwordFile)...); code != 0 {
			t.Fatalf("register with basic auth: exit %d\n%s", code, out)
		}
		secret, err := kube.CoreV1().Secrets(teamNS).Get(ctx, "acme-dns-billing-client", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The self-registration format: each FQDN mapped to the /register
		// answer, and the API it came from (as goacmedns stores it).
		var file map[string]map[string]any
		if err := json.Unmarshal(secret.Data["acmedns.json"], &file); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range file["billing.example.com"] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(file) != 1 || !slices.Equal(keys, []string{"allowfrom", "fulldomain", "password", "server_url", "subdomain", "username"}) {
			t.Fatalf("acmedns.json = %s", secret.Data["acmedns.json"])
		}
		fulldomain := file["billing.example.com"]["fulldomain"].(string)
		delegated.Store("_acme-challenge.billing.example.com.", fulldomain+".")

		check := func(nameserver string) (int, string) {
			return run("check", "--nameservers", nameserver, "--resolvers", resolver, "--timeout", "3s",
				"--basic-auth-user", "registrar", "--basic-auth-password-file", passwordFile)
		}
		if code, out := check(server.DNSUDP); code != 0 {
			t.Fatalf("check of a working account: exit %d\n%s", code, out)
		}
		events := func(substr string) bool {
			list, err := kube.CoreV1().Events(teamNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(list.Items, func(e corev1.Event) bool {
				return e.InvolvedObject.Name == "acme-dns-billing-client" && e.Reason == "AccountCheckFailed" && strings.Contains(e.Message, substr)
			})
		}
		if code, out := check(stale); code != 1 || !strings.Contains(out, "not served by "+stale) || !events("not served by "+stale) {
			t.Errorf("check against a name server without the value: exit %d, Event %v\n%s", code, events("not served"), out)
		}

		// The account's password no longer works (here: the Secret was
		// damaged): the check registers anew and says the CNAMEs changed.
		file["billing.example.com"]["password"] = "not-the-password-0000000000000000000000000"
		damaged, _ := json.Marshal(file)
		secret.Data["acmedns.json"] = damaged
		if _, err := kube.CoreV1().Secrets(teamNS).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		code, out := check(server.DNSUDP)
		if code != 1 || !strings.Contains(out, "registered anew") || !events("CNAMEs changed") {
			t.Errorf("check with refused credentials: exit %d, Event %v\n%s", code, events("CNAMEs changed"), out)
		}
		secret, _ = kube.CoreV1().Secrets(teamNS).Get(ctx, "acme-dns-billing-client", metav1.GetOptions{})
		accts, err := solver.ParseAccounts(secret.Data["acmedns.json"])
		if err != nil || accts["billing.example.com"].FullDomain == fulldomain || !strings.Contains(out, accts["billing.example.com"].FullDomain) {
			t.Errorf("after re-registration the Secret holds %+v (%v); the old fulldomain was %s\n%s", accts, err, fulldomain, out)
		}
	})

	t.Run("the hub solver, through the aggregated API, to a managed-challenge hub", func(t *testing.T) {
		hdir := kubetest.WorldReadableDir(t)
		admin := func(args ...string) string {
			p := testutil.StartCmd(t, &exec.Cmd{Dir: hdir}, append([]string{"admin", "-c", "config.cfg"}, args...)...)
			if code := p.Wait(30 * time.Second); code != 0 {
				t.Fatalf("acmehub admin %v: exit %d\n%s", args, code, p.Output())
			}
			return strings.TrimSpace(p.Output())
		}
		os.WriteFile(filepath.Join(hdir, "hub.keys"), []byte(managedKeyLine(t, hdir)), 0o600)
		os.WriteFile(filepath.Join(hdir, "config.cfg"), []byte(`[general]
domain = "hub.example.net"
listen = "127.0.0.1:0"
[database]
connection = "data/acmehub.db"
[api]
port = "0"
[logconfig]
logformat = "json"
[hub]
enabled = true
listen = "127.0.0.1:0"
tls = "none"
keys_file = "hub.keys"
`), 0o644)
		principal := admin("principals", "create", "--title", "e2e cluster", "--role", "managed-challenge-consumer")
		admin("configs", "put", "--id", "self-app", "--zone", "app.example.com", "--rule", "app.example.com")
		var tok struct{ ClientID, Secret string }
		if err := json.Unmarshal([]byte(admin("tokens", "create", "--principal", principal, "--domain", "app.example.com", "-o", "json")), &tok); err != nil {
			t.Fatal(err)
		}
		hubServer := testutil.StartCmd(t, &exec.Cmd{Dir: hdir}, "server", "-c", "config.cfg")
		if err := hubServer.WaitReady(15 * time.Second); err != nil {
			t.Fatal(err)
		}
		kubetest.MustCreate(t, func() error {
			_, err := kube.CoreV1().Secrets(teamNS).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "hub-token"},
				StringData: map[string]string{"clientID": tok.ClientID, "clientSecret": tok.Secret},
			}, metav1.CreateOptions{})
			return err
		})
		raw, _ := json.Marshal(map[string]any{"groupName": groupName, "solverName": "hub", "config": map[string]any{
			"url": "http://" + hubServer.Hub, "credentialsSecretRef": map[string]string{"name": "hub-token"}}})
		ch := request(&apiextensionsv1.JSON{Raw: raw})
		if err := cm.Present(ch); err != nil {
			t.Fatalf("Present through the hub: %v", err)
		}
		if got := testutil.TXT(t, hubServer.DNSUDP, "_acme-challenge.app.example.com"); !slices.Equal(got, []string{e2eKey}) {
			t.Fatalf("the hub's DNS serves %q", got)
		}
		if err := cm.CleanUp(ch); err != nil {
			t.Fatalf("CleanUp through the hub: %v", err)
		}
		if got := testutil.TXT(t, hubServer.DNSUDP, "_acme-challenge.app.example.com"); len(got) != 0 {
			t.Errorf("after CleanUp the hub's DNS serves %q", got)
		}
	})

	t.Run("SIGTERM closes the embedded server and exits 0", func(t *testing.T) {
		webhook.Cmd.Process.Signal(syscall.SIGTERM)
		if code := webhook.Wait(30 * time.Second); code != 0 {
			t.Errorf("exit code %d after SIGTERM:\n%s", code, webhook.Output())
		}
		if !strings.Contains(webhook.Output(), `"msg":"stopped"`) {
			t.Errorf("the embedded server did not stop in order:\n%s", webhook.Output())
		}
	})
}

// managedKeyLine is a hub key from acmehub admin keygen.
func managedKeyLine(t *testing.T, dir string) string {
	p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, "admin", "keygen")
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("acmehub admin keygen: exit %d\n%s", code, p.Output())
	}
	return p.Output()
}

// rssKiB reads a process's resident set size.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			fmt.Sscan(rest, &kib)
			return kib
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func addUser(t *testing.T, env *envtest.Environment, admin *rest.Config, name string) *envtest.AuthenticatedUser {
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
func grantRBAC(t *testing.T, ctx context.Context, kube kubernetes.Interface) {
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
func register(t *testing.T, api string) solver.Account {
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
