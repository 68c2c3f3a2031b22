// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/idtoken"
	"github.com/acmehub/acmehub/hub/store"
)

// Workload identity: a client may come with a token its own issuer
// signed (a cluster's ServiceAccount token, a CI system's) instead of an
// API token's client ID and secret. The hub trusts the issuers an
// administrator added and maps each token to a principal through the
// first binding whose claims it matches; the binding carries the roles
// and Domain Match Rules a token would.

// CheckBinding is the check a token of a trusted issuer fails when no
// binding matches it, beside idtoken's.
const CheckBinding = "binding"

// Issuer defaults.
const (
	DefaultSkew        = time.Minute
	DefaultMaxLifetime = 24 * time.Hour
)

var issuerIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// AddIssuer trusts an issuer. Its ID is a DNS label; its URL https (or
// http on loopback); without an audience the hub's URL is required of
// its tokens.
func (s *Service) AddIssuer(ctx context.Context, actor Caller, i store.Issuer) (store.Issuer, error) {
	i, err := s.checkIssuer(i)
	if err == nil && slices.ContainsFunc(s.issuers, func(c store.Issuer) bool { return c.ID == i.ID || c.URL == i.URL }) {
		err = &Error{Code: CodeConflict, Err: fmt.Errorf("issuer %s (%s): the configuration file declares an issuer of that ID or URL", i.ID, i.URL)}
	}
	if err == nil {
		i.Created = s.now()
		err = s.store.CreateIssuer(ctx, i)
	}
	s.auditAdmin(ctx, actor, fmt.Sprintf("add issuer %s (%s), audience %q", i.ID, i.URL, i.Audience), err)
	return i, err
}

func (s *Service) checkIssuer(i store.Issuer) (store.Issuer, error) {
	if !issuerIDPattern.MatchString(i.ID) {
		return i, invalid(fmt.Errorf("issuer ID %q: must be a DNS label (a-z, 0-9, -)", i.ID))
	}
	if err := checkFetchURL("issuer URL", i.URL); err != nil {
		return i, err
	}
	if i.JWKSURL != "" {
		if err := checkFetchURL("JWKS URL", i.JWKSURL); err != nil {
			return i, err
		}
	}
	if i.JWKS != "" {
		if err := idtoken.ParseJWKS([]byte(i.JWKS)); err != nil {
			return i, invalid(fmt.Errorf("issuer %s: %w", i.ID, err))
		}
	}
	if i.CA != "" && !strings.Contains(i.CA, "-----BEGIN CERTIFICATE-----") {
		return i, invalid(fmt.Errorf("issuer %s: the CA must be PEM certificates", i.ID))
	}
	if i.Audience == "" {
		if s.hubURL == "" {
			return i, invalid(fmt.Errorf("issuer %s needs an audience: [hub] url, the default, is not set", i.ID))
		}
		i.Audience = s.hubURL
	}
	switch {
	case i.Skew < 0 || i.Skew > 10*time.Minute:
		return i, invalid(fmt.Errorf("issuer %s: skew %s must be between 0 and 10m", i.ID, i.Skew))
	case i.Skew == 0:
		i.Skew = DefaultSkew
	}
	switch {
	case i.MaxLifetime < 0:
		return i, invalid(fmt.Errorf("issuer %s: max lifetime %s must not be negative", i.ID, i.MaxLifetime))
	case i.MaxLifetime == 0:
		i.MaxLifetime = DefaultMaxLifetime
	}
	return i, nil
}

// checkFetchURL accepts https, and http to a loopback host.
func checkFetchURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return invalid(fmt.Errorf("%s %q: not an absolute URL", what, raw))
	}
	host := u.Hostname()
	if u.Scheme == "https" || u.Scheme == "http" && (host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1") {
		return nil
	}
	return invalid(fmt.Errorf("%s %q: must be https (http only on loopback)", what, raw))
}

// Issuers lists the trusted issuers: the configuration file's, then the
// database's.
func (s *Service) Issuers(ctx context.Context) ([]store.Issuer, error) {
	stored, err := s.store.Issuers(ctx)
	return append(slices.Clone(s.issuers), stored...), err
}

