// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// problems collects what is wrong in a configuration.
type problems []error

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Errorf(format, a...)) }

// Validate reports every problem in the configuration at once, section by
// section.
func (c *Config) Validate() error {
	var p problems
	c.General.validate(&p)
	c.Database.validate(&p)
	c.API.validate(&p)
	c.Log.validate(&p)
	c.AcmeHub.validate(&p)
	c.DNSSEC.validate(&p)
	if c.DNSSEC.Database && c.Hub.KeysFile == "" && os.Getenv(HubKeysEnv) == "" {
		p.add("[dnssec] database = true needs the hub's keys, which seal the private keys: [hub] keys_file, or $%s", HubKeysEnv)
	}
	if c.Hub.Enabled {
		c.Hub.validate(&p)
		if isACME(c.Hub.TLS) && isACME(c.API.TLS) && c.Hub.TLS != c.API.TLS {
			p.add("[hub] tls = %q and [api] tls = %q: the API and the hub serve one certificate from one CA; give both the same", c.Hub.TLS, c.API.TLS)
		}
		if isACME(c.Hub.TLS) && c.API.ACMECacheDir == "" {
			p.add("[hub] tls = %q needs [api] acme_cache_dir, where the certificate is kept", c.Hub.TLS)
		}
	}
	if c.AcmeHub.ACMEDirectory != "" && !strings.HasPrefix(c.AcmeHub.ACMEDirectory, "https://") {
		p.add("[acmehub] acme_directory %q: must be an https:// URL", c.AcmeHub.ACMEDirectory)
	}
	return errors.Join(p...)
}

// ValidateDatabase checks only [database]: what a command that reads the
// database (acmehub admin) needs, without the secrets only the server's
// process is given (a registration password in its environment).
func (c *Config) ValidateDatabase() error {
	var p problems
	c.Database.validate(&p)
	return errors.Join(p...)
}

// isACME reports whether a tls value has the server obtain its certificate.
func isACME(tls string) bool { return tls == TLSLetsEncrypt || tls == TLSLetsEncryptStaging }

func (g General) validate(p *problems) {
	bad := p.add
	if g.Domain == "" {
		bad("[general] domain is required")
	} else if !validName(g.Domain) {
		bad("[general] domain %q is not a valid domain name", g.Domain)
	}
	if g.NSName != "" && !validName(strings.TrimSuffix(g.NSName, ".")) {
		bad("[general] nsname %q is not a valid domain name", g.NSName)
	}
	if g.NSAdmin != "" && !validName(strings.TrimSuffix(g.NSAdmin, ".")) {
		bad("[general] nsadmin %q must be a mailbox written as a name (admin.example.org)", g.NSAdmin)
	}
	if _, _, err := splitHostPort(g.Listen); err != nil {
		bad("[general] listen %q: %w", g.Listen, err)
	}
	if !slices.Contains(protocols, g.Protocol) {
		bad("[general] protocol %q: must be one of %s", g.Protocol, strings.Join(protocols, ", "))
	}

}

func (d DNSSEC) validate(p *problems) {
	if !d.Enabled() {
		return
	}
	if d.Database && len(d.Keys) > 0 {
		p.add("[dnssec] keys and database = true: the keys come from files or from the database, not both")
	}
	if d.Validity.Duration < time.Hour {
		p.add("[dnssec] validity %s: must be at least 1h", d.Validity.Duration)
	}
	if d.Refresh.Duration <= 0 || d.Refresh.Duration >= d.Validity.Duration {
		p.add("[dnssec] refresh %s: must be positive and shorter than validity %s", d.Refresh.Duration, d.Validity.Duration)
	}
	if d.Skew.Duration <= 0 {
		p.add("[dnssec] skew %s: must be positive", d.Skew.Duration)
	}
}

func (d Database) validate(p *problems) {
	bad := p.add
	switch d.Engine {
	case EngineSQLite, EnginePostgres:
	case "":
		bad("[database] names no database: the server keeps its accounts where [database] says, never in a default place " +
			"(engine = \"sqlite\" with connection = \"/var/lib/acme-dns/acme-dns.db\", or engine = \"postgres\" with a postgres:// URL; or --db-connection)")
		return
	default:
		bad("[database] engine %q: must be sqlite3, sqlite or postgres", d.Engine)
	}
	if d.Connection == "" {
		bad("[database] connection is required (in the file, in $%s when the file writes it as \"\", or --db-connection)", DatabaseConnectionEnv)
	}

}

func (a API) validate(p *problems) {
	bad := p.add
	if a.IP != "" {
		if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(a.IP, "["), "]")); err != nil {
			bad("[api] ip %q is not an IP address", a.IP)
		}
	}
	if n, err := strconv.Atoi(string(a.Port)); err != nil || n < 0 || n > 65535 {
		bad("[api] port %q: must be a number from 0 to 65535", a.Port)
	}
	switch a.TLS {
	case "none":
	case "cert":
		if a.TLSCertFullchain == "" || a.TLSCertPrivkey == "" {
			bad("[api] tls = \"cert\" needs tls_cert_fullchain and tls_cert_privkey")
		}
	case TLSLetsEncrypt, TLSLetsEncryptStaging:
		if a.ACMECacheDir == "" {
			bad("[api] tls = %q needs acme_cache_dir, where the certificate is kept", a.TLS)
		}
	default:
		bad("[api] tls %q: must be none, cert, letsencrypt or letsencryptstaging", a.TLS)
	}
	if a.UseHeader && a.HeaderName == "" {
		bad("[api] use_header needs header_name")
	}

}

