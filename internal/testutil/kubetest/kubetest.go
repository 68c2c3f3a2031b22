// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package kubetest starts the Kubernetes control plane the tests of the
// webhook and the chart need (etcd and kube-apiserver of `make
// test-assets`, with the aggregation layer) and registers extension
// apiservers with it.
package kubetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// StartAggregatingControlPlane starts etcd and a kube-apiserver with the
// aggregation layer: a front-proxy CA and the client certificate the
// aggregator presents to extension apiservers. crds are installed.
func StartAggregatingControlPlane(t testing.TB, dir string, crds ...string) (*envtest.Environment, *rest.Config) {
	t.Helper()
	ca, caKey := NewCA(t, "front-proxy-ca")
	WritePEM(t, filepath.Join(dir, "front-proxy-ca.crt"), "CERTIFICATE", ca.Raw)
	clientCert, clientKey := newClientCert(t, ca, caKey, "front-proxy-client")
	WritePEM(t, filepath.Join(dir, "front-proxy-client.crt"), "CERTIFICATE", clientCert)
	WritePEM(t, filepath.Join(dir, "front-proxy-client.key"), "EC PRIVATE KEY", clientKey)

	env := &envtest.Environment{CRDDirectoryPaths: crds, ErrorIfCRDPathMissing: len(crds) > 0}
	apiserver := env.ControlPlane.GetAPIServer()
	args := apiserver.Configure()
	args.Set("requestheader-client-ca-file", filepath.Join(dir, "front-proxy-ca.crt"))
	args.Set("requestheader-allowed-names", "front-proxy-client")
	args.Set("requestheader-username-headers", "X-Remote-User")
	args.Set("requestheader-group-headers", "X-Remote-Group")
	args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
	args.Set("proxy-client-cert-file", filepath.Join(dir, "front-proxy-client.crt"))
	args.Set("proxy-client-key-file", filepath.Join(dir, "front-proxy-client.key"))
	admin, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() { env.Stop() })
	return env, admin
}

// WorldReadableDir is a temporary directory every user may enter and write,
// for processes a test runs as another user.
func WorldReadableDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "acmehub-e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{dir, filepath.Join(dir, "data"), filepath.Join(dir, "certs")} {
		os.MkdirAll(d, 0o777)
		os.Chmod(d, 0o777)
	}
	return dir
}

// NewCA is a CA certificate and its key, valid for a day.
func NewCA(t testing.TB, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func newClientCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (der, keyDER []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ = x509.MarshalECPrivateKey(key)
	return der, keyDER
}

// WritePEM writes der as one PEM block of kind, readable by all.
func WritePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// MustCreate fails the test when create fails.
func MustCreate(t testing.TB, create func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatal(err)
	}
}

// RegisterAPIService points v1alpha1.<group> at the webhook on loopback,
// through an ExternalName Service for localhost in namespace (Endpoints
// refuse loopback addresses), and waits until the aggregator reports it
// Available.
func RegisterAPIService(t testing.TB, ctx context.Context, admin *rest.Config, kube kubernetes.Interface, group, namespace string, port int) {
	t.Helper()
	MustCreate(t, func() error {
		_, err := kube.CoreV1().Services(namespace).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-webhook"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
				Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}},
		}, metav1.CreateOptions{})
		return err
	})
	agg := aggregator.NewForConfigOrDie(admin)
	p := int32(port)
	MustCreate(t, func() error {
		_, err := agg.ApiregistrationV1().APIServices().Create(ctx, &apiregv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: "v1alpha1." + group},
			Spec: apiregv1.APIServiceSpec{
				Group: group, Version: "v1alpha1", GroupPriorityMinimum: 1000, VersionPriority: 15,
				Service:               &apiregv1.ServiceReference{Namespace: namespace, Name: "acmehub-webhook", Port: &p},
				InsecureSkipTLSVerify: true, // the webhook serves a self-signed certificate for localhost
			},
		}, metav1.CreateOptions{})
		return err
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		svc, err := agg.ApiregistrationV1().APIServices().Get(ctx, "v1alpha1."+group, metav1.GetOptions{})
		if err == nil {
			for _, c := range svc.Status.Conditions {
				if c.Type == apiregv1.Available && c.Status == apiregv1.ConditionTrue {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("APIService not available: %s: %s", c.Reason, c.Message)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("APIService not available: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Apply server-side applies o, as a dry run when dryRun.
func Apply(ctx context.Context, admin *rest.Config, o *unstructured.Unstructured, dryRun bool) error {
	dyn, err := dynamic.NewForConfig(admin)
	if err != nil {
		return err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(admin)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk, o.GetName(), err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	opts := metav1.ApplyOptions{FieldManager: "helm", Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Apply(ctx, o.GetName(), o, opts); err != nil {
		return fmt.Errorf("%s %s/%s refused: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

// AsServiceAccount returns a client configuration with a token the
// TokenRequest API issued for ServiceAccount ns/name, and writes it as a
// kubeconfig, readable by all, at path.
func AsServiceAccount(t testing.TB, admin *rest.Config, ns, name, path string) *rest.Config {
	t.Helper()
	kube := kubernetes.NewForConfigOrDie(admin)
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for ServiceAccount %s/%s: %v", ns, name, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["pod"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: name, Namespace: ns}
	kc.CurrentContext = "pod"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	return &rest.Config{Host: admin.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData}}
}
