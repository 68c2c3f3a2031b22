// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"cmp"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/managed"
)

// principalName is an audit entry's principal as the pages name it.
type principalName struct{ ID, Title, ClientID string }

// --- Signing in and out.

type signinData struct {
	Next, ClientID string
	// SSO names the identity provider people sign in with ("": none);
	// TokenSignin offers the API token form.
	SSO         string
	TokenSignin bool
}

func (h *Handler) signinFields(next, clientID string) signinData {
	d := signinData{Next: safeNext(next), ClientID: clientID, TokenSignin: !h.o.NoTokenSignin}
	if h.o.SSO != nil {
		d.SSO = cmp.Or(h.o.SSO.Name, "single sign-on")
	}
	return d
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, Base+"/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Base + "/"
}

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) > 20 {
		token = c.Value
	}
	setCookie(w, signinCookie, token, "/", h.o.Now().Add(time.Hour))
	h.render(w, http.StatusOK, "signin", page{Title: "Sign in", CSRF: token, Data: h.signinFields(r.URL.Query().Get("next"), "")})
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	if h.o.NoTokenSignin {
		h.refuse(w, http.StatusForbidden, "Signing in with an API token is switched off: sign in with "+h.signinFields("", "").SSO+".")
		return
	}
	c, err := r.Cookie(signinCookie)
	if !h.form(w, r, 16<<10, func(token string) bool { return err == nil && sameString(c.Value, token) }) {
		return
	}
	data := h.signinFields(r.PostForm.Get("next"), strings.TrimSpace(r.PostForm.Get("client_id")))
	req := managed.Request{Via: "console"}
	caller, err := h.door.Admit(r, "sign in", data.ClientID, &req, func(ctx context.Context) (managed.Caller, error) {
		return h.svc.AuthenticateAdmin(ctx, data.ClientID, r.PostForm.Get("secret"))
	})
	var (
		session string
		expires time.Time
	)
	if err == nil {
		session, expires, err = h.svc.OpenSession(r.Context(), caller)
	}
	if err != nil {
		p := page{Title: "Sign in", CSRF: c.Value, Data: data, Error: err.Error()}
		code := http.StatusUnauthorized
		if status(err) == http.StatusForbidden {
			code = http.StatusForbidden
		} else if status(err) == http.StatusInternalServerError {
			p.Error = h.message(err)
			code = http.StatusInternalServerError
		}
		h.render(w, code, "signin", p)
		return
	}
	setCookie(w, signinCookie, "", "/", time.Time{})
	setCookie(w, sessionCookie, session, "/", expires)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, _ request) {
	setCookie(w, sessionCookie, "", "/", time.Time{})
	http.Redirect(w, r, Base+"/signin", http.StatusSeeOther)
}

// --- The dashboard.
