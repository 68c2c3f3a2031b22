// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build chart

package chart_test

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/kubetest"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
)

// TestChartStartsWhatItRenders installs the chart as a user would, for each
// values file of its ci/ folder and for the install command README.md
// gives, and starts every pod it renders with the real binary.
//
// For every pod template (the Deployment, each Job, each CronJob's job
// template, init containers included) every reference is resolved:
// ServiceAccounts, Secrets and ConfigMaps of volumes, env and
// imagePullSecrets, PersistentVolumeClaims. Each must be an object the
// render creates (a Secret may also be the one a rendered cert-manager
// Certificate issues) or one that a value names as existing: those are the
// values documented as "an existing Secret", which the test creates from
// fixtures (testdata/chart/). Anything else fails the test, naming the pod
// and the reference.
//
// Then each container runs its exact command, args and environment, with
// what a cluster would give it played on this machine:
//
//   - volumes are directories made from those objects, at the paths the
//     container mounts them (paths in args, env and mounted ConfigMaps are
//     moved there); the process runs as the pod's user (when the test runs
//     as root), in a working directory it cannot write, so that only the
//     writable volumes are writable, as readOnlyRootFilesystem enforces;
//   - each declared container port is a free loopback port, wherever args
//     or mounted configuration name it;
//   - Service names (and load balancer addresses) reach the pod behind them;
//   - the pod's service account is a kubeconfig with a token of the
//     TokenRequest API, on a real kube-apiserver holding the release's
//     ServiceAccounts and RBAC: $KUBECONFIG, and the extension apiserver's
//     kubeconfig flags (in-cluster configuration is read from fixed paths);
//   - the pod's resolv.conf is a resolver holding the CNAMEs a DNS team
//     creates from what the register Job printed ($ACMEHUB_RESOLVERS);
//   - what the values name outside the cluster (another acme-dns, the
//     cluster DNS address, the pod network) is a stand-in started by the
//     test, or loopback (see startOutside).
//
// The Deployment's pod must pass its readiness and liveness probes; a hub
// with a config of the self provider answers a token (made as NOTES say,
// with acmehub admin in the pod) through its Service; each register Job,
// then each check CronJob's job, must exit 0 against the pod.
func TestChartStartsWhatItRenders(t *testing.T) {
	dir := kubetest.WorldReadableDir(t)
	_, admin := kubetest.StartAggregatingControlPlane(t, dir, crdDirs(t)...)
	for _, c := range installCases(t) {
		t.Run(c.name, func(t *testing.T) {
			newInstall(t, admin, c).run()
		})
	}
}

// installCase is one `helm install`.
type installCase struct {
	name, release, namespace string
	values, set              []string
}

// installCases are the ci/ values files, each in a namespace of its own,
// and README.md's install command.
func installCases(t *testing.T) []installCase {
	var cases []installCase
	for _, f := range valuesFiles(t) {
		base := strings.TrimSuffix(filepath.Base(f), "-values.yaml")
		cases = append(cases, installCase{name: filepath.Base(f), release: "acmehub", namespace: "ci-" + base, values: []string{f}})
	}
	return append(cases, readmeInstall(t))
}

// readmeInstall is the first `helm install` command of README.md.
func readmeInstall(t *testing.T) installCase {
	t.Helper()
	fields := testutil.ReadmeHelmInstall(t)
	c := installCase{name: "README", release: fields[2], namespace: "default"}
	if fields[3] != chartPath {
		t.Fatalf("README's helm install installs %s, not %s", fields[3], chartPath)
	}
	for i := 4; i < len(fields); i++ {
		switch fields[i] {
		case "--namespace", "-n":
			i++
			c.namespace = fields[i]
		case "--set":
			i++
			c.set = append(c.set, fields[i])
		case "-f", "--values":
			i++
			c.values = append(c.values, fields[i])
		case "--create-namespace", "--wait":
		default:
			t.Fatalf("README's helm install: the test does not know %q", fields[i])
		}
	}
	return c
}

// install is one case's release on the control plane.
type install struct {
	t       *testing.T
	c       installCase
	admin   *rest.Config
	kube    kubernetes.Interface
	dir     string
	objs    []*unstructured.Unstructured
	values  map[string]any
	byKey   map[string]*unstructured.Unstructured // Kind/namespace/name
	secrets map[string]*corev1.Secret             // namespace/name: rendered, issued and supplied
	cas     *testCA
	pvcs    map[string]string // claim -> directory
	// replace maps what args, env and configuration name in the cluster
	// to where it is on this machine (Services, stand-ins).
	replace  map[string]string
	resolver *testutil.Resolver
	root     bool
	supplied []existingSecret
}

