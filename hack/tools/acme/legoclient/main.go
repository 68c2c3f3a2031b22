// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command legoclient obtains a certificate through lego's library and its
// httpreq or acme-dns DNS provider, which is what `lego --dns httpreq run`
// and `lego --dns acme-dns run` do. lego's own command cannot be built from
// the Go module proxy here: it links every DNS provider, and one
// provider's module is not served.
//
// The providers read their environment as with lego's command (httpreq:
// HTTPREQ_ENDPOINT, HTTPREQ_USERNAME, HTTPREQ_PASSWORD, HTTPREQ_MODE;
// acme-dns: ACME_DNS_API_BASE, ACME_DNS_STORAGE_PATH), and lego trusts the
// CA certificates of LEGO_CA_CERTIFICATES.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/providers/dns/acmedns"
	"github.com/go-acme/lego/v5/providers/dns/httpreq"
	"github.com/go-acme/lego/v5/registration"
)

type user struct {
	email string
	key   crypto.Signer
	reg   *acme.ExtendedAccount
}

func (u *user) GetEmail() string                       { return u.email }
func (u *user) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *user) GetPrivateKey() crypto.Signer           { return u.key }

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var (
		server, email, out, dns string
		domains, resolvers      list
		timeout                 time.Duration
	)
	flag.StringVar(&server, "server", "", "the ACME directory URL")
	flag.StringVar(&email, "email", "", "the account's e-mail address")
	flag.Var(&domains, "domain", "a name of the certificate (repeat)")
	flag.Var(&resolvers, "dns-resolver", "host:port of a resolver lego asks, for CNAMEs and propagation (repeat)")
	flag.StringVar(&out, "out", ".", "directory for certificate.pem and key.pem")
	flag.StringVar(&dns, "dns", "httpreq", "the DNS provider: httpreq or acme-dns")
	flag.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	if err := run(server, email, out, dns, domains, resolvers, timeout); err != nil {
		fmt.Fprintln(os.Stderr, "legoclient:", err)
		os.Exit(1)
	}
}

func run(server, email, out, dns string, domains, resolvers []string, timeout time.Duration) error {
	if server == "" || len(domains) == 0 {
		return fmt.Errorf("-server and -domain are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	u := &user{email: email, key: key}
	cfg := lego.NewConfig(u)
	cfg.CADirURL = server
	client, err := lego.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("ACME client: %w", err)
	}
	if len(resolvers) > 0 {
		dns01.SetDefaultClient(dns01.NewClient(&dns01.Options{RecursiveNameservers: resolvers, Timeout: 5 * time.Second}))
	}
	var provider challenge.Provider
	switch dns {
	case "httpreq":
		provider, err = httpreq.NewDNSProvider()
	case "acme-dns":
		provider, err = acmedns.NewDNSProvider()
	default:
		err = fmt.Errorf("-dns %q: want httpreq or acme-dns", dns)
	}
	if err != nil {
		return err
	}
	// The resolvers given answer for the names as their authoritative
	// servers would, which lego would otherwise ask on port 53.
	if err := client.Challenge.SetDNS01Provider(provider, dns01.DisableAuthoritativeNssPropagationRequirement()); err != nil {
		return err
	}
	if u.reg, err = client.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true}); err != nil {
		return fmt.Errorf("registering: %w", err)
	}
	res, err := client.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: domains, Bundle: true, KeyType: certcrypto.EC256})
	if err != nil {
		return fmt.Errorf("obtaining: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "certificate.pem"), res.Certificate, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "key.pem"), res.PrivateKey, 0o600)
}
