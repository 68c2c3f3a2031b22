// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acmehub/acmehub/hub/clientip"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/dnsserver"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/console"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/managed/providers/self"
	"github.com/acmehub/acmehub/hub/ratelimit"
	"github.com/acmehub/acmehub/hub/store"
)

// managedHub is the managed-challenge hub inside a server: the service,
// its self-provider table answered by the server's DNS, and its front
// doors on their own HTTPS listener.
type managedHub struct {
	svc   *managed.Service
	stops []func() // the front doors' work under way
	srv   *http.Server
	ln    net.Listener
}

// close ends the front doors' work under way.
func (h *managedHub) close() {
	for _, stop := range h.stops {
		stop()
	}
}

// loadKeys reads the hub's keys from keys_file or the environment.
func loadKeys(m config.Hub) (*managed.Keyring, error) {
	text := os.Getenv(config.HubKeysEnv)
	if m.KeysFile == "" && strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("no hub keys: [hub] keys_file names no file and $%s is empty "+
			"(acmehub admin: give the server's configuration with -c, or --keys-file; acmehub admin keygen makes keys)", config.HubKeysEnv)
	}
	if m.KeysFile != "" {
		data, err := os.ReadFile(m.KeysFile)
		if err != nil {
			return nil, config.FileError("[hub] keys_file", m.KeysFile, err)
		}
		keys, err := managed.ParseKeyring(string(data))
		if err != nil {
			return nil, config.FileError("[hub] keys_file", m.KeysFile, err)
		}
		return keys, nil
	}
	return managed.ParseKeyring(text)
}

// openManaged makes the managed-challenge service on st with the
// providers the hub offers (providers.go), and the self provider's table
// of the values the hub's DNS answers.
func openManaged(ctx context.Context, m config.Hub, st store.Store, log *slog.Logger) (*managed.Service, *self.Table, error) {
	keys, err := loadKeys(m)
	if err != nil {
		return nil, nil, err
	}
	if m.KeysFile != "" {
		if fi, err := os.Stat(m.KeysFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the hub's keys file may be read by others than its owner: chmod 600 it", "path", m.KeysFile, "mode", fi.Mode().Perm().String())
		}
	}
	resolver := dnsclient.Resolver{Servers: m.Resolvers, Timeout: 2 * time.Second}
	if len(resolver.Servers) == 0 {
		if resolver, err = dnsclient.System(); err != nil {
			log.Warn("no resolvers: configs that allow CNAME targets refuse them, and values are only awaited on the hub's own DNS", "err", err)
		}
	}
	var svc *managed.Service
	table := &self.Table{Lookup: func(apex string) ([]string, bool) {
		c, ok := svc.ConfigFor(strings.TrimPrefix(apex, "_acme-challenge."))
		if !ok || c.Provider != self.Name {
			return nil, false
		}
		return svc.Values(c.ID, apex), true
	}}
	issuers, err := configIssuers(m.Issuers)
	if err != nil {
		return nil, nil, err
	}
	svc, err = managed.New(ctx, managed.Options{
		Store: st.Managed(), Keys: keys, Log: log, DNS: resolver, HubURL: m.URL, Issuers: issuers,
		Providers: providers.Factories(providers.Env{Resolver: resolver, Served: table}),
	})
	if err != nil {
		return nil, nil, err
	}
	return svc, table, nil
}

// OpenManaged opens the database of cfg for administering the hub (acmehub
// admin): the service, and a function that closes it and the database.
func OpenManaged(ctx context.Context, cfg config.Config, log *slog.Logger) (*managed.Service, func(), error) {
	st, err := store.Open(ctx, cfg.Database.Engine, cfg.Database.Connection, store.Options{Log: log})
	if err != nil {
		return nil, nil, err
	}
	svc, _, err := openManaged(ctx, cfg.Hub, st, log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, func() { svc.Close(); st.Close() }, nil
}

// newManagedHub makes the service, has dns answer for the delegated names
// and binds the hub's listener; its console manages accounts.
func newManagedHub(ctx context.Context, cfg config.Config, st store.Store, dns *dnsserver.Handler, accounts console.Accounts, hubTLS *tls.Config,
	log *slog.Logger) (*managedHub, error) {
	m := cfg.Hub
	svc, table, err := openManaged(ctx, m, st, log)
	if err != nil {
		return nil, err
	}
	dns.ServeDelegatedZones(table)

	trusted, err := config.ParsePrefixes(m.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("[hub] trusted_proxies: %w", err)
	}
	door := &doors.Door{Service: svc, ClientIP: clientip.Forwarded(trusted), Limits: ratelimit.PerMinute(m.RequestsPerMinute), Log: log}
	h := &managedHub{svc: svc}
	mux := http.NewServeMux()
	var paths []string
	for _, p := range doors.Protocols() {
		path, stop, err := p.Mount(door, m, mux)
		if err != nil {
			h.close()
			return nil, fmt.Errorf("front door %s: %w", p.Name, err)
		}
		paths = append(paths, path)
		if stop != nil {
			h.stops = append(h.stops, stop)
		}
	}
	sso, err := consoleSSO(m)
	if err != nil {
		h.close()
		return nil, err
	}
	ui, err := console.New(door, console.Options{Log: log.With("component", "console"), Accounts: accounts, SSO: sso,
		NoTokenSignin: !m.ConsoleTokenSignin})
	if err != nil {
		h.close()
		return nil, err
	}
	mux.Handle(console.Base, ui)
	mux.Handle(console.Base+"/", ui)
	mux.Handle("GET /{$}", http.RedirectHandler(console.Base+"/", http.StatusFound))
	h.srv = newHTTPServer(mux)
	h.srv.WriteTimeout = m.RequestTimeout.Duration + 30*time.Second // request answers once the value is served
	if h.ln, err = listen("hub", m.Listen, hubTLS); err != nil {
		h.close()
		return nil, err
	}
	log.Info("managed-challenge hub loaded", "configs", len(svc.Configs()), "listen", h.ln.Addr().String(), "tls", m.TLS,
		"doors", append(paths, console.Base))
	return h, nil
}

// reloadConfigs picks up configs that acmehub admin, or another replica,
// changed: every ConfigReloadInterval.
func (h *managedHub) reloadConfigs(ctx context.Context, log *slog.Logger) error {
	every(ctx, ConfigReloadInterval, func() {
		if err := h.svc.Reload(ctx); err != nil && ctx.Err() == nil {
			log.Error("reloading the managed challenge configs; the previous ones stay", "err", err)
		}
	})
	return nil
}

// sweep removes the records nobody cleaned up, every quarter of
// cleanup_after (at most every minute).
func (h *managedHub) sweep(ctx context.Context, cleanupAfter time.Duration, log *slog.Logger) error {
	every(ctx, min(time.Minute, cleanupAfter/4), func() {
		ran, removed, err := h.svc.Sweep(ctx, cleanupAfter)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("sweeping records nobody cleaned up; failed removals are retried", "removed", removed, "err", err)
		case removed > 0:
			log.Info("swept records nobody cleaned up", "removed", removed)
		case !ran:
			log.Debug("another process is sweeping")
		}
	})
	return nil
}

