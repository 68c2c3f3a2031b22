// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/store"
)

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
