// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Admin changes: principals, roles, tokens and configs. Each is audited
// with the actor that made it (an admin token's caller, or the CLI's).

// CreatePrincipal adds a user or application.
func (s *Service) CreatePrincipal(ctx context.Context, actor Caller, p store.Principal) (store.Principal, error) {
	if p.Kind != KindUser && p.Kind != KindApplication {
		return p, invalid(fmt.Errorf("principal kind %q: must be %s or %s", p.Kind, KindUser, KindApplication))
	}
	if strings.TrimSpace(p.Title) == "" {
		return p, invalid(errors.New("a principal needs a title"))
	}
	if err := checkRoles(p.Roles); err != nil {
		return p, err
	}
	if p.ID == "" {
		p.ID = "prn_" + randomID()[:16]
	}
	p.Created = s.now()
	err := s.store.CreatePrincipal(ctx, p)
	s.auditAdmin(ctx, actor, "create principal "+p.ID+" ("+p.Title+")", err)
	return p, err
}

// SetRoles replaces a principal's roles.
func (s *Service) SetRoles(ctx context.Context, actor Caller, principal string, roles []string) error {
	if err := checkRoles(roles); err != nil {
		return err
	}
	err := notFound(s.store.SetRoles(ctx, principal, roles))
	s.auditAdmin(ctx, actor, fmt.Sprintf("set roles of principal %s to %v", principal, roles), err)
	return err
}

// notFound makes a missing object the caller named a refusal.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return invalid(err)
	}
	return err
}

func checkRoles(roles []string) error {
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			return invalid(fmt.Errorf("unknown role %q: the roles are %s", r, strings.Join(Roles, ", ")))
		}
	}
	return nil
}

// ConfigInput is a config as an administrator writes it, with the
// provider's credentials in the clear (JSON); they are sealed before they
// are stored.
type ConfigInput struct {
	store.ChallengeConfig
	Credentials []byte
}

// PutConfig creates or replaces a config after checking that it loads
// (rules, provider, credentials) beside the others.
func (s *Service) PutConfig(ctx context.Context, actor Caller, in ConfigInput) (store.ChallengeConfig, error) {
	c := in.ChallengeConfig
	if c.ID == "" {
		return c, invalid(errors.New("a config needs an id"))
	}
	if c.ChallengeType == "" {
		c.ChallengeType = "dns-01"
	}
	if c.ChallengeType != "dns-01" {
		return c, invalid(fmt.Errorf("challenge type %q: only dns-01", c.ChallengeType))
	}
	zone, err := NormalizeName(c.Zone)
	if err != nil {
		return c, invalid(fmt.Errorf("zone: %w", err))
	}
	c.Zone = zone
	rules, err := ParseRules(c.Rules)
	if err != nil {
		return c, invalid(err)
	}
	c.Rules = rules.Strings()
	if c.TTL <= 0 {
		c.TTL = 60
	}
	propagation, err := providers.ParsePropagation(c.Propagation)
	if err != nil {
		return c, invalid(err)
	}
	c.Propagation = propagation.String()
	c.Credentials, c.KeyID = nil, ""
	if len(in.Credentials) > 0 {
		c.Credentials, c.KeyID = s.keys.Seal(in.Credentials, c.ID)
	} else if old := s.loaded(c.ID); old != nil && old.Provider == c.Provider && len(old.Credentials) > 0 {
		// An update without credentials keeps the stored ones, sealed
		// again with the current key when an older one sealed them.
		c.Credentials, c.KeyID = old.Credentials, old.KeyID
		if old.KeyID != s.keys.Current() {
			plain, err := s.keys.Open(old.Credentials, old.KeyID, c.ID)
			if err != nil {
				return c, invalid(fmt.Errorf("config %s: credentials: %w", c.ID, err))
			}
			c.Credentials, c.KeyID = s.keys.Seal(plain, c.ID)
		}
	}
	loaded, err := s.load(c)
	if err != nil {
		return c, invalid(err)
	}
	// A rule another config has would leave neither the most specific:
	// refused before it is stored, so that every server keeps loading.
	for _, other := range s.snapshot() {
		if other.ID == c.ID {
			continue
		}
		for _, r := range loaded.rules {
			if !r.Deny && slices.ContainsFunc(other.rules, func(o Rule) bool { return !o.Deny && o == r }) {
				return c, invalid(fmt.Errorf("config %s has the rule %s already: for its names neither config would be the most specific", other.ID, r))
			}
		}
	}
	now := s.now()
	c.Created, c.Updated = now, now
	if old := s.loaded(c.ID); old != nil {
		c.Created = old.Created
	}
	if err = s.store.PutConfig(ctx, c); err == nil {
		err = s.Reload(ctx)
	}
	s.auditAdmin(ctx, actor, fmt.Sprintf("put config %s (%s, zone %s, rules %s)", c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " ")), err)
	return c, err
}

