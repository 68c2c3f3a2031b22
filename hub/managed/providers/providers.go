// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package providers is the hub's DNS providers' contract (contract.go) and
// registry. Each provider is a package below this one that registers
// itself from its init function (its name, credential fields, one line
// that says what it writes, and New, which makes a config's Writer), as
// CoreDNS plugins do; the server imports every such folder
// (hub/server/extensions_gen.go, written by go generate), and the admin
// command, the console and the documentation list them from here. Adding
// a provider is one new folder and go generate.
package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/acmehub/acmehub/hub/store"
)

var (
	mu       sync.RWMutex
	registry = map[string]Provider{}
)

// Register adds a provider; a name registered twice is a programming error.
func Register(p Provider) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[p.Name]; dup || p.Name == "" || p.New == nil {
		panic(fmt.Sprintf("providers: %q registered twice, or without a name or constructor", p.Name))
	}
	registry[p.Name] = p
}

// All are the registered providers, by name.
func All() []Provider {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Provider, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Provider) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names are the registered providers' names, sorted.
func Names() []string {
	var names []string
	for _, p := range All() {
		names = append(names, p.Name)
	}
	return names
}

// Factories are the registered providers' constructors over env, as the
// managed-challenge service takes them; each checks the credentials
// against the provider's fields first.
func Factories(env Env) map[string]Factory {
	out := map[string]Factory{}
	for _, p := range All() {
		out[p.Name] = func(cfg store.ChallengeConfig, credentials []byte) (Writer, error) {
			if err := p.Check(credentials); err != nil {
				return nil, err
			}
			return p.New(env, cfg, credentials)
		}
	}
	return out
}

// Check reads credentials against the provider's fields: a JSON object
// with a string (a list of strings, for List fields) for every Required
// field and no field the provider does not know. Its errors name the field.
func (p Provider) Check(credentials []byte) error {
	if len(p.Credentials) == 0 {
		if t := strings.TrimSpace(string(credentials)); t != "" && t != "{}" {
			return fmt.Errorf("credentials: provider %s takes none", p.Name)
		}
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(credentials, &fields); err != nil || fields == nil {
		return fmt.Errorf("credentials: provider %s takes a JSON object with %s", p.Name, p.fieldNames())
	}
	for name := range fields {
		if !slices.ContainsFunc(p.Credentials, func(f Field) bool { return f.Name == name }) {
			return fmt.Errorf("credentials: provider %s has no field %q; its fields are %s", p.Name, name, p.fieldNames())
		}
	}
	for _, f := range p.Credentials {
		raw, given := fields[f.Name]
		var (
			s    string
			list []string
			err  error
		)
		if given && f.List {
			err = json.Unmarshal(raw, &list)
		} else if given {
			err = json.Unmarshal(raw, &s)
		}
		switch {
		case err != nil && f.List:
			return fmt.Errorf("credentials: field %s of provider %s must be a list of strings", f.Name, p.Name)
		case err != nil:
			return fmt.Errorf("credentials: field %s of provider %s must be a string", f.Name, p.Name)
		case f.Required && strings.TrimSpace(s) == "" && len(list) == 0:
			return fmt.Errorf("credentials: field %s of provider %s is required: %s", f.Name, p.Name, f.Help)
		}
	}
	return nil
}

// Decode reads a provider's credentials into v, a struct with a JSON tag
// for each field: a field v has no tag for is an error, which says what
// the provider takes (want).
func Decode(credentials []byte, v any, want string) error {
	dec := json.NewDecoder(bytes.NewReader(credentials))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("credentials: want %s: %w", want, err)
	}
	return nil
}

func (p Provider) fieldNames() string {
	names := make([]string, len(p.Credentials))
	for i, f := range p.Credentials {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// CredentialsHelp describes each provider's credentials in one line, for
// command help: `digitalocean {"api_token"}, self (none)`.
func CredentialsHelp() string {
	var parts []string
	for _, p := range All() {
		if len(p.Credentials) == 0 {
			parts = append(parts, p.Name+" (none)")
			continue
		}
		var names []string
		for _, f := range p.Credentials {
			names = append(names, fmt.Sprintf("%q", f.Name))
		}
		parts = append(parts, p.Name+" {"+strings.Join(names, ", ")+"}")
	}
	return strings.Join(parts, ", ")
}

// Markdown is the table of the registered providers: name, credentials
// (secret ones marked) and what each writes, for the documentation.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| provider | credentials (`--credentials-file`, a JSON object) | writes |\n|---|---|---|\n")
	for _, p := range All() {
		var fields []string
		for _, f := range p.Credentials {
			field := "`" + f.Name + "`"
			if f.Secret {
				field += " (secret)"
			}
			if !f.Required {
				field += " (optional)"
			}
			fields = append(fields, field)
		}
		if len(fields) == 0 {
			fields = []string{"none"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p.Name, strings.Join(fields, ", "), p.Description)
	}
	return b.String()
}
