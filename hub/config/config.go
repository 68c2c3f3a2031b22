// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package config reads acme-dns's TOML configuration file (config.cfg) unchanged,
// fills in defaults and validates it. acmehub's own settings live in an extra
// [acmehub] section that acme-dns ignores, so one file serves both.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	General  General  `toml:"general"`
	Database Database `toml:"database"`
	API      API      `toml:"api"`
	Log      Log      `toml:"logconfig"`
	AcmeHub  AcmeHub  `toml:"acmehub"`
	Hub      Hub      `toml:"hub"`
	DNSSEC   DNSSEC   `toml:"dnssec"`
}

// DNSSEC is the [dnssec] section: the zone signed online, when it names
// keys. acme-dns ignores it.
type DNSSEC struct {
	// Keys are the zone's key files as BIND names them
	// (K<zone>+<algorithm>+<tag>, with or without .key or .private): one
	// CSK, or a KSK and a ZSK (during a rollover, more).
	Keys []string `toml:"keys"`
	// Database takes the keys from the database instead: those imported
	// with acmehub dnssec import, their private halves sealed with the
	// hub's keys ([hub] keys_file or $ACMEHUB_HUB_KEYS), so that every
	// replica sharing the database signs with the same keys.
	Database bool `toml:"database"`
	// Validity is how long a signature holds; Refresh how much of it must
	// remain for it to be served (it is made again otherwise); Skew how far
	// in the past its inception lies.
	Validity Duration `toml:"validity"`
	Refresh  Duration `toml:"refresh"`
	Skew     Duration `toml:"skew"`
}

// Enabled reports whether the zone is signed.
func (d DNSSEC) Enabled() bool { return len(d.Keys) > 0 || d.Database }

// Hub is the [hub] section: the managed-challenge hub, which answers
// challenges for API tokens through DNS providers, on its own HTTPS listener.
type Hub struct {
	Enabled bool `toml:"enabled"`
	// Listen is the hub's HTTPS address, host:port.
	Listen string `toml:"listen"`
	// URL is where clients reach the hub (https://hub.example.com): the
	// audience trusted issuers' tokens must name unless an issuer says
	// otherwise.
	URL string `toml:"url"`
	// TLS is "cert" (TLSCertFullchain, TLSCertPrivkey) or "none", for
	// loopback or behind a proxy that terminates TLS.
	TLS              string `toml:"tls"`
	TLSCertFullchain string `toml:"tls_cert_fullchain"`
	TLSCertPrivkey   string `toml:"tls_cert_privkey"`
	// KeysFile holds the keys sealing provider credentials and hashing token
	// secrets ("<id> <base64 of 32 bytes>" a line, the current first); the
	// environment variable ACMEHUB_HUB_KEYS may hold the same text instead.
	KeysFile string `toml:"keys_file"`
	// TrustedProxies may set X-Forwarded-For; without them the client's
	// address is the socket's.
	TrustedProxies []string `toml:"trusted_proxies"`
	// RequestsPerMinute limits each API token; 0: no limit.
	RequestsPerMinute int `toml:"requests_per_minute"`
	// CleanupAfter is the age past which a record nobody cleaned up is removed.
	CleanupAfter Duration `toml:"cleanup_after"`
	// RequestTimeout bounds the wait for a value to be served.
	RequestTimeout Duration `toml:"request_timeout"`
	// HTTPReqPrefix is the path the httpreq protocol is served under.
	HTTPReqPrefix string `toml:"httpreq_prefix"`
	// AcmeproxyPrefix is the path acmeproxy's form API is served under.
	AcmeproxyPrefix string `toml:"acmeproxy_prefix"`
	// AcmeproxyCreateSecretFile holds the secret that creating an
	// authorisation over acmeproxy's API needs; without it (and without
	// AcmeproxyOpenCreation) they are created with acmehub admin only.
	AcmeproxyCreateSecretFile string `toml:"acmeproxy_create_secret_file"`
	// AcmeproxyOpenCreation lets anyone who reaches the hub create
	// authorisations, for names a config matches and nobody holds, as
	// acmeproxy does.
	AcmeproxyOpenCreation bool `toml:"acmeproxy_open_creation"`
	// Resolvers (host:port) follow CNAMEs and find zones' name servers;
	// empty: those of /etc/resolv.conf.
	Resolvers []string `toml:"resolvers"`
	// SSO* sign people in to the console through an OpenID provider
	// (authorization code flow with PKCE): its issuer, this client's ID
	// and secret (a file, or $ACMEHUB_HUB_SSO_CLIENT_SECRET), the scopes
	// asked for, the claim listing a person's groups, and the roles each
	// group gives (a person needs managed-challenge-admin); SSOName
	// names the provider on the sign-in page.
	SSOIssuer           string              `toml:"sso_issuer"`
	SSOClientID         string              `toml:"sso_client_id"`
	SSOClientSecretFile string              `toml:"sso_client_secret_file"`
	SSOScopes           []string            `toml:"sso_scopes"`
	SSOGroupsClaim      string              `toml:"sso_groups_claim"`
	SSORoles            map[string][]string `toml:"sso_roles"`
	SSOName             string              `toml:"sso_name"`
	// ConsoleTokenSignin lets administrators sign in to the console with
	// an API token (break-glass beside single sign-on).
	ConsoleTokenSignin bool `toml:"console_token_signin"`
	// Issuers are trusted issuers declared here ([[hub.issuers]]), beside
	// those acmehub admin issuers add keeps in the database.
	Issuers []Issuer `toml:"issuers"`
}