func (l Log) validate(p *problems) {
	bad := p.add
	switch strings.ToLower(l.Level) {
	case "error", "warning", "warn", "info", "debug":
	default:
		bad("[logconfig] loglevel %q: must be error, warning, info or debug", l.Level)
	}
	switch l.Type {
	case "stdout":
	case "file":
		if l.File == "" {
			bad("[logconfig] logtype = \"file\" needs logfile")
		}
	default:
		bad("[logconfig] logtype %q: must be stdout or file", l.Type)
	}
	switch l.Format {
	case "json", "text":
	default:
		bad("[logconfig] logformat %q: must be json or text", l.Format)
	}

}

func (h AcmeHub) validate(p *problems) {
	bad := p.add
	if h.TXTLimit < 1 {
		bad("[acmehub] txt_limit %d: must be at least 1", h.TXTLimit)
	}
	if h.MaxTXTLimit < h.TXTLimit {
		bad("[acmehub] max_txt_limit %d: must be at least txt_limit (%d)", h.MaxTXTLimit, h.TXTLimit)
	}
	if (h.RegistrationUser == "") != (h.RegistrationPassword == "") {
		bad("[acmehub] registration_user and registration_password (or $%s) go together", RegistrationPasswordEnv)
	}
	if h.MetricsListen != "" {
		if _, _, err := splitHostPort(h.MetricsListen); err != nil {
			bad("[acmehub] metrics_listen %q: %w", h.MetricsListen, err)
		}
	}
	if h.TXTFormat != TXTFormatACME && h.TXTFormat != TXTFormatAny {
		bad("[acmehub] txt_format %q: must be acme or any", h.TXTFormat)
	}
	if h.PresentExpiry.Duration < time.Minute {
		bad("[acmehub] present_expiry %s: must be at least 1m", h.PresentExpiry.Duration)
	}
	if _, err := ParsePrefixes(h.TrustedProxies); err != nil {
		bad("[acmehub] trusted_proxies: %w", err)
	}
	if h.BcryptConcurrency < 0 {
		bad("[acmehub] bcrypt_concurrency %d: must not be negative (0: one per core but one)", h.BcryptConcurrency)
	}
	if h.RegisterPerMinute < 0 || h.FailedAuthPerMinute < 0 || h.FailedAuthPerAddressPerMinute < 0 {
		bad("[acmehub] register_per_minute %d, failed_auth_per_minute %d, failed_auth_per_address_per_minute %d: must not be negative (0: no limit)",
			h.RegisterPerMinute, h.FailedAuthPerMinute, h.FailedAuthPerAddressPerMinute)
	}
	if h.ResyncInterval.Duration < 0 {
		bad("[acmehub] resync_interval %s: must not be negative", h.ResyncInterval.Duration)
	}
	if h.PresentLimit < 1 {
		bad("[acmehub] present_limit %d: must be at least 1", h.PresentLimit)
	}
	if h.TCPConnections < 0 || h.TCPConnectionsPerPrefix < 0 || h.TCPQueriesPerConnection < 0 || h.TCPIdleTimeout.Duration < 0 {
		bad("[acmehub] tcp_connections %d, tcp_connections_per_prefix %d, tcp_queries_per_connection %d, tcp_idle_timeout %s: must not be negative (0: no limit)",
			h.TCPConnections, h.TCPConnectionsPerPrefix, h.TCPQueriesPerConnection, h.TCPIdleTimeout.Duration)
	}
	if h.RateLimitResponses < 0 || h.RateLimitErrors < 0 || h.RateLimitSlip < 0 || h.RateLimitSlips < 0 {
		bad("[acmehub] rate_limit_responses %d, rate_limit_errors %d, rate_limit_slip %d, rate_limit_slips %d: must not be negative (0: no limit, no slip, no cap)",
			h.RateLimitResponses, h.RateLimitErrors, h.RateLimitSlip, h.RateLimitSlips)
	}
	if h.RateLimitWindow.Duration < time.Second {
		bad("[acmehub] rate_limit_window %s: must be at least 1s", h.RateLimitWindow.Duration)
	}
	if h.RateLimitIPv4Prefix < 1 || h.RateLimitIPv4Prefix > 32 || h.RateLimitIPv6Prefix < 1 || h.RateLimitIPv6Prefix > 128 {
		bad("[acmehub] rate_limit_ipv4_prefix %d, rate_limit_ipv6_prefix %d: must be prefix lengths (1 to 32, 1 to 128)",
			h.RateLimitIPv4Prefix, h.RateLimitIPv6Prefix)
	}
	if _, err := ParsePrefixes(h.RateLimitExempt); err != nil {
		bad("[acmehub] rate_limit_exempt: %w", err)
	}
	if h.DNSCookieSecret != "" {
		if b, err := hex.DecodeString(h.DNSCookieSecret); err != nil || len(b) != 16 {
			bad("[acmehub] dns_cookie_secret: must be 32 hexadecimal digits (16 bytes), e.g. from `openssl rand -hex 16`")
		}
	}
	if h.ANYOverTCP != ANYMinimal && h.ANYOverTCP != ANYFull {
		bad("[acmehub] any_over_tcp %q: must be minimal or full", h.ANYOverTCP)
	}
	if h.QueryLogSample < 1 {
		bad("[acmehub] query_log_sample %d: must be at least 1 (1: every question)", h.QueryLogSample)
	}
	if h.CredentialCacheSize < 0 {
		bad("[acmehub] credential_cache_size %d: must not be negative", h.CredentialCacheSize)
	}
}

