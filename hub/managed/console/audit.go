// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

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
	d := auditEntryData{Entry: e, Principal: principalName{ID: e.Principal, ClientID: managed.Credential(e)}}
	if p, err := h.svc.Principal(r.Context(), e.Principal); err == nil {
		d.Principal.Title = p.Title
	}
	_, d.ConfigExists = h.svc.Config(e.Config)
	h.render(w, http.StatusOK, "auditentry", h.page(rq, fmt.Sprintf("Audit entry %d", e.ID), "audit", d))
}