// followRecords keeps the service's records, which the self provider
// serves, in step with those other processes sharing the database write:
// at once when they announce them, and by reading every record again each
// RecordsResyncInterval.
func (h *managedHub) followRecords(ctx context.Context, st store.Store, log *slog.Logger) error {
	reload := func(name string) {
		if err := h.svc.ReloadRecords(ctx, name); err != nil && ctx.Err() == nil {
			log.Warn("the records are read again within a second", "name", name, "err", err)
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { every(ctx, RecordsResyncInterval, func() { reload("") }) })
	return st.Watch(ctx, store.RecordsChanged, 0, reload)
}

// RecordsResyncInterval bounds how long a value presented or removed
// through another process may go unseen by this one, should its
// announcement be lost.
const RecordsResyncInterval = time.Second

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// ConfigReloadInterval is how soon a server applies config changes made
// elsewhere.
const ConfigReloadInterval = 5 * time.Second

// Managed is the managed-challenge hub's service, nil when [hub] is off.
func (s *Server) Managed() *managed.Service {
	if s.hub == nil {
		return nil
	}
	return s.hub.svc
}

// HubAddr is the bound address of the hub's listener, nil when [hub] is off.
func (s *Server) HubAddr() net.Addr {
	if s.hub == nil {
		return nil
	}
	return s.hub.ln.Addr()
}

// consoleSSO is the console's single sign-on of [hub]'s sso_* settings;
// nil without sso_issuer.
func consoleSSO(m config.Hub) (*console.SSO, error) {
	if m.SSOIssuer == "" {
		return nil, nil
	}
	secret := os.Getenv(config.SSOClientSecretEnv)
	if m.SSOClientSecretFile != "" {
		data, err := os.ReadFile(m.SSOClientSecretFile)
		if err != nil {
			return nil, config.FileError("[hub] sso_client_secret_file", m.SSOClientSecretFile, err)
		}
		secret = strings.TrimSpace(string(data))
	}
	for group, roles := range m.SSORoles {
		for _, r := range roles {
			if !slices.Contains(managed.Roles, r) {
				return nil, fmt.Errorf("[hub] sso_roles: group %q: unknown role %q (the roles: %s)", group, r, strings.Join(managed.Roles, ", "))
			}
		}
	}
	return &console.SSO{Issuer: m.SSOIssuer, ClientID: m.SSOClientID, ClientSecret: secret,
		RedirectURL: strings.TrimSuffix(m.URL, "/") + console.Base + "/signin/callback", Scopes: m.SSOScopes,
		GroupsClaim: m.SSOGroupsClaim, Roles: m.SSORoles, Name: m.SSOName}, nil
}

// configIssuers are the configuration's trusted issuers, their files read.
func configIssuers(declared []config.Issuer) ([]store.Issuer, error) {
	var out []store.Issuer
	for _, d := range declared {
		i := store.Issuer{ID: d.ID, URL: d.URL, JWKSURL: d.JWKSURL, Audience: d.Audience, Skew: d.Skew.Duration, MaxLifetime: d.MaxLifetime.Duration}
		if err := ReadIssuerFiles(&i, d.JWKSFile, d.CAFile, func(key string) string { return "[[hub.issuers]] " + d.ID + " " + key }); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// ReadIssuerFiles reads an issuer's key set and CA from their files (""
// for none) into i; an error names the file as what(key) does, key
// jwks_file or ca_file.
func ReadIssuerFiles(i *store.Issuer, jwksFile, caFile string, what func(key string) string) error {
	for _, f := range []struct {
		key, path string
		into      *string
	}{{"jwks_file", jwksFile, &i.JWKS}, {"ca_file", caFile, &i.CA}} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return config.FileError(what(f.key), f.path, err)
		}
		*f.into = string(data)
	}
	return nil
}
