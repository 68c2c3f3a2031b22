// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package server assembles an acmehub server from its configuration: the store,
// the accounts service with its in-memory index, the authoritative DNS server
// and the acme-dns HTTP API, and, with [hub] enabled, the managed-challenge
// hub and its front doors. It runs standalone (acmehub server) or embedded in
// the cert-manager webhook. It offers every DNS provider and front door
// there is: extensions_gen.go imports each folder below
// hub/managed/providers and hub/managed/doors.
package server

//go:generate go run ../../hack/generate

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/acmehub/acmehub/hub/acmedns"
	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/apicert"
	"github.com/acmehub/acmehub/hub/clientip"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/dnssec"
	"github.com/acmehub/acmehub/hub/dnsserver"
	"github.com/acmehub/acmehub/hub/store"
)

// ShutdownTimeout bounds how long Run waits for answers under way once asked to stop.
const ShutdownTimeout = 10 * time.Second

// Server is a running acmehub server: listeners bound, accounts loaded.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	store    store.Store
	accounts *accounts.Service
	dns      *dnsserver.Server
	api      *http.Server
	apiLn    net.Listener
	metrics  *http.Server
	metricLn net.Listener
	// hub is the managed-challenge hub; nil when [hub] is off.
	hub *managedHub
	// certs keeps the certificate obtained through ACME; nil when no
	// listener has tls = "letsencrypt".
	certs *apicert.Manager
	// queryLog closes the DNS query log's file.
	queryLog io.Closer
}

// New opens the store, binds the DNS, API and metrics addresses, so that a
// busy port fails here, at once, and loads every account into memory. cfg
// must be validated.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	dns, reg, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.bind(ctx, dns, reg); err != nil {
		return nil, err
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if s.certs != nil {
		if err := s.accounts.Reserve(ctx, ownChallenges); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// accountsOptions are the accounts service's settings in cfg.
func accountsOptions(cfg config.Config, log *slog.Logger) accounts.Options {
	return accounts.Options{
		Domain:              cfg.General.Domain,
		MaxTXTLimit:         cfg.AcmeHub.MaxTXTLimit,
		CredentialCacheSize: cfg.AcmeHub.CredentialCacheSize,
		AnyTXT:              cfg.AcmeHub.TXTFormat == config.TXTFormatAny,
		PresentExpiry:       cfg.AcmeHub.PresentExpiry.Duration,
		BcryptConcurrency:   cfg.AcmeHub.BcryptConcurrency,
		ResyncInterval:      cfg.AcmeHub.ResyncInterval.Duration,
		Log:                 log.With("component", "accounts"),
	}
}

// OpenAccounts opens the database of cfg for administering its acme-dns
// accounts (acmehub admin accounts): the service, the audit log its
// changes go to, and a function that closes the database. No hub keys are
// needed.
func OpenAccounts(ctx context.Context, cfg config.Config, log *slog.Logger) (*accounts.Service, store.AuditLog, func(), error) {
	st, err := store.Open(ctx, cfg.Database.Engine, cfg.Database.Connection, store.Options{
		DefaultTXTLimit: cfg.AcmeHub.TXTLimit, HoldLimit: cfg.AcmeHub.PresentLimit, Log: log,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return accounts.New(st, accountsOptions(cfg, log)), st.Managed(), func() { st.Close() }, nil
}

// open opens the store and makes the accounts service, the metrics
// registry and the DNS handler over the accounts' index.
func (s *Server) open(ctx context.Context) (*dnsserver.Handler, *prometheus.Registry, error) {
	cfg, log := s.cfg, s.log
	var err error
	s.store, err = store.Open(ctx, cfg.Database.Engine, cfg.Database.Connection, store.Options{
		DefaultTXTLimit: cfg.AcmeHub.TXTLimit,
		HoldLimit:       cfg.AcmeHub.PresentLimit,
		Log:             log.With("component", "store"),
		Serving:         true,
	})
	if err != nil {
		return nil, nil, err
	}
	s.accounts = accounts.New(s.store, accountsOptions(cfg, log))
	signer, err := newSigner(ctx, cfg, s.store, log)
	if err != nil {
		return nil, nil, err
	}
	reg := s.registry()
	handler, err := dnsserver.NewHandler(dnsserver.Zone{
		Domain:  cfg.General.Domain,
		NSName:  cfg.General.NSName,
		NSAdmin: cfg.General.NSAdmin,
		Records: cfg.General.Records,
		TXTTTL:  cfg.AcmeHub.TXTTTL,
		Serial:  uint32(time.Now().Unix()),
		Signer:  signer,
	}, s.accounts.Index(), dnsserver.NewMetrics(reg), log.With("component", "dns"))
	if err != nil {
		return nil, nil, fmt.Errorf("[general]: %w", err)
	}
	protection, closer, err := dnsProtection(ctx, cfg.AcmeHub, s.store, log.With("component", "dns"))
	if err != nil {
		return nil, nil, err
	}
	handler.Protect(protection)
	s.queryLog = closer
	return handler, reg, nil
}

// registry holds the process's and the accounts' metrics.
func (s *Server) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			// go_gc_heap_live_bytes: the heap the last collection kept, the
			// memory the accounts really take, where go_memstats_heap_alloc_bytes
			// counts garbage not yet collected too.
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "acmehub_accounts",
			Help: "Registered accounts.",
		}, func() float64 { return float64(s.accounts.Index().Len()) }),
		heldCollector{s.accounts.Index()},
	)
	return reg
}