// Issuer is a trusted OpenID issuer of the configuration: its ID, its
// URL (the tokens' iss), where its keys are (discovery at URL; JWKSURL; or
// a JWKSFile, read at start), the roots to fetch them with (CAFile), the
// audience required (default [hub] url), the clock skew allowed and the
// longest token lifetime accepted.
type Issuer struct {
	ID          string   `toml:"id"`
	URL         string   `toml:"url"`
	JWKSURL     string   `toml:"jwks_url"`
	JWKSFile    string   `toml:"jwks_file"`
	CAFile      string   `toml:"ca_file"`
	Audience    string   `toml:"audience"`
	Skew        Duration `toml:"skew"`
	MaxLifetime Duration `toml:"max_lifetime"`
}

// SSOClientSecretEnv may hold the console's OpenID client secret.
const SSOClientSecretEnv = "ACMEHUB_HUB_SSO_CLIENT_SECRET"

// HubKeysEnv is the environment variable that may hold the hub's keys.
const HubKeysEnv = "ACMEHUB_HUB_KEYS"

// General is the [general] section: the DNS side.
type General struct {
	// Listen is the DNS address, host:port.
	Listen string `toml:"listen"`
	// Protocol is one of both, both4, both6, udp, udp4, udp6, tcp, tcp4, tcp6.
	Protocol string `toml:"protocol"`
	// Domain is the zone served, e.g. auth.example.org.
	Domain string `toml:"domain"`
	// NSName is the primary name server written into the SOA.
	NSName string `toml:"nsname"`
	// NSAdmin is the SOA mailbox, with @ written as a dot.
	NSAdmin string `toml:"nsadmin"`
	// Records are static records in zone-file syntax, served beside the TXT values.
	Records []string `toml:"records"`
	// Debug turns on debug logging, as loglevel = "debug" does.
	Debug bool `toml:"debug"`
}

// Database is the [database] section.
type Database struct {
	// Engine is sqlite3 or sqlite (both SQLite) or postgres.
	Engine string `toml:"engine"`
	// Connection is a SQLite file path (or :memory:) or a postgres:// URL.
	// Written as "", it comes from $ACMEHUB_DATABASE_CONNECTION, so that a
	// PostgreSQL password can live in a Secret rather than in the file.
	Connection string `toml:"connection"`
}

