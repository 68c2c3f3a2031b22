// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/store"
)

// Console sessions: a sign-in with a token carrying the admin role gives a
// session value, signed with the hub's current key and bound to the
// token's secret, that every replica can check. A session ends when it
// expires, and at once when its token is revoked, rotated, expires or
// loses the admin role.

// SessionLifetime bounds a console session.
const SessionLifetime = 12 * time.Hour

// ErrNoSession is a missing, forged, expired or ended session.
var ErrNoSession = errors.New("not signed in, or the session ended")

// AuthenticateAdmin authenticates a token that may sign in to the console:
// one carrying the admin role.
func (s *Service) AuthenticateAdmin(ctx context.Context, clientID, secret string) (Caller, error) {
	caller, err := s.Authenticate(ctx, clientID, secret)
	if err == nil && !caller.Can(RoleAdmin) {
		return Caller{ClientID: clientID}, &Error{Code: CodeForbidden, Err: fmt.Errorf("API token %s does not carry the %s role: it cannot sign in to the console", clientID, RoleAdmin)}
	}
	return caller, err
}

// OpenSession starts a console session of an admitted admin caller (see
// AuthenticateAdmin) and audits the sign-in. The session's value is
// signed with the hub's key and bound to the token's secret, so that it
// ends when the token is revoked or rotated; it expires after
// SessionLifetime, or with the token.
func (s *Service) OpenSession(ctx context.Context, caller Caller) (string, time.Time, error) {
	t, err := s.store.Token(ctx, caller.ClientID)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.now().Add(SessionLifetime).Truncate(time.Second)
	if !t.Expires.IsZero() && t.Expires.Before(expires) {
		expires = t.Expires
	}
	payload := caller.ClientID + "|" + strconv.FormatInt(expires.Unix(), 10) + "|" + s.keys.current
	value := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(s.sessionMAC(s.keys.current, payload, t))
	s.auditAdmin(ctx, caller, "sign in to the console", nil)
	return value, expires, nil
}

func (s *Service) sessionMAC(keyID, payload string, t store.Token) []byte {
	return s.keys.mac(keyID, "console-session\x00"+payload+"\x00"+string(t.SecretHash))
}

// User is a person an identity provider vouched for (console single
// sign-on): their subject there, their name, and the roles their groups
// map to.
type User struct {
	Subject, Name string
	Roles         []string
}

// SSOIssuer is the Issuer of the callers single sign-on admits.
const SSOIssuer = "sso"

// userSession is a signed-in person's session: no token to end it, it ends
// when it expires.
type userSession struct {
	Subject string   `json:"s"`
	Name    string   `json:"n"`
	Roles   []string `json:"r"`
	Expires int64    `json:"e"`
	Key     string   `json:"k"`
}

// caller is the session's caller, by name in the audit log.
func (u userSession) caller() Caller {
	return Caller{Principal: u.Name, Issuer: SSOIssuer, Subject: u.Subject, Scopes: u.Roles}
}

// OpenUserSession starts the console session of a person whose groups
// give them the admin role, for SessionLifetime, and audits the sign-in
// by their name.
func (s *Service) OpenUserSession(ctx context.Context, u User, address string) (string, time.Time, error) {
	expires := s.now().Add(SessionLifetime).Truncate(time.Second)
	us := userSession{Subject: u.Subject, Name: u.Name, Roles: u.Roles, Expires: expires.Unix(), Key: s.keys.current}
	caller := us.caller()
	caller.Address = address
	if !caller.Can(RoleAdmin) {
		err := &Error{Code: CodeForbidden, Err: fmt.Errorf("%s is in no group that maps to the %s role: they cannot sign in to the console", u.Name, RoleAdmin)}
		s.auditAdmin(ctx, caller, "sign in to the console", err)
		return "", time.Time{}, err
	}
	raw, _ := json.Marshal(us)
	value := base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(s.keys.mac(us.Key, "console-user-session\x00"+string(raw)))
	s.auditAdmin(ctx, caller, "sign in to the console", nil)
	return value, expires, nil
}

