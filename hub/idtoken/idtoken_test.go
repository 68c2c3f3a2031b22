// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package idtoken

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil/issuertest"
)

func issuerOf(ti *issuertest.Issuer) Issuer {
	return Issuer{URL: ti.URL, Audience: "https://hub.example", Skew: time.Minute, MaxLifetime: 2 * time.Hour}
}

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// claimsOf are the webhook's ServiceAccount's claims of ti, issued at t0
// for ten minutes, naming iss.
func claimsOf(ti *issuertest.Issuer, iss string, edit func(map[string]any)) map[string]any {
	return ti.ServiceAccount("acmehub", "acmehub-webhook", "https://hub.example", t0, func(c map[string]any) {
		c["iss"] = iss
		if edit != nil {
			edit(c)
		}
	})
}

func TestVerify(t *testing.T) {
	ti := issuertest.New(t)
	other := issuertest.New(t) // another cluster, with keys of its own
	ti.AddKey(t, "ec-1", true)
	good := ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, nil))
	parts := strings.Split(good, ".")
	hs := func() string { // HS256 with the issuer's public key as the secret
		head, body := issuertest.Part(map[string]string{"alg": "HS256", "kid": "rsa-1"}), parts[1]
		m := hmac.New(sha256.New, []byte(ti.JWKS()))
		m.Write([]byte(head + "." + body))
		return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}()
	tests := []struct {
		name  string
		token string
		at    time.Time
		check string // "": accepted
	}{
		{"a service account's token", good, t0.Add(time.Minute), ""},
		{"signed with the issuer's EC key", ti.Sign(t, "ec-1", claimsOf(ti, ti.URL, nil)), t0, ""},
		{"expired, within the skew", good, t0.Add(10*time.Minute + 30*time.Second), ""},
		{"expired", good, t0.Add(11*time.Minute + time.Second), CheckExpiry},
		{"not yet valid", good, t0.Add(-2 * time.Minute), CheckNotBefore},
		{"for another audience", ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, func(c map[string]any) { c["aud"] = []string{"vault"} })), t0, CheckAudience},
		{"with no audience", ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, func(c map[string]any) { delete(c, "aud") })), t0, CheckAudience},
		{"with no expiry", ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, func(c map[string]any) { delete(c, "exp") })), t0, CheckExpiry},
		{"valid for longer than allowed", ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, func(c map[string]any) { c["exp"] = t0.Add(48 * time.Hour).Unix() })), t0, CheckLifetime},
		{"of another issuer", other.Sign(t, "rsa-1", claimsOf(other, other.URL, nil)), t0, CheckIssuer},
		{"naming this issuer, signed by another's key", other.Sign(t, "rsa-1", claimsOf(other, ti.URL, nil)), t0, CheckSignature},
		{"its payload tampered with", issuertest.Tampered(good, claimsOf(ti, ti.URL, func(c map[string]any) { c["sub"] = "system:serviceaccount:kube-system:admin" })), t0, CheckSignature},
		{"alg none", issuertest.AlgNone(claimsOf(ti, ti.URL, nil)), t0, CheckAlgorithm},
		{"HS256 keyed with the public key", hs, t0, CheckAlgorithm},
		{"not a JWT", "0123456789abcdef", t0, CheckForm},
		{"garbage in three parts", "a.b.c", t0, CheckForm},
	}
	ks := NewKeySets()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ks.Verify(context.Background(), tt.token, issuerOf(ti), tt.at)
			var e *Error
			switch {
			case tt.check == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.check == "" && c.Subject != "system:serviceaccount:acmehub:acmehub-webhook":
				t.Errorf("subject %q", c.Subject)
			case tt.check != "" && !errors.As(err, &e):
				t.Fatalf("accepted, or refused without a check: %v", err)
			case tt.check != "" && e.Check != tt.check:
				t.Errorf("refused by the %s check (%v), want the %s check", e.Check, err, tt.check)
			case err != nil && strings.Contains(err.Error(), parts[2]):
				t.Errorf("the refusal repeats the token: %v", err)
			}
		})
	}
}

