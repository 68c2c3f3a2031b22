// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAcmeDNSSampleConfig(t *testing.T) {
	c, warnings, err := Load(filepath.Join("..", "..", "testdata", "acme-dns.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("acme-dns's own keys gave warnings: %q", warnings)
	}
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Fatalf("acme-dns's sample config does not validate: %v", err)
	}
	want := Config{
		General: General{
			Listen: "127.0.0.1:53", Protocol: "both", Domain: "auth.example.org",
			NSName: "auth.example.org", NSAdmin: "admin.example.org",
			Records: []string{"auth.example.org. A 198.51.100.1", "auth.example.org. NS auth.example.org."},
		},
		Database: Database{Engine: EngineSQLite, Connection: "acme-dns.db"},
		API: API{
			IP: "0.0.0.0", Port: "443", TLS: "none",
			TLSCertPrivkey: "/etc/tls/example.org/privkey.pem", TLSCertFullchain: "/etc/tls/example.org/fullchain.pem",
			ACMECacheDir: "api-certs", CORSOrigins: []string{"*"}, HeaderName: "X-Forwarded-For",
			HSTSMaxAge: 31536000,
		},
		Log:     Log{Level: "info", Type: "stdout", File: "./acme-dns.log", Format: "json"},
		AcmeHub: baseline().AcmeHub,
		Hub:     baseline().Hub,
		DNSSEC:  baseline().DNSSEC,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed:\n%+v\nwant:\n%+v", c, want)
	}
	if got := c.API.Addr(); got != "0.0.0.0:443" {
		t.Errorf("API address = %q", got)
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	c.Finish()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.General.Listen != "127.0.0.1:5353" || c.API.Addr() != "127.0.0.1:8080" ||
		c.Database.Engine != EngineSQLite || !strings.HasPrefix(c.Database.Connection, "data/") {
		t.Errorf("default = %+v, want loopback DNS :5353, API :8080, SQLite under data/", c)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		check    func(t *testing.T, c Config)
		warnings []string
	}{
		{"sqlite3 means SQLite", "[general]\ndomain='a.example'\n[database]\nengine='sqlite3'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.Database.Engine != EngineSQLite {
				t.Errorf("engine = %q", c.Database.Engine)
			}
		}, nil},
		{"postgresql means postgres", "[general]\ndomain='a.example'\n[database]\nengine='postgresql'\nconnection='postgres://x@y/z'", func(t *testing.T, c Config) {
			if c.Database.Engine != EnginePostgres {
				t.Errorf("engine = %q", c.Database.Engine)
			}
		}, nil},
		{"port as a number", "[general]\ndomain='a.example'\n[api]\nport=8443\n[database]\nengine='sqlite'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.API.Port != "8443" {
				t.Errorf("port = %q", c.API.Port)
			}
		}, nil},
		{"nsname defaults to domain", "[general]\ndomain='a.example'\n[database]\nengine='sqlite'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.General.NSName != "a.example" {
				t.Errorf("nsname = %q", c.General.NSName)
			}
		}, nil},
		{"domain lower-cased, trailing dot dropped", "[general]\ndomain='Auth.Example.'\n[database]\nengine='sqlite'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.General.Domain != "auth.example" {
				t.Errorf("domain = %q", c.General.Domain)
			}
		}, nil},
		{"debug means loglevel debug", "[general]\ndomain='a.example'\ndebug=true\n[database]\nengine='sqlite'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.Log.Level != "debug" {
				t.Errorf("loglevel = %q", c.Log.Level)
			}
		}, nil},
		{"warning is a level", "[general]\ndomain='a.example'\n[logconfig]\nloglevel='warning'\n[database]\nengine='sqlite'\nconnection='x.db'", nil, nil},
		{"acmehub section", "[general]\ndomain='a.example'\n[acmehub]\ntxt_ttl=5\ntxt_limit=3\nmax_txt_limit=20\nregistration_user='reg'\nregistration_password='pw'\n[database]\nengine='sqlite'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.AcmeHub.TXTTTL != 5 || c.AcmeHub.TXTLimit != 3 || c.AcmeHub.MaxTXTLimit != 20 || c.AcmeHub.RegistrationUser != "reg" {
				t.Errorf("acmehub = %+v", c.AcmeHub)
			}
		}, nil},
		{"present settings", "[general]\ndomain='a.example'\n[acmehub]\npresent_expiry='20m'\npresent_limit=7\n[database]\nengine='sqlite'\nconnection='x.db'", func(t *testing.T, c Config) {
			if c.AcmeHub.PresentExpiry.Duration != 20*time.Minute || c.AcmeHub.PresentLimit != 7 {
				t.Errorf("present_expiry, present_limit = %s, %d", c.AcmeHub.PresentExpiry.Duration, c.AcmeHub.PresentLimit)
			}
		}, nil},
		{"rate limit settings; an empty exempt list exempts no one", "[general]\ndomain='a.example'\n[acmehub]\nrate_limit_responses=50\nrate_limit_errors=0\nrate_limit_window='30s'\nrate_limit_slip=0\nrate_limit_slips=10\nrate_limit_exempt=[]\nany_over_tcp='full'\n[database]\nconnection='x.db'", func(t *testing.T, c Config) {
			h := c.AcmeHub
			if h.RateLimitResponses != 50 || h.RateLimitErrors != 0 || h.RateLimitWindow.Duration != 30*time.Second || h.RateLimitSlip != 0 || h.RateLimitSlips != 10 ||
				len(h.RateLimitExempt) != 0 || h.ANYOverTCP != ANYFull {
				t.Errorf("acmehub = %+v", h)
			}
		}, nil},
		{"unknown keys warn", "[general]\ndomain='a.example'\ncolour='blue'\n[database]\nengine='sqlite'\nconnection='x.db'", nil,
			[]string{"unknown key colour in [general]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := Parse([]byte(tt.file), "test.cfg")
			if err != nil {
				t.Fatal(err)
			}
			c.Finish()
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i].Text, w) || !strings.Contains(warnings[i].Text, "test.cfg") {
					t.Errorf("warning %q does not name %s and the file", warnings[i], w)
				}
			}
		})
	}
}