func (m Hub) validate(p *problems) {
	bad := p.add
	if _, _, err := splitHostPort(m.Listen); err != nil {
		bad("[hub] listen %q: %w", m.Listen, err)
	}
	switch m.TLS {
	case "none", TLSLetsEncrypt, TLSLetsEncryptStaging:
	case "cert":
		if m.TLSCertFullchain == "" || m.TLSCertPrivkey == "" {
			bad("[hub] tls = \"cert\" needs tls_cert_fullchain and tls_cert_privkey (or tls = \"none\" behind a proxy that terminates TLS)")
		}
	default:
		bad("[hub] tls %q: must be cert, none, letsencrypt or letsencryptstaging", m.TLS)
	}
	if m.KeysFile == "" && os.Getenv(HubKeysEnv) == "" {
		bad("[hub] needs its keys: keys_file, or $%s (generate one with: acmehub admin keygen)", HubKeysEnv)
	}
	if _, err := ParsePrefixes(m.TrustedProxies); err != nil {
		bad("[hub] trusted_proxies: %w", err)
	}
	if m.URL != "" {
		if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("[hub] url %q: must be the URL clients reach the hub at, such as https://hub.example.com", m.URL)
		}
	}
	m.validateSSO(bad)
	ids := map[string]bool{}
	for i, is := range m.Issuers {
		switch {
		case is.ID == "" || is.URL == "":
			bad("[[hub.issuers]] %d: needs id and url", i+1)
		case ids[is.ID]:
			bad("[[hub.issuers]] %s: declared twice", is.ID)
		case is.Audience == "" && m.URL == "":
			bad("[[hub.issuers]] %s: needs an audience, or [hub] url as the default", is.ID)
		}
		ids[is.ID] = true
	}
	if m.RequestsPerMinute < 0 {
		bad("[hub] requests_per_minute %d: must not be negative (0: no limit)", m.RequestsPerMinute)
	}
	if m.CleanupAfter.Duration < 10*time.Second {
		bad("[hub] cleanup_after %s: must be at least 10s (and longer than a CA takes to validate)", m.CleanupAfter.Duration)
	}
	for _, r := range m.Resolvers {
		if _, _, err := splitHostPort(r); err != nil {
			bad("[hub] resolvers: %q: %w", r, err)
		}
	}
	if m.RequestTimeout.Duration < time.Second {
		bad("[hub] request_timeout %s: must be at least 1s", m.RequestTimeout.Duration)
	}
	for key, prefix := range map[string]string{"httpreq_prefix": m.HTTPReqPrefix, "acmeproxy_prefix": m.AcmeproxyPrefix} {
		if p := strings.TrimSuffix(prefix, "/"); !strings.HasPrefix(prefix, "/") || p == "/api" || strings.HasPrefix(p, "/api/") ||
			p == "/console" || strings.HasPrefix(p, "/console/") {
			bad("[hub] %s %q: must start with / and not be under /api (Certify's) or /console", key, prefix)
		}
	}
	if m.HTTPReqPrefix == m.AcmeproxyPrefix {
		bad("[hub] httpreq_prefix and acmeproxy_prefix are both %q", m.HTTPReqPrefix)
	}

}

// validateSSO checks the console's single sign-on settings.
func (m Hub) validateSSO(bad func(string, ...any)) {
	if m.SSOIssuer == "" {
		if !m.ConsoleTokenSignin {
			bad("[hub] console_token_signin = false needs sso_issuer: nobody could sign in to the console")
		}
		return
	}
	if u, err := url.Parse(m.SSOIssuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		bad("[hub] sso_issuer %q: must be the OpenID provider's issuer URL", m.SSOIssuer)
	}
	if m.SSOClientID == "" {
		bad("[hub] sso_issuer needs sso_client_id, the console's client at the provider")
	}
	if m.URL == "" {
		bad("[hub] sso_issuer needs url: the provider sends people back to <url>/console/signin/callback")
	}
	if len(m.SSORoles) == 0 {
		bad("[hub] sso_issuer needs sso_roles, the roles each group gives (at least one group with managed-challenge-admin)")
	}
	if !slices.Contains(m.SSOScopes, "openid") {
		bad("[hub] sso_scopes %q: must hold openid", m.SSOScopes)
	}
}
