// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package nodetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CoreDNSImage is the cluster DNS's image, written from $TEST_ASSET_COREDNS.
const CoreDNSImage = "acmehub.test/coredns:test"

// systemImages writes the pause and CoreDNS images: each a static binary
// on the distroless files.
func (n *Node) systemImages() ([]string, error) {
	dir := n.path("images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pause := filepath.Join(dir, "pause")
	build := exec.Command("go", "build", "-o", pause, "./hack/pause")
	build.Dir = filepath.Dir(filepath.Dir(script()))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building hack/pause: %v: %s", err, out)
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return nil, err
	}
	var archives []string
	for _, img := range []struct{ name, bin, path string }{
		{PauseImage, pause, "/pause"},
		{CoreDNSImage, n.assets.CoreDNS, "/coredns"},
	} {
		data, err := os.ReadFile(img.bin)
		if err != nil {
			return nil, err
		}
		archive := filepath.Join(dir, filepath.Base(img.path)+".tar")
		err = Image{Name: img.name, Files: append(Distroless(ca), File{Path: img.path, Mode: 0o755, Data: data}),
			User: "65532:65532", Entrypoint: []string{img.path}}.WriteArchive(archive)
		if err != nil {
			return nil, err
		}
		archives = append(archives, archive)
	}
	return archives, nil
}

// Upstream is where the cluster DNS sends names outside the cluster: the
// test's stand-in for the company's resolvers (testutil.NewResolverAt),
// which pods and the CA on the host share.
const Upstream = NodeIP + ":5399"

// corefile serves cluster.local from the Kubernetes API, on an
// unprivileged port behind Service kube-dns, and forwards the rest to
// Upstream.
const corefile = `.:1053 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . ` + Upstream + `
    cache 5
}
`

// startDNS runs CoreDNS as the cluster DNS, as kubeadm does, and waits for
// it to be Ready.
func (n *Node) startDNS() error {
	ctx := context.Background()
	ns, labels := "kube-system", map[string]string{"k8s-app": "kube-dns"}
	meta := metav1.ObjectMeta{Name: "coredns", Namespace: ns}
	create := []func() error{
		func() error {
			_, err := n.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := n.Kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
				Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
					{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
				},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := n.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:coredns"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "coredns", Namespace: ns}},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := n.Kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"Corefile": corefile}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := n.Kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: ns, Labels: labels},
				Spec: corev1.ServiceSpec{ClusterIP: DNSServiceIP, Selector: labels, Ports: []corev1.ServicePort{
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(1053)},
					{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(1053)},
				}},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			one := int32(1)
			_, err := n.Kube.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
				ObjectMeta: meta,
				Spec: appsv1.DeploymentSpec{
					Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{
							ServiceAccountName: "coredns", DNSPolicy: corev1.DNSDefault,
							Containers: []corev1.Container{{
								Name: "coredns", Image: CoreDNSImage, ImagePullPolicy: corev1.PullNever,
								Args:         []string{"-conf", "/etc/coredns/Corefile"},
								VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/coredns"}},
								ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181)}},
									PeriodSeconds: 1},
							}},
							Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"}}}}},
						},
					},
				},
			}, metav1.CreateOptions{})
			return err
		},
	}
	for _, c := range create {
		if err := c(); err != nil {
			return fmt.Errorf("cluster DNS: %w", err)
		}
	}
	return n.WaitDeploymentReady(ns, "coredns")
}
