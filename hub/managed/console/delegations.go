// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"net/http"
	"strings"

	"github.com/acmehub/acmehub/hub/store"
)

type delegationsData struct {
	Delegations []store.Delegation
	Form        store.Delegation
}

func (h *Handler) delegationsPage(w http.ResponseWriter, r *http.Request, rq request, code int, form store.Delegation, failure error) {
	ds, err := h.svc.Delegations(r.Context(), rq.caller)
	if err != nil {
		h.fail(w, err)
		return
	}
	p := h.page(rq, "Delegations", "delegations", delegationsData{Delegations: ds, Form: form})
	p.Notice = notices[r.URL.Query().Get("done")]
	if failure != nil {
		p.Error = h.message(failure)
	}
	h.render(w, code, "delegations", p)
}

func (h *Handler) delegations(w http.ResponseWriter, r *http.Request, rq request) {
	h.delegationsPage(w, r, rq, http.StatusOK, store.Delegation{}, nil)
}

func (h *Handler) delegate(w http.ResponseWriter, r *http.Request, rq request) {
	form := store.Delegation{Identifier: strings.TrimSpace(r.PostForm.Get("identifier")), Target: strings.TrimSpace(r.PostForm.Get("target"))}
	if _, err := h.svc.Delegate(r.Context(), rq.caller, form.Identifier, form.Target); err != nil {
		h.delegationsPage(w, r, rq, status(err), form, err)
		return
	}
	h.redirect(w, r, Base+"/delegations", "delegated")
}

func (h *Handler) undelegate(w http.ResponseWriter, r *http.Request, rq request) {
	if _, err := h.svc.Undelegate(r.Context(), rq.caller, r.PathValue("identifier")); err != nil {
		h.delegationsPage(w, r, rq, status(err), store.Delegation{}, err)
		return
	}
	h.redirect(w, r, Base+"/delegations", "undelegated")
}