func newInstall(t *testing.T, admin *rest.Config, c installCase) *install {
	in := &install{t: t, c: c, admin: admin, kube: kubernetes.NewForConfigOrDie(admin), dir: podsDir(t),
		byKey: map[string]*unstructured.Unstructured{}, secrets: map[string]*corev1.Secret{}, pvcs: map[string]string{},
		replace: map[string]string{}, root: os.Geteuid() == 0}
	in.objs, in.values = renderWithValues(t, c)
	for _, o := range in.objs {
		in.byKey[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	in.cas = newTestCA(t)
	in.resolver = testutil.NewResolver(t)
	return in
}

func (in *install) run() {
	t := in.t
	in.checkReferences()
	if t.Failed() {
		t.FailNow()
	}
	in.createNamespacesAndRBAC()
	in.supplyExisting()
	in.issueCertificates()
	in.startOutside()

	deployment := in.one("Deployment")
	pod := in.startPod(deployment)
	in.servicesReach(deployment, pod)
	pod.waitProbes()
	in.checkWebhookCertificate(pod)
	in.useHub(pod)

	for _, job := range in.kinds("Job") {
		in.runJob(job)
	}
	in.delegate()
	for _, cron := range in.kinds("CronJob") {
		in.runJob(cron)
	}
}

// podsDir is where the pods' directories go: reachable, not writable, by
// the pods' user (t.TempDir's parent is private).
func podsDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "acmehub-chart")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// renderWithValues renders the chart for c, and the values it computed
// (the chart's defaults merged with the files and --set) from a copy of the
// chart carrying them in a ConfigMap.
func renderWithValues(t *testing.T, c installCase) ([]*unstructured.Unstructured, map[string]any) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "acmehub")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	dump := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: computed-values-under-test}\ndata:\n  values: {{ toJson .Values | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "computed-values-under-test.yaml"), []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"template", c.release, dir, "--namespace", c.namespace, "--kube-version", "1.36.3"}
	for _, f := range c.values {
		args = append(args, "-f", f)
	}
	for _, s := range c.set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v", strings.Join(args, " "), err)
	}
	objs := decodeObjects(t, out)
	var values map[string]any
	for i, o := range objs {
		if o.GetName() == "computed-values-under-test" {
			raw, _, _ := unstructured.NestedString(o.Object, "data", "values")
			if err := json.Unmarshal([]byte(raw), &values); err != nil {
				t.Fatal(err)
			}
			return slices.Delete(objs, i, i+1), values
		}
	}
	t.Fatal("no computed values")
	return nil, nil
}

