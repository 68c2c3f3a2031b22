// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "example.com", want: "example.com"},
		{in: "Example.COM.", want: "example.com"},
		{in: "*.example.com", want: "*.example.com"},
		{in: ".example.com", want: ".example.com"},
		{in: "!secret.example.com", want: "!secret.example.com"},
		{in: "!.internal.example.com", want: "!.internal.example.com"},
		{in: "bücher.example", want: "xn--bcher-kva.example"},
		{in: "*.BÜCHER.example", want: "*.xn--bcher-kva.example"},
		{in: "", err: "empty name"},
		{in: "!", err: "empty name"},
		{in: "a.*.example.com", err: "a wildcard is only allowed as the first label"},
		{in: "**.example.com", err: "a wildcard is only allowed"},
		{in: "exa mple.com", err: "is not a domain name"},
		{in: "a..example.com", err: "has an empty label"},
		{in: strings.Repeat("a", 64) + ".example.com", err: "is not a domain name"},
		{in: "xn--zzzz-0000.example", err: "is not a domain name"},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRule(%q) = %v, %v; want an error containing %q", tt.in, r, err, tt.err)
			}
			continue
		}
		if err != nil || r.String() != tt.want {
			t.Errorf("ParseRule(%q) = %q, %v; want %q", tt.in, r, err, tt.want)
		}
	}
}

// TestRulesAllow is the rule matrix, with the escapes an attacker tries.
func TestRulesAllow(t *testing.T) {
	tests := []struct {
		rules []string
		name  string
		allow bool
	}{
		// exact
		{[]string{"example.com"}, "example.com", true},
		{[]string{"example.com"}, "EXAMPLE.com.", true},
		{[]string{"example.com"}, "www.example.com", false},
		{[]string{"example.com"}, "evilexample.com", false},
		{[]string{"example.com"}, "example.com.evil.net", false},
		{[]string{"example.com"}, "example.co", false},
		// one label below
		{[]string{"*.example.com"}, "www.example.com", true},
		{[]string{"*.example.com"}, "WWW.Example.Com", true},
		{[]string{"*.example.com"}, "example.com", false},
		{[]string{"*.example.com"}, "a.b.example.com", false},
		{[]string{"*.example.com"}, "wwwexample.com", false},
		{[]string{"*.example.com"}, "www.evilexample.com", false},
		{[]string{"*.example.com"}, "www.example.com.evil.net", false},
		// any depth below
		{[]string{".example.com"}, "a.example.com", true},
		{[]string{".example.com"}, "a.b.c.example.com", true},
		{[]string{".example.com"}, "example.com", false},
		{[]string{".example.com"}, "evilexample.com", false},
		{[]string{".example.com"}, "a.evilexample.com", false},
		{[]string{".example.com"}, "example.com.evil.net", false},
		// deny wins, whatever its order
		{[]string{".example.com", "!secret.example.com"}, "secret.example.com", false},
		{[]string{"!secret.example.com", ".example.com"}, "secret.example.com", false},
		{[]string{".example.com", "!secret.example.com"}, "a.secret.example.com", true},
		{[]string{".example.com", "!.internal.example.com"}, "db.internal.example.com", false},
		{[]string{".example.com", "!.internal.example.com"}, "internal.example.com", true},
		{[]string{"example.com", "!example.com"}, "example.com", false},
		// IDNA: a U-label rule matches its A-label, a look-alike never
		{[]string{"bücher.example"}, "xn--bcher-kva.example", true},
		{[]string{"bücher.example"}, "BÜCHER.example", true},
		{[]string{"bücher.example"}, "bucher.example", false},
		{[]string{"*.bücher.example"}, "www.xn--bcher-kva.example", true},
		{[]string{"paypal.com"}, "pаypal.com", false}, // Cyrillic а
		{[]string{".paypal.com"}, "www.xn--pypal-4ve.com", false},
		// no rules, no names
		{nil, "example.com", false},
	}
	for _, tt := range tests {
		rules, err := ParseRules(tt.rules)
		if err != nil {
			t.Fatal(err)
		}
		name, err := Identifier(tt.name)
		if err != nil {
			if tt.allow {
				t.Errorf("Identifier(%q): %v", tt.name, err)
			}
			continue
		}
		if _, got := rules.Allows(name); got != tt.allow {
			t.Errorf("rules %q allow %q (%s) = %v, want %v", tt.rules, tt.name, name, got, tt.allow)
		}
	}
}

func TestRulesMostSpecific(t *testing.T) {
	rules, _ := ParseRules([]string{".example.com", "*.example.com", "*.a.example.com", "b.a.example.com"})
	for name, want := range map[string]string{
		"x.example.com":   "*.example.com",
		"x.y.example.com": ".example.com",
		"c.a.example.com": "*.a.example.com",
		"b.a.example.com": "b.a.example.com",
	} {
		if r, ok := rules.Allows(name); !ok || r.String() != want {
			t.Errorf("%s: most specific rule %q, %v; want %q", name, r, ok, want)
		}
	}
}

func TestIdentifier(t *testing.T) {
	for in, want := range map[string]string{
		"*.example.com":     "example.com",
		"Example.COM.":      "example.com",
		" www.ex.org ":      "www.ex.org",
		"münchen.de":        "xn--mnchen-3ya.de",
		"xn--mnchen-3ya.de": "xn--mnchen-3ya.de",
	} {
		if got, err := Identifier(in); err != nil || got != want {
			t.Errorf("Identifier(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "*", "*.*.example.com", "a b.example", "-.example", "exa_mple.com"} {
		if got, err := Identifier(bad); err == nil {
			t.Errorf("Identifier(%q) = %q, want an error", bad, got)
		}
	}
}

// FuzzRules: any rule text and name parse or fail cleanly; a parsed rule
// reads back as itself, and matching never panics.
func FuzzRules(f *testing.F) {
	for _, seed := range [][2]string{
		{"example.com", "example.com"}, {"*.example.com", "www.example.com"}, {".example.com", "a.b.example.com"},
		{"!secret.example.com", "secret.example.com"}, {"bücher.example", "xn--bcher-kva.example"}, {"*.", "."}, {"!", "*"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, rule, name string) {
		r, err := ParseRule(rule)
		if err != nil {
			return
		}
		again, err := ParseRule(r.String())
		if err != nil || again != r {
			t.Fatalf("%q parsed as %q, which reads back as %q, %v", rule, r, again, err)
		}
		if n, err := Identifier(name); err == nil {
			Rules{r}.Allows(n)
		}
		if rec, err := RecordName(name); err == nil {
			if again, err := RecordName(rec); err != nil || again != rec {
				t.Fatalf("record %q normalised to %q, which reads back as %q, %v", name, rec, again, err)
			}
		}
	})
}

func TestRecordName(t *testing.T) {
	for in, want := range map[string]string{
		"_acme-challenge.www.example.com.": "_acme-challenge.www.example.com",
		"_ACME-Challenge.WWW.Example.com":  "_acme-challenge.www.example.com",
		"_acme-challenge.bücher.example":   "_acme-challenge.xn--bcher-kva.example",
		"_x._acme-challenge.example.com":   "_x._acme-challenge.example.com",
		"d420c923-bbd7.auth.example.org":   "d420c923-bbd7.auth.example.org",
	} {
		if got, err := RecordName(in); err != nil || got != want {
			t.Errorf("RecordName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "_", "_acme-challenge", "_a b.example.com", "www._acme-challenge.example.com", "_acme-challenge..example.com"} {
		if got, err := RecordName(bad); err == nil {
			t.Errorf("RecordName(%q) = %q, want an error", bad, got)
		}
	}
}
