// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build chart

// The Helm chart, deploy/charts/acmehub: linted, rendered for the default
// values and each values file of its ci/ folder, checked for what users
// depend on, and every object of every render server-side applied (dry run)
// to a real kube-apiserver with cert-manager's CRDs. Needs $TEST_ASSET_HELM
// and the control plane of `make test-assets`: `make test-chart` runs it.
package chart_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/internal/testutil/kubetest"
)

// controlPlane starts kube-apiserver with cert-manager's CRDs and the
// namespace acmehub, and returns a client and a kubeconfig for helm.
func controlPlane(t *testing.T) (kubernetes.Interface, string) {
	t.Helper()
	env := &envtest.Environment{CRDDirectoryPaths: crdDirs(t), ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() { env.Stop() })
	kube := kubernetes.NewForConfigOrDie(cfg)
	if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "acmehub"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user, err := env.AddUser(envtest.User{Name: "helm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return kube, kubeconfig
}

// TestChartUninstallAndInstallAgain: `helm uninstall` keeps the database's
// claim and the Secrets whose credentials live in it (the registration
// password, each client's accounts) and says so; `helm install` of the
// same release over them adopts them, and the accounts the register Job
// wrote are still there. (Installed without hooks: no node runs the Jobs.)
func TestChartUninstallAndInstallAgain(t *testing.T) {
	kube, kubeconfig := controlPlane(t)
	ctx := context.Background()
	for _, ns := range []string{"cert-manager", "team-b"} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := helm(t, append(args, "--namespace", "acmehub", "--kubeconfig", kubeconfig)...)
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", args[0], err, out)
		}
		return out
	}
	install := func() {
		t.Helper()
		run("install", "acmehub", chartDir, "--no-hooks", "-f", filepath.Join(chartDir, "ci", "clients-values.yaml"))
	}
	install()
	// What the register Job does: the accounts into the client's Secret.
	accounts := []byte(`{"app.team-a.example.com": {"username": "u", "password": "p", "fulldomain": "d.auth.example.org", "subdomain": "d", "allowfrom": []}}`)
	secret, err := kube.CoreV1().Secrets("cert-manager").Get(ctx, "acme-dns-team-a-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{"acmedns.json": accounts}
	if _, err := kube.CoreV1().Secrets("cert-manager").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	registration, err := kube.CoreV1().Secrets("acmehub").Get(ctx, "acmehub-registration", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	out := run("uninstall", "acmehub")
	kept := []string{"PersistentVolumeClaim acmehub-data", "Secret acmehub-registration", "Secret acme-dns-team-a-client", "Secret acme-dns-team-b-client"}
	for _, k := range kept {
		kind, name, _ := strings.Cut(k, " ")
		if !strings.Contains(out, "["+kind+"] "+name) {
			t.Errorf("helm uninstall does not say it keeps %s:\n%s", k, out)
		}
	}
	if _, err := kube.CoreV1().PersistentVolumeClaims("acmehub").Get(ctx, "acmehub-data", metav1.GetOptions{}); err != nil {
		t.Errorf("the database's claim went with the release while its credentials stay: %v", err)
	}

	install()
	secret, err = kube.CoreV1().Secrets("cert-manager").Get(ctx, "acme-dns-team-a-client", metav1.GetOptions{})
	if err != nil || !bytes.Equal(secret.Data["acmedns.json"], accounts) {
		t.Errorf("after uninstall and install the client's Secret holds %q, %v; want the accounts kept", secret.Data["acmedns.json"], err)
	}
	again, err := kube.CoreV1().Secrets("acmehub").Get(ctx, "acmehub-registration", metav1.GetOptions{})
	if err != nil || !bytes.Equal(again.Data["password"], registration.Data["password"]) {
		t.Errorf("after uninstall and install the registration password changed (%v): the register Jobs and clients hold the old one", err)
	}
	if status := run("status", "acmehub"); !strings.Contains(status, "STATUS: deployed") {
		t.Errorf("the second install is not deployed:\n%s", status)
	}
}

// chartDir is the chart, from this package's directory; README.md names it
// chartPath, from the repository's root.
const (
	chartDir  = "../../deploy/charts/acmehub"
	chartPath = "deploy/charts/acmehub"
)

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := os.Getenv("TEST_ASSET_HELM")
	if bin == "" {
		t.Fatal("$TEST_ASSET_HELM is not set: run `make test-chart`")
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		return out.String(), errors.New(strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// render renders the chart as release acmehub with a values file and
// returns its objects.
func render(t *testing.T, values string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	return renderAs(t, "acmehub", values, set...)
}

// renderAs renders the chart as release, in namespace acmehub.
func renderAs(t *testing.T, release, values string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", release, chartDir, "--namespace", "acmehub", "--kube-version", "1.36.3", "-f", values}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template -f %s: %v", values, err)
	}
	return decodeObjects(t, out)
}

// decodeObjects reads rendered YAML documents.
func decodeObjects(t *testing.T, yamlDocs string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(yamlDocs), 4096)
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if len(o) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: o})
		}
	}
}

func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}

func TestChartLint(t *testing.T) {
	for _, f := range valuesFiles(t) {
		if out, err := helm(t, "lint", "--strict", chartDir, "-f", f); err != nil {
			t.Errorf("helm lint --strict -f %s: %v\n%s", f, err, out)
		}
	}
}