// RemoveIssuer stops trusting an issuer, and removes its bindings.
func (s *Service) RemoveIssuer(ctx context.Context, actor Caller, id string) error {
	var err error
	if slices.ContainsFunc(s.issuers, func(c store.Issuer) bool { return c.ID == id }) {
		err = invalid(fmt.Errorf("issuer %s is declared in the configuration file: remove it there", id))
	} else {
		err = notFound(s.store.DeleteIssuer(ctx, id))
	}
	s.auditAdmin(ctx, actor, "remove issuer "+id+" and its bindings", err)
	return err
}

// BindingOptions describe a binding to create.
type BindingOptions struct {
	Issuer    string
	Principal string
	// Claims a token must match; see store.Binding.
	Claims  map[string]string
	Scopes  []string
	Domains []string
}

// ServiceAccountSubject is the sub of a Kubernetes ServiceAccount's
// tokens; name "*" stands for every ServiceAccount of the namespace.
func ServiceAccountSubject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// Bind maps an issuer's tokens whose claims match to a principal. Its
// scopes must be roles the principal holds, as a token's.
func (s *Service) Bind(ctx context.Context, actor Caller, o BindingOptions) (store.Binding, error) {
	b, err := s.binding(ctx, o)
	if err == nil {
		err = s.store.CreateBinding(ctx, b)
	}
	s.auditAdmin(ctx, actor, fmt.Sprintf("bind %s of issuer %s to principal %s, scopes %v", ClaimList(o.Claims), o.Issuer, o.Principal, o.Scopes), err)
	return b, err
}

func (s *Service) binding(ctx context.Context, o BindingOptions) (store.Binding, error) {
	issuers, err := s.Issuers(ctx)
	if err != nil {
		return store.Binding{}, err
	}
	if !slices.ContainsFunc(issuers, func(i store.Issuer) bool { return i.ID == o.Issuer }) {
		return store.Binding{}, invalid(fmt.Errorf("no issuer %q: add it first (acmehub admin issuers add)", o.Issuer))
	}
	if len(o.Claims) == 0 {
		return store.Binding{}, invalid(errors.New("a binding needs at least one claim to match (sub, for a ServiceAccount)"))
	}
	for name, value := range o.Claims {
		if name == "" || value == "" || value == "*" {
			return store.Binding{}, invalid(fmt.Errorf("claim %q = %q: a binding matches a claim by name, to a value or a prefix ending in *", name, value))
		}
	}
	p, err := s.store.Principal(ctx, o.Principal)
	if err != nil {
		return store.Binding{}, invalid(err)
	}
	if len(o.Scopes) == 0 {
		return store.Binding{}, invalid(errors.New("a binding needs at least one scope (role)"))
	}
	for _, scope := range o.Scopes {
		if !slices.Contains(p.Roles, scope) {
			return store.Binding{}, invalid(fmt.Errorf("principal %s does not hold role %q, so a binding to it cannot carry it", p.ID, scope))
		}
	}
	domains, err := ParseRules(o.Domains)
	if err != nil {
		return store.Binding{}, invalid(err)
	}
	return store.Binding{ID: "bnd_" + randomID()[:16], Issuer: o.Issuer, Principal: p.ID, Claims: o.Claims, Scopes: o.Scopes,
		Domains: domains.Strings(), Created: s.now()}, nil
}

// Bindings lists the bindings of issuer ("": every issuer's).
func (s *Service) Bindings(ctx context.Context, issuer string) ([]store.Binding, error) {
	return s.store.Bindings(ctx, issuer)
}

// Unbind removes a binding.
func (s *Service) Unbind(ctx context.Context, actor Caller, id string) error {
	err := notFound(s.store.DeleteBinding(ctx, id))
	s.auditAdmin(ctx, actor, "remove binding "+id, err)
	return err
}

