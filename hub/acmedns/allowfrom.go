// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/store"
)

// allowFromRequest is the body of POST /allowfrom.
type allowFromRequest struct {
	AllowFrom *[]string `json:"allowfrom"`
}

// allowFrom replaces the CIDRs the caller's account may be updated from
// (an acmehub extension, authenticated as /update is, so from an address
// the current list allows): {"allowfrom": [...]}, [] for anywhere. The
// answer is the list as stored.
func (a *API) allowFrom(w http.ResponseWriter, r *http.Request) {
	acct, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	body, err := readBody(r)
	if err != nil {
		a.bodyError(w, err)
		return
	}
	var req allowFromRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.AllowFrom == nil {
		writeError(w, http.StatusBadRequest, "malformed_json_payload")
		return
	}
	cidrs, err := a.svc.SetAllowFrom(r.Context(), acct.Username, *req.AllowFrom)
	switch {
	case errors.Is(err, accounts.ErrInvalidCIDR):
		writeError(w, http.StatusBadRequest, "invalid_allowfrom_cidr")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "forbidden")
	case err != nil:
		a.log.Error("replacing allowfrom", "username", acct.Username, "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
	default:
		out, _ := json.Marshal(struct {
			AllowFrom []string `json:"allowfrom"`
		}{nonNil(cidrs)})
		writeJSON(w, http.StatusOK, out)
	}
}
