// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/acmehub/acmehub/hub/store"
)

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
