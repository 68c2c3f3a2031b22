// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package doors holds what the hub's front doors (the Certify, httpreq and
// acmeproxy protocols, and the console's sign-in) share: one admission
// path (authenticate, rate limit per API token, audit a refusal) and RFC
// 7807 problem answers naming the cause of a refusal. Each protocol is a
// package below it.
package doors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/clientip"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/ratelimit"
)

// Door admits a front door's requests to the managed-challenge service.
type Door struct {
	Service *managed.Service
	// ClientIP finds the caller's address, which the audit log records.
	ClientIP clientip.Resolver
	// Limits bound each API token's requests, so that one client cannot
	// spend the DNS provider's API quota; nil: no limit.
	Limits *ratelimit.Limiter
	// Log receives the failures that are no refusal.
	Log *slog.Logger
}

// Authenticator checks a request's credentials and returns its caller; on
// a refusal, a caller whose ClientID names the token the credentials were
// for, when that is known.
type Authenticator func(ctx context.Context) (managed.Caller, error)

// Admit lets a request in: it records the caller's address in req,
// authenticates with auth (or, for a request with an Authorization:
// Bearer token, with that token of a trusted issuer: every door takes
// one), and takes a request from the caller's rate limit (a caller
// without a token: from its address's). A refusal of action is audited
// under the token the authenticator named, else credential (the client
// ID the request gave), and returned.
func (d *Door) Admit(r *http.Request, action, credential string, req *managed.Request, auth Authenticator) (managed.Caller, error) {
	req.Address = d.Address(r)
	if token, ok := Bearer(r); ok {
		auth = func(ctx context.Context) (managed.Caller, error) { return d.Service.AuthenticateBearer(ctx, token) }
	}
	caller, err := auth(r.Context())
	if err == nil && !d.Limits.Allow(limitKey(caller, req.Address)) {
		err = &managed.Error{Code: managed.CodeBusy, Err: &RetryAfterError{Wait: d.Limits.RetryAfter()}}
	}
	if err != nil {
		if caller.Issuer == "" {
			caller.ClientID = cmp.Or(caller.ClientID, credential)
		}
		d.Service.Refused(r.Context(), action, caller, *req, err)
		return managed.Caller{}, err
	}
	caller.Address = req.Address
	return caller, nil
}

// Bearer is the request's Authorization: Bearer token, when it has one.
func Bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// limitKey is what a caller's requests are limited under: its API token,
// its issuer's token's subject, or without either its address.
func limitKey(c managed.Caller, address string) string {
	switch {
	case c.ClientID != "":
		return c.ClientID
	case c.Issuer != "":
		return "issuer " + c.Issuer + " subject " + c.Subject
	}
	return "address " + address
}

// Address is the caller's address as the audit log records it; "" when
// not known.
func (d *Door) Address(r *http.Request) string {
	if ip := d.ClientIP.Of(r); ip.IsValid() {
		return ip.String()
	}
	return ""
}

// RetryAfterError is a rate-limit refusal.
type RetryAfterError struct{ Wait time.Duration }

func (r *RetryAfterError) Error() string {
	return "too many requests for this API token: retry in " + ratelimit.Seconds(r.Wait) + " s"
}

// Problem is an RFC 7807 problem answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// Status is the HTTP status for err.
func Status(err error) int {
	var e *managed.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Code {
	case managed.CodeInvalid:
		return http.StatusBadRequest
	case managed.CodeUnauthenticated:
		return http.StatusUnauthorized
	case managed.CodeForbidden, managed.CodeNoConfig, managed.CodeRecordNotAllowed:
		return http.StatusForbidden
	case managed.CodeProvider:
		return http.StatusBadGateway
	case managed.CodeBusy:
		return http.StatusTooManyRequests
	case managed.CodeConflict:
		return http.StatusConflict
	case managed.CodeNotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// Explain sets w's headers for err (Retry-After for a rate limit,
// WWW-Authenticate for a missing or wrong token) and returns the status
// and the detail to answer with. An error that is no refusal is logged
// with the request's path and hidden from the client.
func (d *Door) Explain(w http.ResponseWriter, r *http.Request, err error) (int, string) {
	status := Status(err)
	detail := err.Error()
	if status == http.StatusInternalServerError {
		if d.Log != nil {
			d.Log.Error("answering a request", "path", r.URL.Path, "err", err)
		}
		detail = "internal error; the hub's log has the cause"
	}
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", ratelimit.Seconds(ra.Wait))
	}
	if status == http.StatusUnauthorized {
		if _, ok := Bearer(r); ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="acmehub", error="invalid_token"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="acmehub"`)
		}
	}
	return status, detail
}

// WriteProblem answers err as an RFC 7807 problem (see Explain).
func (d *Door) WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := d.Explain(w, r, err)
	body, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// Invalid is a malformed request.
func Invalid(format string, a ...any) error {
	return &managed.Error{Code: managed.CodeInvalid, Err: fmt.Errorf(format, a...)}
}

// ReadBody reads a request body of at most 64 KiB.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return nil, Invalid("reading the request body: %v", err)
	}
	return body, nil
}
