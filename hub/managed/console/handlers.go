// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":    strings.Join,
	"has":     func(list []string, s string) bool { return slices.Contains(list, s) },
	"ms": func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	},
	"ok":    func(result string) bool { return result == "ok" },
	"input": credentialInput,
	"principal": func(titles map[string]string, e store.AuditEntry) principalName {
		return principalName{ID: e.Principal, Title: titles[e.Principal], ClientID: e.ClientID}
	},
}

// principalName is an audit entry's principal as the pages name it.
type principalName struct{ ID, Title, ClientID string }

// --- Signing in and out.

type signinData struct {
	Next, ClientID string
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
	h.render(w, http.StatusOK, "signin", page{Title: "Sign in", CSRF: token, Data: signinData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(signinCookie)
	if !h.form(w, r, 16<<10, func(token string) bool { return err == nil && sameString(c.Value, token) }) {
		return
	}
	data := signinData{Next: safeNext(r.PostForm.Get("next")), ClientID: strings.TrimSpace(r.PostForm.Get("client_id"))}
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

type bar struct {
	X, Y, H, FY, FH int
	Label           string
}

type dashboardData struct {
	Records            []store.HubRecord
	RecordCount        int
	Bars               []bar
	Requests, Failures int
	Unused, Expiring   []store.Token
}

// Chart geometry: 24 hourly bars in a 240×60 view box.
const (
	chartHours  = 24
	barWidth    = 10
	chartHeight = 50
)

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, rq request) {
	ctx, now := r.Context(), h.o.Now()
	var d dashboardData
	records, err := h.svc.Records(ctx)
	if err != nil {
		h.fail(w, err)
		return
	}
	d.RecordCount, d.Records = len(records), records[:min(len(records), 20)]
	since := now.Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
	buckets, err := h.svc.Activity(ctx, since, time.Hour, chartHours)
	if err != nil {
		h.fail(w, err)
		return
	}
	peak := 1
	for _, b := range buckets {
		peak = max(peak, b.Requests)
		d.Requests, d.Failures = d.Requests+b.Requests, d.Failures+b.Failures
	}
	for i, b := range buckets {
		height, failed := b.Requests*chartHeight/peak, b.Failures*chartHeight/peak
		d.Bars = append(d.Bars, bar{X: i * barWidth, Y: chartHeight + 5 - height, H: height, FY: chartHeight + 5 - failed, FH: failed,
			Label: fmt.Sprintf("%s: %d requests, %d failed", b.Start.UTC().Format("15:04"), b.Requests, b.Failures)})
	}
	tokens, err := h.svc.Tokens(ctx, "")
	if err != nil {
		h.fail(w, err)
		return
	}
	for _, t := range tokens {
		if !t.Revoked.IsZero() || !t.Expires.IsZero() && !now.Before(t.Expires) {
			continue
		}
		lastUse := t.LastUsed
		if lastUse.IsZero() {
			lastUse = t.Created
		}
		if now.Sub(lastUse) > 90*24*time.Hour {
			d.Unused = append(d.Unused, t)
		}
		if !t.Expires.IsZero() && t.Expires.Sub(now) < 14*24*time.Hour {
			d.Expiring = append(d.Expiring, t)
		}
	}
	p := h.page(rq, "Dashboard", "dashboard", d)
	h.render(w, http.StatusOK, "dashboard", p)
}

// fail renders a failure to read what a page shows.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	h.o.Log.Error("reading for a console page", "err", err)
	h.refuse(w, http.StatusInternalServerError, internalError)
}

// --- Configs.

type configsData struct {
	Configs []store.ChallengeConfig
}

func (h *Handler) configs(w http.ResponseWriter, r *http.Request, rq request) {
	p := h.page(rq, "Managed challenges", "configs", configsData{Configs: h.svc.Configs()})
	p.Notice = notices[r.URL.Query().Get("done")]
	h.render(w, http.StatusOK, "configs", p)
}

type configForm struct {
	New                bool
	ID, Title          string
	Provider, Zone     string
	Rules, Nameservers string
	TTL                int
	AllowCNAME         bool
	HasCredentials     bool
	Providers          []providerForm
}

// providerForm is a provider's credential fields on the config form.
type providerForm struct {
	Name, Description string
	Fields            []credentialField
}

// credentialField is one field, with what the form sent when it is shown
// again after a refusal (never a secret's).
type credentialField struct {
	providers.Field
	Value string
}

// providerForms are the service's providers with their credential fields
// (from the registry), filled with what form sent.
func (h *Handler) providerForms(form url.Values) []providerForm {
	registered := providers.All()
	var out []providerForm
	for _, name := range h.svc.Providers() {
		pf := providerForm{Name: name}
		if i := slices.IndexFunc(registered, func(p providers.Provider) bool { return p.Name == name }); i >= 0 {
			p := registered[i]
			pf.Description = p.Description
			for _, f := range p.Credentials {
				cf := credentialField{Field: f}
				if !f.Secret {
					cf.Value = form.Get(credentialInput(name, f.Name))
				}
				pf.Fields = append(pf.Fields, cf)
			}
		}
		out = append(out, pf)
	}
	return out
}

// credentialInput is the form field of a provider's credential field.
func credentialInput(provider, field string) string { return "cred-" + provider + "-" + field }

// credentials are the selected provider's fields the form filled in, as
// the JSON object the provider takes; nil when none is filled in (a
// config's stored credentials are then kept).
func credentials(form url.Values, p providerForm) []byte {
	fields := map[string]any{}
	for _, f := range p.Fields {
		v := form.Get(credentialInput(p.Name, f.Name))
		switch {
		case f.List && len(lines(v)) > 0:
			fields[f.Name] = lines(v)
		case !f.List && strings.TrimSpace(v) != "":
			fields[f.Name] = strings.TrimSpace(v)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	raw, _ := json.Marshal(fields)
	return raw
}

func (h *Handler) configForm(w http.ResponseWriter, r *http.Request, rq request) {
	f := configForm{New: true, Provider: "self", TTL: 60, Providers: h.providerForms(nil)}
	if id := r.PathValue("id"); id != "" {
		c, ok := h.svc.Config(id)
		if !ok {
			h.refuse(w, http.StatusNotFound, fmt.Sprintf("There is no config %s.", id))
			return
		}
		prop, _ := providers.ParsePropagation(c.Propagation)
		f = configForm{ID: c.ID, Title: c.Title, Provider: c.Provider, Zone: c.Zone, Rules: strings.Join(c.Rules, "\n"),
			Nameservers: strings.Join(prop.Nameservers, "\n"), TTL: c.TTL, AllowCNAME: c.AllowCNAME,
			HasCredentials: len(c.Credentials) > 0, Providers: h.providerForms(nil)}
	}
	title := "Add a managed challenge"
	if !f.New {
		title = "Edit " + f.ID
	}
	h.render(w, http.StatusOK, "config", h.page(rq, title, "configs", f))
}

// invalid is a form's value the console refuses itself.
func invalid(format string, a ...any) error {
	return &managed.Error{Code: managed.CodeInvalid, Err: fmt.Errorf(format, a...)}
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handler) putConfig(w http.ResponseWriter, r *http.Request, rq request) {
	f := r.PostForm
	form := configForm{New: f.Get("new") == "true", ID: strings.TrimSpace(f.Get("id")), Title: f.Get("title"), Provider: f.Get("provider"),
		Zone: strings.TrimSpace(f.Get("zone")), Rules: f.Get("rules"), Nameservers: f.Get("nameservers"), AllowCNAME: f.Get("allow_cname") == "on",
		Providers: h.providerForms(f)}
	ttl, err := strconv.Atoi(strings.TrimSpace(f.Get("ttl")))
	form.TTL = ttl
	if err != nil || ttl < 1 {
		err = invalid("TTL %q: a number of seconds, at least 1", f.Get("ttl"))
	}
	if _, exists := h.svc.Config(form.ID); err == nil && form.New && exists {
		err = invalid("a config with the ID %s exists already: edit it instead", form.ID)
	}
	if err == nil {
		in := managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{ID: form.ID, Title: form.Title, Provider: form.Provider, Zone: form.Zone,
			Rules: lines(form.Rules), TTL: ttl, AllowCNAME: form.AllowCNAME,
			Propagation: providers.PropagationSettings{Nameservers: lines(form.Nameservers)}.String()}}
		if i := slices.IndexFunc(form.Providers, func(p providerForm) bool { return p.Name == form.Provider }); i >= 0 {
			in.Credentials = credentials(f, form.Providers[i])
		}
		if _, err = h.svc.PutConfig(r.Context(), rq.caller, in); err == nil {
			h.redirect(w, r, Base+"/configs", "config-saved")
			return
		}
	}
	c, _ := h.svc.Config(form.ID)
	form.HasCredentials = len(c.Credentials) > 0
	p := h.page(rq, "Managed challenge "+form.ID, "configs", form)
	p.Error = h.message(err)
	h.render(w, status(err), "config", p)
}

func (h *Handler) testConfig(w http.ResponseWriter, r *http.Request, rq request) {
	id := r.PathValue("id")
	p := h.page(rq, "Managed challenges", "configs", configsData{Configs: h.svc.Configs()})
	code := http.StatusOK
	if err := h.svc.TestConfig(r.Context(), rq.caller, id); err != nil {
		p.Error, code = h.message(err), status(err)
	} else {
		p.Notice = "Config " + id + ": the provider accepts its credentials."
	}
	h.render(w, code, "configs", p)
}

func (h *Handler) deleteConfig(w http.ResponseWriter, r *http.Request, rq request) {
	if err := h.svc.DeleteConfig(r.Context(), rq.caller, r.PathValue("id")); err != nil {
		p := h.page(rq, "Managed challenges", "configs", configsData{Configs: h.svc.Configs()})
		p.Error = h.message(err)
		h.render(w, status(err), "configs", p)
		return
	}
	h.redirect(w, r, Base+"/configs", "config-deleted")
}

// --- Principals.

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

// auditPageSize is how many entries a page of the audit log shows.
const auditPageSize = 50

type auditData struct {
	Since, Until, Principal, Identifier, Result string
	Principals                                  []store.Principal
	Titles                                      map[string]string // principal ID → title
	Entries                                     []store.AuditEntry
	Older                                       template.URL // the next page, or ""
}

// parseTime reads an RFC 3339 time, the datetime-local form's value
// (UTC), or a duration before now.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := config.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a time (2026-01-02T15:04) nor a duration (24h)", s)
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, rq request) {
	q := r.URL.Query()
	d := auditData{Since: q.Get("since"), Until: q.Get("until"), Principal: q.Get("principal"), Identifier: q.Get("identifier"), Result: q.Get("result")}
	ctx, now := r.Context(), h.o.Now()
	var failure error
	query := store.AuditQuery{Principal: d.Principal, Identifier: strings.ToLower(strings.TrimSpace(d.Identifier)), Limit: auditPageSize + 1}
	var err1, err2 error
	query.Since, err1 = parseTime(d.Since, now)
	query.Until, err2 = parseTime(d.Until, now)
	if err := errors.Join(err1, err2); err != nil {
		failure = err
	}
	switch d.Result {
	case store.ResultOK, store.ResultFailed:
		query.Result = d.Result
	default:
		d.Result = ""
	}
	if before, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && before > 0 {
		query.Before = before
	}
	code := http.StatusOK
	if failure == nil {
		entries, err := h.svc.AuditLog(ctx, query)
		if err != nil {
			h.fail(w, err)
			return
		}
		if len(entries) > auditPageSize {
			entries = entries[:auditPageSize]
			next := q
			next.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
			d.Older = template.URL(Base + "/audit?" + next.Encode()) // built from url.Values: safe
		}
		d.Entries = entries
	} else {
		code = http.StatusUnprocessableEntity
	}
	ps, err := h.svc.Principals(ctx)
	if err != nil {
		h.fail(w, err)
		return
	}
	d.Principals = ps
	d.Titles = make(map[string]string, len(ps))
	for _, p := range ps {
		d.Titles[p.ID] = p.Title
	}
	p := h.page(rq, "Audit log", "audit", d)
	if failure != nil {
		p.Error = failure.Error()
	}
	h.render(w, code, "audit", p)
}

type auditEntryData struct {
	Entry        store.AuditEntry
	Principal    principalName
	ConfigExists bool
}

// auditEntry shows one entry of the audit log whole.
func (h *Handler) auditEntry(w http.ResponseWriter, r *http.Request, rq request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var entries []store.AuditEntry
	if err == nil && id > 0 {
		if entries, err = h.svc.AuditLog(r.Context(), store.AuditQuery{ID: id}); err != nil {
			h.fail(w, err)
			return
		}
	}
	if len(entries) != 1 {
		h.refuse(w, http.StatusNotFound, fmt.Sprintf("The audit log has no entry %q.", r.PathValue("id")))
		return
	}
	e := entries[0]
	d := auditEntryData{Entry: e, Principal: principalName{ID: e.Principal, ClientID: e.ClientID}}
	if p, err := h.svc.Principal(r.Context(), e.Principal); err == nil {
		d.Principal.Title = p.Title
	}
	_, d.ConfigExists = h.svc.Config(e.Config)
	h.render(w, http.StatusOK, "auditentry", h.page(rq, fmt.Sprintf("Audit entry %d", e.ID), "audit", d))
}