func (in *install) kinds(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range in.objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func (in *install) one(kind string) *unstructured.Unstructured {
	all := in.kinds(kind)
	if len(all) != 1 {
		in.t.Fatalf("%d %ss rendered, want one", len(all), kind)
	}
	return all[0]
}

// podSpec is the pod template of a Deployment, Job or CronJob.
func podSpec(t *testing.T, o *unstructured.Unstructured) (corev1.PodSpec, map[string]string) {
	t.Helper()
	path := []string{"spec", "template"}
	if o.GetKind() == "CronJob" {
		path = []string{"spec", "jobTemplate", "spec", "template"}
	}
	tmpl, _, _ := unstructured.NestedMap(o.Object, path...)
	raw, _ := json.Marshal(tmpl)
	var pt corev1.PodTemplateSpec
	if err := json.Unmarshal(raw, &pt); err != nil {
		t.Fatalf("%s %s: pod template: %v", o.GetKind(), o.GetName(), err)
	}
	return pt.Spec, pt.Labels
}

// existingSecret is a Secret a value names as one the user creates before
// installing: path is the value, for messages.
type existingSecret struct {
	path, namespace, name string
	typ                   corev1.SecretType
	data                  map[string][]byte
}

// existing lists the Secrets the computed values name as existing, each
// with the fixture data the test creates it with.
func (in *install) existing() []existingSecret {
	if in.supplied == nil {
		in.supplied = in.fixtures()
	}
	return in.supplied
}

func (in *install) fixtures() []existingSecret {
	ns, v := in.c.namespace, in.values
	var out []existingSecret
	str := func(m any, path ...string) string {
		for _, p := range path {
			mm, _ := m.(map[string]any)
			m = mm[p]
		}
		s, _ := m.(string)
		return s
	}
	keyed := func(path string, ref any, defaultKey string, value []byte) {
		name, key := str(ref, "name"), str(ref, "key")
		if name == "" {
			return
		}
		if key == "" {
			key = defaultKey
		}
		out = append(out, existingSecret{path: path, namespace: ns, name: name, typ: corev1.SecretTypeOpaque, data: map[string][]byte{key: value}})
	}
	pulls := func(path string, list any) {
		l, _ := list.([]any)
		for _, e := range l {
			out = append(out, existingSecret{path: path, namespace: ns, name: str(e, "name"), typ: corev1.SecretTypeDockerConfigJson,
				data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": {}}`)}})
		}
	}
	pulls("imagePullSecrets", v["imagePullSecrets"])
	pulls("clientJobs.imagePullSecrets", str2any(v, "clientJobs", "imagePullSecrets"))
	keyed("server.registration.passwordSecret", str2any(v, "server", "registration", "passwordSecret"), "password", []byte(registrationPassword))
	if ref := str2any(v, "server", "database", "connectionSecret"); str(ref, "name") != "" {
		keyed("server.database.connectionSecret", ref, "connection", []byte(pgtest.Database(in.t)))
	}
	if ref := str2any(v, "hub", "keysSecret"); str(ref, "name") != "" {
		keygen := testutil.Start(in.t, nil, "admin", "keygen")
		keygen.Wait(10 * time.Second)
		keyed("hub.keysSecret", ref, "hub.keys", []byte(strings.TrimSpace(keygen.Output())))
	}
	if name := str(v, "server", "dnssec", "keysSecret"); name != "" {
		data := map[string][]byte{}
		keys, _ := str2any(v, "server", "dnssec", "keys").([]any)
		for _, k := range keys {
			dir := in.t.TempDir()
			keygen := testutil.StartCmd(in.t, &exec.Cmd{Dir: dir}, "dnssec", "keygen", str(v, "server", "domain"))
			if code := keygen.Wait(10 * time.Second); code != 0 {
				in.t.Fatalf("dnssec keygen: exit %d\n%s", code, keygen.Output())
			}
			for _, ext := range []string{".key", ".private"} {
				file, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(keygen.Output())+ext))
				if err != nil {
					in.t.Fatal(err)
				}
				data[k.(string)+ext] = file
			}
		}
		out = append(out, existingSecret{path: "server.dnssec.keysSecret", namespace: ns, name: name, typ: corev1.SecretTypeOpaque, data: data})
	}
	keyed("hub.acmeproxy.createSecret", str2any(v, "hub", "acmeproxy", "createSecret"), "secret", []byte("an-acmeproxy-create-secret-0123456789"))
	if str(v, "hub", "tls", "mode") == "secret" {
		name := str(v, "hub", "tls", "secretName")
		out = append(out, existingSecret{path: "hub.tls.secretName", namespace: ns, name: name, typ: corev1.SecretTypeTLS,
			data: in.cas.issue(in.t, []string{"hub." + ns + ".example"})})
	}
	configs, _ := str2any(v, "hub", "configs").([]any)
	for i, c := range configs {
		fixture, err := os.ReadFile(testutil.Testdata(in.t, filepath.Join("chart", str(c, "provider")+"-credentials.json")))
		if err != nil && str(c, "credentialsSecret", "name") != "" {
			in.t.Fatalf("hub.configs[%d]: no fixture for provider %s: %v", i, str(c, "provider"), err)
		}
		keyed(fmt.Sprintf("hub.configs[%d].credentialsSecret", i), str2any(c, "credentialsSecret"), "credentials.json", fixture)
	}
	clients, _ := v["acmeClients"].(map[string]any)
	for name, c := range clients {
		if s := str(c, "basicAuthSecret"); s != "" {
			out = append(out, existingSecret{path: "acmeClients." + name + ".basicAuthSecret", namespace: ns, name: s, typ: corev1.SecretTypeBasicAuth,
				data: map[string][]byte{"username": []byte(standInUser), "password": []byte(standInPassword)}})
		}
	}
	return out
}

func str2any(m any, path ...string) any {
	for _, p := range path {
		mm, _ := m.(map[string]any)
		m = mm[p]
	}
	return m
}

// Fixture credentials of the registration password and of the stand-in
// acme-dns's registration.
const (
	registrationPassword = "the-registration-password-0123456789"
	standInUser          = "registrar"
	standInPassword      = "the-stand-in-password-0123456789"
)

// checkReferences resolves every reference of every pod template.
func (in *install) checkReferences() {
	t := in.t
	created := map[string]string{} // Kind/namespace/name -> what makes it
	for _, o := range in.objs {
		created[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = "rendered"
		if o.GetKind() == "Certificate" {
			secret, _, _ := unstructured.NestedString(o.Object, "spec", "secretName")
			created["Secret/"+o.GetNamespace()+"/"+secret] = "issued by Certificate " + o.GetName()
		}
	}
	for _, e := range in.existing() {
		created["Secret/"+e.namespace+"/"+e.name] = "existing, named by " + e.path
	}
	created["ServiceAccount/"+in.c.namespace+"/default"] = "every namespace's"

	for _, o := range append(append(in.kinds("Deployment"), in.kinds("Job")...), in.kinds("CronJob")...) {
		spec, _ := podSpec(t, o)
		pod := o.GetKind() + " " + o.GetName()
		ns := o.GetNamespace()
		need := func(what, kind, name string) {
			if _, ok := created[kind+"/"+ns+"/"+name]; !ok {
				t.Errorf("%s: %s: %s %s/%s is neither rendered, nor issued by a rendered Certificate, nor named by a value as existing",
					pod, what, kind, ns, name)
			}
		}
		need("serviceAccountName", "ServiceAccount", cmp.Or(spec.ServiceAccountName, "default"))
		for _, s := range spec.ImagePullSecrets {
			need("imagePullSecrets", "Secret", s.Name)
		}
		volumes := map[string]bool{}
		for _, v := range spec.Volumes {
			volumes[v.Name] = true
			switch {
			case v.Secret != nil:
				if v.Secret.Optional == nil || !*v.Secret.Optional {
					need("volume "+v.Name, "Secret", v.Secret.SecretName)
				}
			case v.ConfigMap != nil:
				need("volume "+v.Name, "ConfigMap", v.ConfigMap.Name)
			case v.PersistentVolumeClaim != nil:
				need("volume "+v.Name, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName)
			case v.EmptyDir != nil:
			default:
				t.Errorf("%s: volume %s: a kind of volume this test cannot make", pod, v.Name)
			}
		}
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			for _, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					t.Errorf("%s: container %s mounts %s, which the pod does not have", pod, c.Name, m.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				switch r := e.ValueFrom; {
				case r.SecretKeyRef != nil:
					if r.SecretKeyRef.Optional == nil || !*r.SecretKeyRef.Optional {
						need("env "+e.Name, "Secret", r.SecretKeyRef.Name)
					}
				case r.ConfigMapKeyRef != nil:
					need("env "+e.Name, "ConfigMap", r.ConfigMapKeyRef.Name)
				case r.FieldRef != nil:
				default:
					t.Errorf("%s: container %s env %s: a reference this test cannot resolve", pod, c.Name, e.Name)
				}
			}
			if len(c.EnvFrom) > 0 {
				t.Errorf("%s: container %s: envFrom, which this test cannot resolve", pod, c.Name)
			}
		}
	}
}

// apply server-side applies o for real.
func (in *install) apply(o *unstructured.Unstructured) {
	in.t.Helper()
	if err := kubetest.Apply(context.Background(), in.admin, o, false); err != nil {
		in.t.Fatal(err)
	}
}

// createNamespacesAndRBAC creates the namespaces the release uses and
// applies its ServiceAccounts, RBAC, Secrets and ConfigMaps; the objects
// that need controllers or a pod network are played by this test.
func (in *install) createNamespacesAndRBAC() {
	namespaces := map[string]bool{in.c.namespace: true, "kube-system": true}
	for _, o := range in.objs {
		if o.GetNamespace() != "" {
			namespaces[o.GetNamespace()] = true
		}
	}
	for ns := range namespaces {
		_, err := in.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			in.t.Fatal(err)
		}
	}
	for _, o := range in.objs {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret", "ConfigMap":
			in.apply(o)
		}
		if o.GetKind() == "Secret" {
			var s corev1.Secret
			raw, _ := json.Marshal(o.Object)
			if err := json.Unmarshal(raw, &s); err != nil {
				in.t.Fatal(err)
			}
			for k, v := range s.StringData {
				if s.Data == nil {
					s.Data = map[string][]byte{}
				}
				s.Data[k] = []byte(v)
			}
			in.secrets[s.Namespace+"/"+s.Name] = &s
		}
	}
}

