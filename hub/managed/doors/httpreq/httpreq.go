// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package httpreq is the hub's front door for lego's httpreq provider and
// the clients speaking the same JSON (acme.sh dns_acmeproxy, Traefik,
// Caddy): POST <prefix>/present and <prefix>/cleanup with HTTP basic auth
// (client ID, secret), answered with the request echoed.
package httpreq

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
)

// Options configure the handler.
type Options struct {
	// Prefix is the path it is mounted under, e.g. "/httpreq"; "" for the root.
	Prefix string
}

// request is either body lego sends: the default {fqdn, value}, or RAW
// {domain, token, keyAuth}.
type request struct {
	FQDN    string `json:"fqdn"`
	Value   string `json:"value"`
	Domain  string `json:"domain"`
	Token   string `json:"token"`
	KeyAuth string `json:"keyAuth"`
}

// New returns the handler, admitting requests through door.
func New(door *doors.Door, o Options) http.Handler {
	prefix := strings.TrimSuffix(o.Prefix, "/")
	mux := http.NewServeMux()
	for _, action := range []string{"present", "cleanup"} {
		mux.HandleFunc("POST "+prefix+"/"+action, func(w http.ResponseWriter, r *http.Request) {
			serve(w, r, door, action)
		})
	}
	return mux
}

func serve(w http.ResponseWriter, r *http.Request, door *doors.Door, action string) {
	body, err := doors.ReadBody(r)
	if err != nil {
		door.WriteProblem(w, r, err)
		return
	}
	req, err := decode(body)
	if err != nil {
		door.WriteProblem(w, r, err)
		return
	}
	req.Via = "httpreq"
	clientID, secret, ok := r.BasicAuth()
	caller, err := door.Admit(r, action, clientID, &req, func(ctx context.Context) (managed.Caller, error) {
		if !ok {
			return managed.Caller{}, &managed.Error{Code: managed.CodeUnauthenticated, Err: errMissingAuth}
		}
		return door.Service.Authenticate(ctx, clientID, secret)
	})
	if err == nil && action == "present" {
		_, err = door.Service.Present(r.Context(), caller, req)
	} else if err == nil {
		err = door.Service.CleanUp(r.Context(), caller, req)
	}
	if err != nil {
		door.WriteProblem(w, r, err)
		return
	}
	// acme.sh looks for what it sent in the answer.
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

var errMissingAuth = errors.New("HTTP basic auth is required: the API token's client ID and secret")

// decode reads either body; RAW mode's value is the digest of keyAuth, as
// the ACME client would publish it.
func decode(body []byte) (managed.Request, error) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return managed.Request{}, doors.Invalid("request body: %v (want {\"fqdn\", \"value\"} or {\"domain\", \"token\", \"keyAuth\"})", err)
	}
	switch {
	case req.KeyAuth != "" || req.Domain != "":
		if req.KeyAuth == "" || req.Domain == "" {
			return managed.Request{}, doors.Invalid("RAW mode needs domain and keyAuth")
		}
		sum := sha256.Sum256([]byte(req.KeyAuth))
		return managed.Request{Identifier: req.Domain, Value: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
	case req.FQDN != "" && req.Value != "":
		return managed.Request{Record: req.FQDN, Value: req.Value}, nil
	}
	return managed.Request{}, doors.Invalid("request body needs fqdn and value (or, in RAW mode, domain and keyAuth)")
}

func init() {
	doors.Register(doors.Protocol{
		Name:        "httpreq",
		Description: "lego's httpreq provider, acme.sh's dns_acmeproxy, Traefik and Caddy: `[hub] httpreq_prefix` (`/httpreq`)",
		Mount: func(d *doors.Door, cfg config.Hub, mux *http.ServeMux) (string, func(), error) {
			mux.Handle(strings.TrimSuffix(cfg.HTTPReqPrefix, "/")+"/", New(d, Options{Prefix: cfg.HTTPReqPrefix}))
			return cfg.HTTPReqPrefix, nil, nil
		},
	})
}
