// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package idtoken verifies the signed identity tokens (JWTs) of trusted
// OpenID Connect issuers: a cluster's ServiceAccount tokens, a CI
// system's. It checks, in order, the token's form, its algorithm, its
// issuer, its signature against the issuer's keys (found by discovery,
// fetched from a JWKS URL, or given), its audience, and its times; a
// refusal names the check that failed and never repeats the token.
package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is what a token is verified against.
type Issuer struct {
	// URL is the issuer as its tokens' iss claim spells it.
	URL string
	// JWKSURL is where its keys are; "": OpenID discovery at URL.
	JWKSURL string
	// JWKS, when set, are its keys: nothing is fetched.
	JWKS []byte
	// CA is the PEM roots discovery and keys are fetched with; none:
	// the system's.
	CA []byte
	// Audience is what the token's aud must hold.
	Audience string
	// Skew is the clock difference allowed to exp, nbf and iat.
	Skew time.Duration
	// MaxLifetime, when set, is the longest a token may be valid for.
	MaxLifetime time.Duration
}

// Claims are a verified token's claims.
type Claims struct {
	Issuer, Subject string
	// ID is the token's jti; Kubernetes' tokens carry one.
	ID       string
	Audience []string
	Expiry   time.Time
	// Raw are every claim, for bindings that match others than sub.
	Raw map[string]any
}

// String is a claim's value as a binding compares it: a string claim's
// text, "" for any other.
func (c Claims) String(name string) string {
	s, _ := c.Raw[name].(string)
	return s
}

// The checks a token fails, as refusals name them.
const (
	CheckForm      = "form"
	CheckAlgorithm = "algorithm"
	CheckIssuer    = "issuer"
	CheckKeys      = "keys" // the issuer's keys could not be had: no fault of the token's
	CheckSignature = "signature"
	CheckAudience  = "audience"
	CheckExpiry    = "expiry"
	CheckNotBefore = "not before"
	CheckLifetime  = "lifetime"
)

// Error is a refused token: the check it failed, and why.
type Error struct {
	Check string
	Err   error
}

func (e *Error) Error() string { return e.Check + " check failed: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func refuse(check, format string, a ...any) *Error {
	return &Error{Check: check, Err: fmt.Errorf(format, a...)}
}

// Algorithms are the signature algorithms accepted: every asymmetric one
// (a shared-key HMAC would let anyone holding the key forge a token, and
// "none" signs nothing).
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// IssuerOf reads a token's iss claim without verifying anything, so that
// the caller can find the issuer to verify it against.
func IssuerOf(raw string) (string, error) {
	if strings.Count(raw, ".") != 2 {
		return "", refuse(CheckForm, "not a JSON Web Token (three base64url parts)")
	}
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return "", parseError(err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "", refuse(CheckForm, "claims: %v", err)
	}
	if c.Issuer == "" {
		return "", refuse(CheckIssuer, "the token names no issuer (iss)")
	}
	return c.Issuer, nil
}

func parseError(err error) *Error {
	if strings.Contains(err.Error(), "unexpected signature algorithm") {
		return refuse(CheckAlgorithm, "%v (accepted: %s)", err, algorithmNames())
	}
	return refuse(CheckForm, "%v", err)
}

func algorithmNames() string {
	names := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// Verify checks raw against iss, with its keys, at now, and returns its
// claims. A token whose signature held but which failed a later check
// returns its claims beside the refusal, for the audit log.
func (k *KeySets) Verify(ctx context.Context, raw string, iss Issuer, now time.Time) (Claims, error) {
	if strings.Count(raw, ".") != 2 {
		return Claims{}, refuse(CheckForm, "not a JSON Web Token (three base64url parts)")
	}
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return Claims{}, parseError(err)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Claims{}, refuse(CheckForm, "claims: %v", err)
	}
	if unverified.Issuer != iss.URL {
		return Claims{}, refuse(CheckIssuer, "issued by %q, not %q", unverified.Issuer, iss.URL)
	}
	keys, err := k.keys(ctx, iss, tok.Headers[0].KeyID)
	if err != nil {
		return Claims{}, &Error{Check: CheckKeys, Err: err}
	}
	var (
		c   jwt.Claims
		all map[string]any
	)
	verified := false
	for _, k := range keys {
		if tok.Claims(k.Key, &c, &all) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Claims{}, refuse(CheckSignature, "no key of issuer %s (key ID %q) verifies the signature", iss.URL, tok.Headers[0].KeyID)
	}
	out := Claims{Issuer: c.Issuer, Subject: c.Subject, ID: c.ID, Audience: c.Audience, Raw: all}
	if c.Expiry != nil {
		out.Expiry = c.Expiry.Time()
	}
	return out, checkClaims(c, iss, now)
}

// checkClaims checks a verified token's audience and times.
func checkClaims(c jwt.Claims, iss Issuer, now time.Time) error {
	if !slices.Contains([]string(c.Audience), iss.Audience) {
		return refuse(CheckAudience, "the token is for %s, not %q", audienceList(c.Audience), iss.Audience)
	}
	if c.Expiry == nil {
		return refuse(CheckExpiry, "the token has no expiry (exp)")
	}
	exp := c.Expiry.Time()
	if !now.Before(exp.Add(iss.Skew)) {
		return refuse(CheckExpiry, "the token expired at %s (now %s, skew allowed %s)", stamp(exp), stamp(now), iss.Skew)
	}
	if c.NotBefore != nil && now.Add(iss.Skew).Before(c.NotBefore.Time()) {
		return refuse(CheckNotBefore, "the token is not valid before %s (now %s, skew allowed %s)", stamp(c.NotBefore.Time()), stamp(now), iss.Skew)
	}
	if c.IssuedAt != nil && now.Add(iss.Skew).Before(c.IssuedAt.Time()) {
		return refuse(CheckNotBefore, "the token was issued in the future, at %s (now %s, skew allowed %s)", stamp(c.IssuedAt.Time()), stamp(now), iss.Skew)
	}
	if iss.MaxLifetime > 0 {
		start := now
		if c.IssuedAt != nil {
			start = c.IssuedAt.Time()
		}
		if c.NotBefore != nil && c.NotBefore.Time().Before(start) {
			start = c.NotBefore.Time()
		}
		if life := exp.Sub(start); life > iss.MaxLifetime {
			return refuse(CheckLifetime, "the token is valid for %s, longer than the %s issuer %s allows", life.Round(time.Second), iss.MaxLifetime, iss.URL)
		}
	}
	return nil
}

func audienceList(aud jwt.Audience) string {
	if len(aud) == 0 {
		return "no audience"
	}
	b, _ := json.Marshal([]string(aud))
	return string(b)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// errNoKeys: an issuer's key set holds no key.
var errNoKeys = errors.New("the issuer's key set is empty")
