// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/acmehub/acmehub/hub/idtoken"
	"github.com/acmehub/acmehub/hub/managed"
)

// SSO signs people in through an OpenID provider: the authorization code
// flow with PKCE, the ID token verified (signature by the provider's
// keys, issuer, audience, expiry, nonce), and the roles of the person's
// groups. The console's session then carries their name and roles.
type SSO struct {
	// Issuer is the provider's; its endpoints come from its discovery.
	Issuer                 string
	ClientID, ClientSecret string
	// RedirectURL is the hub's <url>/console/signin/callback.
	RedirectURL string
	Scopes      []string
	// GroupsClaim lists a person's groups in the ID token.
	GroupsClaim string
	// Roles are the roles each group gives.
	Roles map[string][]string
	// Name names the provider on the sign-in page.
	Name string

	mu       sync.Mutex
	provider idtoken.Provider // discovered, once it answered
	keys     *idtoken.KeySets
}

// ssoCookie holds a sign-in under way, sealed: state, nonce, the PKCE
// verifier and where to go after. Lax, so that the provider's redirect
// back brings it.
const ssoCookie = "__Host-acmehub-sso"

// ssoFlow is what the cookie seals.
type ssoFlow struct {
	State, Nonce, Verifier, Next string
	Started                      int64
}

// ssoFlowLifetime bounds the time a person may take at the provider.
const ssoFlowLifetime = 10 * time.Minute

func (s *SSO) endpoints(ctx context.Context) (idtoken.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider.TokenEndpoint != "" {
		return s.provider, nil
	}
	p, err := idtoken.Discover(ctx, s.Issuer, nil)
	if err != nil {
		return p, err
	}
	if p.AuthorizationEndpoint == "" || p.TokenEndpoint == "" {
		return p, fmt.Errorf("the discovery of %s names no authorization or token endpoint", s.Issuer)
	}
	s.provider = p
	if s.keys == nil {
		s.keys = idtoken.NewKeySets()
	}
	return p, nil
}

func (s *SSO) oauth2(p idtoken.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: s.RedirectURL, Scopes: s.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: p.AuthorizationEndpoint, TokenURL: p.TokenEndpoint}}
}

// ssoStart sends the person to the provider.
func (h *Handler) ssoStart(w http.ResponseWriter, r *http.Request) {
	sso := h.o.SSO
	p, err := sso.endpoints(r.Context())
	if err != nil {
		h.o.Log.Error("discovering the console's OpenID provider", "issuer", sso.Issuer, "err", err)
		h.refuse(w, http.StatusBadGateway, "The identity provider "+sso.Issuer+" could not be reached: "+err.Error())
		return
	}
	flow := ssoFlow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(r.URL.Query().Get("next")), Started: h.o.Now().Unix()}
	raw, _ := json.Marshal(flow)
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: h.svc.SealNote(raw), Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(ssoFlowLifetime.Seconds())})
	http.Redirect(w, r, sso.oauth2(p).AuthCodeURL(flow.State, oauth2.S256ChallengeOption(flow.Verifier),
		oauth2.SetAuthURLParam("nonce", flow.Nonce)), http.StatusSeeOther)
}

// ssoCallback takes the person back from the provider: the code is
// exchanged (with the PKCE verifier), the ID token verified, and a person
// whose groups give the admin role gets a session.
func (h *Handler) ssoCallback(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	flow, err := h.ssoFlow(r)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, "The sign-in cannot go on: "+err.Error()+". Sign in again.")
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		h.refuse(w, http.StatusForbidden, "The identity provider refused the sign-in: "+e+": "+q.Get("error_description"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 {
		h.refuse(w, http.StatusBadRequest, "The sign-in's state does not match this browser's: sign in again.")
		return
	}
	user, err := h.o.SSO.identify(r.Context(), q.Get("code"), flow, h.o.Now())
	if err != nil {
		h.o.Log.Warn("a single sign-on refused", "err", err)
		h.refuse(w, http.StatusUnauthorized, "The sign-in failed: "+err.Error())
		return
	}
	session, expires, err := h.svc.OpenUserSession(r.Context(), user, h.door.Address(r))
	if err != nil {
		h.refuse(w, status(err), err.Error())
		return
	}
	setCookie(w, sessionCookie, session, "/", expires)
	// A page of the console's own leads on: the session cookie, strict,
	// is not sent on a navigation the provider started.
	h.render(w, http.StatusOK, "signedin", page{Title: "Signed in", Data: flow.Next})
}

// ssoFlow opens the sign-in under way that the request's cookie seals.
func (h *Handler) ssoFlow(r *http.Request) (ssoFlow, error) {
	var flow ssoFlow
	c, err := r.Cookie(ssoCookie)
	if err != nil {
		return flow, errors.New("this browser started no sign-in, or took longer than 10 minutes")
	}
	raw, err := h.svc.OpenNote(c.Value)
	if err != nil || json.Unmarshal(raw, &flow) != nil || flow.State == "" || flow.Nonce == "" || flow.Verifier == "" {
		return flow, errors.New("the sign-in's cookie is not the console's")
	}
	if h.o.Now().Sub(time.Unix(flow.Started, 0)) > ssoFlowLifetime {
		return flow, errors.New("the sign-in took longer than 10 minutes")
	}
	return flow, nil
}

// identify exchanges code and verifies the ID token it brings: the
// person's subject, name and the roles of their groups.
func (s *SSO) identify(ctx context.Context, code string, flow ssoFlow, now time.Time) (managed.User, error) {
	p, err := s.endpoints(ctx)
	if err != nil {
		return managed.User{}, err
	}
	tok, err := s.oauth2(p).Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		return managed.User{}, fmt.Errorf("exchanging the code at %s: %w", p.TokenEndpoint, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return managed.User{}, fmt.Errorf("the provider's answer holds no ID token")
	}
	claims, err := s.keys.Verify(ctx, raw, idtoken.Issuer{URL: s.Issuer, JWKSURL: p.JWKSURI, Audience: s.ClientID, Skew: time.Minute}, now)
	if err != nil {
		return managed.User{}, fmt.Errorf("the ID token: %w", err)
	}
	if nonce := claims.String("nonce"); subtle.ConstantTimeCompare([]byte(nonce), []byte(flow.Nonce)) != 1 {
		return managed.User{}, errors.New("the ID token's nonce is not this sign-in's")
	}
	u := managed.User{Subject: claims.Subject, Name: personName(claims)}
	for _, g := range groups(claims.Raw[s.GroupsClaim]) {
		for _, role := range s.Roles[g] {
			if !slices.Contains(u.Roles, role) {
				u.Roles = append(u.Roles, role)
			}
		}
	}
	return u, nil
}

// personName is how the audit log names a person: their name and e-mail,
// else what the token has.
func personName(c idtoken.Claims) string {
	name := c.String("name")
	if name == "" {
		name = c.String("preferred_username")
	}
	switch email := c.String("email"); {
	case name != "" && email != "" && name != email:
		return name + " <" + email + ">"
	case name != "":
		return name
	case email != "":
		return email
	}
	return c.Subject
}

// groups reads a groups claim: a list of names, or one name.
func groups(v any) []string {
	switch g := v.(type) {
	case string:
		return strings.Fields(g)
	case []any:
		var out []string
		for _, e := range g {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
