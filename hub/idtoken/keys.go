// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package idtoken

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeySets fetches issuers' keys and keeps them: for Refresh, or until a
// token names a key they lack (an issuer that rotated its keys), but
// fetched again at most every Retry, so that tokens naming keys nobody
// has cannot make the hub hammer an issuer.
type KeySets struct {
	Refresh, Retry time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time

	mu   sync.Mutex
	sets map[string]*keySet // by where the keys come from
}

// NewKeySets keeps keys an hour, and fetches again at most every 10 seconds.
func NewKeySets() *KeySets { return &KeySets{Refresh: time.Hour, Retry: 10 * time.Second} }

type keySet struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // when keys were had
	tried   time.Time // the last fetch, whatever came of it
	err     error     // what the last fetch failed with
}

const maxDocument = 1 << 20 // a discovery document or key set, at most

// keys are iss's signing keys of ID kid (every key when kid is "").
func (k *KeySets) keys(ctx context.Context, iss Issuer, kid string) ([]jose.JSONWebKey, error) {
	if len(iss.JWKS) > 0 {
		set, err := parseJWKS(iss.JWKS)
		if err != nil {
			return nil, err
		}
		return pick(set, kid), nil
	}
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	k.mu.Lock()
	if k.sets == nil {
		k.sets = map[string]*keySet{}
	}
	source := iss.URL + "\x00" + iss.JWKSURL + "\x00" + string(iss.CA)
	s := k.sets[source]
	if s == nil {
		s = &keySet{}
		k.sets[source] = s
	}
	k.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	t := now()
	due := s.tried.IsZero() || t.Sub(s.tried) >= k.Retry
	if due && (s.fetched.IsZero() || t.Sub(s.fetched) >= k.Refresh || len(pick(s.keys, kid)) == 0) {
		s.tried = t
		// A failed refresh keeps the keys had before: an issuer that is
		// down for a while does not lock its clients out.
		if keys, err := fetch(ctx, iss); err == nil {
			s.keys, s.fetched, s.err = keys, t, nil
		} else {
			s.err = err
		}
	}
	if s.fetched.IsZero() {
		return nil, s.err
	}
	return pick(s.keys, kid), nil
}

// pick are the signing keys of ID kid, or every signing key for "".
func pick(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.Use != "" && k.Use != "sig" || !k.Valid() || !k.IsPublic() {
			continue
		}
		if kid == "" || k.KeyID == kid {
			out = append(out, k)
		}
	}
	return out
}

// ParseJWKS reads a JSON Web Key Set, and refuses one without a public
// signing key.
func ParseJWKS(data []byte) error {
	_, err := parseJWKS(data)
	return err
}

func parseJWKS(data []byte) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	if len(pick(set.Keys, "")) == 0 {
		return nil, fmt.Errorf("key set: %w", errNoKeys)
	}
	return set.Keys, nil
}

// fetch gets iss's keys: from its JWKS URL, or where its discovery
// document says.
func fetch(ctx context.Context, iss Issuer) ([]jose.JSONWebKey, error) {
	client, err := httpClient(iss.CA)
	if err != nil {
		return nil, err
	}
	jwksURL := iss.JWKSURL
	if jwksURL == "" {
		p, err := discover(ctx, client, iss.URL)
		if err != nil {
			return nil, err
		}
		jwksURL = p.JWKSURI
	}
	var raw json.RawMessage
	if err := getJSON(ctx, client, jwksURL, &raw); err != nil {
		return nil, err
	}
	keys, err := parseJWKS(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", jwksURL, err)
	}
	return keys, nil
}

// Provider is what an OpenID provider's discovery document names.
type Provider struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// Discover reads issuer's OpenID discovery document, with ca as the roots
// of its certificate (none: the system's).
func Discover(ctx context.Context, issuer string, ca []byte) (Provider, error) {
	client, err := httpClient(ca)
	if err != nil {
		return Provider{}, err
	}
	return discover(ctx, client, issuer)
}

func discover(ctx context.Context, client *http.Client, issuer string) (Provider, error) {
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var p Provider
	if err := getJSON(ctx, client, url, &p); err != nil {
		return p, err
	}
	switch {
	case p.Issuer != issuer:
		return p, fmt.Errorf("discovery %s names issuer %q, not %q", url, p.Issuer, issuer)
	case p.JWKSURI == "":
		return p, fmt.Errorf("discovery %s names no jwks_uri", url)
	}
	return p, nil
}

func httpClient(ca []byte) (*http.Client, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	if len(ca) == 0 {
		return c, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("the issuer's CA holds no PEM certificate")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = t
	return c, nil
}

func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", url, err)
	}
	// A kube-apiserver answers its key set only to a client that takes
	// application/jwk-set+json (406 otherwise).
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return fmt.Errorf("fetching %s: %w", url, err)
	}
	if len(body) > maxDocument {
		return fmt.Errorf("fetching %s: longer than %d bytes", url, maxDocument)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("fetching %s: %w", url, err)
	}
	return nil
}
