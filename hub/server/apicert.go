// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/apicert"
	"github.com/acmehub/acmehub/hub/config"
)

// ownChallenges is the subdomain of the server's own account: its values
// are the TXT at _acme-challenge.<domain>, where a CA looks for the dns-01
// challenge of the API's certificate. Every server sharing the database
// answers them.
const ownChallenges = "_acme-challenge"

// newCertManager makes the keeper of the certificate the API (and the hub)
// serve when [api] or [hub] tls has the server obtain it through ACME:
// for [general] domain, as acme-dns does; nil otherwise.
func newCertManager(cfg config.Config, svc *accounts.Service, log *slog.Logger) (*apicert.Manager, error) {
	mode := cfg.ACMETLS()
	if mode == "" {
		return nil, nil
	}
	directory := cfg.AcmeHub.ACMEDirectory
	if directory == "" {
		directory = apicert.LetsEncrypt
		if mode == config.TLSLetsEncryptStaging {
			directory = apicert.LetsEncryptStaging
		}
	}
	var roots *x509.CertPool
	if bundle := cfg.AcmeHub.ACMECABundle; bundle != "" {
		pem, err := os.ReadFile(bundle)
		if err != nil {
			return nil, config.FileError("[acmehub] acme_ca_bundle", bundle, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, config.FileError("[acmehub] acme_ca_bundle", bundle, errors.New("no PEM certificate in it"))
		}
	}
	return apicert.New(apicert.Options{
		Names:     []string{cfg.General.Domain},
		Directory: directory,
		Roots:     roots,
		Email:     cfg.API.NotificationEmail,
		CacheDir:  cfg.API.ACMECacheDir,
		Presenter: ownPresenter{svc: svc, domain: cfg.General.Domain},
		Settle:    replicaSettle(cfg),
		Log:       log,
	})
}

// replicaSettle is how long servers sharing the database are given to
// learn of a challenge's value before the CA looks. A SQLite file has one
// server; replicas on PostgreSQL hear of a change in milliseconds, and two
// seconds cover one that is busy. A certificate is ordered every two
// months: the wait costs nothing, a failed validation counts against the
// CA's limits.
func replicaSettle(cfg config.Config) time.Duration {
	if cfg.Database.Engine == config.EnginePostgres {
		return 2 * time.Second
	}
	return 0
}

// ownPresenter writes the API certificate's challenges into the server's
// own account.
type ownPresenter struct {
	svc    *accounts.Service
	domain string
}

func (p ownPresenter) Present(ctx context.Context, name, value string) error {
	if !strings.EqualFold(strings.TrimSuffix(name, "."), p.domain) {
		return fmt.Errorf("a challenge for %s: the server answers only those of its zone's apex %s", name, p.domain)
	}
	return p.svc.Present(ctx, ownChallenges, value)
}

func (p ownPresenter) CleanUp(ctx context.Context, _, value string) error {
	return p.svc.DeleteTXT(ctx, ownChallenges, value)
}

// listenerTLS is what a listener whose tls setting is mode serves: nil
// for "none".
func (s *Server) listenerTLS(what, mode, chain, key string) (*tls.Config, error) {
	switch mode {
	case "cert":
		certs, err := newCertLoader(chain, key)
		if err != nil {
			return nil, fmt.Errorf("%s: tls: %w", what, err)
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}, nil
	case config.TLSLetsEncrypt, config.TLSLetsEncryptStaging:
		return s.certs.TLSConfig(), nil
	}
	return nil, nil
}

// certificateMetric exports when the certificate served expires.
func (s *Server) certificateMetric(reg prometheus.Registerer) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "acmehub_api_certificate_not_after_seconds",
		Help: "When the certificate the server obtained through ACME for its API expires, in seconds since 1970; 0 before it has one.",
	}, func() float64 {
		if t := s.certs.NotAfter(); !t.IsZero() {
			return float64(t.Unix())
		}
		return 0
	}))
}

// RenewCertificate obtains the API's certificate anew now (on SIGHUP), when
// the server obtains it through ACME.
func (s *Server) RenewCertificate(ctx context.Context) error {
	if s.certs == nil {
		return errors.New("the server obtains no certificate: neither [api] nor [hub] has tls = \"letsencrypt\"")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return s.certs.Renew(ctx)
}
