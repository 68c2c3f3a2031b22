// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package acmedns is the acme-dns-compatible part of an acmehub server:
// acme-dns's HTTP API (POST /register, POST /update, GET /health),
// byte-compatible with acme-dns so that its clients work
// unchanged, plus acmehub's extensions: POST /present adds a value that no
// newer value evicts until POST /delete removes it (or it expires), POST
// /delete removes one TXT value, POST /txtlimit raises the number of values
// an account keeps, POST /deregister deletes an account.
package acmedns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/clientip"
	"github.com/acmehub/acmehub/hub/ratelimit"
	"github.com/acmehub/acmehub/hub/store"
)

// MaxBodyBytes caps request bodies; larger ones are answered 413.
const MaxBodyBytes = 64 << 10

// Options configure the API.
type Options struct {
	// DisableRegistration removes POST /register (404), as acme-dns does.
	DisableRegistration bool
	// RegistrationUser and RegistrationPassword, when set, require HTTP basic
	// auth on POST /register.
	RegistrationUser, RegistrationPassword string
	// CORSOrigins are the allowed browser origins; "*" and patterns with one * are accepted.
	CORSOrigins []string
	// ClientIP finds the client's address, for allowfrom and the limits:
	// the connection's, or behind proxies the header they write (use_header).
	ClientIP clientip.Resolver
	// HSTS is the Strict-Transport-Security value to send; empty sends none.
	HSTS string
	// RegisterPerMinute limits registrations per client address;
	// FailedAuthPerMinute failed authentications per client address and
	// username, FailedAuthPerAddressPerMinute per address whatever the
	// username (past a limit: 429). Credentials that passed before are
	// never limited. 0 means no limit.
	RegisterPerMinute, FailedAuthPerMinute, FailedAuthPerAddressPerMinute int
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// CertificateNotAfter, when set, is when the certificate the server
	// obtained for the API expires: GET /health says it.
	CertificateNotAfter func() time.Time
	// Registerer receives the API's metrics; nil registers none.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// API serves the HTTP API over an accounts service.
type API struct {
	svc     *accounts.Service
	opts    Options
	log     *slog.Logger
	routes  map[string]map[string]http.HandlerFunc
	allow   map[string]string // route -> Allow header value
	regAuth [2][sha256.Size]byte
	metrics *metrics
	// registers limits each address's registrations; failures each
	// address's failed authentications of one username, addressFailures
	// of all of them: each costs a bcrypt computation.
	registers, failures, addressFailures *ratelimit.Limiter
}

// New returns the API handler.
func New(svc *accounts.Service, opts Options) *API {
	a := &API{
		svc: svc, opts: opts, log: opts.Log, allow: map[string]string{},
		registers: ratelimit.PerMinute(opts.RegisterPerMinute), failures: ratelimit.PerMinute(opts.FailedAuthPerMinute),
		addressFailures: ratelimit.PerMinute(opts.FailedAuthPerAddressPerMinute),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.regAuth = [2][sha256.Size]byte{sha256.Sum256([]byte(opts.RegistrationUser)), sha256.Sum256([]byte(opts.RegistrationPassword))}
	a.routes = map[string]map[string]http.HandlerFunc{
		"/update":     {http.MethodPost: a.update},
		"/present":    {http.MethodPost: a.present},
		"/delete":     {http.MethodPost: a.delete},
		"/txtlimit":   {http.MethodPost: a.txtLimit},
		"/deregister": {http.MethodPost: a.deregister},
		"/health":     {http.MethodGet: a.health, http.MethodHead: a.health},
	}
	if !opts.DisableRegistration {
		a.routes["/register"] = map[string]http.HandlerFunc{http.MethodPost: a.register}
	}
	if opts.Metrics != nil {
		a.routes["/metrics"] = map[string]http.HandlerFunc{http.MethodGet: opts.Metrics.ServeHTTP}
	}
	for path, methods := range a.routes {
		var names []string
		for m := range methods {
			names = append(names, m)
		}
		sort.Strings(names)
		a.allow[path] = strings.Join(names, ", ")
	}
	if opts.Registerer != nil {
		a.metrics = newMetrics(opts.Registerer)
	}
	return a
}

// ServeHTTP routes a request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	route := "other"
	defer func() {
		if a.metrics != nil {
			a.metrics.observe(route, rec.status, time.Since(start))
		}
		a.log.Debug("HTTP request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start), "remote", r.RemoteAddr)
	}()

	h := rec.Header()
	h.Set("Vary", "Origin")
	if a.opts.HSTS != "" {
		h.Set("Strict-Transport-Security", a.opts.HSTS)
	}
	methods, ok := a.routes[r.URL.Path]
	if ok {
		route = r.URL.Path
	}
	if origin := r.Header.Get("Origin"); origin != "" && a.originAllowed(origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && ok {
			h.Set("Access-Control-Allow-Methods", a.allow[r.URL.Path])
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Api-User, X-Api-Key, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			rec.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if !ok {
		writeError(rec, http.StatusNotFound, "not_found")
		return
	}
	handler, ok := methods[r.Method]
	if !ok {
		h.Set("Allow", a.allow[r.URL.Path])
		writeError(rec, http.StatusMethodNotAllowed, "method_not_allowed")
		return
	}
	if r.ContentLength > MaxBodyBytes {
		writeError(rec, http.StatusRequestEntityTooLarge, "payload_too_large")
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
	handler(rec, r)
}

func (a *API) originAllowed(origin string) bool {
	for _, pattern := range a.opts.CORSOrigins {
		if pattern == "*" || pattern == origin {
			return true
		}
		if prefix, suffix, ok := strings.Cut(pattern, "*"); ok &&
			len(origin) >= len(prefix)+len(suffix) && strings.HasPrefix(origin, prefix) && strings.HasSuffix(origin, suffix) {
			return true
		}
	}
	return false
}

// errBodyTooLarge marks a body cut off at MaxBodyBytes.
var errBodyTooLarge = errors.New("payload_too_large")

// readBody reads the request body, at most MaxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errBodyTooLarge
	}
	return body, err
}

// registerRequest is the optional body of POST /register. Keys match
// case-insensitively, as acme-dns's do.
type registerRequest struct {
	AllowFrom []string `json:"allowfrom"`
	// TXTLimit asks for more than the default number of values (acmehub).
	TXTLimit int `json:"txtlimit"`
}

// decodeRegister reads a /register body: empty, null and {} are all fine.
func decodeRegister(body []byte) (registerRequest, error) {
	var req registerRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&req)
	return req, err
}

// updateRequest is the body of POST /update and POST /delete.
type updateRequest struct {
	Subdomain string `json:"subdomain"`
	TXT       string `json:"txt"`
}

// decodeUpdate reads an /update body. The Content-Type is ignored: acme.sh
// sends JSON as a form.
func decodeUpdate(body []byte) (updateRequest, error) {
	var req updateRequest
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&req)
	return req, err
}

// registerResponse is acme-dns's answer, keys in its order.
type registerResponse struct {
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	FullDomain string   `json:"fulldomain"`
	Subdomain  string   `json:"subdomain"`
	AllowFrom  []string `json:"allowfrom"`
	TXTLimit   int      `json:"txtlimit,omitempty"`
}

func (a *API) register(w http.ResponseWriter, r *http.Request) {
	ip := a.clientIP(r)
	if a.opts.RegistrationUser != "" {
		if err := a.admit(ip, "/register")(); err != nil {
			a.tooMany(w, a.failures)
			return
		}
		if !a.registrationAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="acmehub registration", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
	}
	if !a.registers.Allow(ratelimit.AddrKey(ip)) {
		a.tooMany(w, a.registers)
		return
	}
	body, err := readBody(r)
	if err != nil {
		a.bodyError(w, err)
		return
	}
	req, err := decodeRegister(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json_payload")
		return
	}
	reg, err := a.svc.Register(r.Context(), req.AllowFrom, req.TXTLimit)
	switch {
	case errors.Is(err, accounts.ErrBusy):
		a.busy(w)
		return
	case errors.Is(err, accounts.ErrInvalidCIDR):
		writeError(w, http.StatusBadRequest, "invalid_allowfrom_cidr")
		return
	case errors.Is(err, accounts.ErrTXTLimit):
		a.invalidTXTLimit(w)
		return
	case err != nil:
		a.log.Error("registering account", "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
		return
	}
	out, _ := json.Marshal(registerResponse{
		Username: reg.Username, Password: reg.Password, FullDomain: reg.FullDomain,
		Subdomain: reg.Subdomain, AllowFrom: nonNil(reg.AllowFrom), TXTLimit: reg.TXTLimit,
	})
	writeJSON(w, http.StatusCreated, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *API) registrationAuthorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return ok && subtle.ConstantTimeCompare(u[:], a.regAuth[0][:])&subtle.ConstantTimeCompare(p[:], a.regAuth[1][:]) == 1
}

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

// txtRequest authenticates a request changing one TXT value and decodes it.
func (a *API) txtRequest(w http.ResponseWriter, r *http.Request) (updateRequest, bool) {
	acct, ok := a.authenticate(w, r)
	if !ok {
		return updateRequest{}, false
	}
	body, err := readBody(r)
	if err != nil {
		a.bodyError(w, err)
		return updateRequest{}, false
	}
	req, err := decodeUpdate(body)
	if err != nil || req.Subdomain != acct.Subdomain {
		writeError(w, http.StatusUnauthorized, "forbidden")
		return updateRequest{}, false
	}
	return req, true
}

func (a *API) update(w http.ResponseWriter, r *http.Request) {
	a.changeTXT(w, r, a.svc.AddTXT)
}

func (a *API) present(w http.ResponseWriter, r *http.Request) {
	a.changeTXT(w, r, a.svc.Present)
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	a.changeTXT(w, r, a.svc.DeleteTXT)
}

func (a *API) changeTXT(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, subdomain, value string) error) {
	req, ok := a.txtRequest(w, r)
	if !ok {
		return
	}
	err := change(r.Context(), req.Subdomain, req.TXT)
	var limit *store.HoldLimitError
	switch {
	case errors.As(err, &limit):
		a.log.Info("present refused: the account holds its limit of live values", "subdomain", req.Subdomain, "limit", limit.Limit)
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, "too_many_live_values")
	case errors.Is(err, accounts.ErrBadTXT):
		writeError(w, http.StatusBadRequest, "bad_txt")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "forbidden") // deregistered meanwhile
	case err != nil:
		a.log.Error("changing TXT", "path", r.URL.Path, "subdomain", req.Subdomain, "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
	default:
		writeJSON(w, http.StatusOK, []byte(`{"txt": `+strconv.Quote(req.TXT)+`}`))
	}
}

