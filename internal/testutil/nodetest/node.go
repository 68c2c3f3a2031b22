// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package nodetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// The node's fixed places; hack/node-clean.sh knows them too.
const (
	// Base holds the node's configuration, state, logs and volumes.
	Base = "/var/lib/acmehub-node"
	// NodeIP is the node's address, a /32 on lo: kube-apiserver, the
	// kubelet and NodePorts listen on it, and pods reach it.
	NodeIP = "10.243.0.1"
	// PodCIDR is the pods' network, on the bridge acmehub0.
	PodCIDR = "10.244.0.0/24"
	// ServiceCIDR holds the Services' cluster IPs.
	ServiceCIDR = "10.96.0.0/24"
	// APIServiceIP is the cluster IP of Service default/kubernetes.
	APIServiceIP = "10.96.0.1"
	// DNSServiceIP is the cluster DNS (CoreDNS).
	DNSServiceIP = "10.96.0.10"
	// Name is the Node's name.
	Name = "acmehub-node"

	apiserverPort = "16443"
	etcdPort      = "12379"
)

// Assets are the programs the node runs, from `make test-assets` and Debian.
type Assets struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kubelet, KubeProxy, CoreDNS string
}

// AssetsFromEnv reads the assets' paths from $TEST_ASSET_*.
func AssetsFromEnv() (Assets, error) {
	a := Assets{
		Etcd: os.Getenv("TEST_ASSET_ETCD"), APIServer: os.Getenv("TEST_ASSET_KUBE_APISERVER"),
		ControllerManager: os.Getenv("TEST_ASSET_KUBE_CONTROLLER_MANAGER"), Scheduler: os.Getenv("TEST_ASSET_KUBE_SCHEDULER"),
		Kubelet: os.Getenv("TEST_ASSET_KUBELET"), KubeProxy: os.Getenv("TEST_ASSET_KUBE_PROXY"), CoreDNS: os.Getenv("TEST_ASSET_COREDNS"),
	}
	for name, p := range map[string]string{"ETCD": a.Etcd, "KUBE_APISERVER": a.APIServer, "KUBE_CONTROLLER_MANAGER": a.ControllerManager,
		"KUBE_SCHEDULER": a.Scheduler, "KUBELET": a.Kubelet, "KUBE_PROXY": a.KubeProxy, "COREDNS": a.CoreDNS} {
		if p == "" {
			return a, fmt.Errorf("$TEST_ASSET_%s is not set: run `make test-cluster`", name)
		}
	}
	return a, nil
}

// Node is a running one-node cluster.
type Node struct {
	t      testing.TB
	assets Assets
	procs  map[string]*exec.Cmd
	// Admin is a client certificate of system:masters.
	Admin *rest.Config
	// Kube is a client as Admin.
	Kube kubernetes.Interface
	// Kubeconfig is Admin as a file, for helm and kubectl.
	Kubeconfig string
	// CABundle is the cluster CA.
	CABundle []byte
	// images are the archives imported into containerd.
	images []string
}

// Start cleans up what an earlier run left, brings the node up with
// images (OCI archives) imported, and waits for the Node to be Ready and
// the cluster DNS to answer. The node is torn down when the test ends.
func Start(t testing.TB, assets Assets, images ...string) *Node {
	t.Helper()
	for _, p := range []string{"containerd", "ctr", "runc", "/usr/lib/cni/bridge", "iptables", "ip", "sysctl", "pkill"} {
		testdeps.Program(t, p) // skips the test when the cluster's tests are opted out
	}
	if os.Geteuid() != 0 {
		t.Fatalf("the one-node cluster runs as root (the kubelet, containerd and the pods' network need it): "+
			"run as root, or opt out with $%s=cluster", testdeps.SkipEnv)
	}
	n := &Node{t: t, assets: assets, procs: map[string]*exec.Cmd{}, images: images}
	n.clean()
	// Runs after the node is stopped and cleaned up (cleanups run last
	// first): the machine is as it was.
	before := hostState()
	t.Cleanup(func() {
		if gone, added := changed(before, hostState()); len(gone)+len(added) > 0 {
			t.Errorf("the node left the machine changed:\n  gone: %s\n  added: %s", strings.Join(gone, "\n        "), strings.Join(added, "\n         "))
		}
	})
	t.Cleanup(n.stop)
	if err := n.start(); err != nil {
		t.Fatalf("starting the node: %v", err) // stop prints the daemons' logs
	}
	return n
}

