// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build cluster

// Package cluster installs the chart on a real one-node cluster
// (internal/testutil/nodetest: kubelet, containerd, runc, kube-proxy,
// CoreDNS) exactly as README.md says, and lives through day two with it:
// upgrades, a lost pod, a rolling restart during a challenge, a restarted
// node, an uninstall and an install again.
package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"github.com/miekg/dns"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/nodetest"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
	"github.com/acmehub/acmehub/solver"
)

// cluster is the node and what runs beside it: the company's resolvers,
// pebble, cert-manager's controller.
type cluster struct {
	t       *testing.T
	ctx     context.Context
	node    *nodetest.Node
	cm      cmclient.Interface
	company *testutil.Resolver
	pebble  *testutil.Pebble
	// release is the README's install: release, namespace, arguments.
	release, namespace string
	install            []string
	// account is the client's, as day one registered it.
	account solver.Account
	// certificates counts the Certificates asked for.
	certificates int
}

// asset is the path of a program of `make test-assets` ($TEST_ASSET_<name>).
func asset(t *testing.T, name string) string {
	t.Helper()
	p := os.Getenv("TEST_ASSET_" + name)
	if p == "" {
		t.Fatalf("$TEST_ASSET_%s is not set: run `make test-cluster`", name)
	}
	return p
}

// TestCluster brings up the node with the acmehub image, cert-manager (its
// CRDs and namespace, its controller and CA injector on the host), pebble,
// a resolver for the company's DNS and a default StorageClass with one
// local volume, then installs the chart as README.md says and lives through
// day one and day two with it, in order: each subtest starts where the one
// before left the cluster.
func TestCluster(t *testing.T) {
	assets, err := nodetest.AssetsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	image, _ := acmehubImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	n := nodetest.Start(t, assets, image)
	c := &cluster{t: t, ctx: ctx, node: n, cm: cmclient.NewForConfigOrDie(n.Admin)}
	c.company = testutil.NewResolverAt(t, nodetest.Upstream)
	c.company.Zone("example.com")
	// cert-manager as its own install leaves a cluster: its CRDs and
	// namespace; its controller runs on the host, as the administrator.
	c.kubectl("apply", "--server-side", "-f", testutil.CertManagerCRDs(t))
	c.kubectl("create", "namespace", "cert-manager")
	// Every order validates anew: no authorization reused from before.
	c.pebble = testutil.StartPebble(t, asset(t, "PEBBLE"), nodetest.Upstream, "PEBBLE_AUTHZREUSE=0")
	testutil.StartCertManager(t, asset(t, "CERT_MANAGER"), n.Kubeconfig, nodetest.Upstream, "--cainjector")
	c.storage()
	c.readmeInstall()

	if !t.Run("day one", c.dayOne) {
		return
	}
	t.Run("upgrade with reused values", c.upgrade)
	t.Run("a lost pod", c.lostPod)
	t.Run("rolling restart during a challenge", c.restartDuringChallenge)
	t.Run("node restart", c.nodeRestart)
	t.Run("uninstall and install again", c.reinstall)
	t.Run("server on PostgreSQL with two replicas and the hub", c.serverWithPostgres)
}

