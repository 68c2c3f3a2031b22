// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

type tokenRow struct {
	store.Token
	PrincipalTitle string
}

type tokenForm struct {
	Principal, Title, Domains, TTL string
	Scopes                         []string
}

type tokensData struct {
	Tokens     []tokenRow
	Principals []store.Principal
	Roles      []string
	Form       tokenForm
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, rq request, code int, form tokenForm, failure error) {
	ctx := r.Context()
	ps, err := h.svc.Principals(ctx)
	if err != nil {
		h.fail(w, err)
		return
	}
	ts, err := h.svc.Tokens(ctx, "")
	if err != nil {
		h.fail(w, err)
		return
	}
	titles := map[string]string{}
	for _, p := range ps {
		titles[p.ID] = p.Title
	}
	d := tokensData{Principals: ps, Roles: managed.Roles, Form: form}
	for i := len(ts) - 1; i >= 0; i-- { // newest first
		d.Tokens = append(d.Tokens, tokenRow{Token: ts[i], PrincipalTitle: titles[ts[i].Principal]})
	}
	p := h.page(rq, "API tokens", "tokens", d)
	p.Notice = notices[r.URL.Query().Get("done")]
	if failure != nil {
		p.Error = h.message(failure)
	}
	h.render(w, code, "tokens", p)
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request, rq request) {
	h.tokensPage(w, r, rq, http.StatusOK, tokenForm{Principal: r.URL.Query().Get("principal"), Scopes: []string{managed.RoleConsumer}}, nil)
}

// note is a new secret on its way to the one page that shows it.
type note struct {
	ClientID, Secret, Title, Principal string
	Rotated                            bool
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, rq request) {
	f := r.PostForm
	form := tokenForm{Principal: f.Get("principal"), Title: strings.TrimSpace(f.Get("title")), Domains: f.Get("domains"),
		TTL: strings.TrimSpace(f.Get("ttl")), Scopes: f["scope"]}
	var ttl time.Duration
	var err error
	if form.TTL != "" {
		if ttl, err = config.ParseDuration(form.TTL); err != nil || ttl <= 0 {
			err = invalid("lifetime %q: a duration such as 90d or 2160h, or empty for none", form.TTL)
		}
	}
	var tok managed.NewToken
	if err == nil {
		tok, err = h.svc.CreateToken(r.Context(), rq.caller, managed.TokenOptions{Principal: form.Principal, Title: form.Title,
			Scopes: form.Scopes, Domains: lines(form.Domains), TTL: ttl})
	}
	if err != nil {
		h.tokensPage(w, r, rq, status(err), form, err)
		return
	}
	h.showOnce(w, r, note{ClientID: tok.ClientID, Secret: tok.Secret, Title: tok.Title, Principal: tok.Principal})
}

func (h *Handler) rotateToken(w http.ResponseWriter, r *http.Request, rq request) {
	tok, err := h.svc.RotateToken(r.Context(), rq.caller, r.PathValue("id"))
	if err != nil {
		h.tokensPage(w, r, rq, status(err), tokenForm{Scopes: []string{managed.RoleConsumer}}, err)
		return
	}
	h.showOnce(w, r, note{ClientID: tok.ClientID, Secret: tok.Secret, Title: tok.Title, Principal: tok.Principal, Rotated: true})
}

// showOnce hands the new secret to the page that shows it, sealed in a
// cookie that page clears, so that a reload shows it no more.
func (h *Handler) showOnce(w http.ResponseWriter, r *http.Request, n note) {
	plain, _ := json.Marshal(n)
	setCookie(w, noteCookie, h.svc.SealNote(plain), Base+"/tokens/secret", h.o.Now().Add(2*time.Minute))
	http.Redirect(w, r, Base+"/tokens/secret", http.StatusSeeOther)
}

type secretData struct {
	note
	Hub string // the hub's URL, as the browser reached it
}

func (h *Handler) showSecret(w http.ResponseWriter, r *http.Request, rq request) {
	c, err := r.Cookie(noteCookie)
	setCookie(w, noteCookie, "", Base+"/tokens/secret", time.Time{})
	var n note
	if err == nil {
		var plain []byte
		if plain, err = h.svc.OpenNote(c.Value); err == nil {
			err = json.Unmarshal(plain, &n)
		}
	}
	if err != nil {
		p := h.page(rq, "Secret already shown", "tokens", nil)
		p.Error = "A token's secret is shown once, right after it is created or rotated. Rotate the token for a new secret."
		h.render(w, http.StatusGone, "secret", p)
		return
	}
	h.render(w, http.StatusOK, "secret", h.page(rq, "New API token secret", "tokens", secretData{note: n, Hub: "https://" + r.Host}))
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, rq request) {
	if err := h.svc.RevokeToken(r.Context(), rq.caller, r.PathValue("id")); err != nil {
		h.tokensPage(w, r, rq, status(err), tokenForm{Scopes: []string{managed.RoleConsumer}}, err)
		return
	}
	h.redirect(w, r, Base+"/tokens", "token-revoked")
}

// --- The audit log.