// supplyExisting creates the Secrets the values name as existing.
func (in *install) supplyExisting() {
	for _, e := range in.existing() {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.namespace, Name: e.name}, Type: e.typ, Data: e.data}
		if prev := in.secrets[e.namespace+"/"+e.name]; prev != nil {
			// Two values naming one Secret: one Secret with both keys.
			for k, v := range prev.Data {
				s.Data[k] = v
			}
		}
		in.createSecret(s)
	}
}

func (in *install) createSecret(s *corev1.Secret) {
	in.t.Helper()
	secrets := in.kube.CoreV1().Secrets(s.Namespace)
	if _, err := secrets.Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		if _, err := secrets.Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
			in.t.Fatalf("secret %s/%s: %v", s.Namespace, s.Name, err)
		}
	}
	in.secrets[s.Namespace+"/"+s.Name] = s
}

// issueCertificates plays cert-manager: each rendered Certificate's Secret,
// issued by the test's CA for the Certificate's names.
func (in *install) issueCertificates() {
	for _, o := range in.kinds("Certificate") {
		secret, _, _ := unstructured.NestedString(o.Object, "spec", "secretName")
		names, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "dnsNames")
		in.createSecret(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.GetNamespace(), Name: secret},
			Type: corev1.SecretTypeTLS, Data: in.cas.issue(in.t, names)})
	}
}

// startOutside starts stand-ins for what the ci values name outside the
// release, and maps the names to them: another acme-dns (an acmehub
// server) with its name server, the cluster's DNS Service address (the
// resolver), and the pod network (this machine's loopback), as allowfrom
// admits it.
func (in *install) startOutside() {
	standIn := ""
	clients, _ := in.values["acmeClients"].(map[string]any)
	protected := false
	for _, c := range clients {
		api, _ := str2any(c, "api").(string)
		standIn = cmp.Or(standIn, api)
		protected = protected || str2any(c, "basicAuthSecret") != nil && str2any(c, "basicAuthSecret") != ""
	}
	in.replace["10.96.0.10:53"] = in.resolver.Addr
	in.replace["10.0.0.0/8"] = "127.0.0.0/8"
	if standIn == "" {
		return
	}
	extra := ""
	if protected {
		extra = fmt.Sprintf("[acmehub]\nregistration_user = %q\nregistration_password = %q\n", standInUser, standInPassword)
	}
	p := testutil.StartAcmeDNS(in.t, "acme-dns.example.org", extra)
	in.replace[standIn] = p.API
	in.replace["ns1.acme-dns.example.org:53"] = p.DNSUDP
}

// pod is a started pod: its processes and where its ports are.
type pod struct {
	in      *install
	name    string
	spec    corev1.PodSpec
	ports   map[int32]int // container port -> loopback port
	main    *testutil.Process
	dir     string
	volumes map[string]string // volume -> directory
	runs    int
}

// startPod starts the Deployment's pod: its init containers one after the
// other, each to exit 0, then its container.
func (in *install) startPod(o *unstructured.Unstructured) *pod {
	spec, _ := podSpec(in.t, o)
	p := &pod{in: in, name: o.GetKind() + " " + o.GetName(), spec: spec, ports: map[int32]int{}, dir: filepath.Join(in.dir, o.GetKind()+"-"+o.GetName())}
	for _, c := range spec.Containers {
		for _, port := range c.Ports {
			if _, ok := p.ports[port.ContainerPort]; !ok {
				p.ports[port.ContainerPort] = testutil.FreeDualPort(in.t)
			}
		}
	}
	volumes := p.materialise()
	p.volumes = volumes
	for _, c := range spec.InitContainers {
		proc := p.run(c, volumes)
		if code := proc.Wait(60 * time.Second); code != 0 {
			in.t.Fatalf("%s: init container %s: exit %d\n%s", p.name, c.Name, code, proc.Output())
		}
	}
	if len(spec.Containers) != 1 {
		in.t.Fatalf("%s: %d containers, want one", p.name, len(spec.Containers))
	}
	p.main = p.run(spec.Containers[0], volumes)
	return p
}

