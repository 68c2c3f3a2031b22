// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/managed"
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
		return principalName{ID: e.Principal, Title: titles[e.Principal], ClientID: managed.Credential(e)}
	},
}

// fail renders a failure to read what a page shows.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	h.o.Log.Error("reading for a console page", "err", err)
	h.refuse(w, http.StatusInternalServerError, internalError)
}

// --- Configs.