// API is the [api] section: the acme-dns HTTP API.
type API struct {
	IP                  string   `toml:"ip"`
	Port                Port     `toml:"port"`
	DisableRegistration bool     `toml:"disable_registration"`
	TLS                 string   `toml:"tls"`
	TLSCertPrivkey      string   `toml:"tls_cert_privkey"`
	TLSCertFullchain    string   `toml:"tls_cert_fullchain"`
	ACMECacheDir        string   `toml:"acme_cache_dir"`
	NotificationEmail   string   `toml:"notification_email"`
	CORSOrigins         []string `toml:"corsorigins"`
	UseHeader           bool     `toml:"use_header"`
	HeaderName          string   `toml:"header_name"`
	HSTSEnabled         bool     `toml:"hsts_enabled"`
	HSTSMaxAge          int      `toml:"hsts_max_age"`
	HSTSIncludeSubdoms  bool     `toml:"hsts_include_subdomains"`
	HSTSPreload         bool     `toml:"hsts_preload"`
}

// Addr is the API's listen address, ip:port. The ip may be written with
// brackets, as acme-dns's sample configuration writes IPv6 ("[::1]").
func (a API) Addr() string {
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(a.IP, "["), "]"), string(a.Port))
}

// Log is the [logconfig] section.
type Log struct {
	Level  string `toml:"loglevel"`
	Type   string `toml:"logtype"`
	File   string `toml:"logfile"`
	Format string `toml:"logformat"`
}