// materialise makes the pod's volumes: directory per volume.
func (p *pod) materialise() map[string]string {
	t, in := p.in.t, p.in
	out := map[string]string{}
	for _, v := range p.spec.Volumes {
		dir := filepath.Join(p.dir, "volumes", v.Name)
		switch {
		case v.Secret != nil || v.ConfigMap != nil:
			var data map[string][]byte
			var items []corev1.KeyToPath
			if v.Secret != nil {
				s := in.secrets[in.c.namespace+"/"+v.Secret.SecretName]
				if s == nil {
					t.Fatalf("%s: volume %s: no Secret %s", p.name, v.Name, v.Secret.SecretName)
				}
				data, items = s.Data, v.Secret.Items
			} else {
				cm := in.byKey["ConfigMap/"+in.c.namespace+"/"+v.ConfigMap.Name]
				files, _, _ := unstructured.NestedStringMap(cm.Object, "data")
				data = map[string][]byte{}
				for k, f := range files {
					data[k] = []byte(f)
				}
				items = v.ConfigMap.Items
			}
			if len(items) == 0 {
				for k := range data {
					items = append(items, corev1.KeyToPath{Key: k, Path: k})
				}
			}
			os.MkdirAll(dir, 0o755)
			for _, it := range items {
				content, ok := data[it.Key]
				if !ok {
					t.Fatalf("%s: volume %s: no key %s", p.name, v.Name, it.Key)
				}
				f := filepath.Join(dir, it.Path)
				os.MkdirAll(filepath.Dir(f), 0o755)
				if err := os.WriteFile(f, content, 0o444); err != nil {
					t.Fatal(err)
				}
			}
			readOnly(dir)
		case v.PersistentVolumeClaim != nil:
			claim := v.PersistentVolumeClaim.ClaimName
			if in.pvcs[claim] == "" {
				in.pvcs[claim] = filepath.Join(in.dir, "pvc", claim)
				p.writable(in.pvcs[claim])
			}
			dir = in.pvcs[claim]
		case v.EmptyDir != nil:
			p.writable(dir)
		}
		out[v.Name] = dir
	}
	// The pod's service account token, which the kubelet mounts.
	sa := filepath.Join(p.dir, "serviceaccount")
	os.MkdirAll(sa, 0o755)
	in.writeKubeconfig(filepath.Join(sa, "kubeconfig"), cmp.Or(p.spec.ServiceAccountName, "default"))
	readOnly(sa)
	out["(service account)"] = sa
	return out
}

// writable makes a directory the pod's user may write, as fsGroup does.
func (p *pod) writable(dir string) {
	os.MkdirAll(filepath.Dir(dir), 0o755)
	os.MkdirAll(dir, 0o770)
	if p.in.root {
		os.Chown(dir, 65532, 65532)
	}
	os.Chmod(dir, 0o770)
}

// readOnly leaves a directory readable by anyone, writable by nobody (root
// is kept out by running the pod as its user).
func readOnly(dir string) {
	filepath.Walk(dir, func(path string, info os.FileInfo, _ error) error {
		if info != nil && info.IsDir() {
			os.Chmod(path, 0o555)
		}
		return nil
	})
}

// writeKubeconfig writes a kubeconfig with a TokenRequest token of the
// release's ServiceAccount name.
func (in *install) writeKubeconfig(path, sa string) {
	kubetest.AsServiceAccount(in.t, in.admin, in.c.namespace, sa, path)
}

// image is what the Dockerfile gives every container: its entrypoint,
// default arguments, working directory and environment.
type image struct {
	entrypoint, cmd []string
	workdir         string
}

func readImage(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.Root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var img image
	// The last stage's instructions win.
	for _, line := range strings.Split(string(data), "\n") {
		instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch instr {
		case "FROM":
			img = image{}
		case "ENTRYPOINT":
			json.Unmarshal([]byte(rest), &img.entrypoint)
		case "CMD":
			json.Unmarshal([]byte(rest), &img.cmd)
		case "WORKDIR":
			img.workdir = strings.TrimSpace(rest)
		}
	}
	if len(img.entrypoint) != 1 || !strings.HasSuffix(img.entrypoint[0], "/acmehub") {
		t.Fatalf("Dockerfile's ENTRYPOINT %q is not the acmehub binary", img.entrypoint)
	}
	return img
}

