// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package solver holds what cert-manager DNS01 solvers share: reading Secrets
// through an informer cache, finding a challenge's account in an acme-dns
// account file, and checking that the challenge name is delegated to it.
// Each solverName is a sub-package: acmedns today.
package solver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Account is one entry of an acme-dns account file (acmedns.json), as acme-dns
// registration clients (goacmedns, cert-manager's docs, lego) write it.
type Account struct {
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	FullDomain string   `json:"fulldomain"`
	SubDomain  string   `json:"subdomain"`
	AllowFrom  []string `json:"allowfrom"`
	ServerURL  string   `json:"server_url,omitempty"`
}

// Accounts maps domain names (lower case, no trailing dot) to their accounts.
type Accounts map[string]Account

// ParseAccounts reads an account file: {"<domain>": {account}, …}.
func ParseAccounts(data []byte) (Accounts, error) {
	var raw map[string]Account
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON map of domains to acme-dns accounts: %w", err)
	}
	out := make(Accounts, len(raw))
	for domain, a := range raw {
		d := normalize(domain)
		switch {
		case a.Username == "" || a.Password == "" || a.SubDomain == "":
			return nil, fmt.Errorf("account for %q lacks username, password or subdomain", domain)
		case a.FullDomain == "":
			return nil, fmt.Errorf("account for %q lacks fulldomain", domain)
		}
		a.FullDomain = normalize(a.FullDomain)
		out[d] = a
	}
	return out, nil
}

func normalize(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Candidates are the names an account is looked up under for a challenge on
// dnsName, in order: the name, its wildcard, then each parent domain.
func Candidates(dnsName string) []string {
	name := strings.TrimPrefix(normalize(dnsName), "*.")
	out := []string{name, "*." + name}
	for rest := name; ; {
		_, parent, ok := strings.Cut(rest, ".")
		if !ok || parent == "" {
			return out
		}
		out = append(out, parent)
		rest = parent
	}
}

// Lookup finds the account for a challenge on dnsName, returning it with the
// name it was found under, or an error listing every name tried.
func (a Accounts) Lookup(dnsName string) (Account, string, error) {
	tried := Candidates(dnsName)
	for _, name := range tried {
		if acct, ok := a[name]; ok {
			return acct, name, nil
		}
	}
	return Account{}, "", fmt.Errorf("no account for %s (tried %s)", dnsName, strings.Join(tried, ", "))
}

// NamesOf returns, sorted, the names the file lists the account of username
// under. An account listed under several names (or found for a name through
// its parent) must hold the values of all their challenges at once.
func (a Accounts) NamesOf(username string) []string {
	var names []string
	for name, acct := range a {
		if acct.Username == username {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