// AuthenticateBearer checks an issuer's signed token and returns the
// caller its binding makes it. A refusal names the check that failed; its
// caller names what is known of the token (its issuer, and once the
// signature holds, its subject and ID) for the audit log.
func (s *Service) AuthenticateBearer(ctx context.Context, raw string) (Caller, error) {
	iss, err := idtoken.IssuerOf(raw)
	if err != nil {
		return Caller{Issuer: "?"}, bearerRefusal("", err)
	}
	issuers, err := s.Issuers(ctx)
	if err != nil {
		return Caller{}, fmt.Errorf("reading issuers: %w", err)
	}
	i := slices.IndexFunc(issuers, func(i store.Issuer) bool { return i.URL == iss })
	if i < 0 {
		return Caller{Issuer: "?"}, bearerRefusal("", &idtoken.Error{Check: idtoken.CheckIssuer,
			Err: fmt.Errorf("issuer %q is not trusted (acmehub admin issuers list)", iss)})
	}
	issuer := issuers[i]
	claims, err := s.keySets.Verify(ctx, raw, idtoken.Issuer{URL: issuer.URL, JWKSURL: issuer.JWKSURL, JWKS: []byte(issuer.JWKS),
		CA: []byte(issuer.CA), Audience: issuer.Audience, Skew: issuer.Skew, MaxLifetime: issuer.MaxLifetime}, s.now())
	who := Caller{Issuer: issuer.ID, Subject: claims.Subject, TokenID: claims.ID}
	if err != nil {
		return who, bearerRefusal(issuer.ID, err)
	}
	bindings, err := s.store.Bindings(ctx, issuer.ID)
	if err != nil {
		return who, err
	}
	b, ok := bestBinding(bindings, claims)
	if !ok {
		return who, bearerRefusal(issuer.ID, &idtoken.Error{Check: CheckBinding,
			Err: fmt.Errorf("no binding of issuer %s matches subject %q", issuer.ID, claims.Subject)})
	}
	domains, err := ParseRules(b.Domains)
	if err != nil {
		return who, fmt.Errorf("binding %s: %w", b.ID, err)
	}
	who.Principal, who.Scopes, who.Domains = b.Principal, b.Scopes, domains
	return who, nil
}

// bearerRefusal makes a token's refusal: unauthenticated, or a provider
// failure when the issuer's keys could not be had.
func bearerRefusal(issuer string, err error) error {
	code := CodeUnauthenticated
	var e *idtoken.Error
	if errors.As(err, &e) && e.Check == idtoken.CheckKeys {
		code = CodeProvider
	}
	if issuer != "" {
		err = fmt.Errorf("bearer token of issuer %s: %w", issuer, err)
	} else {
		err = fmt.Errorf("bearer token: %w", err)
	}
	return &Error{Code: code, Err: err}
}

// bestBinding is the binding whose claims the token matches that names
// the most claims exactly, then the most claims; the oldest among equals.
func bestBinding(bindings []store.Binding, c idtoken.Claims) (store.Binding, bool) {
	best, bestExact, bestN := -1, -1, -1
	for i, b := range bindings {
		exact, ok := matches(b.Claims, c)
		if !ok {
			continue
		}
		if exact > bestExact || exact == bestExact && len(b.Claims) > bestN {
			best, bestExact, bestN = i, exact, len(b.Claims)
		}
	}
	if best < 0 {
		return store.Binding{}, false
	}
	return bindings[best], true
}

// matches reports whether the token holds every claim, and how many of
// them the binding names exactly (not as a prefix).
func matches(want map[string]string, c idtoken.Claims) (exact int, ok bool) {
	for name, value := range want {
		got := c.String(name)
		if got == "" {
			return 0, false
		}
		if prefix, wild := strings.CutSuffix(value, "*"); wild {
			if !strings.HasPrefix(got, prefix) {
				return 0, false
			}
			continue
		}
		if got != value {
			return 0, false
		}
		exact++
	}
	return exact, true
}

// ClaimList is a binding's claims as the audit log and the CLI write
// them: name=value, by name, comma-separated.
func ClaimList(claims map[string]string) string {
	names := make([]string, 0, len(claims))
	for n := range claims {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + claims[n]
	}
	return strings.Join(parts, ",")
}
