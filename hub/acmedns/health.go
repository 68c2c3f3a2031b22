// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"net/http"
	"time"
)

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