// Session checks a session value and returns its caller: a token's must
// still be valid and carry the admin role; a person's must not have
// expired.
func (s *Service) Session(ctx context.Context, value string) (Caller, error) {
	enc, sig, ok := strings.Cut(value, ".")
	raw, err1 := base64.RawURLEncoding.Strict().DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(sig)
	if ok && err1 == nil && err2 == nil && strings.HasPrefix(string(raw), "{") {
		return s.userSession(raw, mac)
	}
	parts := strings.Split(string(raw), "|")
	if !ok || err1 != nil || err2 != nil || len(parts) != 3 {
		return Caller{}, ErrNoSession
	}
	clientID, keyID := parts[0], parts[2]
	expires, err := strconv.ParseInt(parts[1], 10, 64)
	if _, known := s.keys.keys[keyID]; err != nil || !known || !s.now().Before(time.Unix(expires, 0)) {
		return Caller{}, ErrNoSession
	}
	t, err := s.store.Token(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, ErrNoSession
	}
	if err != nil {
		return Caller{}, err
	}
	switch {
	case !hmac.Equal(mac, s.sessionMAC(keyID, string(raw), t)):
		return Caller{}, ErrNoSession // forged, or the token was rotated
	case !t.Revoked.IsZero(), !t.Expires.IsZero() && !s.now().Before(t.Expires), !slices.Contains(t.Scopes, RoleAdmin):
		return Caller{}, ErrNoSession
	}
	return Caller{Principal: t.Principal, ClientID: t.ClientID, Scopes: t.Scopes}, nil
}

func (s *Service) userSession(raw, mac []byte) (Caller, error) {
	var us userSession
	if json.Unmarshal(raw, &us) != nil {
		return Caller{}, ErrNoSession
	}
	if _, known := s.keys.keys[us.Key]; !known || !hmac.Equal(mac, s.keys.mac(us.Key, "console-user-session\x00"+string(raw))) ||
		!s.now().Before(time.Unix(us.Expires, 0)) || !slices.Contains(us.Roles, RoleAdmin) {
		return Caller{}, ErrNoSession
	}
	return us.caller(), nil
}

// Token returns a token (never its secret).
func (s *Service) Token(ctx context.Context, clientID string) (store.Token, error) {
	return s.store.Token(ctx, clientID)
}

// Principal returns a principal with its roles.
func (s *Service) Principal(ctx context.Context, id string) (store.Principal, error) {
	return s.store.Principal(ctx, id)
}

// Config returns the loaded config id, credentials sealed, and whether it exists.
func (s *Service) Config(id string) (store.ChallengeConfig, bool) {
	if c := s.loaded(id); c != nil {
		return c.ChallengeConfig, true
	}
	return store.ChallengeConfig{}, false
}

// Activity counts the presents and cleanups of the audit log since since,
// in buckets of width: for each bucket, the requests and the failures.
func (s *Service) Activity(ctx context.Context, since time.Time, width time.Duration, n int) ([]store.ActivityBucket, error) {
	return s.store.Activity(ctx, since, width, n)
}

// CSRFToken is the token a console session's forms carry.
func (s *Service) CSRFToken(session string) string {
	return base64.RawURLEncoding.EncodeToString(s.keys.mac(s.keys.current, "console-csrf\x00"+session))
}

// CheckCSRF reports whether token is the session's, in constant time.
func (s *Service) CheckCSRF(session, token string) bool {
	return hmac.Equal([]byte(token), []byte(s.CSRFToken(session)))
}

// SealNote seals a short note for the console's next page (a token's new
// secret, shown once), so that any replica can open it.
func (s *Service) SealNote(plain []byte) string {
	sealed, keyID := s.keys.Seal(plain, "console-note")
	return keyID + "." + base64.RawURLEncoding.EncodeToString(sealed)
}

// OpenNote opens what SealNote sealed.
func (s *Service) OpenNote(note string) ([]byte, error) {
	keyID, enc, ok := strings.Cut(note, ".")
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil {
		return nil, errors.New("not a sealed note")
	}
	return s.keys.Open(sealed, keyID, "console-note")
}

// Providers names the providers configs may use.
func (s *Service) Providers() []string {
	var out []string
	for name := range s.providers {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