func (n *Node) path(parts ...string) string {
	return filepath.Join(append([]string{Base}, parts...)...)
}

// clean runs hack/node-clean.sh.
func (n *Node) clean() {
	n.t.Helper()
	out, err := exec.Command(script()).CombinedOutput()
	if err != nil {
		n.t.Fatalf("hack/node-clean.sh: %v\n%s", err, out)
	}
}

// script is hack/node-clean.sh, found from the working directory up.
func script() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if p := filepath.Join(d, "hack", "node-clean.sh"); fileExists(p) {
			return p
		}
	}
	return "hack/node-clean.sh"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (n *Node) start() error {
	for _, d := range []string{"pki", "logs", "etcd", "cni", "kubelet", "containerd", "state", "runc", "manifests"} {
		if err := os.MkdirAll(n.path(d), 0o755); err != nil {
			return err
		}
	}
	if out, err := exec.Command(script(), "save").CombinedOutput(); err != nil {
		return fmt.Errorf("saving the sysctls: %v: %s", err, out)
	}
	setup := [][]string{
		{"ip", "addr", "add", NodeIP + "/32", "dev", "lo"},
		// A cluster IP kube-proxy has not programmed yet goes nowhere
		// rather than to the default route, off the machine.
		{"ip", "route", "add", ServiceCIDR, "dev", "lo"},
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
	}
	// Bridged packets through iptables, where the kernel can: kube-proxy
	// masquerades every Service packet (masqueradeAll), so pods reach
	// each other's Services without it too.
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err == nil {
		setup = append(setup, []string{"sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"})
	}
	for _, c := range setup {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	p, err := newPKI(n.path("pki"))
	if err != nil {
		return err
	}
	n.CABundle, _ = os.ReadFile(p.path("ca.crt"))
	if err := n.writeKubeconfig(p); err != nil {
		return err
	}
	if err := n.startControlPlane(p); err != nil {
		return err
	}
	system, err := n.systemImages()
	if err != nil {
		return err
	}
	n.images = append(system, n.images...)
	if err := n.startContainerd(); err != nil {
		return err
	}
	if err := n.StartKubelet(); err != nil {
		return err
	}
	if err := n.startKubeProxy(); err != nil {
		return err
	}
	return n.startDNS()
}

// run starts a daemon, its output in logs/<name>.log; it is stopped with
// the node.
func (n *Node) run(name string, bin string, args ...string) error {
	log, err := os.OpenFile(n.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	n.procs[name] = cmd
	go func() { cmd.Wait(); log.Close() }()
	return nil
}

// halt stops a daemon: SIGTERM, then SIGKILL after 10 s.
func (n *Node) halt(name string) {
	cmd := n.procs[name]
	if cmd == nil || cmd.Process == nil {
		return
	}
	delete(n.procs, name)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for cmd.ProcessState == nil {
			if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
	}
}

// wait polls check until it succeeds or limit passes.
func wait(limit time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v: %w", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *Node) writeKubeconfig(p *pki) error {
	n.Kubeconfig = n.path("admin.kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: node
  cluster: {server: "https://%s:%s", certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: node
  context: {cluster: node, user: admin, namespace: default}
current-context: node
`, NodeIP, apiserverPort, p.path("ca.crt"), p.path("admin.crt"), p.path("admin.key"))
	if err := os.WriteFile(n.Kubeconfig, []byte(kc), 0o600); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		return err
	}
	n.Admin = cfg
	n.Kube, err = kubernetes.NewForConfig(cfg)
	return err
}

func (n *Node) startControlPlane(p *pki) error {
	if err := n.run("etcd", n.assets.Etcd, "--data-dir", n.path("etcd"),
		"--listen-client-urls", "http://127.0.0.1:"+etcdPort, "--advertise-client-urls", "http://127.0.0.1:"+etcdPort,
		"--listen-peer-urls", "http://127.0.0.1:12380", "--initial-advertise-peer-urls", "http://127.0.0.1:12380",
		"--initial-cluster", "default=http://127.0.0.1:12380", "--unsafe-no-fsync"); err != nil {
		return err
	}
	if err := n.run("kube-apiserver", n.assets.APIServer,
		"--etcd-servers", "http://127.0.0.1:"+etcdPort,
		"--bind-address", NodeIP, "--advertise-address", NodeIP, "--secure-port", apiserverPort,
		"--service-cluster-ip-range", ServiceCIDR,
		"--client-ca-file", p.path("ca.crt"), "--tls-cert-file", p.path("apiserver.crt"), "--tls-private-key-file", p.path("apiserver.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", p.path("sa.pub"), "--service-account-signing-key-file", p.path("sa.key"),
		"--authorization-mode", "Node,RBAC", "--allow-privileged",
		"--requestheader-client-ca-file", p.path("front-proxy-ca.crt"), "--requestheader-allowed-names", "front-proxy-client",
		"--requestheader-username-headers", "X-Remote-User", "--requestheader-group-headers", "X-Remote-Group",
		"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
		"--proxy-client-cert-file", p.path("front-proxy-client.crt"), "--proxy-client-key-file", p.path("front-proxy-client.key"),
		"--kubelet-client-certificate", p.path("admin.crt"), "--kubelet-client-key", p.path("admin.key"),
		"--kubelet-preferred-address-types", "InternalIP"); err != nil {
		return err
	}
	ctx := context.Background()
	if err := wait(time.Minute, "kube-apiserver ready", func() error {
		_, err := n.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}); err != nil {
		return err
	}
	if err := n.run("kube-controller-manager", n.assets.ControllerManager, "--kubeconfig", n.Kubeconfig,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", "11257",
		"--root-ca-file", p.path("ca.crt"), "--service-account-private-key-file", p.path("sa.key"),
		"--use-service-account-credentials=false", "--controllers", "*"); err != nil {
		return err
	}
	if err := n.run("kube-scheduler", n.assets.Scheduler, "--kubeconfig", n.Kubeconfig,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", "11259"); err != nil {
		return err
	}
	// Pods need their namespace's ServiceAccount "default", which the
	// controller manager makes.
	return wait(time.Minute, "ServiceAccount default/default", func() error {
		_, err := n.Kube.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// containerdSocket is where containerd serves CRI and its own API.
var containerdSocket = filepath.Join(Base, "containerd.sock")

// PauseImage is the sandbox image containerd runs for every pod.
const PauseImage = "registry.k8s.io/pause:3.10"

func (n *Node) startContainerd() error {
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = %[3]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[5]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[6]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[7]q
`, n.path("containerd"), n.path("state"), containerdSocket, PauseImage, n.path("runc"), n.path("cni"), n.path("opt"))
	if err := os.WriteFile(n.path("containerd.toml"), []byte(config), 0o644); err != nil {
		return err
	}
	cni := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "acmehub-node",
  "plugins": [
    {"type": "bridge", "bridge": "acmehub0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
`, PodCIDR, n.path("cni-ipam"))
	if err := os.WriteFile(n.path("cni", "10-acmehub-node.conflist"), []byte(cni), 0o644); err != nil {
		return err
	}
	if err := n.StartContainerd(); err != nil {
		return err
	}
	for _, img := range n.images {
		if out, err := exec.Command("ctr", "--address", containerdSocket, "-n", "k8s.io", "images", "import", img).CombinedOutput(); err != nil {
			return fmt.Errorf("importing %s: %v: %s", img, err, out)
		}
	}
	return nil
}

// StartContainerd starts containerd (again) and waits for its socket.
func (n *Node) StartContainerd() error {
	if err := n.run("containerd", "containerd", "--config", n.path("containerd.toml")); err != nil {
		return err
	}
	return wait(30*time.Second, "containerd", func() error {
		return exec.Command("ctr", "--address", containerdSocket, "version").Run()
	})
}

// StopContainerd stops containerd; the containers go on running under
// their shims, as on a real node.
func (n *Node) StopContainerd() { n.halt("containerd") }

// StartKubelet starts the kubelet (again) and waits until the Node reports
// Ready after this start.
func (n *Node) StartKubelet() error {
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: 11250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 11248
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://%[2]s
clusterDNS: [%[3]s]
clusterDomain: cluster.local
resolvConf: %[4]s
failSwapOn: false
oomScoreAdj: 0
nodeStatusUpdateFrequency: 2s
nodeStatusReportFrequency: 10s
syncFrequency: 10s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
serializeImagePulls: false
`, NodeIP, containerdSocket, DNSServiceIP, n.path("resolv.conf"))
	if err := os.WriteFile(n.path("kubelet.yaml"), []byte(config), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(n.path("resolv.conf"), []byte("nameserver "+NodeIP+"\n"), 0o644); err != nil {
		return err
	}
	started := time.Now()
	if err := n.run("kubelet", n.assets.Kubelet, "--config", n.path("kubelet.yaml"), "--kubeconfig", n.Kubeconfig,
		"--hostname-override", Name, "--node-ip", NodeIP, "--root-dir", n.path("kubelet"), "--cert-dir", n.path("kubelet", "pki"),
		"--v", "1"); err != nil {
		return err
	}
	return wait(2*time.Minute, "Node Ready", func() error {
		node, err := n.Kube.CoreV1().Nodes().Get(context.Background(), Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				// A Node kept from before says Ready too: only a report
				// of this kubelet counts.
				if c.Status == corev1.ConditionTrue && c.LastHeartbeatTime.After(started) {
					return nil
				}
				return fmt.Errorf("condition Ready is %s since %v: %s", c.Status, c.LastHeartbeatTime, c.Message)
			}
		}
		return errors.New("no Ready condition")
	})
}

// StopKubelet stops the kubelet; the pods go on running.
func (n *Node) StopKubelet() { n.halt("kubelet") }

func (n *Node) startKubeProxy() error {
	config := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %q}
hostnameOverride: %s
bindAddress: %s
healthzBindAddress: 127.0.0.1:11256
metricsBindAddress: 127.0.0.1:11249
mode: iptables
clusterCIDR: %s
oomScoreAdj: 0
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: true}
nodePortAddresses: [%s/32]
`, n.Kubeconfig, Name, NodeIP, PodCIDR, NodeIP)
	if err := os.WriteFile(n.path("kube-proxy.yaml"), []byte(config), 0o644); err != nil {
		return err
	}
	return n.run("kube-proxy", n.assets.KubeProxy, "--config", n.path("kube-proxy.yaml"))
}

// stop stops the daemons and runs hack/node-clean.sh, which removes the
// pods' processes and everything else the node left.
func (n *Node) stop() {
	if n.t.Failed() {
		n.dumpLogs()
	}
	for _, name := range []string{"kube-proxy", "kubelet", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "containerd"} {
		n.halt(name)
	}
	n.clean()
}

// dumpLogs prints the last lines of each daemon's log.
func (n *Node) dumpLogs() {
	logs, _ := filepath.Glob(n.path("logs", "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		n.t.Logf("%s, last lines:\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
}