// TestConfig checks the credentials of config id against its zone; a
// provider that needs none (self) passes.
func (s *Service) TestConfig(ctx context.Context, actor Caller, id string) error {
	err := s.testConfig(ctx, id)
	s.auditAdmin(ctx, actor, "test config "+id, err)
	return err
}

func (s *Service) testConfig(ctx context.Context, id string) error {
	c := s.loaded(id)
	if c == nil {
		return invalid(fmt.Errorf("config %s: %w", id, store.ErrNotFound))
	}
	if t, ok := c.writer.(providers.Tester); ok {
		if err := t.Test(ctx, c.Zone+"."); err != nil {
			return &Error{Code: CodeProvider, Err: fmt.Errorf("provider %s of config %s: %w", c.Provider, c.ID, err)}
		}
	}
	return nil
}

// DeleteConfig removes a config; records it created stay until swept.
func (s *Service) DeleteConfig(ctx context.Context, actor Caller, id string) error {
	err := notFound(s.store.DeleteConfig(ctx, id))
	if err == nil {
		err = s.Reload(ctx)
	}
	s.auditAdmin(ctx, actor, "delete config "+id, err)
	return err
}

// Configs returns the loaded configs, their credentials sealed.
func (s *Service) Configs() []store.ChallengeConfig {
	var out []store.ChallengeConfig
	for _, c := range s.snapshot() {
		out = append(out, c.ChallengeConfig)
	}
	return out
}

// loaded is the loaded config id, or nil.
func (s *Service) loaded(id string) *config {
	for _, c := range s.snapshot() {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Service) snapshot() []*config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.configs)
}

func (s *Service) auditAdmin(ctx context.Context, actor Caller, what string, err error) {
	s.writeAudit(ctx, AdminEntry(s.now(), actor, what, err))
}

// AuditAdmin audits an administrator's change made elsewhere than this
// service (an acme-dns account rotated or deregistered in the console).
func (s *Service) AuditAdmin(ctx context.Context, actor Caller, what string, err error) {
	s.auditAdmin(ctx, actor, what, err)
}

// AdminEntry is the audit entry of an administrator's change: what actor
// did at at, and its result.
func AdminEntry(at time.Time, actor Caller, what string, err error) store.AuditEntry {
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
	}
	return store.AuditEntry{At: at, Action: "admin", Principal: actor.Principal, ClientID: actor.ClientID,
		Issuer: actor.Issuer, Subject: actor.Subject, TokenID: actor.TokenID, Address: actor.Address, Detail: what, Result: result}
}

// AuditLog reads the audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return s.store.AuditLog(ctx, q)
}

// Records lists the records the hub created and has not removed.
func (s *Service) Records(ctx context.Context) ([]store.HubRecord, error) {
	return s.store.Records(ctx)
}

// Principals lists the principals with their roles.
func (s *Service) Principals(ctx context.Context) ([]store.Principal, error) {
	return s.store.Principals(ctx)
}

// Tokens lists the tokens of principal, or all for "".
func (s *Service) Tokens(ctx context.Context, principal string) ([]store.Token, error) {
	return s.store.Tokens(ctx, principal)
}
