//go:build e2e || chart

package main

// Helpers of the tests that run the webhook behind a real kube-apiserver's
// aggregation layer (e2e_test.go and the chart's RBAC test).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/acmehub/acmehub/solver"
)

// startAggregatingControlPlane starts etcd and a kube-apiserver with the
// aggregation layer: a front-proxy CA and the client certificate the
// aggregator presents to extension apiservers. crds are installed.
func startAggregatingControlPlane(t *testing.T, dir string, crds ...string) (*envtest.Environment, *rest.Config) {
	t.Helper()
	ca, caKey := newCA(t, "front-proxy-ca")
	writePEM(t, filepath.Join(dir, "front-proxy-ca.crt"), "CERTIFICATE", ca.Raw)
	clientCert, clientKey := newClientCert(t, ca, caKey, "front-proxy-client")
	writePEM(t, filepath.Join(dir, "front-proxy-client.crt"), "CERTIFICATE", clientCert)
	writePEM(t, filepath.Join(dir, "front-proxy-client.key"), "EC PRIVATE KEY", clientKey)

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

func worldReadableDir(t *testing.T) string {
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

func newCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
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

func newClientCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (der, keyDER []byte) {
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

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, create func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatal(err)
	}
}

// registerAPIService points v1alpha1.<group> at the webhook on loopback,
// through an ExternalName Service for localhost in namespace (Endpoints
// refuse loopback addresses), and waits until the aggregator reports it
// Available.
func registerAPIService(t *testing.T, ctx context.Context, admin *rest.Config, kube kubernetes.Interface, group, namespace string, port int) {
	t.Helper()
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Services(namespace).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "acmehub-webhook"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
				Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}},
		}, metav1.CreateOptions{})
		return err
	})
	agg := aggregator.NewForConfigOrDie(admin)
	p := int32(port)
	mustCreate(t, func() error {
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

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func register(t *testing.T, api string) solver.Account {
	t.Helper()
	resp, err := http.Post(api+"/register", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a solver.Account
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	return a
}

func txt(t *testing.T, server, name string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(m, server)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out
}