// txtLimitRequest is the body of POST /txtlimit.
type txtLimitRequest struct {
	Subdomain string `json:"subdomain"`
	TXTLimit  int    `json:"txtlimit"`
}

// txtLimit raises the number of values the caller's account keeps, so that
// an account that gained names keeps two values for each (a name and its
// wildcard validated at once), and answers how many it keeps. Without
// txtlimit (or 0) it only answers. It changes no value, so the account's
// allowfrom, which guards its values, does not apply: the registration Job
// may run elsewhere than the ACME client.
func (a *API) txtLimit(w http.ResponseWriter, r *http.Request) {
	acct, ok := a.credentials(w, r)
	if !ok {
		return
	}
	body, err := readBody(r)
	if err != nil {
		a.bodyError(w, err)
		return
	}
	var req txtLimitRequest
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json_payload")
		return
	}
	if req.Subdomain != acct.Subdomain {
		writeError(w, http.StatusUnauthorized, "forbidden")
		return
	}
	keeps, err := a.svc.RaiseTXTLimit(r.Context(), acct.Username, req.TXTLimit)
	switch {
	case errors.Is(err, accounts.ErrTXTLimit):
		a.invalidTXTLimit(w)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "forbidden") // deregistered meanwhile
	case err != nil:
		a.log.Error("raising the value limit", "username", acct.Username, "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
	default:
		writeJSON(w, http.StatusOK, []byte(`{"txtlimit": `+strconv.Itoa(keeps)+`, "max_txtlimit": `+strconv.Itoa(a.svc.MaxTXTLimit())+`}`))
	}
}