func TestKeySets(t *testing.T) {
	ctx := context.Background()
	t.Run("a rotated key is fetched, a key nobody has at most every Retry", func(t *testing.T) {
		ti := issuertest.New(t)
		now := t0
		ks := &KeySets{Refresh: time.Hour, Retry: 10 * time.Second, Now: func() time.Time { return now }}
		if _, err := ks.Verify(ctx, ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, nil)), issuerOf(ti), t0); err != nil {
			t.Fatal(err)
		}
		ti.AddKey(t, "rsa-2", true)
		now = now.Add(11 * time.Second)
		if _, err := ks.Verify(ctx, ti.Sign(t, "rsa-2", claimsOf(ti, ti.URL, nil)), issuerOf(ti), t0); err != nil {
			t.Fatalf("a token of the rotated key: %v", err)
		}
		ti.AddKey(t, "unserved", false)
		forged := ti.Sign(t, "unserved", claimsOf(ti, ti.URL, nil))
		before := ti.Fetches.Load()
		for range 50 {
			if _, err := ks.Verify(ctx, forged, issuerOf(ti), t0); err == nil {
				t.Fatal("a token of a key the issuer does not serve was accepted")
			}
		}
		if n := ti.Fetches.Load() - before; n != 0 {
			t.Errorf("50 tokens of an unknown key within Retry of the last fetch fetched %d times, want 0", n)
		}
		now = now.Add(11 * time.Second)
		_, _ = ks.Verify(ctx, forged, issuerOf(ti), t0)
		if n := ti.Fetches.Load() - before; n != 1 {
			t.Errorf("after Retry: %d fetches, want 1", n)
		}
	})
	t.Run("an issuer that went down keeps its keys", func(t *testing.T) {
		ti := issuertest.New(t)
		now := t0
		ks := &KeySets{Refresh: time.Minute, Retry: time.Second, Now: func() time.Time { return now }}
		tok := ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, nil))
		if _, err := ks.Verify(ctx, tok, issuerOf(ti), t0); err != nil {
			t.Fatal(err)
		}
		ti.Down.Store(true)
		now = now.Add(2 * time.Minute)
		if _, err := ks.Verify(ctx, tok, issuerOf(ti), t0); err != nil {
			t.Errorf("refused while the issuer is down, with its keys fetched before: %v", err)
		}
	})
	t.Run("an issuer never reached", func(t *testing.T) {
		ti := issuertest.New(t)
		ti.Down.Store(true)
		_, err := NewKeySets().Verify(ctx, ti.Sign(t, "rsa-1", claimsOf(ti, ti.URL, nil)), issuerOf(ti), t0)
		var e *Error
		if !errors.As(err, &e) || e.Check != CheckKeys || !strings.Contains(err.Error(), "503") {
			t.Errorf("got %v, want the keys check naming the issuer's answer", err)
		}
	})
	t.Run("a key set given, nothing fetched", func(t *testing.T) {
		ti := issuertest.New(t)
		iss := issuerOf(ti)
		iss.JWKS = ti.JWKS()
		iss.URL = "https://kubernetes.default.svc.cluster.local"
		ti.Down.Store(true)
		if _, err := NewKeySets().Verify(ctx, ti.Sign(t, "rsa-1", claimsOf(ti, iss.URL, nil)), iss, t0); err != nil {
			t.Errorf("refused: %v", err)
		}
		if err := ParseJWKS([]byte(`{"keys":[]}`)); !errors.Is(err, errNoKeys) {
			t.Errorf("an empty key set: %v", err)
		}
	})
	t.Run("discovery naming another issuer", func(t *testing.T) {
		ti := issuertest.New(t)
		iss := issuerOf(ti)
		iss.URL = strings.Replace(iss.URL, "127.0.0.1", "localhost", 1)
		_, err := NewKeySets().Verify(ctx, ti.Sign(t, "rsa-1", claimsOf(ti, iss.URL, nil)), iss, t0)
		if err == nil || !strings.Contains(err.Error(), "names issuer") {
			t.Errorf("got %v, want discovery's issuer refused", err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3gifQ.c2ln")
	ks := NewKeySets()
	iss := Issuer{URL: "https://x", JWKS: []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`),
		Audience: "a"}
	f.Fuzz(func(t *testing.T, raw string) {
		_, _ = IssuerOf(raw)
		if _, err := ks.Verify(context.Background(), raw, iss, t0); err == nil {
			t.Fatalf("accepted %q", raw)
		}
	})
}