// run starts one container of the pod.
func (p *pod) run(c corev1.Container, volumes map[string]string) *testutil.Process {
	t := p.in.t
	img := readImage(t)
	if len(c.Command) > 0 && !slices.Equal(c.Command, img.entrypoint) {
		t.Fatalf("%s: container %s runs %q, not the image's acmehub", p.name, c.Name, c.Command)
	}
	args := c.Args
	if len(args) == 0 && len(c.Command) == 0 {
		args = img.cmd
	}
	// Mounted ConfigMaps are configuration, moved to this machine too: each
	// container (each run) reads its own copy, rewritten for it.
	p.runs++
	volumes = maps.Clone(volumes)
	var configs []string
	for _, v := range p.spec.Volumes {
		if v.ConfigMap != nil {
			own := filepath.Join(p.dir, fmt.Sprintf("run-%d-%s", p.runs, c.Name), v.Name)
			if err := os.CopyFS(own, os.DirFS(volumes[v.Name])); err != nil {
				t.Fatal(err)
			}
			volumes[v.Name] = own
			configs = append(configs, own)
		}
	}
	rw := p.rewriter(c, volumes)
	for _, dir := range configs {
		os.Chmod(filepath.Dir(dir), 0o755)
		rw.files(t, dir)
	}
	var out []string
	for _, a := range args {
		out = append(out, rw.apply(a))
	}
	if c.Args != nil && slices.ContainsFunc(out, func(a string) bool { return strings.HasPrefix(a, "--secure-port") }) {
		// The extension apiserver: on loopback, with the service account's
		// kubeconfig (in-cluster configuration is read from fixed paths).
		kc := filepath.Join(volumes["(service account)"], "kubeconfig")
		out = append(out, "--bind-address=127.0.0.1", "--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc)
	}
	rw.unused(t, p.name, c.Name)

	env := p.environment(c, volumes, rw)

	workdir := filepath.Join(p.dir, "workdir-"+c.Name)
	os.MkdirAll(workdir, 0o755)
	readOnly(workdir)
	for _, m := range c.VolumeMounts {
		if m.MountPath == img.workdir {
			workdir = volumes[m.Name]
		}
	}
	cmd := &exec.Cmd{Dir: workdir, Env: env, SysProcAttr: p.user()}
	return testutil.StartContained(t, cmd, out...)
}

// environment is what the container's process sees: PATH, the service
// account's kubeconfig, a read-only HOME and TMPDIR (the mounted /tmp when
// there is one), the container's env resolved and moved to this machine,
// and the pod's resolv.conf as $ACMEHUB_RESOLVERS.
func (p *pod) environment(c corev1.Container, volumes map[string]string, rw *rewriter) []string {
	t, in := p.in.t, p.in
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "KUBECONFIG=" + filepath.Join(volumes["(service account)"], "kubeconfig")}
	home := filepath.Join(p.dir, "root-"+c.Name)
	os.MkdirAll(home, 0o755)
	readOnly(home)
	env = append(env, "HOME="+home, "TMPDIR="+home)
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			env[len(env)-1] = "TMPDIR=" + volumes[m.Name]
		}
	}
	named := map[string]bool{}
	for _, e := range c.Env {
		named[e.Name] = true
		value := e.Value
		switch r := e.ValueFrom; {
		case r == nil:
		case r.SecretKeyRef != nil:
			s := in.secrets[in.c.namespace+"/"+r.SecretKeyRef.Name]
			if s == nil || s.Data[r.SecretKeyRef.Key] == nil {
				t.Fatalf("%s: container %s env %s: Secret %s has no key %s", p.name, c.Name, e.Name, r.SecretKeyRef.Name, r.SecretKeyRef.Key)
			}
			value = string(s.Data[r.SecretKeyRef.Key])
		case r.FieldRef != nil && r.FieldRef.FieldPath == "metadata.namespace":
			value = in.c.namespace
		default:
			t.Fatalf("%s: container %s env %s: cannot resolve %+v", p.name, c.Name, e.Name, r)
		}
		env = append(env, e.Name+"="+rw.apply(value))
	}
	if !named["ACMEHUB_RESOLVERS"] {
		env = append(env, "ACMEHUB_RESOLVERS="+in.resolver.Addr) // the pod's resolv.conf
	}
	return env
}

// user is the pod's user and group, when the test runs as root.
func (p *pod) user() *syscall.SysProcAttr {
	if !p.in.root {
		return nil
	}
	user, group := uint32(65532), uint32(65532)
	if sc := p.spec.SecurityContext; sc != nil && sc.RunAsUser != nil {
		user = uint32(*sc.RunAsUser)
	}
	if sc := p.spec.SecurityContext; sc != nil && sc.RunAsGroup != nil {
		group = uint32(*sc.RunAsGroup)
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: user, Gid: group, Groups: []uint32{group}}}
}

// rewriter moves what a container names in the cluster to this machine:
// one pass of each kind over a string, so that nothing is moved twice.
type rewriter struct {
	passes []*rewritePass
	ports  map[int32]bool // declared ports not yet found
}

// rewritePass replaces, in one pass, every match of the alternation of its
// patterns (longest first) by what the matching pattern says.
type rewritePass struct {
	re    *regexp.Regexp
	withs []rewrite
}

type rewrite struct {
	re   *regexp.Regexp
	with string
	port int32
}

// boundary keeps a replaced name or path from being part of a longer one.
const (
	boundary     = `(^|[^A-Za-z0-9._/-])`
	nameBoundary = `(^|[^A-Za-z0-9.-])`
)

func newPass(rs []rewrite) *rewritePass {
	alts := make([]string, len(rs))
	for i, r := range rs {
		alts[i] = r.re.String()
	}
	return &rewritePass{re: regexp.MustCompile(strings.Join(alts, "|")), withs: rs}
}

func (p *pod) rewriter(c corev1.Container, volumes map[string]string) *rewriter {
	rw := &rewriter{ports: map[int32]bool{}}
	var names, ports, mounts []rewrite
	keys := make([]string, 0, len(p.in.replace))
	for k := range p.in.replace {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		names = append(names, rewrite{regexp.MustCompile(nameBoundary + regexp.QuoteMeta(k) + `($|[^A-Za-z0-9.-])`), "${1}" + p.in.replace[k] + "${2}", 0})
	}
	for _, port := range c.Ports {
		cp, q := port.ContainerPort, strconv.Itoa(p.ports[port.ContainerPort])
		rw.ports[cp] = true
		n := regexp.QuoteMeta(strconv.Itoa(int(cp)))
		ports = append(ports,
			rewrite{regexp.MustCompile(`(0\.0\.0\.0|\[::\]):` + n + `\b`), "127.0.0.1:" + q, cp},
			rewrite{regexp.MustCompile(`(["=]):` + n + `\b`), "${1}127.0.0.1:" + q, cp},
			rewrite{regexp.MustCompile(`(port\s*=\s*"?)` + n + `\b`), "${1}" + q, cp},
			rewrite{regexp.MustCompile(`(--secure-port[= ])` + n + `\b`), "${1}" + q, cp})
	}
	ports = append(ports, rewrite{regexp.MustCompile(`(ip\s*=\s*")0\.0\.0\.0"`), `${1}127.0.0.1"`, 0})
	ms := slices.Clone(c.VolumeMounts)
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].MountPath) > len(ms[j].MountPath) })
	for _, m := range ms {
		mounts = append(mounts, rewrite{regexp.MustCompile(boundary + regexp.QuoteMeta(m.MountPath) + `($|[/"',\s])`), "${1}" + volumes[m.Name] + "${2}", 0})
	}
	for _, pass := range [][]rewrite{names, ports, mounts} {
		if len(pass) > 0 {
			rw.passes = append(rw.passes, newPass(pass))
		}
	}
	return rw
}

