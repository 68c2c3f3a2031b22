// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package nodetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki writes the cluster's certificates and keys into dir: the cluster CA,
// kube-apiserver's serving certificate, an admin client certificate
// (system:masters) for every component and the test, the front-proxy CA and
// client of the aggregation layer, and the service-account signing key.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newPKI(dir string) (*pki, error) {
	p := &pki{dir: dir, serial: 1}
	var err error
	if p.ca, p.caKey, err = p.newCA("acmehub-node-ca", "ca"); err != nil {
		return nil, err
	}
	frontCA, frontKey, err := p.newCA("front-proxy-ca", "front-proxy-ca")
	if err != nil {
		return nil, err
	}
	if err := p.issue(frontCA, frontKey, "front-proxy-client", nil, "front-proxy-client", nil); err != nil {
		return nil, err
	}
	ips := []net.IP{net.ParseIP(NodeIP), net.ParseIP(APIServiceIP), net.ParseIP("127.0.0.1")}
	names := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if err := p.issue(p.ca, p.caKey, "kube-apiserver", nil, "apiserver", &san{ips, names}); err != nil {
		return nil, err
	}
	if err := p.issue(p.ca, p.caKey, "acmehub-node-admin", []string{"system:masters"}, "admin", nil); err != nil {
		return nil, err
	}
	sa, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err := writePEM(filepath.Join(dir, "sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(sa)); err != nil {
		return nil, err
	}
	return p, writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub)
}

type san struct {
	ips   []net.IP
	names []string
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func (p *pki) newCA(cn, file string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key, writePEM(p.path(file+".crt"), "CERTIFICATE", der)
}

// issue writes <file>.crt and <file>.key: a serving certificate when s is
// set, else a client certificate for cn in groups.
func (p *pki) issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, groups []string, file string, s *san) error {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn, Organization: groups},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if s != nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses, tmpl.DNSNames = s.ips, s.names
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	if err := writePEM(p.path(file+".crt"), "CERTIFICATE", der); err != nil {
		return err
	}
	return writePEM(p.path(file+".key"), "EC PRIVATE KEY", keyDER)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}