// invalidTXTLimit refuses a limit past max_txt_limit, saying what the most is.
func (a *API) invalidTXTLimit(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, []byte(`{"error": "invalid_txtlimit", "max_txtlimit": `+strconv.Itoa(a.svc.MaxTXTLimit())+`}`))
}

func (a *API) deregister(w http.ResponseWriter, r *http.Request) {
	acct, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	switch err := a.svc.Deregister(r.Context(), acct.Username); {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "forbidden")
	case err != nil:
		a.log.Error("deregistering", "username", acct.Username, "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
	default:
		out, _ := json.Marshal(struct {
			Username  string `json:"username"`
			Subdomain string `json:"subdomain"`
		}{acct.Username, acct.Subdomain})
		writeJSON(w, http.StatusOK, out)
	}
}

func (a *API) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.svc.Ping(ctx); err != nil {
		a.log.Warn("health check: store does not answer", "err", err)
		writeError(w, http.StatusServiceUnavailable, "db_unavailable")
		return
	}
	if a.opts.CertificateNotAfter != nil {
		// acme-dns answers 200 with no body; a body says no more than
		// when the API's certificate expires.
		if t := a.opts.CertificateNotAfter(); !t.IsZero() {
			writeJSON(w, http.StatusOK, []byte(`{"certificate_not_after": "`+t.UTC().Format(time.RFC3339)+`"}`))
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) bodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large")
		return
	}
	writeError(w, http.StatusBadRequest, "malformed_json_payload")
}

// writeError writes acme-dns's error body, {"error": "<code>"}.
func writeError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, []byte(`{"error": "`+code+`"}`))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client is gone
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
