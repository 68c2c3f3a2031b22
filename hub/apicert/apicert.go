// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package apicert obtains and renews the HTTPS certificate of the server's
// API through ACME dns-01, as acme-dns's tls = "letsencrypt" does: with
// certmagic, in acme-dns's cache layout under acme_cache_dir (a cache that
// acme-dns filled is used as it is), the challenge answered by the
// server's own DNS through a Presenter. Servers sharing the directory take
// turns: one order at a time (certmagic's lock files).
package apicert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3/acme"
	"go.uber.org/zap"
)

// The CAs of acme-dns's tls values.
const (
	LetsEncrypt        = certmagic.LetsEncryptProductionCA
	LetsEncryptStaging = certmagic.LetsEncryptStagingCA
)

// Presenter writes the value of a dns-01 challenge for name where the
// server's DNS answers _acme-challenge.<name>, and removes it.
type Presenter interface {
	Present(ctx context.Context, name, value string) error
	CleanUp(ctx context.Context, name, value string) error
}

// Options describe the certificate and where it comes from.
type Options struct {
	// Names are the certificate's names; the first is served to clients
	// that name none (SNI).
	Names []string
	// Directory is the CA's ACME directory URL; Roots, when set, are the
	// only roots trusted for its HTTPS (a private CA's).
	Directory string
	Roots     *x509.CertPool
	// Email is the ACME account's contact; may be empty.
	Email string
	// CacheDir holds the account, certificate and key (acme_cache_dir).
	CacheDir  string
	Presenter Presenter
	// Settle is how long after a value is presented the CA is told to
	// look: the time other servers answering the zone need to learn of
	// it (servers sharing a PostgreSQL database hear of a change through
	// a notification). A CA asks any of them, at once, and fails the order
	// on the first that does not answer yet.
	Settle time.Duration
	Log    *slog.Logger
}

// Manager keeps the certificate: obtained when missing, renewed before it
// expires (a third of its life before, or when the CA's renewal
// information says), retried with back-off after a failure while the old
// one keeps serving.
type Manager struct {
	opts  Options
	cache *certmagic.Cache
	magic *certmagic.Config
}

// New prepares the manager; Start begins its work.
func New(opts Options) (*Manager, error) {
	if len(opts.Names) == 0 || opts.Directory == "" || opts.CacheDir == "" || opts.Presenter == nil {
		return nil, errors.New("apicert: names, a directory, a cache directory and a presenter are needed")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: opts}
	quiet := zap.NewNop() // what matters is logged from the events
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           quiet,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:           &certmagic.FileStorage{Path: opts.CacheDir},
		DefaultServerName: opts.Names[0],
		OnEvent:           m.event,
		OCSP:              certmagic.OCSPConfig{DisableStapling: true},
		Logger:            quiet,
	})
	m.magic.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA:                      opts.Directory,
		Email:                   opts.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    true,
		DisableTLSALPNChallenge: true,
		DNS01Solver:             solver{opts.Presenter, opts.Settle},
		TrustedRoots:            opts.Roots,
		Logger:                  quiet,
	})}
	return m, nil
}

// Start loads the certificate from the cache, or obtains it in the
// background (the server's DNS must be answering), and keeps it renewed
// until ctx ends.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.magic.ManageAsync(ctx, m.opts.Names); err != nil {
		return fmt.Errorf("the API's certificate for %v: %w", m.opts.Names, err)
	}
	return nil
}

// Renew obtains a new certificate now, whatever the current one's age,
// and serves it once it is stored.
func (m *Manager) Renew(ctx context.Context) error {
	name := m.opts.Names[0]
	old := m.cache.AllMatchingCertificates(name)
	if err := m.magic.RenewCertSync(ctx, name, true); err != nil {
		return fmt.Errorf("renewing the API's certificate for %s: %w", name, err)
	}
	renewed, err := m.magic.CacheManagedCertificate(ctx, name)
	if err != nil {
		return fmt.Errorf("loading the renewed certificate for %s: %w", name, err)
	}
	var stale []string
	for _, c := range old {
		if c.Hash() != renewed.Hash() {
			stale = append(stale, c.Hash())
		}
	}
	m.cache.Remove(stale)
	return nil
}

// TLSConfig serves the certificate.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: m.magic.GetCertificate}
}

// NotAfter is when the certificate served expires; zero before there is
// one.
func (m *Manager) NotAfter() time.Time {
	var last time.Time
	for _, c := range m.cache.AllMatchingCertificates(m.opts.Names[0]) {
		if c.Leaf != nil && c.Leaf.NotAfter.After(last) {
			last = c.Leaf.NotAfter
		}
	}
	return last
}

// Stop ends the renewals.
func (m *Manager) Stop() { m.cache.Stop() }

// event logs what happens to the certificate; a failure with the CA's own
// words.
func (m *Manager) event(_ context.Context, event string, data map[string]any) error {
	log := m.opts.Log
	switch event {
	case "cert_obtaining":
		log.Info("obtaining the API's certificate", "name", data["identifier"], "renewal", data["renewal"] == true,
			"directory", m.opts.Directory)
	case "cert_obtained":
		log.Info("the API's certificate obtained", "name", data["identifier"], "renewal", data["renewal"] == true,
			"not_after", m.NotAfter())
	case "cert_failed":
		attrs := []any{"name", data["identifier"], "renewal", data["renewal"] == true, "err", data["error"]}
		if left, ok := data["remaining"]; ok && left != nil {
			attrs = append(attrs, "remaining", left) // the old certificate's time left
		}
		log.Error("the API's certificate could not be obtained; the one served, if any, stays and the order is retried with back-off", attrs...)
	case "cached_managed_cert":
		log.Info("the API's certificate loaded from the cache", "names", data["sans"], "dir", m.opts.CacheDir)
	}
	return nil
}

// solver answers the dns-01 challenges through the Presenter.
type solver struct {
	p      Presenter
	settle time.Duration
}

func (s solver) Present(ctx context.Context, ch acme.Challenge) error {
	return s.p.Present(ctx, ch.Identifier.Value, ch.DNS01KeyAuthorization())
}

// Wait lets the other servers learn of the value before the CA looks.
func (s solver) Wait(ctx context.Context, _ acme.Challenge) error {
	if s.settle <= 0 {
		return nil
	}
	t := time.NewTimer(s.settle)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s solver) CleanUp(ctx context.Context, ch acme.Challenge) error {
	return s.p.CleanUp(ctx, ch.Identifier.Value, ch.DNS01KeyAuthorization())
}
