// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/store"
)

// rotate gives the caller's account a new password (an acmehub extension,
// authenticated as /update is): the answer holds it, and the old one stops
// working at once, on every server sharing the database. The account, its
// subdomain and so its CNAMEs stay.
func (a *API) rotate(w http.ResponseWriter, r *http.Request) {
	acct, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	password, err := a.svc.Rotate(r.Context(), acct.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "forbidden") // deregistered meanwhile
	case errors.Is(err, accounts.ErrBusy):
		a.busy(w)
	case err != nil:
		a.log.Error("rotating a password", "username", acct.Username, "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
	default:
		out, _ := json.Marshal(struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}{acct.Username, password})
		writeJSON(w, http.StatusOK, out)
	}
}
