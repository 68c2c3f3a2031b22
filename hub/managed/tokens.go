// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/store"
)

// Roles a principal may hold, and a token carry as scopes.
const (
	// RoleConsumer may present and clean up challenge responses.
	RoleConsumer = "managed-challenge-consumer"
	// RoleAdmin may manage principals, tokens and configs.
	RoleAdmin = "managed-challenge-admin"
	// RoleDelegate may have the hub write the CNAME of a name its domains
	// allow to an acme-dns account (delegations).
	RoleDelegate = "managed-challenge-delegate"
)

// Roles are every role there is.
var Roles = []string{RoleConsumer, RoleDelegate, RoleAdmin}

// Principal kinds.
const (
	KindUser        = "user"
	KindApplication = "application"
)

// Caller is who an authenticated request acts for: an API token's
// (ClientID), or a bound issuer's token's (Issuer, Subject, TokenID).
type Caller struct {
	Principal string
	ClientID  string
	// Issuer is a trusted issuer's ID ("?" for a token of none), Subject
	// and TokenID its token's sub and jti.
	Issuer, Subject, TokenID string
	Scopes                   []string
	// Domains narrow the names the token may answer for; nil: the configs decide.
	Domains Rules
	// Address is where an administrator's change came from, for the audit
	// log ("" from the command line).
	Address string
}

// Name names the caller's credential in refusals: its API token, or its
// issuer's token.
func (c Caller) Name() string {
	if c.Issuer != "" {
		return fmt.Sprintf("the token of %s (issuer %s)", c.Subject, c.Issuer)
	}
	return "API token " + c.ClientID
}

// Can reports whether the caller's token carries role.
func (c Caller) Can(role string) bool { return slices.Contains(c.Scopes, role) }

// NewToken is a token as created: the secret is shown once and never stored.
type NewToken struct {
	store.Token
	Secret string
}

// TokenOptions describe a token to create.
type TokenOptions struct {
	Principal string
	Title     string
	Scopes    []string
	Domains   []string
	// TTL, when not 0, makes the token expire.
	TTL time.Duration
}

var clientIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomClientID() string {
	b := make([]byte, 15)
	rand.Read(b)
	return "hub_" + strings.ToLower(clientIDEncoding.EncodeToString(b))
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateToken creates a token for a principal; its scopes must be roles the
// principal holds.
func (s *Service) CreateToken(ctx context.Context, actor Caller, o TokenOptions) (NewToken, error) {
	t, err := s.createToken(ctx, o, randomSecret())
	s.auditAdmin(ctx, actor, fmt.Sprintf("create token %s for principal %s, scopes %v", t.ClientID, o.Principal, o.Scopes), err)
	return t, err
}

func (s *Service) createToken(ctx context.Context, o TokenOptions, secret string) (NewToken, error) {
	p, err := s.store.Principal(ctx, o.Principal)
	if err != nil {
		return NewToken{}, invalid(err)
	}
	if len(o.Scopes) == 0 {
		return NewToken{}, invalid(errors.New("a token needs at least one scope (role)"))
	}
	for _, scope := range o.Scopes {
		if !slices.Contains(p.Roles, scope) {
			return NewToken{}, invalid(fmt.Errorf("principal %s does not hold role %q, so a token of it cannot carry it", p.ID, scope))
		}
	}
	domains, err := ParseRules(o.Domains)
	if err != nil {
		return NewToken{}, invalid(err)
	}
	now := s.now()
	t := NewToken{Secret: secret}
	t.Token = store.Token{ClientID: randomClientID(), Principal: p.ID, Title: o.Title, Scopes: o.Scopes,
		Domains: domains.Strings(), Created: now}
	t.SecretHash = s.keys.hashSecret(t.Secret)
	if o.TTL > 0 {
		t.Expires = now.Add(o.TTL)
	}
	if err := s.store.CreateToken(ctx, t.Token); err != nil {
		return NewToken{}, err
	}
	return t, nil
}

// RotateToken gives the token a new secret; the old one stops working at
// once, on every process sharing the database.
func (s *Service) RotateToken(ctx context.Context, actor Caller, clientID string) (NewToken, error) {
	t, err := s.rotateToken(ctx, clientID, randomSecret())
	s.auditAdmin(ctx, actor, "rotate token "+clientID, err)
	return t, err
}

func (s *Service) rotateToken(ctx context.Context, clientID, secret string) (NewToken, error) {
	t, err := s.store.Token(ctx, clientID)
	if err != nil {
		return NewToken{}, invalid(err)
	}
	if !t.Revoked.IsZero() {
		return NewToken{}, invalid(fmt.Errorf("token %s is revoked", clientID))
	}
	t.SecretHash = s.keys.hashSecret(secret)
	if err := s.store.RotateToken(ctx, clientID, t.SecretHash); err != nil {
		return NewToken{}, err
	}
	return NewToken{Token: t, Secret: secret}, nil
}

// RevokeToken ends the token at once, on every process sharing the database.
func (s *Service) RevokeToken(ctx context.Context, actor Caller, clientID string) error {
	err := s.store.RevokeToken(ctx, clientID, s.now())
	if err != nil {
		err = invalid(err)
	}
	s.auditAdmin(ctx, actor, "revoke token "+clientID, err)
	return err
}

// Authenticate checks a client ID and secret. It reads the token from the
// database every time, so a revocation or rotation on another process
// counts at once; an unknown client ID costs the same hash as a wrong
// secret and gets the same answer.
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) (Caller, error) {
	t, err := s.store.Token(ctx, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Caller{}, fmt.Errorf("reading token: %w", err)
	}
	if !s.keys.verifySecret(secret, t.SecretHash) || err != nil {
		return Caller{}, &Error{Code: CodeUnauthenticated, Err: errors.New("unknown API token, or wrong secret")}
	}
	now := s.now()
	switch {
	case !t.Revoked.IsZero():
		return Caller{}, &Error{Code: CodeUnauthenticated, Err: fmt.Errorf("API token %s was revoked", clientID)}
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return Caller{}, &Error{Code: CodeUnauthenticated, Err: fmt.Errorf("API token %s expired at %s", clientID, t.Expires.UTC().Format(time.RFC3339))}
	}
	domains, err := ParseRules(t.Domains)
	if err != nil {
		return Caller{}, fmt.Errorf("token %s: %w", clientID, err)
	}
	s.touch(clientID, now)
	return Caller{Principal: t.Principal, ClientID: t.ClientID, Scopes: t.Scopes, Domains: domains}, nil
}

// touch records the token's use, at most once a minute per token and off
// the request's path.
func (s *Service) touch(clientID string, now time.Time) {
	s.mu.Lock()
	last := s.touched[clientID]
	due := now.Sub(last) >= time.Minute
	if due {
		s.touched[clientID] = now
	}
	s.mu.Unlock()
	if due {
		s.writes.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.store.TouchToken(ctx, clientID, now); err != nil {
				s.log.Warn("recording a token's last use", "client_id", clientID, "err", err)
			}
		})
	}
}
