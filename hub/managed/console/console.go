// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package console is the managed-challenge hub in a web page, under
// /console/ on the hub's listener: configs, principals, API tokens, the
// audit log and a dashboard, for administrators who sign in with a token
// carrying the managed-challenge-admin role. Pages are rendered on the
// server from Go templates; every form works without JavaScript, and the
// one script (copy buttons, confirmations) comes from the embedded static
// files, as the Content-Security-Policy requires. Every change goes
// through hub/managed, which audits it as it does the CLI's.
package console

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
)

// Base is the path the console is served under.
const Base = "/console"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Cookies the console sets, all HttpOnly, Secure and SameSite=Strict.
const (
	sessionCookie = "__Host-acmehub-session"
	signinCookie  = "__Host-acmehub-signin" // the sign-in form's CSRF token
	noteCookie    = "acmehub-note"          // a new secret, sealed, shown once
)

// contentSecurityPolicy allows the console's own files and nothing inline.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configure the console.
type Options struct {
	Log *slog.Logger
	// Accounts, when set, are the server's acme-dns accounts: the
	// Accounts page lists them, rotates a password, deregisters one.
	Accounts Accounts
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SSO, when set, signs people in through an OpenID provider.
	SSO *SSO
	// NoTokenSignin switches signing in with an API token off.
	NoTokenSignin bool
}

// Handler serves the console.
type Handler struct {
	door  *doors.Door
	svc   *managed.Service
	o     Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	// origin refuses a form another site's page sends (Sec-Fetch-Site,
	// or Origin against Host), before its CSRF token is read.
	origin *http.CrossOriginProtection
}

// New returns the console's handler, signing in through door.
func New(door *doors.Door, o Options) (*Handler, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{door: door, svc: door.Service, o: o, mux: http.NewServeMux(), pages: map[string]*template.Template{},
		origin: http.NewCrossOriginProtection()}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		h.pages[base] = t
	}
	static, _ := fs.Sub(staticFiles, "static")
	h.mux.Handle("GET "+Base+"/static/", http.StripPrefix(Base+"/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET "+Base+"/signin", h.signinForm)
	h.mux.HandleFunc("POST "+Base+"/signin", h.signin)
	if o.SSO != nil {
		h.mux.HandleFunc("GET "+Base+"/signin/sso", h.ssoStart)
		h.mux.HandleFunc("GET "+Base+"/signin/callback", h.ssoCallback)
	}
	h.mux.HandleFunc("GET "+Base+"/{$}", h.session(h.dashboard))
	h.mux.HandleFunc("POST "+Base+"/signout", h.session(h.signout))
	h.mux.HandleFunc("GET "+Base+"/configs", h.session(h.configs))
	h.mux.HandleFunc("GET "+Base+"/configs/new", h.session(h.configForm))
	h.mux.HandleFunc("GET "+Base+"/configs/{id}", h.session(h.configForm))
	h.mux.HandleFunc("POST "+Base+"/configs", h.session(h.putConfig))
	h.mux.HandleFunc("POST "+Base+"/configs/{id}/test", h.session(h.testConfig))
	h.mux.HandleFunc("POST "+Base+"/configs/{id}/delete", h.session(h.deleteConfig))
	h.mux.HandleFunc("GET "+Base+"/principals", h.session(h.principals))
	h.mux.HandleFunc("POST "+Base+"/principals", h.session(h.createPrincipal))
	h.mux.HandleFunc("POST "+Base+"/principals/{id}/roles", h.session(h.setRoles))
	h.mux.HandleFunc("GET "+Base+"/tokens", h.session(h.tokens))
	h.mux.HandleFunc("POST "+Base+"/tokens", h.session(h.createToken))
	h.mux.HandleFunc("GET "+Base+"/tokens/secret", h.session(h.showSecret))
	h.mux.HandleFunc("POST "+Base+"/tokens/{id}/revoke", h.session(h.revokeToken))
	h.mux.HandleFunc("POST "+Base+"/tokens/{id}/rotate", h.session(h.rotateToken))
	if o.Accounts != nil {
		h.mux.HandleFunc("GET "+Base+"/accounts", h.session(h.accounts))
		h.mux.HandleFunc("POST "+Base+"/accounts/{username}/rotate", h.session(h.rotateAccount))
		h.mux.HandleFunc("POST "+Base+"/accounts/{username}/deregister", h.session(h.deregisterAccount))
	}
	h.mux.HandleFunc("GET "+Base+"/delegations", h.session(h.delegations))
	h.mux.HandleFunc("POST "+Base+"/delegations", h.session(h.delegate))
	h.mux.HandleFunc("POST "+Base+"/delegations/{identifier}/delete", h.session(h.undelegate))
	h.mux.HandleFunc("GET "+Base+"/identity", h.session(h.identity))
	h.mux.HandleFunc("POST "+Base+"/identity/issuers", h.session(h.addIssuer))
	h.mux.HandleFunc("POST "+Base+"/identity/issuers/{id}/remove", h.session(h.removeIssuer))
	h.mux.HandleFunc("POST "+Base+"/identity/bindings", h.session(h.bind))
	h.mux.HandleFunc("POST "+Base+"/identity/bindings/{id}/remove", h.session(h.unbind))
	h.mux.HandleFunc("GET "+Base+"/audit", h.session(h.audit))
	h.mux.HandleFunc("GET "+Base+"/audit/{id}", h.session(h.auditEntry))
	return h, nil
}

