// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Domain Match Rules: which identifiers a managed challenge config, or a
// token, may answer challenges for. One syntax:
//
//	example.com     the name itself (also the apex of a wildcard certificate
//	                of that name, whose identifier is example.com)
//	*.example.com   names exactly one label below example.com
//	.example.com    names any number of labels below example.com
//	!<rule>         a name the rule matches is refused, whatever else matches
//
// Names are compared as lower-case A-labels (IDNA), without the trailing
// dot, label by label: .example.com matches a.example.com, never
// evilexample.com.

// Rule is one parsed Domain Match Rule.
type Rule struct {
	// Name is the rule's domain as a lower-case A-label name, without the
	// leading "*." or ".".
	Name string
	// Kind says which names below Name match.
	Kind RuleKind
	// Deny refuses what the rule matches.
	Deny bool
}

// RuleKind is the reach of a rule.
type RuleKind int

// The reaches of a rule.
const (
	Exact    RuleKind = iota // the name itself
	OneLevel                 // *.name
	AnyDepth                 // .name
)

// String writes the rule as it is parsed.
func (r Rule) String() string {
	s := r.Name
	switch r.Kind {
	case OneLevel:
		s = "*." + s
	case AnyDepth:
		s = "." + s
	}
	if r.Deny {
		s = "!" + s
	}
	return s
}

// ParseRule reads one rule.
func ParseRule(s string) (Rule, error) {
	var r Rule
	text := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(text, "!"); ok {
		r.Deny, text = true, rest
	}
	switch {
	case strings.HasPrefix(text, "*."):
		r.Kind, text = OneLevel, text[2:]
	case strings.HasPrefix(text, "."):
		r.Kind, text = AnyDepth, text[1:]
	}
	name, err := NormalizeName(text)
	if err != nil {
		return Rule{}, fmt.Errorf("domain match rule %q: %w", s, err)
	}
	r.Name = name
	return r, nil
}

// Matches reports whether the rule reaches name, a normalised name
// (NormalizeName); it ignores Deny.
func (r Rule) Matches(name string) bool {
	switch r.Kind {
	case Exact:
		return name == r.Name
	case OneLevel:
		below, ok := strings.CutSuffix(name, "."+r.Name)
		return ok && below != "" && !strings.Contains(below, ".")
	default:
		below, ok := strings.CutSuffix(name, "."+r.Name)
		return ok && below != ""
	}
}

// specificity orders rules that match the same name: an exact rule first,
// then the longest suffix, then *. before . at the same suffix.
func (r Rule) specificity() (exact, labels, oneLevel int) {
	if r.Kind == Exact {
		exact = 1
	}
	if r.Kind == OneLevel {
		oneLevel = 1
	}
	return exact, strings.Count(r.Name, ".") + 1, oneLevel
}

// Rules is a list of rules, as a config or a token carries them.
type Rules []Rule

// ParseRules reads a list of rules, reporting every bad one.
func ParseRules(list []string) (Rules, error) {
	var (
		out  Rules
		errs []error
	)
	for _, s := range list {
		r, err := ParseRule(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Strings writes the rules back.
func (rs Rules) Strings() []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// Allows reports whether name (normalised) is matched by an allowing rule
// and by no denying one, and returns the most specific allowing rule.
func (rs Rules) Allows(name string) (Rule, bool) {
	var (
		best  Rule
		found bool
	)
	for _, r := range rs {
		if !r.Matches(name) {
			continue
		}
		if r.Deny {
			return Rule{}, false
		}
		if !found || more(r, best) {
			best, found = r, true
		}
	}
	return best, found
}

// more reports whether a is more specific than b.
func more(a, b Rule) bool {
	ae, al, ao := a.specificity()
	be, bl, bo := b.specificity()
	if ae != be {
		return ae > be
	}
	if al != bl {
		return al > bl
	}
	return ao > bo
}

// idnaProfile maps names as browsers and CAs do, and refuses what is not a
// host name.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(true), idna.BidiRule(), idna.VerifyDNSLength(true))

// NormalizeName returns name as a lower-case A-label name without the
// trailing dot, or why it is not a domain name. A leading "*." (a wildcard
// certificate's name) is not a name here: callers strip it.
func NormalizeName(name string) (string, error) {
	n := strings.TrimSuffix(strings.TrimSpace(name), ".")
	if n == "" {
		return "", errors.New("empty name")
	}
	if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".") || strings.Contains(n, "..") {
		return "", fmt.Errorf("%q has an empty label", name)
	}
	if strings.ContainsAny(n, "*") {
		return "", fmt.Errorf("%q: a wildcard is only allowed as the first label of a rule", name)
	}
	if !utf8.ValidString(n) {
		return "", fmt.Errorf("%q is not UTF-8", name)
	}
	ascii, err := idnaProfile.ToASCII(n)
	if err != nil {
		return "", fmt.Errorf("%q is not a domain name: %w", name, err)
	}
	// ToASCII also refuses an A-label ("xn--…") that does not decode; the
	// result must be a name of its own, as it is stored and compared.
	ascii = strings.ToLower(ascii)
	if again, err := idnaProfile.ToASCII(ascii); err != nil || again != ascii {
		return "", fmt.Errorf("%q is not a domain name: it maps to %q, which does not read back", name, ascii)
	}
	return ascii, nil
}

// RecordName normalises the name of a TXT record: a domain name whose
// leading labels may be service labels starting with "_" (as
// _acme-challenge), which are lower-case ASCII letters, digits, - and _.
func RecordName(name string) (string, error) {
	labels := strings.Split(strings.TrimSuffix(strings.TrimSpace(name), "."), ".")
	n := 0
	for n < len(labels) && strings.HasPrefix(labels[n], "_") {
		if !serviceLabel(labels[n]) {
			return "", fmt.Errorf("%q: label %q is not a service label (_, letters, digits, -)", name, labels[n])
		}
		labels[n] = strings.ToLower(labels[n])
		n++
	}
	rest, err := NormalizeName(strings.Join(labels[n:], "."))
	if err != nil {
		return "", err
	}
	return strings.Join(append(labels[:n:n], rest), "."), nil
}

func serviceLabel(l string) bool {
	if len(l) < 2 || len(l) > 63 {
		return false
	}
	for _, r := range l[1:] {
		if !isLabelChar(r) {
			return false
		}
	}
	return true
}

// Identifier normalises an ACME identifier: a wildcard certificate's
// "*.example.com" is validated at example.com.
func Identifier(s string) (string, error) {
	return NormalizeName(strings.TrimPrefix(strings.TrimSpace(s), "*."))
}

// ChallengeName is the record a dns-01 challenge for identifier is answered at.
func ChallengeName(identifier string) string { return "_acme-challenge." + identifier }

// isLabelChar reports whether r may be in a DNS label as the hub takes
// them: an ASCII letter, digit, hyphen or underscore.
func isLabelChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}