// TestChartLintRefusesMissingValues: a required value left out fails
// `helm lint --strict` (not only the install), naming the value.
func TestChartLintRefusesMissingValues(t *testing.T) {
	for _, tt := range []struct {
		set  []string
		want []string
	}{
		{nil, []string{"at '/groupName': minLength: got 0, want 1", "at '/server/domain': minLength: got 0, want 1"}},
		{[]string{"mode=server"}, []string{"at '/server/domain': minLength: got 0, want 1"}},
		{[]string{"mode=webhook"}, []string{"at '/groupName': minLength: got 0, want 1"}},
		{[]string{"groupName=acme.example.org", "server.domain=auth.example.org", "hub.enabled=true"}, []string{"at '/hub/keysSecret/name'"}},
	} {
		args := []string{"lint", "--strict", chartDir}
		for _, s := range tt.set {
			args = append(args, "--set", s)
		}
		out, err := helm(t, args...)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(out, w) {
				t.Errorf("helm lint --strict --set %v: %v, want a refusal saying %q:\n%s", tt.set, err, w, out)
			}
		}
	}
}

// podTemplate returns the pod template of a workload, or nil.
func podTemplate(o *unstructured.Unstructured) map[string]any {
	switch o.GetKind() {
	case "Deployment", "Job", "StatefulSet", "DaemonSet":
		spec, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
		return spec
	case "CronJob":
		spec, _, _ := unstructured.NestedMap(o.Object, "spec", "jobTemplate", "spec", "template", "spec")
		return spec
	}
	return nil
}

func TestChartRendersWhatUsersDependOn(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			pods := 0
			for _, o := range render(t, f) {
				spec := podTemplate(o)
				if spec == nil {
					continue
				}
				pods++
				if nonRoot, _, _ := unstructured.NestedBool(spec, "securityContext", "runAsNonRoot"); !nonRoot {
					t.Errorf("%s %s: pod not runAsNonRoot", o.GetKind(), o.GetName())
				}
				if p, _, _ := unstructured.NestedString(spec, "securityContext", "seccompProfile", "type"); p != "RuntimeDefault" {
					t.Errorf("%s %s: seccomp profile %q", o.GetKind(), o.GetName(), p)
				}
				containers, _, _ := unstructured.NestedSlice(spec, "containers")
				inits, _, _ := unstructured.NestedSlice(spec, "initContainers")
				for _, c := range append(containers, inits...) {
					c := c.(map[string]any)
					if ro, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !ro {
						t.Errorf("%s %s: container %v has a writable root", o.GetKind(), o.GetName(), c["name"])
					}
					if drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
						t.Errorf("%s %s: capabilities dropped %q", o.GetKind(), o.GetName(), drop)
					}
					if strings.HasSuffix(f, "everything-values.yaml") && c["image"] != "registry.internal.example/mirror/acmehub@sha256:0000000000000000000000000000000000000000000000000000000000000000" {
						t.Errorf("image %v not relocated to the private registry by digest", c["image"])
					}
				}
				if strings.HasSuffix(f, "everything-values.yaml") {
					secrets, _, _ := unstructured.NestedSlice(spec, "imagePullSecrets")
					if !slices.ContainsFunc(secrets, func(s any) bool { return s.(map[string]any)["name"] == "internal-registry" }) {
						t.Errorf("%s %s: imagePullSecrets %v lack the global internal-registry", o.GetKind(), o.GetName(), secrets)
					}
				}
			}
			if pods == 0 {
				t.Error("no pod template rendered")
			}
		})
	}
}