// ServeHTTP serves a console request with the console's security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	if !strings.HasPrefix(r.URL.Path, Base+"/static/") {
		hdr.Set("Cache-Control", "no-store")
	}
	if r.URL.Path == Base {
		http.Redirect(w, r, Base+"/", http.StatusSeeOther)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// request is one signed-in request: its caller (with the client's
// address) and session.
type request struct {
	caller  managed.Caller
	session string
	who     string // the caller's principal, by title
}

// session runs next for a signed-in administrator; others go to the
// sign-in page. A POST must carry the session's CSRF token and must not
// come from another site.
func (h *Handler) session(next func(http.ResponseWriter, *http.Request, request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var caller managed.Caller
		if err == nil {
			caller, err = h.svc.Session(r.Context(), c.Value)
		}
		if err != nil {
			if !errors.Is(err, managed.ErrNoSession) && !errors.Is(err, http.ErrNoCookie) {
				h.o.Log.Error("checking a console session", "err", err)
			}
			if r.Method != http.MethodGet {
				h.refuse(w, http.StatusUnauthorized, "You are not signed in, or the session ended: sign in again.")
				return
			}
			http.Redirect(w, r, Base+"/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && !h.form(w, r, 64<<10, func(token string) bool { return h.svc.CheckCSRF(c.Value, token) }) {
			return
		}
		caller.Address = h.door.Address(r)
		who := caller.Principal
		if p, err := h.svc.Principal(r.Context(), caller.Principal); err == nil && p.Title != "" {
			who = p.Title
		}
		next(w, r, request{caller: caller, session: c.Value, who: who})
	}
}

// form reads a POSTed form of at most limit bytes and reports whether it
// may be acted on: sent by the console's own pages (not another origin's),
// with a CSRF token csrf accepts. A refusal is answered.
func (h *Handler) form(w http.ResponseWriter, r *http.Request, limit int64, csrf func(token string) bool) bool {
	if err := h.origin.Check(r); err != nil {
		h.refuse(w, http.StatusForbidden, "The form was sent from another site's page, and is refused.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		h.refuse(w, http.StatusBadRequest, "Reading the form: "+err.Error())
		return false
	}
	if !csrf(r.PostForm.Get("csrf")) {
		h.refuse(w, http.StatusForbidden, "The form's CSRF token is missing or wrong: reload the page and try again.")
		return false
	}
	return true
}

// refusalTitles name the refusals the console answers with a page.
var refusalTitles = map[int]string{
	http.StatusBadRequest:          "Bad request",
	http.StatusUnauthorized:        "Not signed in",
	http.StatusForbidden:           "Refused",
	http.StatusNotFound:            "Not found",
	http.StatusBadGateway:          "Identity provider unreachable",
	http.StatusInternalServerError: "Internal error",
}

// refuse answers a request the console cannot serve with a page in its
// layout that says why and leads back.
func (h *Handler) refuse(w http.ResponseWriter, status int, message string) {
	h.render(w, status, "refused", page{Title: refusalTitles[status], Error: message, Data: status == http.StatusUnauthorized})
}

func setCookie(w http.ResponseWriter, name, value, path string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires, c.MaxAge = expires, int(time.Until(expires).Seconds())+1
	}
	http.SetCookie(w, c)
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// page is what every template gets.
type page struct {
	Title  string
	Nav    string
	Caller managed.Caller
	Who    string // the caller's principal, by title
	CSRF   string
	Notice string
	Error  string
	Data   any
	// Accounts is whether the console manages the server's acme-dns
	// accounts (the navigation's link).
	Accounts bool
}

// render writes a page with status; a template failure is logged, never
// half sent.
func (h *Handler) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.o.Log.Error("rendering a console page", "page", name, "err", err)
		if name != "refused" {
			h.refuse(w, http.StatusInternalServerError, internalError)
		} else {
			http.Error(w, internalError, http.StatusInternalServerError)
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// page starts a signed-in page.
func (h *Handler) page(rq request, title, nav string, data any) page {
	return page{Title: title, Nav: nav, Caller: rq.caller, Who: rq.who, CSRF: h.svc.CSRFToken(rq.session), Data: data, Accounts: h.o.Accounts != nil}
}

// notices are the messages a redirect may ask for (?done=…): fixed texts,
// so that no request can make the console say something of its choosing.
var notices = map[string]string{
	"config-saved":      "The config is saved; every server applies it within 5 seconds.",
	"config-deleted":    "The config is deleted; the records it created are removed by the sweep.",
	"principal-created": "The principal is created. Give it a token below.",
	"roles-saved":       "The roles are saved.",
	"token-revoked":     "The token is revoked: it is refused from now on, on every server.",
	"delegated":         "The provider wrote the CNAME.",
	"undelegated":       "The provider removed the CNAME.",
	"deregistered":      "The account is deregistered and its values deleted.",
	"issuer-added":      "The issuer is trusted. Bind its tokens to a principal below.",
	"issuer-removed":    "The issuer and its bindings are removed: its tokens are refused from now on.",
	"bound":             "The binding is added: the tokens it matches act for its principal.",
	"unbound":           "The binding is removed: its tokens are refused from now on.",
}

func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		path += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// status is the HTTP status a page answers a refused change with: the
// API's, except that a form whose input is refused is 422, shown again
// with the cause.
func status(err error) int {
	if s := doors.Status(err); s != http.StatusBadRequest {
		return s
	}
	return http.StatusUnprocessableEntity
}

// message is what a failed change shows: the refusal's cause, or a
// pointer to the log for what is no refusal.
func (h *Handler) message(err error) string {
	if status(err) == http.StatusInternalServerError {
		h.o.Log.Error("a console change failed", "err", err)
		return "The change failed; the hub's log has the cause."
	}
	return err.Error()
}

// internalError is what a failure that is no refusal shows.
const internalError = "Internal error; the hub's log has the cause."

func sameString(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
