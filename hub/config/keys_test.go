// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"strings"
	"testing"
	"time"
)

// misreading is a configuration file and what acmehub says of it:
// parseErr, validateErr, what the error says; notices, what the notices
// say, in order; unknown, how many are unknown keys.
type misreading struct {
	name                  string
	file                  string
	parseErr, validateErr []string
	notices               []string
	unknown               int
}

const (
	db      = "\n[database]\nengine = \"sqlite\"\nconnection = \"acme-dns.db\"\n"
	general = "[general]\ndomain = \"auth.example.org\"\n"
)

var misreadings = []misreading{
	{name: "a number for a duration", file: general + db + "[acmehub]\nresync_interval = 300\n",
		parseErr: []string{"line 8", `"acmehub.resync_interval"`, `300 has no unit`, `"300s"`, `"5m0s"`, "300 nanoseconds"}},
	{name: "a number of seconds under a minute for a duration", file: general + db + "[acmehub]\nrate_limit_window = 15\n",
		parseErr: []string{`"acmehub.rate_limit_window"`, `15 has no unit`, `such as "15s" (seconds);`, "15 nanoseconds"}},
	{name: "a fraction for a duration", file: general + db + "[hub]\ncleanup_after = 1.5\n",
		parseErr: []string{`"hub.cleanup_after"`, "1.5 has no unit"}},
	{name: "a duration that is not one", file: general + db + "[dnssec]\nvalidity = \"two weeks\"\n",
		parseErr: []string{`"dnssec.validity"`, `"two weeks" is not a duration`}},
	{name: "a misspelt section", file: general + "[databse]\nengine = \"sqlite\"\nconnection = \"/var/lib/acme-dns/acme-dns.db\"\n",
		parseErr: []string{"unknown section [databse]: did you mean [database]?"}},
	{name: "an unknown section", file: general + db + "[metrics]\nlisten = \":9090\"\n",
		parseErr: []string{"unknown section [metrics]", "acmehub reads [general], [database]"}},
	{name: "no database", file: general,
		validateErr: []string{"[database] names no database", "never in a default place"}},
	{name: "a database without its connection", file: general + "[database]\nengine = \"sqlite\"\n",
		validateErr: []string{"[database] connection is required"}},
	{name: "a misspelt key in a section", file: general + "[database]\nengine = \"sqlite\"\nconection = \"x.db\"\n",
		notices: []string{"unknown key conection in [database], ignored: did you mean connection?"}, unknown: 1,
		validateErr: []string{"[database] connection is required"}},
	{name: "a misspelt key", file: "[general]\ndomian = \"auth.example.org\"\n" + db,
		notices: []string{"unknown key domian in [general], ignored: did you mean domain?"}, unknown: 1,
		validateErr: []string{"[general] domain is required"}},
	{name: "a key in the wrong section", file: general + "records_ttl = 1\n" + db + "[api]\nnsname = \"ns1.auth.example.org\"\n",
		notices: []string{"unknown key records_ttl in [general]", "unknown key nsname in [api], ignored: did you mean [general] nsname?"}, unknown: 2},
	{name: "a key before any section", file: "domain = \"auth.example.org\"\n" + general + db,
		notices: []string{`key "domain" stands before any section and is ignored: did you mean [general] domain?`}, unknown: 1},
	{name: "keys of old acme-dns releases", file: general + db + "[api]\napi_domain = \"auth.example.org\"\nautocert_port = \"80\"\n",
		notices: []string{"[api] api_domain is ignored (acme-dns v0.1–v0.7", "[api] autocert_port is ignored"}},
	{name: "an engine from the connection", file: general + "[database]\nconnection = \"postgres://u@db/acmedns\"\n"},
	{name: "days", file: general + db + "[acmehub]\npresent_expiry = \"1d\"\n[dnssec]\nvalidity = \"21d\"\nrefresh = \"7d12h\"\n"},
}

// TestNoSilentMisreadings: what would change where data goes or what is
// served is refused or named, never passed over.
func TestNoSilentMisreadings(t *testing.T) {
	for _, tt := range misreadings {
		t.Run(tt.name, func(t *testing.T) {
			c, notices, err := Parse([]byte(tt.file), "t.cfg")
			if tt.parseErr != nil {
				if err == nil {
					t.Fatalf("parsed %q without an error", tt.file)
				}
				for _, w := range append(tt.parseErr, "t.cfg") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(notices) != len(tt.notices) {
				t.Fatalf("notices %q, want %d", notices, len(tt.notices))
			}
			unknown := 0
			for i, n := range notices {
				if !strings.Contains(n.Text, tt.notices[i]) {
					t.Errorf("notice %q does not say %q", n.Text, tt.notices[i])
				}
				if n.Unknown {
					unknown++
				}
			}
			if unknown != tt.unknown {
				t.Errorf("%d unknown keys, want %d", unknown, tt.unknown)
			}
			c.Finish()
			err = c.Validate()
			if tt.validateErr == nil && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for _, w := range tt.validateErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v, want %q", err, w)
				}
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, " 2d ": 48 * time.Hour, "0d": 0, "-5m": -5 * time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "300", "d", "1.5d", "-1d", "1dd", "1d-5m", "7 days", "1w"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestMasked(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://acmehub:s3cret@db:5432/acmehub?sslmode=require": "postgres://acmehub:********@db:5432/acmehub?sslmode=require",
		"host=db user=acmehub password=s3cret dbname=x":             "host=db user=acmehub password=******** dbname=x",
		"host=db password='s 3cret' dbname=x":                       "host=db password=******** dbname=x",
		"/var/lib/acme-dns/acme-dns.db":                             "/var/lib/acme-dns/acme-dns.db",
	} {
		c := Default()
		c.Database.Connection, c.AcmeHub.RegistrationPassword = in, "hunter2"
		m := c.Masked()
		if m.Database.Connection != want || m.AcmeHub.RegistrationPassword != "********" {
			t.Errorf("Masked(%q) = %q, %q; want %q", in, m.Database.Connection, m.AcmeHub.RegistrationPassword, want)
		}
	}
}