func TestChartRefusesBadValues(t *testing.T) {
	defaults := filepath.Join(chartDir, "ci", "default-values.yaml")
	server := filepath.Join(chartDir, "ci", "server-values.yaml")
	webhookOnly := filepath.Join(chartDir, "ci", "webhook-only-values.yaml")
	tests := []struct {
		values string
		set    []string
		want   string
	}{
		{defaults, []string{"groupName="}, "at '/groupName': minLength: got 0, want 1"},
		{defaults, []string{"server.domain="}, "at '/server/domain': minLength: got 0, want 1"},
		{server, []string{"server.domain="}, "at '/server/domain': minLength: got 0, want 1"},
		{defaults, []string{"replicaCount=2"}, "at '/replicaCount': maximum: got 2, want 1"},
		{server, []string{"replicaCount=3"}, "at '/replicaCount': maximum: got 3, want 1"},
		{defaults, []string{"server.database.engine=postgres"}, "at '/server/database/connectionSecret/name': minLength: got 0, want 1"},
		{defaults, []string{"server.database.engine=mysql"}, "at '/server/database/engine': value must be one of"},
		{defaults, []string{"mode=proxy"}, "at '/mode': value must be one of"},
		{defaults, []string{"server.dnsService.nodePort=53"}, "at '/server/dnsService/nodePort'"},
		{defaults, []string{"server.dnsService.type=ClusterIP", "server.dnsService.nodePort=30053"}, "server.dnsService.nodePort needs server.dnsService.type NodePort or LoadBalancer"},
		{defaults, []string{"server.registration.user="}, "at '/server/registration/user': minLength: got 0, want 1"},
		{defaults, []string{"server.registration.disabled=true", "acmeClients.team-c.fqdns={a.example.com}"},
			"acmeClients.team-c registers with this release's server, whose registration is disabled"},
		{defaults, []string{"sever.domain=typo.example"}, "additional properties 'sever' not allowed"},
		{defaults, []string{"webhook.delegationCheck=strict"}, "at '/webhook/delegationCheck'"},
		{defaults, []string{"replicaCount=many"}, "at '/replicaCount'"},
		{webhookOnly, []string{"acmeClients.team-c.fqdns={a.example.com}"}, "at '/acmeClients/team-c': missing property 'api'"},
		{defaults, []string{"acmeClients.team-c.allowfrom={10.0.0.0/8}"}, "missing property 'fqdns'"},
		{defaults, []string{"acmeClients.team-c.fqdns={a.example.com}", "acmeClients.team-c.fqnds={b.example.com}"}, "additional properties 'fqnds' not allowed"},
		{defaults, []string{"acmeClients.Team_C.fqdns={a.example.com}"}, "invalid propertyName 'Team_C'"},
		{webhookOnly, []string{"hub.enabled=true", "hub.keysSecret.name=k"}, "hub.enabled needs a server: mode webhook-embedded or server"},
		{defaults, []string{"hub.enabled=true"}, "at '/hub/keysSecret/name': minLength: got 0, want 1"},
		{defaults, []string{"hub.enabled=true", "hub.keysSecret.name=k", "hub.tls.mode=secret"}, "at '/hub/tls/secretName': minLength: got 0, want 1"},
		{defaults, []string{"hub.tls.mode=acme"}, "at '/hub/tls/mode': value must be one of"},
		{defaults, []string{"hub.enabled=true", "hub.keysSecret.name=k", "hub.configs[0].id=a", "hub.configs[0].provider=digitalocean",
			"hub.configs[0].zone=example.com", "hub.configs[0].rules={.example.com}"}, "hub.configs a: provider digitalocean needs credentialsSecret.name"},
		{defaults, []string{"hub.configs[0].id=a", "hub.configs[0].provider=powerdns", "hub.configs[0].zone=z", "hub.configs[0].rules={z}"}, "at '/hub/configs/0/provider'"},
		{defaults, []string{"hub.configs[0].id=a", "hub.configs[0].provider=self", "hub.configs[0].zone=z"}, "missing property 'rules'"},
		{defaults, []string{"hub.cleanupAfter=half an hour"}, "at '/hub/cleanupAfter'"},
		{defaults, []string{"hub.resolvers={10.0.0.1}"}, "at '/hub/resolvers/0'"},
		{server, []string{"server.dnssec.keys=null"}, "server.dnssec.keys: name the keys of server.dnssec.keysSecret"},
		{server, []string{"server.dnssec.keys={K+013}"}, "at '/server/dnssec/keys/0'"},
		{server, []string{"server.dnssec.validity=two weeks"}, "at '/server/dnssec/validity'"},
	}
	for _, tt := range tests {
		args := []string{"template", "acmehub", chartDir, "--kube-version", "1.36.3", "-f", tt.values}
		for _, s := range tt.set {
			args = append(args, "--set", s)
		}
		if _, err := helm(t, args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("-f %s --set %v: %v, want an error saying %q", filepath.Base(tt.values), tt.set, err, tt.want)
		}
	}
}

// kinds counts the rendered objects by kind, and names them kind/name.
func kinds(objs []*unstructured.Unstructured) (map[string]int, map[string]*unstructured.Unstructured) {
	count, byName := map[string]int{}, map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		count[o.GetKind()]++
		byName[o.GetKind()+"/"+o.GetName()] = o
	}
	return count, byName
}

