// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Notice is a key of a configuration file that acmehub does not use:
// either one that an acme-dns release knew (accepted and ignored), or one
// that nothing knows, a typo most likely (a warning; an error with
// --strict and --check-config).
type Notice struct {
	// Key is the key as the file writes it, its section first
	// ("api.api_domain").
	Key string
	// Unknown: no acme-dns release nor acmehub knows it.
	Unknown bool
	// Text says what becomes of it, and the nearest known key.
	Text string
}

func (n Notice) String() string { return n.Text }

// retired are the keys of acme-dns releases before v0.8 that today's
// acme-dns ignores: accepted, and ignored alike.
var retired = map[string]string{
	"api.api_domain":    "acme-dns v0.1–v0.7's name of the API's certificate; the certificate now names [general] domain",
	"api.autocert_port": "acme-dns v0.1–v0.7's port for HTTP-01 validation of the API's certificate; dns-01 needs none",
}

// sections maps each section's name to its keys, from Config's tags.
var sections = func() map[string][]string {
	out := map[string][]string{}
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		sec := t.Field(i)
		name := sec.Tag.Get("toml")
		for j := range sec.Type.NumField() {
			if k := sec.Type.Field(j).Tag.Get("toml"); k != "" {
				out[name] = append(out[name], k)
			}
		}
	}
	for k := range retired {
		sec, key, _ := strings.Cut(k, ".")
		out[sec] = append(out[sec], key)
	}
	return out
}()

// notices reads what the decoder left: an unknown section is an error;
// every other key left is a Notice.
func notices(md toml.MetaData, name string) ([]Notice, error) {
	var out []Notice
	for _, k := range md.Undecoded() {
		switch {
		case len(k) == 1 && md.Type(k...) == "Hash":
			return nil, fmt.Errorf("config %s: unknown section [%s]%s: acmehub reads %s", name, k[0],
				didYouMean(k[0], sectionNames(), "[", "]"), bracketed(sectionNames()))
		case len(k) == 1:
			out = append(out, Notice{Key: k[0], Unknown: true, Text: fmt.Sprintf("config %s: key %q stands before any section and is ignored%s",
				name, k[0], inSection(k[0]))})
		case len(k) == 2:
			key := k.String()
			if why, ok := retired[key]; ok {
				out = append(out, Notice{Key: key, Text: fmt.Sprintf("config %s: [%s] %s is ignored (%s)", name, k[0], k[1], why)})
				continue
			}
			out = append(out, Notice{Key: key, Unknown: true, Text: fmt.Sprintf("config %s: unknown key %s in [%s], ignored%s",
				name, k[1], k[0], suggestion(k[0], k[1]))})
		}
		// Deeper keys belong to a key reported above (a table in a
		// section).
	}
	return out, nil
}

// suggestion is the nearest key of the section, or the section that has
// the key, as a "did you mean" clause.
func suggestion(section, key string) string {
	if s := didYouMean(key, sections[section], "", ""); s != "" {
		return s
	}
	return inSection(key)
}

// inSection names the section holding key, if one does.
func inSection(key string) string {
	for _, sec := range sectionNames() {
		if slices.Contains(sections[sec], key) {
			return fmt.Sprintf(": did you mean [%s] %s?", sec, key)
		}
	}
	return ""
}

func sectionNames() []string {
	var names []string
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		names = append(names, t.Field(i).Tag.Get("toml"))
	}
	return names
}

func bracketed(names []string) string {
	var out []string
	for _, n := range names {
		out = append(out, "["+n+"]")
	}
	return strings.Join(out, ", ")
}

// didYouMean is ": did you mean <nearest>?" when a candidate is near
// enough to be a typo of s (an edit or two, one per three letters).
func didYouMean(s string, candidates []string, before, after string) string {
	best, bestDist := "", max(1, min(2, len(s)/3))+1
	for _, c := range candidates {
		if d := distance(strings.ToLower(s), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %s%s%s?", before, best, after)
}

// distance is the edit distance between a and b, a swap of two
// neighbours counting as one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
