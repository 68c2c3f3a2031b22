// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ProxyHTTPS starts a proxy on 127.0.0.1 that answers CONNECT to port 443
// of hosts (APIs a client library cannot be given another address of)
// with TLS under a fresh test CA (written to dir), and serves h inside the
// tunnel (r.Host tells which API was asked). env is what sends a process's
// HTTPS requests there: HTTPS_PROXY, and SSL_CERT_FILE making the test CA
// the only one trusted. Set in a process's own environment, it must be set
// before its first HTTPS request. stop ends the proxy.
func ProxyHTTPS(h http.Handler, dir string, hosts ...string) (env []string, stop func(), err error) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA of a fake " + hosts[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	caFile := filepath.Join(dir, "fake-"+hosts[0]+"-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return nil, nil, err
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	inner := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	tunnels, closed := make(chan net.Conn), make(chan struct{})
	go inner.Serve(&chanListener{conns: tunnels, addr: ln.Addr(), done: closed})
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || req.Method != http.MethodConnect || !slices.Contains(hosts, strings.TrimSuffix(req.Host, ":443")) || !strings.HasSuffix(req.Host, ":443") {
					fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
					c.Close()
					return
				}
				fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				select {
				case tunnels <- tls.Server(c, tlsConf):
				case <-closed:
					c.Close()
				}
			})
		}
	}()
	env = []string{"HTTPS_PROXY=http://" + ln.Addr().String(), "NO_PROXY=", "SSL_CERT_FILE=" + caFile, "SSL_CERT_DIR=/nonexistent"}
	return env, func() { close(closed); ln.Close(); inner.Close(); wg.Wait() }, nil
}

// chanListener hands the proxy's tunnels to an http.Server; done closes it.
type chanListener struct {
	conns chan net.Conn
	addr  net.Addr
	done  chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error { return nil }

func (l *chanListener) Addr() net.Addr { return l.addr }