func (rw *rewriter) apply(s string) string {
	for _, pass := range rw.passes {
		s = pass.re.ReplaceAllStringFunc(s, func(match string) string {
			for _, r := range pass.withs {
				if loc := r.re.FindStringIndex(match); loc != nil && loc[0] == 0 && loc[1] == len(match) {
					delete(rw.ports, r.port)
					return r.re.ReplaceAllString(match, r.with)
				}
			}
			return match
		})
	}
	return s
}

// files rewrites the files of a mounted ConfigMap in place.
func (rw *rewriter) files(t *testing.T, dir string) {
	filepath.Walk(dir, func(path string, info os.FileInfo, _ error) error {
		if info == nil || info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Dir(path), 0o755)
		os.Chmod(path, 0o644)
		if err := os.WriteFile(path, []byte(rw.apply(string(data))), 0o444); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o444)
		os.Chmod(filepath.Dir(path), 0o555)
		return nil
	})
}

// unused fails for a declared port that neither args nor configuration
// name: the test could not tell where the container listens.
func (rw *rewriter) unused(t *testing.T, pod, container string) {
	for port := range rw.ports {
		if port != 0 {
			t.Errorf("%s: container %s declares port %d, which neither its args nor its mounted configuration name", pod, container, port)
		}
	}
}

// servicesReach maps each Service that selects the pod to its ports.
func (in *install) servicesReach(o *unstructured.Unstructured, p *pod) {
	_, labels := podSpec(in.t, o)
	byName := map[string]int32{}
	for _, c := range p.spec.Containers {
		for _, port := range c.Ports {
			byName[port.Name] = port.ContainerPort
		}
	}
	for _, svc := range in.kinds("Service") {
		var s corev1.Service
		raw, _ := json.Marshal(svc.Object)
		json.Unmarshal(raw, &s)
		for k, v := range s.Spec.Selector {
			if labels[k] != v {
				in.t.Fatalf("Service %s selects %s=%s, which the Deployment's pods lack", s.Name, k, v)
			}
		}
		for _, port := range s.Spec.Ports {
			target := port.TargetPort.IntVal
			if port.TargetPort.StrVal != "" {
				target = byName[port.TargetPort.StrVal]
			}
			local, ok := p.ports[target]
			if !ok {
				in.t.Fatalf("Service %s port %s targets %s, which no container declares", s.Name, port.Name, port.TargetPort.String())
			}
			at := "127.0.0.1:" + strconv.Itoa(local)
			for _, name := range []string{s.Name + "." + s.Namespace + ".svc.cluster.local", s.Name + "." + s.Namespace + ".svc", s.Name + "." + s.Namespace, s.Name, s.Spec.LoadBalancerIP} {
				if name != "" {
					in.replace[name+":"+strconv.Itoa(int(port.Port))] = at
				}
			}
		}
	}
}

// waitProbes waits until the pod's container passes its readiness probe,
// then checks its startup and liveness probes.
func (p *pod) waitProbes() {
	t := p.in.t
	c := p.spec.Containers[0]
	if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil {
		t.Fatalf("%s: container %s lacks a readiness, liveness or startup probe", p.name, c.Name)
	}
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = p.probe(c, c.ReadinessProbe); err == nil {
			break
		}
		select {
		case <-p.main.Done():
			t.Fatalf("%s: container %s exited before it was ready:\n%s", p.name, c.Name, p.main.Output())
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("%s: container %s not ready after 60 s: %v\n%s", p.name, c.Name, err, p.main.Output())
	}
	for what, probe := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe} {
		if err := p.probe(c, probe); err != nil {
			t.Errorf("%s: container %s ready but its %s probe fails: %v", p.name, c.Name, what, err)
		}
	}
}

func (p *pod) probe(c corev1.Container, probe *corev1.Probe) error {
	port := func(ref string, n int32) (int, error) {
		if ref == "" {
			return p.ports[n], nil
		}
		for _, cp := range c.Ports {
			if cp.Name == ref {
				return p.ports[cp.ContainerPort], nil
			}
		}
		return 0, fmt.Errorf("probe port %q is not a port of the container", ref)
	}
	switch h := probe.ProbeHandler; {
	case h.HTTPGet != nil:
		local, err := port(h.HTTPGet.Port.StrVal, h.HTTPGet.Port.IntVal)
		if err != nil {
			return err
		}
		scheme := strings.ToLower(string(h.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		// The kubelet does not verify the certificate of an HTTPS probe.
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := client.Get(fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, local, h.HTTPGet.Path))
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: %d %s", h.HTTPGet.Path, resp.StatusCode, body)
		}
		return nil
	case h.TCPSocket != nil:
		local, err := port(h.TCPSocket.Port.StrVal, h.TCPSocket.Port.IntVal)
		if err != nil {
			return err
		}
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), 2*time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	}
	return errors.New("a probe this test cannot run")
}

