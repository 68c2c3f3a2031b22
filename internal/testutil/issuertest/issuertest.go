// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package issuertest is an OpenID Connect issuer on loopback for tests:
// discovery, a key set that can rotate or go down, and tokens signed with
// its keys (or forged).
package issuertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer serves discovery at /.well-known/openid-configuration and its
// key set at /openid/v1/jwks, as a kube-apiserver does.
type Issuer struct {
	URL string
	// Fetches counts the key set's fetches.
	Fetches atomic.Int32
	// Down makes it answer 503 to everything.
	Down atomic.Bool

	mu     sync.Mutex
	keys   map[string]any // private keys by key ID
	served []string       // the key IDs its key set holds
}

// New starts an issuer with one RSA key, "rsa-1", until the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{keys: map[string]any{}}
	i.AddKey(t, "rsa-1", true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": i.URL, "jwks_uri": i.URL + "/openid/v1/jwks"})
		case "/openid/v1/jwks":
			// As a kube-apiserver: only to a client that takes a key set.
			if !strings.Contains(r.Header.Get("Accept"), "application/jwk-set+json") {
				http.Error(w, "not acceptable", http.StatusNotAcceptable)
				return
			}
			i.Fetches.Add(1)
			w.Header().Set("Content-Type", "application/jwk-set+json")
			_, _ = w.Write(i.JWKS())
		default:
			http.NotFound(w, r)
		}
	}))
	i.URL = srv.URL
	t.Cleanup(srv.Close)
	return i
}

// AddKey makes a key (ECDSA P-256 when kid starts with "ec", else RSA),
// and serves it in the key set when serve is true.
func (i *Issuer) AddKey(t testing.TB, kid string, serve bool) {
	t.Helper()
	var key any
	var err error
	if strings.HasPrefix(kid, "ec") {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys[kid] = key
	if serve {
		i.served = append(i.served, kid)
	}
}

// JWKS is its key set.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, kid := range i.served {
		k := jose.JSONWebKey{Key: i.keys[kid], KeyID: kid, Use: "sig"}
		set.Keys = append(set.Keys, k.Public())
	}
	b, _ := json.Marshal(set)
	return b
}

// Sign makes a token of claims with key kid.
func (i *Issuer) Sign(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	i.mu.Lock()
	key := i.keys[kid]
	i.mu.Unlock()
	alg := jose.RS256
	if strings.HasPrefix(kid, "ec") {
		alg = jose.ES256
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ServiceAccount are the claims of a Kubernetes ServiceAccount's token of
// this issuer for audience, issued at iat for ten minutes; edit (when not
// nil) changes them.
func (i *Issuer) ServiceAccount(namespace, name, audience string, iat time.Time, edit func(map[string]any)) map[string]any {
	c := map[string]any{"iss": i.URL, "sub": "system:serviceaccount:" + namespace + ":" + name, "aud": []string{audience},
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(10 * time.Minute).Unix(), "jti": randomJTI(),
		"kubernetes.io": map[string]any{"namespace": namespace, "serviceaccount": map[string]string{"name": name}}}
	if edit != nil {
		edit(c)
	}
	return c
}

func randomJTI() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Part is one base64url part of a token: a header or claims.
func Part(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Tampered is token with its claims replaced, its signature kept.
func Tampered(token string, claims map[string]any) string {
	parts := strings.Split(token, ".")
	return parts[0] + "." + Part(claims) + "." + parts[2]
}

// AlgNone is an unsigned token of claims ("alg": "none").
func AlgNone(claims map[string]any) string {
	return Part(map[string]string{"alg": "none", "typ": "JWT"}) + "." + Part(claims) + "."
}