// bind makes the managed-challenge hub when [hub] is on and binds every
// address: DNS, the API, metrics (and the hub's, in newManagedHub).
func (s *Server) bind(ctx context.Context, dns *dnsserver.Handler, reg *prometheus.Registry) error {
	cfg, log := s.cfg, s.log
	var err error
	if s.certs, err = newCertManager(cfg, s.accounts, log.With("component", "apicert")); err != nil {
		return err
	}
	if s.certs != nil {
		s.certificateMetric(reg)
	}
	if cfg.Hub.Enabled {
		hubTLS, err := s.listenerTLS("hub", cfg.Hub.TLS, cfg.Hub.TLSCertFullchain, cfg.Hub.TLSCertPrivkey)
		if err != nil {
			return err
		}
		if s.hub, err = newManagedHub(ctx, cfg, s.store, dns, s.accounts, hubTLS, log.With("component", "hub")); err != nil {
			return err
		}
	}
	limits := dnsserver.TCPLimits{Connections: cfg.AcmeHub.TCPConnections, ConnectionsPerPrefix: cfg.AcmeHub.TCPConnectionsPerPrefix,
		QueriesPerConnection: cfg.AcmeHub.TCPQueriesPerConnection, IdleTimeout: cfg.AcmeHub.TCPIdleTimeout.Duration}
	if s.dns, err = dnsserver.Listen(cfg.General.DNSNetworks(), cfg.General.Listen, dns, limits); err != nil {
		return err
	}
	trusted, err := config.ParsePrefixes(cfg.AcmeHub.TrustedProxies)
	if err != nil {
		return fmt.Errorf("[acmehub] trusted_proxies: %w", err)
	}
	opts := acmedns.Options{
		DisableRegistration:           cfg.API.DisableRegistration,
		RegistrationUser:              cfg.AcmeHub.RegistrationUser,
		RegistrationPassword:          cfg.AcmeHub.RegistrationPassword,
		CORSOrigins:                   cfg.API.CORSOrigins,
		ClientIP:                      apiClientIP(cfg.API, trusted),
		RegisterPerMinute:             cfg.AcmeHub.RegisterPerMinute,
		FailedAuthPerMinute:           cfg.AcmeHub.FailedAuthPerMinute,
		FailedAuthPerAddressPerMinute: cfg.AcmeHub.FailedAuthPerAddressPerMinute,
		HSTS:                          hsts(cfg.API),
		Registerer:                    reg,
		Log:                           log.With("component", "api"),
	}
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if cfg.AcmeHub.MetricsListen == "" {
		opts.Metrics = metricsHandler
	} else {
		if s.metricLn, err = net.Listen("tcp", cfg.AcmeHub.MetricsListen); err != nil {
			return fmt.Errorf("metrics: listening on %s: %w", cfg.AcmeHub.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsHandler)
		s.metrics = newHTTPServer(mux)
	}
	if s.certs != nil {
		opts.CertificateNotAfter = s.certs.NotAfter
	}
	s.api = newHTTPServer(acmedns.New(s.accounts, opts))
	apiTLS, err := s.listenerTLS("API", cfg.API.TLS, cfg.API.TLSCertFullchain, cfg.API.TLSCertPrivkey)
	if err != nil {
		return err
	}
	if s.apiLn, err = listen("API", cfg.API.Addr(), apiTLS); err != nil {
		return err
	}
	log.Info("the API", "listen", s.apiLn.Addr().String(), "tls", cfg.API.TLS, "registration", registration(cfg))
	if openRegistration(cfg) {
		log.Warn("POST /register is open to anyone who can reach the API: set [acmehub] registration_user and "+
			"registration_password, or [api] disable_registration = true", "api", cfg.API.Addr())
	}
	return nil
}

// listen binds addr, serving TLS with tc when it is set.
func listen(what, addr string, tc *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listening on %s: %w", what, addr, err)
	}
	if tc == nil {
		return ln, nil
	}
	return tls.NewListener(ln, tc), nil
}

