// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"net/http"
	"strings"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

type principalsData struct {
	Principals []store.Principal
	Roles      []string
	Form       store.Principal
}

func (h *Handler) principalsPage(w http.ResponseWriter, r *http.Request, rq request, code int, form store.Principal, failure error) {
	ps, err := h.svc.Principals(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	if form.Kind == "" {
		form.Kind = managed.KindApplication
	}
	p := h.page(rq, "Principals", "principals", principalsData{Principals: ps, Roles: managed.Roles, Form: form})
	p.Notice = notices[r.URL.Query().Get("done")]
	if failure != nil {
		p.Error = h.message(failure)
	}
	h.render(w, code, "principals", p)
}

func (h *Handler) principals(w http.ResponseWriter, r *http.Request, rq request) {
	h.principalsPage(w, r, rq, http.StatusOK, store.Principal{Roles: []string{managed.RoleConsumer}}, nil)
}

func (h *Handler) createPrincipal(w http.ResponseWriter, r *http.Request, rq request) {
	f := r.PostForm
	form := store.Principal{Kind: f.Get("kind"), Title: strings.TrimSpace(f.Get("title")), Description: strings.TrimSpace(f.Get("description")), Roles: f["role"]}
	if _, err := h.svc.CreatePrincipal(r.Context(), rq.caller, form); err != nil {
		h.principalsPage(w, r, rq, status(err), form, err)
		return
	}
	h.redirect(w, r, Base+"/principals", "principal-created")
}

func (h *Handler) setRoles(w http.ResponseWriter, r *http.Request, rq request) {
	if err := h.svc.SetRoles(r.Context(), rq.caller, r.PathValue("id"), r.PostForm["role"]); err != nil {
		h.principalsPage(w, r, rq, status(err), store.Principal{}, err)
		return
	}
	h.redirect(w, r, Base+"/principals", "roles-saved")
}

// --- Tokens.