// TestChartModes: each mode renders the objects it needs and none it does not.
func TestChartModes(t *testing.T) {
	tests := []struct {
		values       string
		want, absent []string
		replicas     int64
		recreate     bool
	}{
		{"default-values.yaml",
			[]string{"APIService/v1alpha1.acme.example.org", "Certificate/acmehub-webhook-tls", "Service/acmehub", "Service/acmehub-dns", "Service/acmehub-api",
				"ConfigMap/acmehub", "PersistentVolumeClaim/acmehub-data", "ClusterRoleBinding/acmehub:auth-delegator", "Service/acmehub-metrics"},
			[]string{"ServiceMonitor/acmehub", "NetworkPolicy/acmehub", "PodDisruptionBudget/acmehub"}, 1, true},
		{"webhook-only-values.yaml",
			[]string{"APIService/v1alpha1.acme.example.org", "Service/acmehub", "ClusterRole/acmehub:secret-reader", "Job/acmehub-team-b-register"},
			[]string{"Service/acmehub-dns", "Service/acmehub-api", "ConfigMap/acmehub", "PersistentVolumeClaim/acmehub-data"}, 1, false},
		{"server-values.yaml",
			[]string{"Service/acmehub-dns", "Service/acmehub-api", "ConfigMap/acmehub", "PersistentVolumeClaim/acmehub-data"},
			[]string{"APIService/v1alpha1.", "Service/acmehub", "Certificate/acmehub-webhook-tls", "Issuer/acmehub-ca", "ClusterRoleBinding/acmehub:auth-delegator",
				"ClusterRole/acmehub:domain-solver", "RoleBinding/acmehub:webhook-authentication-reader"}, 1, true},
		{"everything-values.yaml",
			[]string{"ServiceMonitor/acmehub", "NetworkPolicy/acmehub", "PodDisruptionBudget/acmehub", "Job/acmehub-team-a-register", "CronJob/acmehub-team-a-check",
				"Job/acmehub-shop-register", "CronJob/acmehub-shop-check", "Secret/acme-dns-team-a-client", "Role/acmehub-team-a-client",
				"Service/acmehub-hub", "Certificate/acmehub-hub-tls"},
			[]string{"PersistentVolumeClaim/acmehub-data"}, 3, false},
		{"hub-values.yaml",
			[]string{"Service/acmehub-hub", "Certificate/acmehub-hub-tls", "Issuer/acmehub-ca", "Service/acmehub-dns", "APIService/v1alpha1.acme.example.org"},
			nil, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			_, byName := kinds(render(t, filepath.Join(chartDir, "ci", tt.values)))
			for _, w := range tt.want {
				if byName[w] == nil {
					t.Errorf("%s not rendered", w)
				}
			}
			for _, a := range tt.absent {
				for name := range byName {
					if name == a || strings.HasSuffix(a, ".") && strings.HasPrefix(name, a) {
						t.Errorf("%s rendered", name)
					}
				}
			}
			d := byName["Deployment/acmehub"]
			if d == nil {
				t.Fatal("no Deployment")
			}
			if n, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); fmt.Sprint(n) != fmt.Sprint(tt.replicas) {
				t.Errorf("replicas = %v, want %d", n, tt.replicas)
			}
			if s, _, _ := unstructured.NestedString(d.Object, "spec", "strategy", "type"); (s == "Recreate") != tt.recreate {
				t.Errorf("strategy %q; Recreate wanted: %v (only for the SQLite volume)", s, tt.recreate)
			}
			// The server reads the rendered config.cfg as it is, with the
			// environment the Deployment gives it from Secrets.
			if cm := byName["ConfigMap/acmehub"]; cm != nil {
				containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
				env, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
				for _, e := range env {
					e := e.(map[string]any)
					if _, fromSecret := e["valueFrom"]; fromSecret {
						t.Setenv(e["name"].(string), "postgres://from-a-secret@db/acmehub")
					}
				}
				file, _, _ := unstructured.NestedString(cm.Object, "data", "config.cfg")
				cfg, warnings, err := config.Parse([]byte(file), "config.cfg")
				if err != nil || len(warnings) > 0 {
					t.Fatalf("config.cfg: %v %v\n%s", err, warnings, file)
				}
				cfg.Finish()
				if err := cfg.Validate(); err != nil {
					t.Errorf("config.cfg: %v\n%s", err, file)
				}
			}
			// The Services select the Deployment's pods, never a Job's.
			for name, o := range byName {
				if o.GetKind() != "Service" {
					continue
				}
				if sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector"); sel["app.kubernetes.io/component"] != "main" {
					t.Errorf("%s selects %v: also the Jobs' pods", name, sel)
				}
			}
		})
	}
}

// TestChartClients: per acmeClients entry, the register Job and the check
// CronJob; the check runs once a day between 00:00 and 01:59 at a minute that
// upgrades do not move; the client's Role writes exactly its Secret.
func TestChartClients(t *testing.T) {
	everything := filepath.Join(chartDir, "ci", "everything-values.yaml")
	_, first := kinds(render(t, everything))
	_, upgraded := kinds(render(t, everything, "image.digest=", "image.tag=0.2.0", "acmeClients.team-a.fqdns={app.team-a.example.com,new.team-a.example.com}"))
	for _, client := range []string{"team-a", "shop"} {
		cron := first["CronJob/acmehub-"+client+"-check"]
		if cron == nil {
			t.Fatalf("no CronJob for %s", client)
		}
		schedule, _, _ := unstructured.NestedString(cron.Object, "spec", "schedule")
		var minute, hour int
		if n, err := fmt.Sscanf(schedule, "%d %d * * *", &minute, &hour); n != 2 || err != nil || minute < 0 || minute > 59 || hour < 0 || hour > 1 {
			t.Errorf("%s: schedule %q is not once a day between 00:00 and 01:59", client, schedule)
		}
		again, _, _ := unstructured.NestedString(upgraded["CronJob/acmehub-"+client+"-check"].Object, "spec", "schedule")
		if again != schedule {
			t.Errorf("%s: schedule moved from %q to %q on upgrade", client, schedule, again)
		}

		job := first["Job/acmehub-"+client+"-register"]
		if hook := job.GetAnnotations()["helm.sh/hook"]; hook != "post-install,post-upgrade" {
			t.Errorf("%s: register Job hook %q", client, hook)
		}
		ns := map[string]string{"team-a": "team-a", "shop": "cert-manager"}[client]
		role := first["Role/acmehub-"+client+"-client"]
		if role == nil || role.GetNamespace() != ns {
			t.Fatalf("%s: no Role in %s", client, ns)
		}
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		for _, r := range rules {
			r := r.(map[string]any)
			resources, _, _ := unstructured.NestedStringSlice(r, "resources")
			names, _, _ := unstructured.NestedStringSlice(r, "resourceNames")
			if slices.Contains(resources, "secrets") && !slices.Equal(names, []string{"acme-dns-" + client + "-client"}) {
				t.Errorf("%s: the Role reaches Secrets %q, want exactly acme-dns-%s-client", client, names, client)
			}
		}
		if env := containerEnv(job); env["ACMEHUB_HUB"] != "" {
			t.Errorf("%s: the register Job asks a hub no value names: %v", client, env)
		}
		secret := first["Secret/acme-dns-"+client+"-client"]
		if secret == nil || secret.GetNamespace() != ns || secret.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s: the client's Secret is not pre-created in %s and kept on uninstall: %v", client, ns, secret)
		}
	}
}