// checkWebhookCertificate: the APIService reaches the webhook as its
// Service's name, whose certificate must name it, issued by the CA
// cert-manager's cainjector puts in the APIService.
func (in *install) checkWebhookCertificate(p *pod) {
	svcs := in.kinds("APIService")
	if len(svcs) == 0 {
		return
	}
	name, _, _ := unstructured.NestedString(svcs[0].Object, "spec", "service", "name")
	ns, _, _ := unstructured.NestedString(svcs[0].Object, "spec", "service", "namespace")
	at := in.replace[name+"."+ns+".svc:443"]
	conn, err := tls.Dial("tcp", at, &tls.Config{RootCAs: in.cas.pool, ServerName: name + "." + ns + ".svc"})
	if err != nil {
		in.t.Errorf("the APIService's Service %s/%s: %v", ns, name, err)
		return
	}
	conn.Close()
}

// exec runs acmehub with args in the pod's main container, as `kubectl
// exec` does, and returns its output; it must exit 0.
func (p *pod) exec(args ...string) string {
	c := p.spec.Containers[0]
	c.Args, c.Ports = args, nil
	proc := p.run(c, p.volumes)
	if code := proc.Wait(30 * time.Second); code != 0 {
		p.in.t.Fatalf("%s: exec %q: exit %d\n%s", p.name, args, code, proc.Output())
	}
	return proc.Output()
}

// useHub: a token made in the pod as NOTES say presents a value through
// the hub's Service (TLS verified for its certificate's first name), which
// the DNS Service then serves, for the first config of the self provider.
func (in *install) useHub(p *pod) {
	configs, _ := str2any(in.values, "hub", "configs").([]any)
	enabled, _ := str2any(in.values, "hub", "enabled").(bool)
	var zone string
	for _, c := range configs {
		if str2any(c, "provider") == "self" {
			zone, _ = str2any(c, "zone").(string)
			break
		}
	}
	if !enabled || zone == "" {
		return
	}
	principal := strings.TrimSpace(p.exec("admin", "-c", "/etc/acmehub/config.cfg", "principals", "create", "--title", "cluster", "--role", "managed-challenge-consumer"))
	var tok struct{ ClientID, Secret string }
	if out := p.exec("admin", "-c", "/etc/acmehub/config.cfg", "tokens", "create", "--principal", principal, "-o", "json"); json.Unmarshal([]byte(out), &tok) != nil {
		in.t.Fatalf("tokens create: %s", out)
	}
	var hub *unstructured.Unstructured
	for _, c := range in.kinds("Certificate") {
		if strings.HasSuffix(c.GetName(), "-hub-tls") {
			hub = c
		}
	}
	names, _, _ := unstructured.NestedStringSlice(hub.Object, "spec", "dnsNames")
	svc := ""
	for _, s := range in.kinds("Service") {
		if strings.HasSuffix(s.GetName(), "-hub") {
			port, _, _ := unstructured.NestedSlice(s.Object, "spec", "ports")
			svc = in.replace[fmt.Sprintf("%s.%s.svc:%v", s.GetName(), s.GetNamespace(), port[0].(map[string]any)["port"])]
		}
	}
	const value = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	name := "_acme-challenge.www." + zone
	req, _ := http.NewRequest(http.MethodPost, "https://"+svc+"/httpreq/present", strings.NewReader(fmt.Sprintf(`{"fqdn": %q, "value": %q}`, name+".", value)))
	req.SetBasicAuth(tok.ClientID, tok.Secret)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: in.cas.pool, ServerName: names[0]}}}
	resp, err := client.Do(req)
	if err != nil {
		in.t.Fatalf("httpreq present through the hub's Service: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		in.t.Fatalf("httpreq present through the hub's Service: %d %s", resp.StatusCode, body)
	}
	dnsSvc := ""
	for k, v := range in.replace {
		if strings.HasSuffix(k, "-dns."+in.c.namespace+".svc:53") {
			dnsSvc = v
		}
	}
	if got := testutil.TXT(in.t, dnsSvc, name); !slices.Equal(got, []string{value}) {
		in.t.Errorf("the DNS Service serves %s TXT %q, want the presented value", name, got)
	}
}

// runJob runs the pod of a Job or a CronJob's job to its end: exit 0.
func (in *install) runJob(o *unstructured.Unstructured) {
	spec, _ := podSpec(in.t, o)
	p := &pod{in: in, name: o.GetKind() + " " + o.GetName(), spec: spec, ports: map[int32]int{}, dir: filepath.Join(in.dir, o.GetKind()+"-"+o.GetName())}
	volumes := p.materialise()
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		proc := p.run(c, volumes)
		if code := proc.Wait(90 * time.Second); code != 0 {
			in.t.Errorf("%s: container %s: exit %d\n%s", p.name, c.Name, code, proc.Output())
			return
		}
		in.t.Logf("%s: container %s:\n%s", p.name, c.Name, proc.Output())
	}
}

// delegate plays the DNS team: the CNAMEs each client's Secret lists, in
// the resolver.
func (in *install) delegate() {
	list, err := in.kube.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{LabelSelector: "acmehub.io/client"})
	if err != nil {
		in.t.Fatal(err)
	}
	for _, s := range list.Items {
		for _, line := range strings.Split(s.Annotations["acmehub.io/cnames"], "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[1] == "CNAME" {
				in.resolver.Set(f[0], f[2])
			}
		}
	}
}

// testCA issues serving certificates, as the chart's issuers would.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	cert, key := kubetest.NewCA(t, "acmehub chart test CA")
	ca := &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	return ca
}

// issue returns a kubernetes.io/tls Secret's data for names.
func (ca *testCA) issue(t *testing.T, names []string) map[string][]byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	cn := "acmehub"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return map[string][]byte{
		"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		"ca.crt":  ca.pem,
	}
}