// AcmeHub is the [acmehub] section: settings acme-dns does not have.
type AcmeHub struct {
	// TXTTTL is the TTL of TXT answers, and of the SOA in negative answers, so
	// that resolvers never cache the absence of a challenge for long.
	TXTTTL uint32 `toml:"txt_ttl"`
	// TXTLimit is how many TXT values an account keeps by default; acme-dns keeps two.
	TXTLimit int `toml:"txt_limit"`
	// MaxTXTLimit is the highest per-account limit a registration may ask for.
	MaxTXTLimit int `toml:"max_txt_limit"`
	// RegistrationUser and RegistrationPassword, when set, protect POST /register
	// with HTTP basic auth. The password may come from the environment variable
	// ACMEHUB_REGISTRATION_PASSWORD instead.
	RegistrationUser     string `toml:"registration_user"`
	RegistrationPassword string `toml:"registration_password"`
	// MetricsListen serves /metrics on its own address; empty serves it on the API.
	MetricsListen string `toml:"metrics_listen"`
	// CredentialCacheSize bounds the cache of verified /update credentials; 0 disables it.
	CredentialCacheSize int `toml:"credential_cache_size"`
	// TXTFormat is "acme": only ACME key authorisation digests (43 characters
	// of base64url), as acme-dns; or "any": 1 to 255 printable ASCII characters.
	TXTFormat string `toml:"txt_format"`
	// PresentExpiry is how long a value written by POST /present (or the
	// webhook's embedded backend) stays when it is never deleted.
	PresentExpiry Duration `toml:"present_expiry"`
	// PresentLimit is how many presented values one account may hold at once.
	PresentLimit int `toml:"present_limit"`
	// TrustedProxies are the proxies (addresses or CIDRs) in front of the
	// API whose entries [api] use_header skips to find the client's address.
	TrustedProxies []string `toml:"trusted_proxies"`
	// BcryptConcurrency bounds the bcrypt computations running at once; 0
	// means one per core but one.
	BcryptConcurrency int `toml:"bcrypt_concurrency"`
	// RegisterPerMinute limits registrations per client address (IPv6:
	// per /64); FailedAuthPerMinute failed authentications per client
	// address and username. 0 means no limit. Credentials that passed
	// before are never limited.
	RegisterPerMinute   int `toml:"register_per_minute"`
	FailedAuthPerMinute int `toml:"failed_auth_per_minute"`
	// FailedAuthPerAddressPerMinute limits the failed authentications of
	// every username together from one address (an IPv6 /64): a ceiling
	// high enough that one client behind a NAT cannot lock the others out.
	FailedAuthPerAddressPerMinute int `toml:"failed_auth_per_address_per_minute"`
	// ResyncInterval is how often a server sharing a PostgreSQL database
	// reads every account again, beside the notifications; 0 never.
	ResyncInterval Duration `toml:"resync_interval"`
	// ACMEDirectory, with tls = "letsencrypt", is the ACME directory the
	// API's certificate comes from instead of Let's Encrypt's (a private
	// CA); ACMECABundle a PEM file of the roots its HTTPS is trusted with.
	ACMEDirectory string `toml:"acme_directory"`
	ACMECABundle  string `toml:"acme_ca_bundle"`
	// TCPConnections and TCPConnectionsPerPrefix bound the DNS's TCP
	// connections open at once, in all and from one client prefix (IPv4
	// /24, IPv6 /56); TCPQueriesPerConnection the questions one connection
	// may ask; TCPIdleTimeout how long it may wait between them. 0: no
	// limit.
	TCPConnections          int      `toml:"tcp_connections"`
	TCPConnectionsPerPrefix int      `toml:"tcp_connections_per_prefix"`
	TCPQueriesPerConnection int      `toml:"tcp_queries_per_connection"`
	TCPIdleTimeout          Duration `toml:"tcp_idle_timeout"`
	// RateLimit* is response rate limiting over UDP: answers a second per
	// client prefix, with data (Responses) and negative or errors (Errors),
	// debt allowed for Window, every Slip-th limited answer sent truncated
	// but at most Slips of them a second, prefixes of IPv4Prefix and IPv6Prefix bits, Exempt CIDRs, and LogOnly
	// to only count and log. 0 per second: no limit.
	RateLimitResponses  int      `toml:"rate_limit_responses"`
	RateLimitErrors     int      `toml:"rate_limit_errors"`
	RateLimitWindow     Duration `toml:"rate_limit_window"`
	RateLimitSlip       int      `toml:"rate_limit_slip"`
	RateLimitSlips      int      `toml:"rate_limit_slips"`
	RateLimitIPv4Prefix int      `toml:"rate_limit_ipv4_prefix"`
	RateLimitIPv6Prefix int      `toml:"rate_limit_ipv6_prefix"`
	RateLimitExempt     []string `toml:"rate_limit_exempt"`
	RateLimitLogOnly    bool     `toml:"rate_limit_log_only"`
	// DNSCookieSecret is the 16-byte key of DNS server cookies, in hex;
	// empty: one kept in the database, shared by every server using it.
	DNSCookieSecret string `toml:"dns_cookie_secret"`
	// ANYOverTCP is "minimal" (ANY answered with one HINFO, as over UDP)
	// or "full" (every record at the name).
	ANYOverTCP string `toml:"any_over_tcp"`
	// QueryLog, when set, logs DNS questions as JSON lines: "stdout",
	// "stderr" or a file; QueryLogSample logs one in that many.
	QueryLog       string `toml:"query_log"`
	QueryLogSample int    `toml:"query_log_sample"`
}

// The [acmehub] any_over_tcp values.
const (
	ANYMinimal = "minimal"
	ANYFull    = "full"
)

// The [api] and [hub] tls values that have the server obtain its
// certificate through ACME dns-01, answered by its own DNS.
const (
	TLSLetsEncrypt        = "letsencrypt"
	TLSLetsEncryptStaging = "letsencryptstaging"
)

// ACMETLS is the tls value that has the server obtain its certificate
// ("letsencrypt" or "letsencryptstaging"), "" when no listener does.
func (c Config) ACMETLS() string {
	switch {
	case isACME(c.API.TLS):
		return c.API.TLS
	case c.Hub.Enabled && isACME(c.Hub.TLS):
		return c.Hub.TLS
	}
	return ""
}

// TXT formats accepted in [acmehub] txt_format.
const (
	TXTFormatACME = "acme"
	TXTFormatAny  = "any"
)

