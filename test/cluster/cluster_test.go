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
	"encoding/json"
	"fmt"
	"net/http"
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
}

// assets are the programs of `make test-assets` beyond the node's own.
func asset(t *testing.T, name string) string {
	t.Helper()
	p := os.Getenv("TEST_ASSET_" + name)
	if p == "" {
		t.Fatalf("$TEST_ASSET_%s is not set: run `make test-cluster`", name)
	}
	return p
}

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
	c.pebble = testutil.StartPebble(t, asset(t, "PEBBLE"), nodetest.Upstream)
	testutil.StartCertManager(t, asset(t, "CERT_MANAGER"), n.Kubeconfig, nodetest.Upstream, "--cainjector")
	c.storage()
	c.readmeInstall()

	t.Run("day one", c.dayOne)
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
		"--set", "server.dnsService.type=NodePort")
}

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
	c.certificate(t, "app", "app.example.com")
}

// allReady waits for the Deployment and checks that no container of the
// release restarted and no probe failed.
func (c *cluster) allReady(t *testing.T) {
	t.Helper()
	if err := c.node.WaitDeploymentReady(c.namespace, c.release); err != nil {
		t.Fatal(err)
	}
	pods, err := c.node.Kube.CoreV1().Pods(c.namespace).List(c.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=main"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				t.Errorf("pod %s container %s restarted %d times\n%s", p.Name, cs.Name, cs.RestartCount, c.node.Describe(c.namespace))
			}
		}
		events, _ := c.node.Kube.CoreV1().Events(c.namespace).List(c.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
		for _, e := range events.Items {
			if e.Reason == "Unhealthy" {
				t.Errorf("pod %s: %s (x%d)", p.Name, e.Message, e.Count)
			}
		}
	}
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
	svc, err := c.node.Kube.CoreV1().Services(c.namespace).Get(c.ctx, c.release+"-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"subdomain": a.SubDomain, "txt": value})
	req, _ := http.NewRequestWithContext(c.ctx, http.MethodPost, "http://"+svc.Spec.ClusterIP+":"+strconv.Itoa(int(svc.Spec.Ports[0].Port))+"/update", bytes.NewReader(body))
	req.Header.Set("X-Api-User", a.Username)
	req.Header.Set("X-Api-Key", a.Password)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("/update through Service %s-api: %v", c.release, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/update through Service %s-api: %s", c.release, resp.Status)
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
	port := c.nodePort(t, c.release+"-dns", corev1.Protocol(strings.ToUpper(proto)))
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
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
	logs, _ := c.run(asset(t, "KUBECTL"), "--kubeconfig", c.node.Kubeconfig, "-n", c.namespace, "logs", "job/"+name)
	return logs, done.Status.Succeeded > 0
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
func (c *cluster) certificate(t *testing.T, name string, dnsNames ...string) {
	t.Helper()
	_, err := c.cm.CertmanagerV1().Certificates("default").Create(c.ctx, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cmapi.CertificateSpec{SecretName: name + "-tls", DNSNames: dnsNames,
			IssuerRef: cmmeta.IssuerReference{Name: "letsencrypt", Kind: cmapi.ClusterIssuerKind}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.waitCertificate(t, name)
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