// TestChartClientThroughAHub: a client with a hub has its register Job
// given the hub's URL and token (from the Secret the value names), so the
// hub writes the names' CNAMEs, and a pre-delete Job that has the hub
// remove them on uninstall.
func TestChartClientThroughAHub(t *testing.T) {
	_, objs := kinds(render(t, filepath.Join(chartDir, "ci", "everything-values.yaml"),
		"acmeClients.team-a.hub.url=https://hub.example.org:8443", "acmeClients.team-a.hub.tokenSecret=team-a-hub-token"))
	remove := objs["Job/acmehub-team-a-remove"]
	if remove == nil || remove.GetAnnotations()["helm.sh/hook"] != "pre-delete" || containerEnv(remove)["ACMEHUB_HUB"] != "https://hub.example.org:8443" {
		t.Errorf("no pre-delete Job that has the hub remove the client's CNAMEs: %v", remove)
	} else if args, _, _ := unstructured.NestedSlice(remove.Object, "spec", "template", "spec", "containers"); fmt.Sprint(args[0].(map[string]any)["args"]) != "[register --remove]" {
		t.Errorf("the pre-delete Job runs %v", args[0].(map[string]any)["args"])
	}
	if _, plain := kinds(render(t, filepath.Join(chartDir, "ci", "everything-values.yaml"))); plain["Job/acmehub-team-a-remove"] != nil {
		t.Error("a client without a hub has a pre-delete Job")
	}
	env := containerEnv(objs["Job/acmehub-team-a-register"])
	if env["ACMEHUB_HUB"] != "https://hub.example.org:8443" || env["ACMEHUB_HUB_CLIENT_ID"] != "secret team-a-hub-token key clientID" ||
		env["ACMEHUB_HUB_SECRET"] != "secret team-a-hub-token key secret" {
		t.Errorf("the register Job's hub environment: %v", env)
	}
}

// TestChartServiceAccountTokenForAHub: given a hub's URL and no token
// Secret, the webhook and every pod of a client's Jobs get a ServiceAccount
// token projected for the hub (10 minutes, refreshed by the kubelet) where
// acmehub reads it, and no hub secret is referenced anywhere.
func TestChartServiceAccountTokenForAHub(t *testing.T) {
	const hub = "https://hub.example.org:8443"
	_, objs := kinds(render(t, filepath.Join(chartDir, "ci", "everything-values.yaml"),
		"webhook.hub.url="+hub, "acmeClients.team-a.hub.url="+hub, "acmeClients.team-a.hub.audience=acmehub"))
	for name, audience := range map[string]string{"Deployment/acmehub": hub, "Job/acmehub-team-a-register": "acmehub",
		"Job/acmehub-team-a-remove": "acmehub", "CronJob/acmehub-team-a-check": "acmehub"} {
		o := objs[name]
		if o == nil {
			t.Fatalf("no %s", name)
		}
		spec := []string{"spec", "template", "spec"}
		if o.GetKind() == "CronJob" {
			spec = []string{"spec", "jobTemplate", "spec", "template", "spec"}
		}
		volumes, _, _ := unstructured.NestedSlice(o.Object, append(spec, "volumes")...)
		var projected map[string]any
		for _, v := range volumes {
			if v := v.(map[string]any); v["name"] == "hub-token" {
				sources, _, _ := unstructured.NestedSlice(v, "projected", "sources")
				projected, _ = sources[0].(map[string]any)["serviceAccountToken"].(map[string]any)
			}
		}
		if projected["audience"] != audience || fmt.Sprint(projected["expirationSeconds"]) != "600" || projected["path"] != "token" {
			t.Errorf("%s: the projected token %v, want audience %s for 600 s", name, projected, audience)
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, append(spec, "containers")...)
		c := containers[0].(map[string]any)
		mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
		if !slices.ContainsFunc(mounts, func(m any) bool {
			return m.(map[string]any)["name"] == "hub-token" && m.(map[string]any)["mountPath"] == "/var/run/secrets/acmehub/hub"
		}) {
			t.Errorf("%s: the token is not mounted where acmehub reads it: %v", name, mounts)
		}
		env := containerEnv(o)
		if o.GetKind() == "CronJob" {
			env = map[string]string{}
			for _, e := range c["env"].([]any) {
				e := e.(map[string]any)
				env[e["name"].(string)], _ = e["value"].(string)
			}
		}
		if name != "Deployment/acmehub" && (env["ACMEHUB_HUB_TOKEN_FILE"] != "/var/run/secrets/acmehub/hub/token" || env["ACMEHUB_HUB_CLIENT_ID"] != "") {
			t.Errorf("%s: environment %v, want the token file and no hub token", name, env)
		}
	}
	args, _, _ := unstructured.NestedSlice(objs["Deployment/acmehub"].Object, "spec", "template", "spec", "containers")
	if !slices.Contains(args[0].(map[string]any)["args"].([]any), any("--hub-token-url="+hub)) {
		t.Errorf("the webhook may not show its token to %s: %v", hub, args[0].(map[string]any)["args"])
	}
	if _, plain := kinds(render(t, filepath.Join(chartDir, "ci", "everything-values.yaml"))); strings.Contains(fmt.Sprint(plain["Deployment/acmehub"].Object), "hub-token") {
		t.Error("without webhook.hub.url the webhook gets a token for a hub")
	}
}