// kubectl runs kubectl as the cluster's administrator.
func (c *cluster) kubectl(args ...string) string {
	c.t.Helper()
	out, err := c.run(asset(c.t, "KUBECTL"), append([]string{"--kubeconfig", c.node.Kubeconfig}, args...)...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// helm runs helm from the repository's root, as README.md's commands are.
func (c *cluster) helm(args ...string) (string, error) {
	return c.run(asset(c.t, "HELM"), append(args, "--kubeconfig", c.node.Kubeconfig)...)
}

func (c *cluster) run(bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(c.ctx, bin, args...)
	cmd.Dir = testutil.Root(c.t)
	home := c.t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// storage is what a cluster without a provisioner needs for the chart's
// claim: a default StorageClass of local volumes and one volume on the
// node, whose directory belongs to root as a provisioner's would.
func (c *cluster) storage() {
	c.t.Helper()
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	_, err := c.node.Kube.StorageV1().StorageClasses().Create(c.ctx, &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "local", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &wait,
	}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.volume("pv-1")
}

// volume makes a local PersistentVolume on the node.
func (c *cluster) volume(name string) {
	c.t.Helper()
	dir := filepath.Join(nodetest.Base, "volumes", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	fs := corev1.PersistentVolumeFilesystem
	_, err := c.node.Kube.CoreV1().PersistentVolumes().Create(c.ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "local",
			VolumeMode:                    &fs,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{nodetest.Name}}},
			}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
}

// readmeInstall is README.md's `helm install`, plus only what this cluster
// needs: the image imported here, and a NodePort for DNS (no load balancer).
func (c *cluster) readmeInstall() {
	words := testutil.ReadmeHelmInstall(c.t)
	c.release = words[2]
	for i, w := range words {
		if (w == "--namespace" || w == "-n") && i+1 < len(words) {
			c.namespace = words[i+1]
		}
	}
	c.install = append(words[1:],
		"--set", "image.registry="+imageRegistry, "--set", "image.repository="+imageRepository, "--set", "image.tag="+imageTag,
		"--set", "server.dnsService.type=NodePort", "--set", "server.dnsService.nodePort="+dnsNodePort)
}

// dnsNodePort is the DNS Service's node port, pinned as docs/chart.md says
// to do for a port forward: it stays across an uninstall and an install.
const dnsNodePort = "30053"

// dayOne: the README's install on the node, then its steps 3 to 6.
func (c *cluster) dayOne(t *testing.T) {
	out, err := c.helm(c.install...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s\n%s", strings.Join(c.install, " "), err, out, c.node.Describe(c.namespace))
	}
	t.Logf("helm install:\n%s", out)
	c.allReady(t)

	// The webhook behind the aggregation layer: the APIService Available,
	// its CA injected by cert-manager.
	agg := aggregator.NewForConfigOrDie(c.node.Admin)
	if err := poll(c.ctx, 2*time.Minute, func() error {
		s, err := agg.ApiregistrationV1().APIServices().Get(c.ctx, "v1alpha1.acme.example.org", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range s.Status.Conditions {
			if cond.Type == apiregv1.Available {
				if cond.Status == apiregv1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("Available=%s: %s", cond.Status, cond.Message)
			}
		}
		return fmt.Errorf("no Available condition")
	}); err != nil {
		t.Fatalf("APIService: %v\n%s", err, c.node.Describe(c.namespace))
	}

	// Step 3: the register Job's account and the CNAME to create.
	acct, cname := c.clientAccount(t)
	c.account = acct
	want := "_acme-challenge.app.example.com. CNAME " + acct.FullDomain + "."
	if cname != want {
		t.Errorf("the client's Secret is annotated %q, want %q", cname, want)
	}

	// DNS and the API through the Services: /update with the account,
	// the value answered over UDP and TCP on the DNS Service's NodePort.
	c.update(t, acct, "day-one-value-day-one-value-day-one-value-0")
	for _, proto := range []string{"udp", "tcp"} {
		if got := c.txt(t, proto, acct.FullDomain); !strings.Contains(got, "day-one-value-day-one-value-day-one-value-0") {
			t.Errorf("TXT %s over %s through the NodePort: %q", acct.FullDomain, proto, got)
		}
	}

	// Step 5 before the CNAME exists: the check fails and names it.
	logs, ok := c.checkNow(t, "check-before")
	if ok || !strings.Contains(logs, "_acme-challenge.app.example.com") {
		t.Errorf("the check before the CNAME exists: succeeded=%v, output:\n%s", ok, logs)
	}
	// The DNS team creates the CNAME and the delegation (step 2): the
	// company's resolvers send auth.example.org to the NodePort.
	c.company.Set("_acme-challenge.app.example.com", acct.FullDomain)
	c.company.Forward("auth.example.org", nodetest.NodeIP+":"+c.nodePort(t, "acmehub-dns", corev1.ProtocolUDP))
	if logs, ok := c.checkNow(t, "check-after"); !ok {
		t.Errorf("the check after the CNAME was made failed:\n%s", logs)
	}

	// Steps 4 and 6: a ClusterIssuer as README shows it (pebble for Let's
	// Encrypt) and a Certificate, issued through the webhook pod.
	c.clusterIssuer(t)
	c.certificate(t, "app.example.com")
}

// upgrade is README step 2's `helm upgrade --reuse-values`: the
// registration password, the client's account and its values stay; the
// register Job finds the account up to date; the new record is served.
func (c *cluster) upgrade(t *testing.T) {
	password := c.secretData(t, c.namespace, c.release+"-registration", "password")
	accounts := c.secretData(t, "cert-manager", "acme-dns-app-client", "acmedns.json")
	out, err := c.helm("upgrade", c.release, "deploy/charts/acmehub", "-n", c.namespace, "--reuse-values",
		"--set", "server.records={ns1.auth.example.org. A 203.0.113.53}", "--wait", "--timeout", "5m")
	if err != nil {
		t.Fatalf("helm upgrade --reuse-values: %v\n%s\n%s", err, out, c.node.Describe(c.namespace))
	}
	c.allReady(t)
	if got := c.secretData(t, c.namespace, c.release+"-registration", "password"); got != password {
		t.Error("helm upgrade --reuse-values changed the registration password")
	}
	if got := c.secretData(t, "cert-manager", "acme-dns-app-client", "acmedns.json"); got != accounts {
		t.Errorf("helm upgrade --reuse-values changed the client's accounts:\n%s\nwas\n%s", got, accounts)
	}
	if logs := c.logs(t, "job/"+c.release+"-app-register"); !strings.Contains(logs, "is up to date") {
		t.Errorf("the register Job after the upgrade says:\n%s", logs)
	}
	c.update(t, c.account, "after-the-upgrade-after-the-upgrade-after-t")
	if got := c.query(t, "udp", "ns1.auth.example.org", dns.TypeA); !strings.Contains(got, "203.0.113.53") {
		t.Errorf("ns1.auth.example.org after the upgrade: %s", got)
	}
}

// lostPod: the server's pod deleted, its replacement serves every account
// and value from the volume.
func (c *cluster) lostPod(t *testing.T) {
	value := "before-the-pod-was-lost-before-the-pod-was-"
	c.update(t, c.account, value)
	pods, err := c.node.Kube.CoreV1().Pods(c.namespace).List(c.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=main"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the release's pods: %v, %v", pods, err)
	}
	lost := pods.Items[0].Name
	if err := c.node.Kube.CoreV1().Pods(c.namespace).Delete(c.ctx, lost, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitReplaced(t, lost)
	c.served(t, value)
	c.update(t, c.account, "after-the-pod-was-lost-after-the-pod-was-lo")
}

// restartDuringChallenge: a Certificate's challenge is presented, the
// CA cannot see it yet (the CNAME is missing for a while), the webhook's
// Deployment is restarted; the Certificate becomes Ready once the CNAME is
// back.
func (c *cluster) restartDuringChallenge(t *testing.T) {
	c.company.Set("_acme-challenge.app.example.com", "nowhere.example.com")
	defer c.company.Set("_acme-challenge.app.example.com", c.account.FullDomain)
	name := c.ask(t, "app.example.com")
	if err := poll(c.ctx, 3*time.Minute, func() error {
		list, err := c.cm.AcmeV1().Challenges("default").List(c.ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, ch := range list.Items {
			if ch.Status.Presented && strings.HasPrefix(ch.Name, name+"-") {
				return nil
			}
		}
		return fmt.Errorf("no challenge presented yet: %d challenges", len(list.Items))
	}); err != nil {
		t.Fatal(err)
	}
	pods, _ := c.node.Kube.CoreV1().Pods(c.namespace).List(c.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=main"})
	c.kubectl("-n", c.namespace, "rollout", "restart", "deployment/"+c.release)
	c.waitReplaced(t, pods.Items[0].Name)
	c.company.Set("_acme-challenge.app.example.com", c.account.FullDomain)
	c.waitCertificate(t, name)
}

// nodeRestart stops the kubelet and containerd and starts them again: every
// pod comes back Ready and serves.
func (c *cluster) nodeRestart(t *testing.T) {
	c.node.StopKubelet()
	c.node.StopContainerd()
	if err := c.node.StartContainerd(); err != nil {
		t.Fatal(err)
	}
	if err := c.node.StartKubelet(); err != nil {
		t.Fatal(err)
	}
	for _, d := range [][2]string{{"kube-system", "coredns"}, {c.namespace, c.release}} {
		if err := c.node.WaitDeploymentReady(d[0], d[1]); err != nil {
			t.Fatal(err)
		}
	}
	c.update(t, c.account, "after-the-node-restarted-after-the-node-res")
	c.served(t, "after-the-node-restarted-after-the-node-res")
	if logs, ok := c.checkNow(t, "check-after-restart"); !ok {
		t.Errorf("the check after the node restarted failed:\n%s", logs)
	}
}

// reinstall: `helm uninstall` stops everything and says what it keeps;
// the README's install again adopts what was kept, and the client's
// account, password and CNAME go on working.
func (c *cluster) reinstall(t *testing.T) {
	out, err := c.helm("uninstall", c.release, "-n", c.namespace, "--wait")
	if err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	for _, kept := range []string{"[PersistentVolumeClaim] " + c.release + "-data", "[Secret] " + c.release + "-registration", "[Secret] acme-dns-app-client"} {
		if !strings.Contains(out, kept) {
			t.Errorf("helm uninstall does not say it keeps %s:\n%s", kept, out)
		}
	}
	if err := poll(c.ctx, 2*time.Minute, func() error {
		pods, err := c.node.Kube.CoreV1().Pods(c.namespace).List(c.ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			// The last register Job stays, finished, for its logs.
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				return fmt.Errorf("pod %s is %s", p.Name, p.Status.Phase)
			}
		}
		return nil
	}); err != nil {
		t.Errorf("after helm uninstall: %v", err)
	}

	out, err = c.helm(c.install...)
	if err != nil {
		t.Fatalf("helm install over what uninstall kept: %v\n%s\n%s", err, out, c.node.Describe(c.namespace))
	}
	c.allReady(t)
	if acct, _ := c.clientAccount(t); acct.Username != c.account.Username {
		t.Errorf("after install again the client's account is %s, was %s", acct.FullDomain, c.account.FullDomain)
	}
	if logs := c.logs(t, "job/"+c.release+"-app-register"); !strings.Contains(logs, "is up to date") {
		t.Errorf("the register Job after install again says:\n%s", logs)
	}
	c.update(t, c.account, "after-install-again-after-install-again-aft")
	c.certificate(t, "app.example.com")
}

// served waits until the DNS Service's NodePort answers value for the
// client's account, over UDP and TCP: kube-proxy follows a new pod within
// a second or two.
func (c *cluster) served(t *testing.T, value string) {
	t.Helper()
	for _, proto := range []string{"udp", "tcp"} {
		if err := poll(c.ctx, 30*time.Second, func() error {
			port := c.nodePort(t, c.release+"-dns", corev1.Protocol(strings.ToUpper(proto)))
			q := new(dns.Msg)
			q.SetQuestion(dns.Fqdn(c.account.FullDomain), dns.TypeTXT)
			in, _, err := (&dns.Client{Net: proto, Timeout: 2 * time.Second}).Exchange(q, nodetest.NodeIP+":"+port)
			if err != nil {
				return err
			}
			if !strings.Contains(fmt.Sprint(in.Answer), value) {
				return fmt.Errorf("TXT %s is %v", c.account.FullDomain, in.Answer)
			}
			return nil
		}); err != nil {
			t.Errorf("%s over %s through the NodePort: %v", value, proto, err)
		}
	}
}

// waitReplaced waits until the Deployment is ready with a pod other than
// gone.
func (c *cluster) waitReplaced(t *testing.T, gone string) {
	t.Helper()
	if err := poll(c.ctx, 3*time.Minute, func() error {
		if _, err := c.node.Kube.CoreV1().Pods(c.namespace).Get(c.ctx, gone, metav1.GetOptions{}); err == nil {
			return fmt.Errorf("pod %s is still there", gone)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.allReady(t)
}

func (c *cluster) secretData(t *testing.T, ns, name, key string) string {
	t.Helper()
	s, err := c.node.Kube.CoreV1().Secrets(ns).Get(c.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data[key])
}

func (c *cluster) logs(t *testing.T, what string) string {
	t.Helper()
	out, _ := c.run(asset(t, "KUBECTL"), "--kubeconfig", c.node.Kubeconfig, "-n", c.namespace, "logs", what)
	return out
}

// allReady is ready for the README's release: one pod.
func (c *cluster) allReady(t *testing.T) {
	t.Helper()
	c.ready(t, c.namespace, c.release, 1)
}

// clientAccount reads the client's Secret as the register Job left it.
func (c *cluster) clientAccount(t *testing.T) (solver.Account, string) {
	t.Helper()
	s, err := c.node.Kube.CoreV1().Secrets("cert-manager").Get(c.ctx, "acme-dns-app-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := solver.ParseAccounts(s.Data["acmedns.json"])
	if err != nil {
		t.Fatalf("secret cert-manager/acme-dns-app-client: %v\n%s", err, c.node.Describe(c.namespace))
	}
	a, ok := accounts["app.example.com"]
	if !ok {
		t.Fatalf("secret cert-manager/acme-dns-app-client has no account for app.example.com: %v", accounts)
	}
	return a, s.Annotations["acmehub.io/cnames"]
}

// update writes value with /update through the API Service's cluster IP.
func (c *cluster) update(t *testing.T, a solver.Account, value string) {
	t.Helper()
	api := c.serviceURL(t, c.namespace, c.release+"-api", "http")
	body, _ := json.Marshal(map[string]string{"subdomain": a.SubDomain, "txt": value})
	// kube-proxy programs a new Service within a second or two.
	if err := poll(c.ctx, 30*time.Second, func() error {
		req, _ := http.NewRequestWithContext(c.ctx, http.MethodPost, api+"/update", bytes.NewReader(body))
		req.Header.Set("X-Api-User", a.Username)
		req.Header.Set("X-Api-Key", a.Password)
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}); err != nil {
		t.Fatalf("/update through Service %s-api: %v", c.release, err)
	}
}

// nodePort is the node port of a Service's port of protocol.
func (c *cluster) nodePort(t *testing.T, service string, proto corev1.Protocol) string {
	t.Helper()
	svc, err := c.node.Kube.CoreV1().Services(c.namespace).Get(c.ctx, service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range svc.Spec.Ports {
		if p.Protocol == proto && p.NodePort != 0 {
			return strconv.Itoa(int(p.NodePort))
		}
	}
	t.Fatalf("Service %s has no %s node port: %+v", service, proto, svc.Spec.Ports)
	return ""
}

// txt asks the DNS Service's NodePort for name's TXT records.
func (c *cluster) txt(t *testing.T, proto, name string) string {
	t.Helper()
	return c.query(t, proto, name, dns.TypeTXT)
}

// query asks the DNS Service's NodePort.
func (c *cluster) query(t *testing.T, proto, name string, qtype uint16) string {
	t.Helper()
	port := c.nodePort(t, c.release+"-dns", corev1.Protocol(strings.ToUpper(proto)))
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	in, _, err := (&dns.Client{Net: proto, Timeout: 5 * time.Second}).Exchange(q, nodetest.NodeIP+":"+port)
	if err != nil {
		t.Fatalf("TXT %s over %s at node port %s: %v", name, proto, port, err)
	}
	return fmt.Sprint(in.Answer)
}

// checkNow is README step 5: a Job from the check CronJob, run now; it
// returns the Job's output and whether it succeeded.
func (c *cluster) checkNow(t *testing.T, name string) (string, bool) {
	t.Helper()
	c.kubectl("-n", c.namespace, "create", "job", "--from=cronjob/"+c.release+"-app-check", name)
	var done *batchv1.Job
	err := poll(c.ctx, 3*time.Minute, func() error {
		j, err := c.node.Kube.BatchV1().Jobs(c.namespace).Get(c.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if j.Status.Succeeded > 0 || j.Status.Failed > 0 {
			done = j
			return nil
		}
		return fmt.Errorf("job %s still running", name)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, c.node.Describe(c.namespace))
	}
	return c.logs(t, "job/"+name), done.Status.Succeeded > 0
}

// clusterIssuer is README step 4's ClusterIssuer, with pebble for Let's
// Encrypt.
func (c *cluster) clusterIssuer(t *testing.T) {
	t.Helper()
	ca, err := os.ReadFile(c.pebble.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns-app-client", "key": "acmedns.json"}})
	_, err = c.cm.CertmanagerV1().ClusterIssuers().Create(c.ctx, &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "letsencrypt"},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{
			Server: c.pebble.Directory, CABundle: ca,
			PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "letsencrypt-account"}},
			Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{Webhook: &cmacme.ACMEIssuerDNS01ProviderWebhook{
				GroupName: "acme.example.org", SolverName: "acme-dns", Config: &apiextensionsv1.JSON{Raw: config},
			}}}},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// certificate asks for a Certificate in namespace default and waits until
// it is Ready.
func (c *cluster) certificate(t *testing.T, dnsNames ...string) {
	t.Helper()
	c.waitCertificate(t, c.ask(t, dnsNames...))
}

// ask creates a Certificate of the ClusterIssuer for dnsNames and returns
// its name.
func (c *cluster) ask(t *testing.T, dnsNames ...string) string {
	t.Helper()
	c.certificates++
	name := fmt.Sprintf("cert-%d", c.certificates)
	_, err := c.cm.CertmanagerV1().Certificates("default").Create(c.ctx, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cmapi.CertificateSpec{SecretName: name + "-tls", DNSNames: dnsNames,
			IssuerRef: cmmeta.IssuerReference{Name: "letsencrypt", Kind: cmapi.ClusterIssuerKind}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func (c *cluster) waitCertificate(t *testing.T, name string) {
	t.Helper()
	err := poll(c.ctx, 5*time.Minute, func() error {
		crt, err := c.cm.CertmanagerV1().Certificates("default").Get(c.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range crt.Status.Conditions {
			if cond.Type == cmapi.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("Certificate %s not Ready: %+v", name, crt.Status.Conditions)
	})
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, c.kubectl("get", "challenges,orders,certificaterequests", "-A", "-o", "wide"), c.node.Describe(c.namespace))
	}
}

// poll runs check until it succeeds or limit passes.
func poll(ctx context.Context, limit time.Duration, check func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// serverWithPostgres installs mode server on Debian's PostgreSQL (the
// run's, on the host) with two replicas and the hub: both pods Ready by
// their probes, an account registered through the API Service answered by
// each replica, and the hub's console answering its sign-in page over
// HTTPS through its Service, with the certificate of the chart's CA.
func (c *cluster) serverWithPostgres(t *testing.T) {
	const ns, release = "ops", "acmehub-ops"
	c.kubectl("create", "namespace", ns)
	db, err := url.Parse(pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Host = forward(t, db.Host) // the pods reach the host's PostgreSQL at the node's address
	keys, err := exec.Command(testutil.Binary(t), "admin", "keygen").Output()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string]string{"pg": {"connection": db.String()}, "hub-keys": {"hub.keys": string(keys)}} {
		if _, err := c.node.Kube.CoreV1().Secrets(ns).Create(c.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.helm("install", release, "deploy/charts/acmehub", "-n", ns, "--wait", "--timeout", "5m",
		"--set", "mode=server", "--set", "replicaCount=2", "--set", "server.domain=auth.example.net",
		"--set", "server.database.engine=postgres", "--set", "server.database.connectionSecret.name=pg",
		"--set", "server.dnsService.type=NodePort", "--set", "hub.enabled=true", "--set", "hub.keysSecret.name=hub-keys",
		"--set", "image.registry="+imageRegistry, "--set", "image.repository="+imageRepository, "--set", "image.tag="+imageTag)
	if err != nil {
		t.Fatalf("helm install (mode server, PostgreSQL, hub): %v\n%s\n%s", err, out, c.node.Describe(ns))
	}
	pods := c.ready(t, ns, release, 2)

	// An account registered through the API Service; its value, written
	// through one replica, answered by both.
	password := c.secretData(t, ns, release+"-registration", "password")
	api := c.serviceURL(t, ns, release+"-api", "http")
	var acct solver.Account
	// kube-proxy programs a new Service within a second or two.
	if err := poll(c.ctx, 30*time.Second, func() error {
		req, _ := http.NewRequestWithContext(c.ctx, http.MethodPost, api+"/register", strings.NewReader("{}"))
		req.SetBasicAuth("acmehub", password)
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&acct); err != nil || resp.StatusCode != http.StatusCreated || acct.Username == "" {
			return fmt.Errorf("%s %+v %v", resp.Status, acct, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("POST /register through Service %s-api: %v\n%s", release, err, c.node.Describe(ns))
	}
	value := "two-replicas-one-database-two-replicas-one-"
	body, _ := json.Marshal(map[string]string{"subdomain": acct.SubDomain, "txt": value})
	req, _ := http.NewRequestWithContext(c.ctx, http.MethodPost, api+"/update", bytes.NewReader(body))
	req.Header.Set("X-Api-User", acct.Username)
	req.Header.Set("X-Api-Key", acct.Password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/update through Service %s-api: %v %v", release, resp, err)
	}
	for _, p := range pods {
		if err := poll(c.ctx, 10*time.Second, func() error {
			q := new(dns.Msg)
			q.SetQuestion(dns.Fqdn(acct.FullDomain), dns.TypeTXT)
			in, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, p.Status.PodIP+":5353")
			if err != nil {
				return err
			}
			if !strings.Contains(fmt.Sprint(in.Answer), value) {
				return fmt.Errorf("answered %v", in.Answer)
			}
			return nil
		}); err != nil {
			t.Errorf("replica %s: %v", p.Name, err)
		}
	}

	c.console(t, ns, release)
}

// console asks the hub's console for its sign-in page over HTTPS through
// the hub's Service, trusting the chart's CA.
func (c *cluster) console(t *testing.T, ns, release string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(c.secretData(t, ns, release+"-ca", "ca.crt")))
	hub := c.serviceURL(t, ns, release+"-hub", "https")
	svc, _ := url.Parse(hub)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, ServerName: release + "-hub." + ns + ".svc"}}}
	page, err := client.Get(hub + "/console/signin")
	if err != nil {
		t.Fatalf("the console through Service %s (%s): %v", release+"-hub", svc.Host, err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(html), "<form") {
		t.Errorf("GET /console/signin through Service %s-hub: %s\n%s", release, page.Status, html)
	}
}

// ready waits for a release's Deployment of replicas pods, each Ready by
// its probes with no restart and no failed probe, and returns the pods.
func (c *cluster) ready(t *testing.T, ns, release string, replicas int) []corev1.Pod {
	t.Helper()
	if err := c.node.WaitDeploymentReady(ns, release); err != nil {
		t.Fatal(err)
	}
	pods, err := c.node.Kube.CoreV1().Pods(ns).List(c.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=main,app.kubernetes.io/instance=" + release})
	if err != nil {
		t.Fatal(err)
	}
	var running []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		running = append(running, p)
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				t.Errorf("pod %s container %s restarted %d times\n%s", p.Name, cs.Name, cs.RestartCount, c.node.Describe(ns))
			}
		}
		events, _ := c.node.Kube.CoreV1().Events(ns).List(c.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
		for _, e := range events.Items {
			if e.Reason == "Unhealthy" {
				t.Errorf("pod %s: %s (x%d)", p.Name, e.Message, e.Count)
			}
		}
	}
	if len(running) != replicas {
		t.Errorf("%d pods of %s, want %d", len(running), release, replicas)
	}
	return running
}

// serviceURL is scheme://<cluster IP>:<first port> of a Service, which
// kube-proxy makes reachable from the node.
func (c *cluster) serviceURL(t *testing.T, ns, name, scheme string) string {
	t.Helper()
	svc, err := c.node.Kube.CoreV1().Services(ns).Get(c.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return scheme + "://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port)))
}

// forward accepts TCP connections on the node's address and relays them to
// target (host:port on loopback), until the test ends; it returns its own
// host:port.
func forward(t *testing.T, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", nodetest.NodeIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer out.Close()
				go io.Copy(out, in)
				io.Copy(in, out)
			}()
		}
	}()
	return l.Addr().String()
}