// Port is the API port. acme-dns writes it as a string ("443"); a bare number
// is accepted too.
type Port string

// UnmarshalTOML accepts a string or an integer.
func (p *Port) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*p = Port(v)
	case int64:
		*p = Port(strconv.FormatInt(v, 10))
	default:
		return fmt.Errorf("port must be a string or a number, not %T", v)
	}
	return nil
}

// RegistrationPasswordEnv is the environment variable that may hold
// [acmehub] registration_password.
const RegistrationPasswordEnv = "ACMEHUB_REGISTRATION_PASSWORD"

// DatabaseConnectionEnv is the environment variable that may hold [database]
// connection, used when the file writes it as "".
const DatabaseConnectionEnv = "ACMEHUB_DATABASE_CONNECTION"

// Default is the configuration used without a file: everything on loopback,
// SQLite under ./data, a demonstration zone auth.example.org.
func Default() Config {
	c := baseline()
	c.General.Listen = "127.0.0.1:5353"
	c.General.Domain = "auth.example.org"
	c.General.NSName = "auth.example.org"
	c.General.NSAdmin = "admin.example.org"
	c.General.Records = []string{
		"auth.example.org. A 127.0.0.1",
		"auth.example.org. NS auth.example.org.",
	}
	c.Database = Database{Engine: EngineSQLite, Connection: "data/acmehub.db"}
	c.API.IP = "127.0.0.1"
	c.API.Port = "8080"
	c.Log.Format = "text"
	return c
}

// baseline holds the defaults applied beneath a configuration file: the values a
// file may leave out. A file must still name its domain.
func baseline() Config {
	return Config{
		General: General{Listen: "127.0.0.1:5353", Protocol: "both"},
		API: API{
			IP: "127.0.0.1", Port: "8080", TLS: "none", ACMECacheDir: "api-certs",
			CORSOrigins: []string{"*"}, HeaderName: "X-Forwarded-For",
			HSTSMaxAge: 31536000,
		},
		Log: Log{Level: "info", Type: "stdout", Format: "json"},
		AcmeHub: AcmeHub{
			TXTTTL: 1, TXTLimit: 2, MaxTXTLimit: 10, CredentialCacheSize: 10000, TXTFormat: TXTFormatACME,
			PresentExpiry: Duration{time.Hour}, PresentLimit: 100, ResyncInterval: Duration{5 * time.Minute},
			RegisterPerMinute: 60, FailedAuthPerMinute: 120, FailedAuthPerAddressPerMinute: 1200,
			TCPConnections: 1000, TCPConnectionsPerPrefix: 64, TCPQueriesPerConnection: 128, TCPIdleTimeout: Duration{10 * time.Second},
			RateLimitResponses: 100, RateLimitErrors: 20, RateLimitWindow: Duration{15 * time.Second}, RateLimitSlip: 2, RateLimitSlips: 1000,
			RateLimitIPv4Prefix: 24, RateLimitIPv6Prefix: 56, RateLimitExempt: []string{"127.0.0.0/8", "::1/128"},
			ANYOverTCP: ANYMinimal, QueryLogSample: 1,
		},
		DNSSEC: DNSSEC{Validity: Duration{14 * 24 * time.Hour}, Refresh: Duration{4 * 24 * time.Hour}, Skew: Duration{time.Hour}},
		Hub: Hub{
			Listen: "127.0.0.1:8443", TLS: "cert", RequestsPerMinute: 600,
			CleanupAfter: Duration{30 * time.Minute}, RequestTimeout: Duration{5 * time.Minute}, HTTPReqPrefix: "/httpreq", AcmeproxyPrefix: "/acmeproxy",
			SSOScopes: []string{"openid", "profile", "email"}, SSOGroupsClaim: "groups", ConsoleTokenSignin: true,
		},
	}
}