// containerEnv is the first container's environment of a Job or a
// Deployment: values, and "secret NAME key KEY" for those from Secrets.
func containerEnv(o *unstructured.Unstructured) map[string]string {
	env := map[string]string{}
	if o == nil {
		return env
	}
	containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return env
	}
	list, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
	for _, e := range list {
		e := e.(map[string]any)
		name, _ := e["name"].(string)
		if v, ok := e["value"].(string); ok {
			env[name] = v
			continue
		}
		s, _, _ := unstructured.NestedString(e, "valueFrom", "secretKeyRef", "name")
		k, _, _ := unstructured.NestedString(e, "valueFrom", "secretKeyRef", "key")
		env[name] = "secret " + s + " key " + k
	}
	return env
}

// prometheusOperator is the module whose CRDs define the ServiceMonitor.
const prometheusOperator = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

// crdDirs returns cert-manager's CRDs (a dependency of acmehub) and the
// Prometheus Operator's ServiceMonitor CRD, from the Go module proxy.
func crdDirs(t *testing.T) []string {
	cm, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		t.Fatalf("go list cert-manager: %v", err)
	}
	out, err := exec.Command("go", "mod", "download", "-json", prometheusOperator).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", prometheusOperator, err)
	}
	var po struct{ Dir string }
	if err := json.Unmarshal(out, &po); err != nil || po.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", prometheusOperator, err, out)
	}
	dir := t.TempDir()
	crd, err := os.ReadFile(filepath.Join(po.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_servicemonitors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "servicemonitors.yaml"), crd, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{filepath.Join(strings.TrimSpace(string(cm)), "deploy", "crds"), dir}
}

// longestNames renders the longest names the schema admits: a release
// name of 53 characters (Helm's most), two clients of 40 and two hub
// configs of 63 that differ only in their last character.
func longestNames(t *testing.T) []*unstructured.Unstructured {
	release := "payments-platform-production-eu-west-1-shop-release-1"
	client := "payments-platform-production-eu-west-1-a"
	config := strings.Repeat("payments-platform-production-eu-west-1-", 2)[:62]
	if len(release) != 53 || len(client) != 40 || len(config) != 62 {
		t.Fatalf("lengths %d %d %d", len(release), len(client), len(config))
	}
	set := []string{"hub.enabled=true", "hub.keysSecret.name=k"}
	for i, suffix := range []string{"a", "b"} {
		c := client[:39] + suffix
		set = append(set, "acmeClients."+c+".fqdns={"+suffix+".example.com}")
		set = append(set, fmt.Sprintf("hub.configs[%d].id=%s", i, config+suffix), fmt.Sprintf("hub.configs[%d].provider=digitalocean", i),
			fmt.Sprintf("hub.configs[%d].zone=example.com", i), fmt.Sprintf("hub.configs[%d].rules={.%s.example.com}", i, suffix),
			fmt.Sprintf("hub.configs[%d].credentialsSecret.name=do-%s", i, suffix))
	}
	return renderAs(t, release, filepath.Join(chartDir, "ci", "default-values.yaml"), set...)
}

// checkNames: names within Kubernetes' limits (52 for a CronJob, whose Jobs
// add 11; 63 for what becomes a label or a DNS label: Services, Jobs,
// Deployments, containers, volumes, label values), none alike.
func checkNames(t *testing.T, what string, objs []*unstructured.Unstructured) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range objs {
		key := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
		if seen[key] {
			t.Errorf("%s: %s rendered twice", what, key)
		}
		seen[key] = true
		limit := map[string]int{"CronJob": 52, "Service": 63, "Job": 63, "Deployment": 63}[o.GetKind()]
		if limit > 0 && len(o.GetName()) > limit {
			t.Errorf("%s: %s: name of %d characters, past %d", what, key, len(o.GetName()), limit)
		}
		for k, v := range o.GetLabels() {
			if len(v) > 63 {
				t.Errorf("%s: %s: label %s of %d characters", what, key, k, len(v))
			}
		}
		spec := podTemplate(o)
		if spec == nil {
			continue
		}
		names := map[string]bool{}
		containers, _, _ := unstructured.NestedSlice(spec, "containers")
		inits, _, _ := unstructured.NestedSlice(spec, "initContainers")
		volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
		for _, group := range []struct {
			kind  string
			items []any
		}{{"container", append(containers, inits...)}, {"volume", volumes}} {
			for _, c := range group.items {
				name := c.(map[string]any)["name"].(string)
				if len(name) > 63 || names[group.kind+name] {
					t.Errorf("%s: %s: %s %s too long or not unique", what, key, group.kind, name)
				}
				names[group.kind+name] = true
			}
		}
	}
}