// load reads every account into memory, once every address is bound so
// that a busy port has failed fast: for many accounts it takes a moment.
func (s *Server) load(ctx context.Context) error {
	start := time.Now()
	if err := s.accounts.Load(ctx); err != nil {
		return err
	}
	// Reading every account left its rows as garbage: return it to the
	// system before serving, rather than carry it as resident memory.
	debug.FreeOSMemory()
	s.log.Info("accounts loaded", "accounts", s.accounts.Index().Len(), "seconds", time.Since(start).Seconds())
	return nil
}

// registration says how POST /register is guarded, for the start-up log.
func registration(cfg config.Config) string {
	switch {
	case cfg.API.DisableRegistration:
		return "disabled"
	case cfg.AcmeHub.RegistrationUser != "":
		return "basic auth"
	}
	return "open"
}

// openRegistration reports whether anyone who reaches the API can register:
// /register is on, without basic auth, on an address that is not loopback.
func openRegistration(cfg config.Config) bool {
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(cfg.API.IP, "["), "]"))
	loopback := err == nil && addr.Unmap().IsLoopback()
	return !cfg.API.DisableRegistration && cfg.AcmeHub.RegistrationUser == "" && !loopback
}

// apiClientIP reads the client's address from the connection or, with
// use_header, from header_name behind the trusted proxies.
func apiClientIP(a config.API, trusted []netip.Prefix) clientip.Resolver {
	if !a.UseHeader {
		return clientip.Resolver{}
	}
	return clientip.Resolver{Header: cmp.Or(a.HeaderName, "X-Forwarded-For"), Trusted: trusted}
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

func hsts(a config.API) string {
	if a.TLS == "none" || !a.HSTSEnabled {
		return ""
	}
	v := "max-age=" + strconv.Itoa(a.HSTSMaxAge)
	if a.HSTSIncludeSubdoms {
		v += "; includeSubDomains"
	}
	if a.HSTSPreload {
		v += "; preload"
	}
	return v
}

// Accounts is the server's account service, for callers in the same process.
func (s *Server) Accounts() *accounts.Service { return s.accounts }

// DNSAddrs are the bound DNS addresses.
func (s *Server) DNSAddrs() []net.Addr { return s.dns.Addrs() }

// APIAddr is the bound API address.
func (s *Server) APIAddr() net.Addr { return s.apiLn.Addr() }

// Run serves until ctx ends or a listener fails, then stops listening, lets
// answers under way finish and closes the store.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	serve := func(name string, fn func() error) {
		wg.Go(func() {
			if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	serve("DNS", s.dns.Serve)
	serve("API", func() error { return s.api.Serve(s.apiLn) })
	if s.metrics != nil {
		serve("metrics", func() error { return s.metrics.Serve(s.metricLn) })
	}
	serve("account sync", func() error { return s.accounts.Run(ctx) })
	serve("presented values' expiry", func() error {
		every(ctx, s.accounts.SweepInterval(), func() {
			if err := s.accounts.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("removing expired presented values", "err", err)
			}
		})
		return nil
	})
	if s.hub != nil {
		serve("hub", func() error { return s.hub.srv.Serve(s.hub.ln) })
		hubLog := s.log.With("component", "hub")
		serve("hub configs", func() error { return s.hub.reloadConfigs(ctx, hubLog) })
		serve("hub records", func() error { return s.hub.followRecords(ctx, s.store, hubLog) })
		serve("hub sweep", func() error { return s.hub.sweep(ctx, s.cfg.Hub.CleanupAfter.Duration, hubLog) })
	}

	attrs := []any{"zone", s.cfg.General.Domain, "api", s.apiLn.Addr().String(), "database", s.cfg.Database.Engine}
	if s.hub != nil {
		attrs = append(attrs, "hub", s.hub.ln.Addr().String())
	}
	for _, a := range s.dns.Addrs() {
		attrs = append(attrs, "dns_"+a.Network(), a.String())
	}
	s.log.Info("acmehub server ready", append(attrs, "accounts", s.accounts.Index().Len())...)
	if s.certs != nil {
		// The DNS answers now: the certificate's challenges can be met.
		if err := s.certs.Start(ctx); err != nil {
			errs <- err
		}
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	s.log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer scancel()
	var shutdownErrs []error
	shutdownErrs = append(shutdownErrs, s.dns.Shutdown(sctx), s.api.Shutdown(sctx))
	if s.metrics != nil {
		shutdownErrs = append(shutdownErrs, s.metrics.Shutdown(sctx))
	}
	if s.hub != nil {
		shutdownErrs = append(shutdownErrs, s.hub.srv.Shutdown(sctx))
		s.hub.close()
		s.hub.svc.Close()
	}
	cancel()
	wg.Wait()
	if s.certs != nil {
		s.certs.Stop()
	}
	shutdownErrs = append(shutdownErrs, s.store.Close())
	if s.queryLog != nil {
		s.queryLog.Close()
	}
	s.log.Info("stopped")
	return errors.Join(append([]error{err}, shutdownErrs...)...)
}

// heldCollector exports how many presented values each account holding
// any has: a challenge that stays here long was never cleaned up.
type heldCollector struct{ index *accounts.Index }

var heldDesc = prometheus.NewDesc("acmehub_live_challenge_values",
	"Presented challenge values an account holds now (accounts holding none are not listed).", []string{"subdomain"}, nil)

func (c heldCollector) Describe(ch chan<- *prometheus.Desc) { ch <- heldDesc }

func (c heldCollector) Collect(ch chan<- prometheus.Metric) {
	for sub, n := range c.index.Held() {
		ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(n), sub)
	}
}

// close releases what New acquired, when New fails.
func (s *Server) close() {
	if s.apiLn != nil {
		s.apiLn.Close()
	}
	if s.metricLn != nil {
		s.metricLn.Close()
	}
	if s.hub != nil {
		s.hub.ln.Close()
	}
	if s.dns != nil {
		s.dns.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.queryLog != nil {
		s.queryLog.Close()
	}
}

// newSigner reads the zone's DNSSEC keys, when [dnssec] names them or
// takes them from the database.
func newSigner(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger) (*dnssec.Signer, error) {
	if !cfg.DNSSEC.Enabled() {
		return nil, nil
	}
	keys := make([]dnssec.Key, len(cfg.DNSSEC.Keys))
	for i, path := range cfg.DNSSEC.Keys {
		k, err := dnssec.Load(path)
		if err != nil {
			return nil, config.FileError("[dnssec] keys", path, err)
		}
		keys[i] = k
	}
	if cfg.DNSSEC.Database {
		sealing, err := loadKeys(cfg.Hub)
		if err != nil {
			return nil, fmt.Errorf("[dnssec] database: %w", err)
		}
		stored, err := readDNSSECKeys(ctx, st, sealing)
		if err != nil {
			return nil, fmt.Errorf("[dnssec] database: %w", err)
		}
		if len(stored) == 0 {
			return nil, errors.New("[dnssec] database: the database holds no DNSSEC key; import them with acmehub dnssec import")
		}
		for _, k := range stored {
			keys = append(keys, k.Key)
		}
	}
	signer, err := dnssec.NewSigner(cfg.General.Domain, keys, dnssec.Options{
		Validity: cfg.DNSSEC.Validity.Duration, Refresh: cfg.DNSSEC.Refresh.Duration, Skew: cfg.DNSSEC.Skew.Duration})
	if err != nil {
		return nil, fmt.Errorf("[dnssec]: %w", err)
	}
	zsks := 0
	for _, k := range keys {
		if !k.SEP() {
			zsks++
		}
	}
	var tags []string
	for _, k := range keys {
		kind := "ZSK"
		switch {
		case k.SEP() && zsks > 0:
			kind = "KSK"
		case k.SEP():
			kind = "CSK" // signs every set itself
		}
		tags = append(tags, fmt.Sprintf("%d (%s, algorithm %d)", k.Tag(), kind, k.DNSKEY.Algorithm))
	}
	from := "files"
	if cfg.DNSSEC.Database {
		from = "the database"
	}
	log.Info("the zone is signed (DNSSEC)", "keys", tags, "from", from)
	return signer, nil
}
