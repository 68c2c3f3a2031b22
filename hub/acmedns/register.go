// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/ratelimit"
)

// registerRequest is the optional body of POST /register. Keys match
// case-insensitively, as acme-dns's do.
type registerRequest struct {
	AllowFrom []string `json:"allowfrom"`
	// TXTLimit asks for more than the default number of values (acmehub).
	TXTLimit int `json:"txtlimit"`
}

// decodeRegister reads a /register body: empty, null and {} are all fine.
func decodeRegister(body []byte) (registerRequest, error) {
	var req registerRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&req)
	return req, err
}

func (a *API) register(w http.ResponseWriter, r *http.Request) {
	ip := a.clientIP(r)
	if a.opts.RegistrationUser != "" {
		if err := a.admit(ip, "/register")(); err != nil {
			a.tooMany(w, a.failures)
			return
		}
		if !a.registrationAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="acmehub registration", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
	}
	if !a.registers.Allow(ratelimit.AddrKey(ip)) {
		a.tooMany(w, a.registers)
		return
	}
	body, err := readBody(r)
	if err != nil {
		a.bodyError(w, err)
		return
	}
	req, err := decodeRegister(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_json_payload")
		return
	}
	reg, err := a.svc.Register(r.Context(), req.AllowFrom, req.TXTLimit)
	switch {
	case errors.Is(err, accounts.ErrBusy):
		a.busy(w)
		return
	case errors.Is(err, accounts.ErrInvalidCIDR):
		writeError(w, http.StatusBadRequest, "invalid_allowfrom_cidr")
		return
	case errors.Is(err, accounts.ErrTXTLimit):
		a.invalidTXTLimit(w)
		return
	case err != nil:
		a.log.Error("registering account", "err", err)
		writeError(w, http.StatusInternalServerError, "db_error")
		return
	}
	out, _ := json.Marshal(registerResponse{
		Username: reg.Username, Password: reg.Password, FullDomain: reg.FullDomain,
		Subdomain: reg.Subdomain, AllowFrom: nonNil(reg.AllowFrom), TXTLimit: reg.TXTLimit,
	})
	writeJSON(w, http.StatusCreated, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *API) registrationAuthorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return ok && subtle.ConstantTimeCompare(u[:], a.regAuth[0][:])&subtle.ConstantTimeCompare(p[:], a.regAuth[1][:]) == 1
}

// registerResponse is acme-dns's answer, keys in its order.
type registerResponse struct {
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	FullDomain string   `json:"fulldomain"`
	Subdomain  string   `json:"subdomain"`
	AllowFrom  []string `json:"allowfrom"`
	TXTLimit   int      `json:"txtlimit,omitempty"`
}