// TestChartAppliesToKubeAPIServer server-side applies every rendered object,
// as a dry run, to a real kube-apiserver that has cert-manager's CRDs and
// the ServiceMonitor's: the render of each values file, and of the longest
// names the schema admits.
func TestChartAppliesToKubeAPIServer(t *testing.T) {
	env := &envtest.Environment{CRDDirectoryPaths: crdDirs(t), ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() { env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(cfg)
	for _, ns := range []string{"acmehub", "cert-manager", "team-a", "team-b"} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	renders := map[string][]*unstructured.Unstructured{"longest names": longestNames(t),
		// ServiceAccount tokens projected for a hub, in the webhook and in a client's Jobs.
		"a hub by ServiceAccount tokens": render(t, filepath.Join(chartDir, "ci", "everything-values.yaml"),
			"webhook.hub.url=https://hub.example.org", "acmeClients.team-a.hub.url=https://hub.example.org")}
	for _, f := range valuesFiles(t) {
		renders[filepath.Base(f)] = render(t, f)
	}
	for what, objs := range renders {
		checkNames(t, what, objs)
		for _, o := range objs {
			if err := kubetest.Apply(ctx, cfg, o, true); err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
	}
}

// TestChartLongestNamesStayDistinct: the longest names are cut with a hash
// of the whole, so the two clients and two configs that share all but
// their last character keep objects, containers and volumes of their own.
func TestChartLongestNamesStayDistinct(t *testing.T) {
	objs := longestNames(t)
	perClient := map[string]int{}
	for _, o := range objs {
		if c := o.GetLabels()["acmehub.io/client"]; c != "" {
			perClient[o.GetKind()+" of "+c]++
		}
	}
	for _, c := range []string{"payments-platform-production-eu-west-1-a", "payments-platform-production-eu-west-1-b"} {
		for _, kind := range []string{"CronJob", "Job", "Role", "RoleBinding", "ServiceAccount", "Secret"} {
			if perClient[kind+" of "+c] != 1 {
				t.Errorf("%d %ss of client %s, want one: %v", perClient[kind+" of "+c], kind, c, perClient)
			}
		}
	}
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			spec := podTemplate(o)
			inits, _, _ := unstructured.NestedSlice(spec, "initContainers")
			if len(inits) != 2 {
				t.Errorf("%d init containers, want one for each of the two configs", len(inits))
			}
		}
	}
}

// TestChartHub: the hub's pod gets its certificate from the chart's CA, an
// init container per config and the keys from their Secret in every
// container; TestChartStartsWhatItRenders runs it.
func TestChartHub(t *testing.T) {
	objs := render(t, filepath.Join(chartDir, "ci", "hub-values.yaml"))
	_, byName := kinds(objs)
	d, cm, cert := byName["Deployment/acmehub"], byName["ConfigMap/acmehub"], byName["Certificate/acmehub-hub-tls"]
	if d == nil || cm == nil || cert == nil {
		t.Fatal("no Deployment, ConfigMap or hub Certificate")
	}
	if dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames"); !slices.Equal(dns, []string{"hub.example.org"}) {
		t.Errorf("hub certificate names %q", dns)
	}
	if issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name"); issuer != "acmehub-ca" {
		t.Errorf("hub certificate issued by %q, want the chart's CA", issuer)
	}
	spec := podTemplate(d)
	var pod corev1.PodSpec
	raw, _ := json.Marshal(spec)
	if err := json.Unmarshal(raw, &pod); err != nil {
		t.Fatal(err)
	}
	var values struct {
		Hub struct{ Configs []struct{ ID string } }
	}
	if raw, err := os.ReadFile(filepath.Join(chartDir, "ci", "hub-values.yaml")); err != nil || sigyaml.Unmarshal(raw, &values) != nil {
		t.Fatalf("reading hub-values.yaml: %v", err)
	}
	if len(pod.InitContainers) != len(values.Hub.Configs) {
		t.Fatalf("%d init containers, want one per hub config (%d)", len(pod.InitContainers), len(values.Hub.Configs))
	}
	main := pod.Containers[0]
	keysFromSecret := func(c corev1.Container) bool {
		return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == "ACMEHUB_HUB_KEYS" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name == "acmehub-hub-keys"
		})
	}
	if !keysFromSecret(main) || !keysFromSecret(pod.InitContainers[0]) {
		t.Error("the hub's keys do not come from hub.keysSecret in every container")
	}
	if !slices.ContainsFunc(main.Ports, func(p corev1.ContainerPort) bool { return p.Name == "hub" && p.ContainerPort == 9443 }) {
		t.Errorf("ports %v lack hub 9443", main.Ports)
	}

}

// notes renders NOTES.txt, which `helm template` leaves out: a copy of the
// chart carries it inside a ConfigMap.
func notes(t *testing.T, values string, set ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "acmehub")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "templates", "NOTES.txt"))
	wrapper := `{{- define "notes-under-test" }}` + string(text) + "{{ end }}\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ include \"notes-under-test\" . | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "notes.yaml"), []byte(wrapper), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"template", "acmehub", dir, "--namespace", "acmehub", "--kube-version", "1.36.3", "-f", values, "--show-only", "templates/notes.yaml"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("NOTES.txt with %s: %v", values, err)
	}
	var cm struct{ Data map[string]string }
	if err := sigyaml.Unmarshal([]byte(out), &cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data["notes"]
}

