// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package solver

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/acmehub/acmehub/hub/dnsclient"
)

// DelegationMode says what to do when a challenge name is not delegated to
// its account: "off" does not look, "warn" logs, "enforce" fails the challenge.
type DelegationMode string

// Delegation modes.
const (
	DelegationOff     DelegationMode = "off"
	DelegationWarn    DelegationMode = "warn"
	DelegationEnforce DelegationMode = "enforce"
)

// ParseDelegationMode checks a mode's spelling.
func ParseDelegationMode(s string) (DelegationMode, error) {
	switch m := DelegationMode(strings.ToLower(s)); m {
	case DelegationOff, DelegationWarn, DelegationEnforce:
		return m, nil
	}
	return "", fmt.Errorf("delegation check %q: must be off, warn or enforce", s)
}

// DelegationError says which record is missing.
type DelegationError struct {
	Name, Want, Found string
}

func (e *DelegationError) Error() string {
	return fmt.Sprintf("%s must be a CNAME to %s (found: %s)", e.Name, e.Want, e.Found)
}

// ChallengeName is the name the CA asks for dnsName's challenge.
func ChallengeName(dnsName string) string {
	return "_acme-challenge." + strings.TrimPrefix(normalize(dnsName), "*.")
}

// CheckDelegation confirms, through the resolvers of r, that the challenge
// name of dnsName is a CNAME (or a chain of them) leading to fullDomain, or
// returns a *DelegationError saying which record to create.
func CheckDelegation(ctx context.Context, r dnsclient.Resolver, dnsName, fullDomain string) error {
	name := ChallengeName(dnsName)
	want := normalize(fullDomain)
	fail := func(found string) error { return &DelegationError{Name: name, Want: want, Found: found} }
	chain, err := r.Chain(ctx, name)
	switch {
	case slices.Contains(chain, want):
		return nil
	case len(chain) > 0:
		return fail(chain[0])
	case err != nil:
		return fail(err.Error())
	}
	return fail("none")
}
