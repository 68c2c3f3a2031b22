// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/store"
)

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
