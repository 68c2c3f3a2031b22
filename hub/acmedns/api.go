// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package acmedns is the acme-dns-compatible part of an acmehub server:
// acme-dns's HTTP API (POST /register, POST /update, GET /health),
// byte-compatible with acme-dns so that its clients work
// unchanged, plus acmehub's extensions: POST /present adds a value that no
// newer value evicts until POST /delete removes it (or it expires), POST
// /delete removes one TXT value, POST /txtlimit raises the number of values
// an account keeps, POST /rotate gives it a new password, POST /allowfrom
// replaces its allowfrom, POST /deregister deletes it. Each endpoint is a
// file of its own.
package acmedns

import (
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/clientip"
	"github.com/acmehub/acmehub/hub/ratelimit"
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
		"/rotate":     {http.MethodPost: a.rotate},
		"/allowfrom":  {http.MethodPost: a.allowFrom},
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
