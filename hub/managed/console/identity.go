// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"net/http"
	"strings"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/store"
)

// --- Workload identity: trusted issuers and the bindings of their tokens.

type identityData struct {
	Issuers    []store.Issuer
	Bindings   []store.Binding
	Principals []store.Principal
	Roles      []string
	Issuer     store.Issuer // the add form's
	Binding    bindingForm
}

type bindingForm struct {
	Issuer, Principal, Claims, Scope, Domains string
}

func (h *Handler) identityPage(w http.ResponseWriter, r *http.Request, rq request, code int, d identityData, failure error) {
	ctx := r.Context()
	var err error
	if d.Issuers, err = h.svc.Issuers(ctx); err == nil {
		if d.Bindings, err = h.svc.Bindings(ctx, ""); err == nil {
			d.Principals, err = h.svc.Principals(ctx)
		}
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	d.Roles = managed.Roles
	p := h.page(rq, "Workload identity", "identity", d)
	p.Notice = notices[r.URL.Query().Get("done")]
	if failure != nil {
		p.Error = h.message(failure)
	}
	h.render(w, code, "identity", p)
}

func (h *Handler) identity(w http.ResponseWriter, r *http.Request, rq request) {
	h.identityPage(w, r, rq, http.StatusOK, identityData{}, nil)
}

func (h *Handler) addIssuer(w http.ResponseWriter, r *http.Request, rq request) {
	f := r.PostForm
	i := store.Issuer{ID: strings.TrimSpace(f.Get("id")), URL: strings.TrimSpace(f.Get("url")), JWKSURL: strings.TrimSpace(f.Get("jwks_url")),
		JWKS: strings.TrimSpace(f.Get("jwks")), Audience: strings.TrimSpace(f.Get("audience"))}
	if _, err := h.svc.AddIssuer(r.Context(), rq.caller, i); err != nil {
		h.identityPage(w, r, rq, status(err), identityData{Issuer: i}, err)
		return
	}
	h.redirect(w, r, Base+"/identity", "issuer-added")
}

func (h *Handler) removeIssuer(w http.ResponseWriter, r *http.Request, rq request) {
	if err := h.svc.RemoveIssuer(r.Context(), rq.caller, r.PathValue("id")); err != nil {
		h.identityPage(w, r, rq, status(err), identityData{}, err)
		return
	}
	h.redirect(w, r, Base+"/identity", "issuer-removed")
}

func (h *Handler) bind(w http.ResponseWriter, r *http.Request, rq request) {
	f := r.PostForm
	form := bindingForm{Issuer: f.Get("issuer"), Principal: f.Get("principal"), Claims: f.Get("claims"), Scope: f.Get("scope"), Domains: f.Get("domains")}
	claims := map[string]string{}
	var err error
	for _, line := range strings.Split(form.Claims, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			err = doors.Invalid("claim %q: write NAME=VALUE, one a line", line)
			break
		}
		claims[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	if err == nil {
		_, err = h.svc.Bind(r.Context(), rq.caller, managed.BindingOptions{Issuer: form.Issuer, Principal: form.Principal, Claims: claims,
			Scopes: []string{form.Scope}, Domains: strings.Fields(form.Domains)})
	}
	if err != nil {
		h.identityPage(w, r, rq, status(err), identityData{Binding: form}, err)
		return
	}
	h.redirect(w, r, Base+"/identity", "bound")
}

func (h *Handler) unbind(w http.ResponseWriter, r *http.Request, rq request) {
	if err := h.svc.Unbind(r.Context(), rq.caller, r.PathValue("id")); err != nil {
		h.identityPage(w, r, rq, status(err), identityData{}, err)
		return
	}
	h.redirect(w, r, Base+"/identity", "unbound")
}