// Load reads the file at path over the baseline defaults. Keys the file has
// that acmehub does not use are returned as notices; an unknown section is
// an error. The database has no default (a typo must not move the data):
// Validate refuses a configuration that names none. The result is not
// validated: apply overrides, then call Finish and Validate.
func Load(path string) (Config, []Notice, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load on bytes; name is used in messages.
func Parse(data []byte, name string) (Config, []Notice, error) {
	c := baseline()
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, nil, fmt.Errorf("config %s: %w", name, err)
	}
	found, err := notices(md, name)
	if err != nil {
		return Config{}, nil, err
	}
	if c.General.NSName == "" {
		c.General.NSName = c.General.Domain
	}
	return c, found, nil
}

// Explain lists the unknown keys of a file, which may be why a setting is
// missing or wrong: for the end of an error message.
func Explain(found []Notice) string {
	var unknown []string
	for _, n := range found {
		if n.Unknown {
			unknown = append(unknown, "\n  "+n.Text)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	return "\nkeys acmehub does not know, which may explain it:" + strings.Join(unknown, "")
}

// Finish applies settings derived from others. Call it after overrides and before Validate.
func (c *Config) Finish() {
	c.General.Domain = strings.ToLower(strings.TrimSuffix(c.General.Domain, "."))
	if c.General.Debug {
		c.Log.Level = "debug"
	}
	if c.AcmeHub.RegistrationPassword == "" {
		c.AcmeHub.RegistrationPassword = os.Getenv(RegistrationPasswordEnv)
	}
	if c.Database.Connection == "" {
		c.Database.Connection = os.Getenv(DatabaseConnectionEnv)
	}
	if c.Database.Engine == "" && c.Database.Connection != "" {
		// A connection says which engine it is for.
		c.Database.Engine = EngineSQLite
		if u, err := url.Parse(c.Database.Connection); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
			c.Database.Engine = EnginePostgres
		}
	}
	switch c.Database.Engine {
	case "sqlite3":
		c.Database.Engine = EngineSQLite
	case "postgresql":
		c.Database.Engine = EnginePostgres
	}
}

// Masked is the configuration with its secrets replaced by "********": the
// registration password and a password in the database's URL.
func (c Config) Masked() Config {
	const mask = "********"
	if c.AcmeHub.RegistrationPassword != "" {
		c.AcmeHub.RegistrationPassword = mask
	}
	if u, err := url.Parse(c.Database.Connection); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			c.Database.Connection = strings.Replace(c.Database.Connection, u.User.String()+"@",
				url.User(u.User.Username()).String()+":"+mask+"@", 1)
		}
	}
	c.Database.Connection = passwordField.ReplaceAllString(c.Database.Connection, "password="+mask)
	return c
}

// passwordField is a password in a key-value connection string.
var passwordField = regexp.MustCompile(`password=('[^']*'|[^\s&]*)`)

// Engines accepted in [database] engine, after Finish.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

var protocols = []string{"both", "both4", "both6", "udp", "udp4", "udp6", "tcp", "tcp4", "tcp6"}

// ParsePrefixes reads addresses and CIDRs ("10.0.0.1", "10.0.0.0/8", "::1").
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		port := "53"
		if _, err := strconv.Atoi(addr); err == nil {
			port = addr // a port alone
		}
		return "", 0, fmt.Errorf("want host:port, such as \":%s\" (every address) or \"127.0.0.1:%s\"", port, port)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return host, n, nil
}

// validName reports whether s is a plausible DNS name without the trailing dot.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !isLabelChar(r) {
				return false
			}
		}
	}
	return true
}

// DNSNetworks expands General.Protocol into the networks to listen on.
func (g General) DNSNetworks() []string {
	switch g.Protocol {
	case "both":
		return []string{"udp", "tcp"}
	case "both4":
		return []string{"udp4", "tcp4"}
	case "both6":
		return []string{"udp6", "tcp6"}
	default:
		return []string{g.Protocol}
	}
}

// isLabelChar reports whether r may be in a DNS label as the hub takes
// them: an ASCII letter, digit, hyphen or underscore.
func isLabelChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}