// TestParseHubIdentity: trusted issuers of the configuration file and
// the console's single sign-on, with their defaults.
func TestParseHubIdentity(t *testing.T) {
	c, warnings, err := Parse([]byte("[general]\ndomain='a.example'\n[database]\nconnection='x.db'\n[hub]\nurl='https://hub.example'\n"+
		"sso_issuer='https://id.example'\nsso_client_id='console'\nsso_roles={ admins = ['managed-challenge-admin'] }\nconsole_token_signin=false\n"+
		"[[hub.issuers]]\nid='cluster-b'\nurl='https://oidc.b.example'\njwks_file='b.jwks'\nskew='2m'\nmax_lifetime='1h'"), "test.cfg")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Parse: %v %v", warnings, err)
	}
	c.Finish()
	h := c.Hub
	if len(h.Issuers) != 1 || h.Issuers[0].ID != "cluster-b" || h.Issuers[0].JWKSFile != "b.jwks" || h.Issuers[0].Skew.Duration != 2*time.Minute ||
		h.Issuers[0].MaxLifetime.Duration != time.Hour {
		t.Errorf("issuers = %+v", h.Issuers)
	}
	if h.SSOIssuer != "https://id.example" || h.SSORoles["admins"][0] != "managed-challenge-admin" || h.ConsoleTokenSignin ||
		!slices.Equal(h.SSOScopes, []string{"openid", "profile", "email"}) || h.SSOGroupsClaim != "groups" {
		t.Errorf("sso settings = %+v", h)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   string
	}{
		{"no domain", func(c *Config) { c.General.Domain = "" }, "[general] domain is required"},
		{"bad domain", func(c *Config) { c.General.Domain = "a..b" }, `domain "a..b"`},
		{"bad listen", func(c *Config) { c.General.Listen = "localhost" }, `[general] listen "localhost"`},
		{"bad protocol", func(c *Config) { c.General.Protocol = "sctp" }, `protocol "sctp"`},
		{"bad engine", func(c *Config) { c.Database.Engine = "mysql" }, `engine "mysql"`},
		{"no connection", func(c *Config) { c.Database.Connection = "" }, "connection is required"},
		{"bad ip", func(c *Config) { c.API.IP = "localhost" }, `[api] ip "localhost"`},
		{"bad port", func(c *Config) { c.API.Port = "https" }, `[api] port "https"`},
		{"letsencrypt without a cache", func(c *Config) { c.API.TLS, c.API.ACMECacheDir = "letsencrypt", "" }, `tls = "letsencrypt" needs acme_cache_dir`},
		{"two CAs for one certificate", func(c *Config) {
			c.API.TLS, c.Hub.Enabled, c.Hub.KeysFile, c.Hub.TLS = "letsencrypt", true, "k", "letsencryptstaging"
		}, "serve one certificate from one CA"},
		{"a private CA over plain HTTP", func(c *Config) { c.API.TLS, c.AcmeHub.ACMEDirectory = "letsencrypt", "http://ca/dir" }, "must be an https:// URL"},
		{"cert without files", func(c *Config) { c.API.TLS = "cert" }, "needs tls_cert_fullchain"},
		{"bad loglevel", func(c *Config) { c.Log.Level = "loud" }, `loglevel "loud"`},
		{"logfile missing", func(c *Config) { c.Log.Type = "file" }, "needs logfile"},
		{"bad logformat", func(c *Config) { c.Log.Format = "xml" }, `logformat "xml"`},
		{"txt_limit 0", func(c *Config) { c.AcmeHub.TXTLimit = 0 }, "txt_limit 0"},
		{"max below default", func(c *Config) { c.AcmeHub.MaxTXTLimit = 1 }, "max_txt_limit 1"},
		{"user without password", func(c *Config) { c.AcmeHub.RegistrationUser = "u" }, "go together"},
		{"bad metrics address", func(c *Config) { c.AcmeHub.MetricsListen = "9090" }, "metrics_listen"},
		{"present_expiry too short", func(c *Config) { c.AcmeHub.PresentExpiry.Duration = time.Second }, "present_expiry 1s: must be at least 1m"},
		{"rate limit below zero", func(c *Config) { c.AcmeHub.RateLimitErrors = -1 }, "rate_limit_errors -1"},
		{"rate limit window too short", func(c *Config) { c.AcmeHub.RateLimitWindow.Duration = time.Millisecond }, "rate_limit_window 1ms: must be at least 1s"},
		{"rate limit prefix", func(c *Config) { c.AcmeHub.RateLimitIPv4Prefix = 33 }, "rate_limit_ipv4_prefix 33"},
		{"bad exempt prefix", func(c *Config) { c.AcmeHub.RateLimitExempt = []string{"ca.example"} }, "rate_limit_exempt"},
		{"cookie secret too short", func(c *Config) { c.AcmeHub.DNSCookieSecret = "abcd" }, "dns_cookie_secret: must be 32 hexadecimal digits"},
		{"any_over_tcp", func(c *Config) { c.AcmeHub.ANYOverTCP = "none" }, `any_over_tcp "none"`},
		{"query_log_sample 0", func(c *Config) { c.AcmeHub.QueryLogSample = 0 }, "query_log_sample 0"},
		{"present_limit 0", func(c *Config) { c.AcmeHub.PresentLimit = 0 }, "present_limit 0"},
		{"bad trusted proxy", func(c *Config) { c.AcmeHub.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"} }, `trusted_proxies: "proxy.local" is neither`},
		{"hub without keys", func(c *Config) { c.Hub.Enabled, c.Hub.TLS = true, "none" }, "[hub] needs its keys"},
		{"hub cert without files", func(c *Config) { c.Hub.Enabled, c.Hub.KeysFile = true, "k" }, `[hub] tls = "cert" needs tls_cert_fullchain`},
		{"hub bad listen", func(c *Config) { c.Hub.Enabled, c.Hub.KeysFile, c.Hub.Listen = true, "k", "8443" }, `[hub] listen "8443"`},
		{"hub cleanup too soon", func(c *Config) {
			c.Hub.Enabled, c.Hub.KeysFile, c.Hub.CleanupAfter.Duration = true, "k", time.Second
		}, "cleanup_after 1s"},
		{"hub prefix", func(c *Config) { c.Hub.Enabled, c.Hub.KeysFile, c.Hub.HTTPReqPrefix = true, "k", "httpreq" }, "httpreq_prefix"},
		{"hub issuer without audience", func(c *Config) {
			c.Hub.Enabled, c.Hub.KeysFile, c.Hub.Issuers = true, "k", []Issuer{{ID: "b", URL: "https://b.example"}}
		}, "[[hub.issuers]] b: needs an audience, or [hub] url"},
		{"hub single sign-on without url", func(c *Config) {
			c.Hub.Enabled, c.Hub.KeysFile, c.Hub.SSOIssuer, c.Hub.SSOClientID = true, "k", "https://id.example", "console"
		}, "sso_issuer needs url"},
		{"hub with no way into the console", func(c *Config) { c.Hub.Enabled, c.Hub.KeysFile, c.Hub.ConsoleTokenSignin = true, "k", false },
			"console_token_signin = false needs sso_issuer"},
		{"dnssec validity too short", func(c *Config) { c.DNSSEC.Keys, c.DNSSEC.Validity.Duration = []string{"K"}, time.Minute }, "[dnssec] validity 1m0s: must be at least 1h"},
		{"dnssec refresh past validity", func(c *Config) { c.DNSSEC.Keys, c.DNSSEC.Refresh.Duration = []string{"K"}, 30*24*time.Hour }, "[dnssec] refresh 720h0m0s: must be positive and shorter"},
		{"dnssec no skew", func(c *Config) { c.DNSSEC.Keys, c.DNSSEC.Skew.Duration = []string{"K"}, 0 }, "[dnssec] skew 0s: must be positive"},
		{"dnssec keys from files and the database", func(c *Config) { c.DNSSEC.Keys, c.DNSSEC.Database = []string{"K"}, true }, "[dnssec] keys and database = true"},
		{"dnssec keys in the database without the hub's keys", func(c *Config) { c.DNSSEC.Database = true }, "[dnssec] database = true needs the hub's keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RegistrationPasswordEnv, "")
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Every problem is reported at once.
	c := Default()
	c.General.Protocol, c.API.Port = "x", "y"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "protocol") || !strings.Contains(err.Error(), "port") {
		t.Errorf("Validate = %v, want both problems", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.cfg")); err == nil || !strings.Contains(err.Error(), "missing.cfg") {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "broken.cfg")
	os.WriteFile(path, []byte("[general]\ndomain = \n"), 0o600)
	if _, _, err := Load(path); err == nil || !strings.Contains(err.Error(), "broken.cfg") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("broken file: %v", err)
	}
	if _, _, err := Parse([]byte("[api]\nport = true"), "x.cfg"); err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("boolean port: %v", err)
	}
}

func TestRegistrationPasswordFromEnvironment(t *testing.T) {
	t.Setenv(RegistrationPasswordEnv, "from-env")
	c := Default()
	c.AcmeHub.RegistrationUser = "reg"
	c.Finish()
	if c.AcmeHub.RegistrationPassword != "from-env" {
		t.Errorf("password = %q", c.AcmeHub.RegistrationPassword)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestDatabaseConnectionFromEnvironment(t *testing.T) {
	const dsn = "postgres://acmehub:secret@db:5432/acmehub"
	t.Setenv(DatabaseConnectionEnv, dsn)
	c, _, err := Parse([]byte("[general]\ndomain = \"auth.example.org\"\n[database]\nengine = \"postgres\"\nconnection = \"\"\n"), "t.cfg")
	if err != nil {
		t.Fatal(err)
	}
	c.Finish()
	if c.Database.Connection != dsn {
		t.Errorf("connection = %q, want the environment's", c.Database.Connection)
	}
	// A connection the file writes wins.
	c, _, _ = Parse([]byte("[general]\ndomain = \"auth.example.org\"\n[database]\nengine = \"sqlite\"\nconnection = \"file.db\"\n"), "t.cfg")
	c.Finish()
	if c.Database.Connection != "file.db" {
		t.Errorf("connection = %q, want the file's", c.Database.Connection)
	}
	t.Setenv(DatabaseConnectionEnv, "")
	c, _, _ = Parse([]byte("[general]\ndomain = \"auth.example.org\"\n[database]\nengine = \"sqlite\"\nconnection = \"\"\n"), "t.cfg")
	c.Finish()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), DatabaseConnectionEnv) {
		t.Errorf("Validate = %v, want the missing connection named with %s", err, DatabaseConnectionEnv)
	}
}

func TestDNSNetworks(t *testing.T) {
	for proto, want := range map[string][]string{
		"both": {"udp", "tcp"}, "both4": {"udp4", "tcp4"}, "both6": {"udp6", "tcp6"},
		"udp": {"udp"}, "tcp6": {"tcp6"},
	} {
		if got := (General{Protocol: proto}).DNSNetworks(); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", proto, got, want)
		}
	}
}

// FuzzParse: any file gives a configuration or an error, never a panic, and
// validation of whatever was parsed never panics either.
func FuzzParse(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "testdata", "acme-dns.cfg"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("[general]\ndomain='a.example'\n[api]\nport=443\n[acmehub]\ntxt_limit=-1"))
	f.Add([]byte("[general]\nrecords = [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse(data, "fuzz.cfg")
		if err != nil {
			return
		}
		c.Finish()
		c.Validate() //nolint:errcheck // must only not panic
	})
}

func TestAPIAddr(t *testing.T) {
	for ip, want := range map[string]string{
		"127.0.0.1": "127.0.0.1:8080",
		"::1":       "[::1]:8080",
		"[::1]":     "[::1]:8080",
		"[::]":      "[::]:8080",
		"":          ":8080",
	} {
		a := API{IP: ip, Port: "8080"}
		if got := a.Addr(); got != want {
			t.Errorf("ip %q: Addr = %q, want %q", ip, got, want)
		}
	}
	c := Default()
	c.API.IP = "[[::1]]"
	if err := c.Validate(); err == nil {
		t.Error("[[::1]] accepted")
	}
}