// TestChartNotes: the next steps after an install name this release's
// objects: the NS delegation, the CNAMEs, an Issuer with the right group.
func TestChartNotes(t *testing.T) {
	tests := []struct {
		values     string
		set        []string
		want, dont []string
	}{
		{"default-values.yaml", nil, []string{
			"Delegate the zone auth.example.org", "Service\n   acmehub-dns (type LoadBalancer, UDP and TCP 53)",
			"kubectl -n acmehub get service acmehub-dns -o jsonpath='{.status.loadBalancer.ingress[0].ip}'",
			"auth.example.org.  NS  auth.example.org.\n     auth.example.org.  A  <that address>",
			"POST /register takes HTTP basic auth: user acmehub, and the password\n\n     kubectl -n acmehub get secret acmehub-registration -o jsonpath='{.data.password}' | base64 -d",
			"acmehub register --api http://acmehub-api.acmehub.svc:80", "_acme-challenge.<name>.  CNAME  <subdomain>.auth.example.org.",
			"groupName: acme.example.org", "solverName: acme-dns", "(for a ClusterIssuer: cert-manager)",
		}, []string{"host: https://acme-dns.example.org", "WARNING"}},
		{"default-values.yaml", []string{"server.dnsService.type=ClusterIP", "server.registration.open=true", "server.apiService.type=LoadBalancer"}, []string{
			"A ClusterIP Service is not reachable from the Internet by itself",
			"WARNING: POST /register is open (server.registration.open): anyone who reaches the API may create\naccounts, and its Service is of type LoadBalancer: reachable from outside the cluster.",
		}, []string{"basic auth: user"}},
		{"clients-values.yaml", nil, []string{"get secret acmehub-registration", "which the register Jobs of acmeClients use.",
			"`helm uninstall` keeps PersistentVolumeClaim acmehub-data (the database), Secret acmehub-registration, Secret cert-manager/acme-dns-team-a-client, Secret team-b/acme-dns-team-b-client:"}, nil},
		{"clients-values.yaml", []string{"server.persistence.enabled=false"}, []string{"`helm uninstall` keeps Secret acmehub-registration, Secret"}, []string{"PersistentVolumeClaim"}},
		{"server-values.yaml", []string{"server.database.engine=postgres", "server.database.connectionSecret.name=pg", "server.registration.open=true"}, nil, []string{"helm uninstall"}},
		{"everything-values.yaml", nil, []string{
			"auth.example.org.  NS  ns1.auth.example.org.", "get secret acmehub-registration -o jsonpath='{.data.password}'", "kubectl -n team-a get secret acme-dns-team-a-client",
			"kubectl -n cert-manager get secret acme-dns-shop-client",
			"-o jsonpath='{.metadata.annotations.acmehub\\.io/cnames}'\n     _acme-challenge.app.team-a.example.com.  CNAME  <fulldomain from the Secret>.\n\n",
			"cert-manager, team-a, team-b",
		}, nil},
		{"webhook-only-values.yaml", nil, []string{"host: https://acme-dns.example.org", "one the webhook may read:\n   any namespace", "\n1. Create", "\n2. Reference"},
			[]string{"Delegate the zone"}},
		{"server-values.yaml", nil, []string{"serves the zone auth.example.org and an acme-dns-compatible API at\nhttp://acmehub-api.acmehub.svc:80",
			"POST http://acmehub-api.acmehub.svc:80/register", "3. Point ACME clients"}, []string{"groupName", "solverName", "acmehub register", "managed-challenge hub", "basic auth", "WARNING"}},
		{"hub-values.yaml", nil, []string{"The managed-challenge hub answers at https://acmehub-hub.acmehub.svc:443",
			"kubectl -n acmehub exec deploy/acmehub -c webhook -- acmehub admin -c /etc/acmehub/config.cfg \\\n       tokens create --principal",
			"solverName: hub", "url: https://acmehub-hub.acmehub.svc:443", "get secret acmehub-ca -o jsonpath='{.data.ca\\.crt}'"},
			[]string{"configs put --id example", "the proxy that terminates TLS"}},
	}
	for _, tt := range tests {
		text := notes(t, filepath.Join(chartDir, "ci", tt.values), tt.set...)
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: NOTES lack %q:\n%s", tt.values, w, text)
			}
		}
		for _, d := range tt.dont {
			if strings.Contains(text, d) {
				t.Errorf("%s: NOTES say %q:\n%s", tt.values, d, text)
			}
		}
	}
}

// TestChartLookups: what the chart reads back from the cluster. Installed
// again (a server-side dry run against kube-apiserver) where the DNS
// Service's load balancer has its address and the registration Secret
// exists: NOTES give the address for the NS records, and the password
// stays the one the Secret holds.
func TestChartLookups(t *testing.T) {
	kube, kubeconfig := controlPlane(t)
	ctx := context.Background()
	install := func() string {
		out, err := helm(t, "install", "acmehub", chartDir, "--namespace", "acmehub", "--kubeconfig", kubeconfig, "--dry-run=server",
			"-f", filepath.Join(chartDir, "ci", "default-values.yaml"))
		if err != nil {
			t.Fatalf("helm install --dry-run=server: %v", err)
		}
		return out
	}
	first := install()
	if !strings.Contains(first, "Its load balancer has no address yet") {
		t.Errorf("before the load balancer has an address, NOTES say:\n%s", first)
	}

	// As the first install left them: owned by the release.
	owned := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			Annotations: map[string]string{"meta.helm.sh/release-name": "acmehub", "meta.helm.sh/release-namespace": "acmehub"}}
	}
	svc, err := kube.CoreV1().Services("acmehub").Create(ctx, &corev1.Service{
		ObjectMeta: owned("acmehub-dns"),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.53"}}
	if _, err := kube.CoreV1().Services("acmehub").UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets("acmehub").Create(ctx, &corev1.Secret{
		ObjectMeta: owned("acmehub-registration"), Type: corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{"username": []byte("acmehub"), "password": []byte("the-password-the-first-install-made")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	again := install()
	for _, want := range []string{"Its address is 203.0.113.53: in the parent zone,\n\n     auth.example.org.  NS  auth.example.org.\n     auth.example.org.  A  203.0.113.53",
		"password: " + base64.StdEncoding.EncodeToString([]byte("the-password-the-first-install-made"))} {
		if !strings.Contains(again, want) {
			t.Errorf("installed again, the output lacks %q:\n%s", want, again)
		}
	}
}
