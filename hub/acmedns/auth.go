// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"errors"
	"net/http"
	"net/netip"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/ratelimit"
	"github.com/acmehub/acmehub/hub/store"
)

// authenticate applies acme-dns's checks, in its order, to a request carrying
// X-Api-User and X-Api-Key: the credentials, then the account's allowfrom.
// Every failure is answered 401 forbidden.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	acct, ok := a.credentials(w, r)
	if !ok {
		return store.Account{}, false
	}
	if ip := a.clientIP(r); !accounts.Allowed(acct, ip) {
		a.failed(ip, acct.Username)
		a.log.Info("update refused by allowfrom", "username", acct.Username, "client", ip, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "forbidden")
		return store.Account{}, false
	}
	return acct, true
}

// errTooMany is a credential check refused by the limits on failures.
var errTooMany = errors.New("too many failed authentications")

// credentials is authenticate without allowfrom, for what changes no value.
// Credentials that passed before are taken from memory, whatever the
// limits; others cost a bcrypt computation, which the client's limits must
// admit (past one: 429, before any bcrypt).
func (a *API) credentials(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	ip, user := a.clientIP(r), r.Header.Get("X-Api-User")
	acct, err := a.svc.Authenticate(r.Context(), user, r.Header.Get("X-Api-Key"), a.admit(ip, user))
	switch {
	case errors.Is(err, errTooMany):
		a.tooMany(w, a.failures)
		return store.Account{}, false
	case errors.Is(err, accounts.ErrForbidden):
		writeError(w, http.StatusUnauthorized, "forbidden")
		return store.Account{}, false
	case errors.Is(err, accounts.ErrBusy):
		a.busy(w)
		return store.Account{}, false
	case err != nil:
		a.log.Error("authenticating", "username", user, "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
		return store.Account{}, false
	}
	return acct, true
}

// admit takes a bcrypt computation on credentials of username from ip
// from its limits: those of the address for that username and for every
// username. Credentials that pass are remembered and cost no more, so the
// limits hold back those that fail: guesses, and a client misconfigured.
func (a *API) admit(ip netip.Addr, username string) func() error {
	return func() error {
		key := ratelimit.AddrKey(ip)
		if !a.failures.Allow(key+" "+username) || !a.addressFailures.Allow(key) {
			return errTooMany
		}
		return nil
	}
}

// failed counts a failed authentication of username from ip.
func (a *API) failed(ip netip.Addr, username string) {
	key := ratelimit.AddrKey(ip)
	a.failures.Allow(key + " " + username)
	a.addressFailures.Allow(key)
}

// tooMany answers a client past a limit.
func (a *API) tooMany(w http.ResponseWriter, l *ratelimit.Limiter) {
	w.Header().Set("Retry-After", ratelimit.Seconds(l.RetryAfter()))
	writeError(w, http.StatusTooManyRequests, "too_many_requests")
}

// busy answers a request whose credential check found no free bcrypt slot.
func (a *API) busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "busy")
}

// clientIP is the address allowfrom is checked against. The zero Addr
// means the client's address is not known.
func (a *API) clientIP(r *http.Request) netip.Addr { return a.opts.ClientIP.Of(r) }
