// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/store"
)

// Accounts are the server's acme-dns accounts as an administrator manages
// them (hub/acmedns/accounts' service).
type Accounts interface {
	Accounts(ctx context.Context) ([]store.AccountInfo, error)
	Rotate(ctx context.Context, username string) (string, error)
	Deregister(ctx context.Context, username string) error
}

type accountsData struct {
	Accounts []store.AccountInfo
	// Unused is the filter: accounts given no value for this long.
	Unused string
}

func (h *Handler) accountsPage(w http.ResponseWriter, r *http.Request, rq request, code int, failure error) {
	unused := strings.TrimSpace(r.URL.Query().Get("unused"))
	var since time.Time
	if unused != "" {
		d, err := config.ParseDuration(unused)
		if err != nil || d <= 0 {
			failure, code = invalid("unused for %q: a duration such as 90d or 2160h", unused), http.StatusUnprocessableEntity
		} else {
			since = h.o.Now().Add(-d)
		}
	}
	all, err := h.o.Accounts.Accounts(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	var shown []store.AccountInfo
	for _, a := range all {
		if since.IsZero() || unusedSince(a, since) {
			shown = append(shown, a)
		}
	}
	p := h.page(rq, "acme-dns accounts", "accounts", accountsData{Accounts: shown, Unused: unused})
	p.Notice = notices[r.URL.Query().Get("done")]
	if failure != nil {
		p.Error = h.message(failure)
	}
	h.render(w, code, "accounts", p)
}

// unusedSince reports whether a was given no value since t; times not
// known count as before.
func unusedSince(a store.AccountInfo, t time.Time) bool {
	if a.LastUsed.IsZero() {
		return a.Created.Before(t)
	}
	return a.LastUsed.Before(t)
}

func (h *Handler) accounts(w http.ResponseWriter, r *http.Request, rq request) {
	h.accountsPage(w, r, rq, http.StatusOK, nil)
}

type passwordData struct{ Username, Password string }

// rotateAccount gives the account a new password and shows it in the
// answer, this once (the page is never stored).
func (h *Handler) rotateAccount(w http.ResponseWriter, r *http.Request, rq request) {
	username := r.PathValue("username")
	password, err := h.o.Accounts.Rotate(r.Context(), username)
	h.svc.AuditAdmin(r.Context(), rq.caller, "rotate the password of account "+username, err)
	if err != nil {
		h.accountsPage(w, r, rq, http.StatusNotFound, err)
		return
	}
	h.render(w, http.StatusOK, "accountpassword", h.page(rq, "New account password", "accounts", passwordData{username, password}))
}

func (h *Handler) deregisterAccount(w http.ResponseWriter, r *http.Request, rq request) {
	username := r.PathValue("username")
	err := h.o.Accounts.Deregister(r.Context(), username)
	h.svc.AuditAdmin(r.Context(), rq.caller, "deregister account "+username, err)
	if err != nil {
		h.accountsPage(w, r, rq, http.StatusNotFound, err)
		return
	}
	h.redirect(w, r, Base+"/accounts", "deregistered")
}
