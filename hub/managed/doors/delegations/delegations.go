// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package delegations is the hub's front door for delegations: a token
// with the managed-challenge-delegate role has the hub write
// _acme-challenge.<identifier> as a CNAME to an acme-dns account, through
// the provider of the config whose rules allow the name (acmehub register
// --hub does, after registering the account). HTTP basic auth (client ID,
// secret); JSON in and out; refusals are RFC 7807 problems.
//
//	POST   /api/v1/delegations               {"identifier", "target"} → 200 the delegation
//	GET    /api/v1/delegations               → the delegations the token's domains allow
//	DELETE /api/v1/delegations/{identifier}  → 200 the delegation removed
package delegations

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/store"
)

// Base is the path the door serves under.
const Base = "/api/v1/delegations"

// Delegation is a delegation on the wire.
type Delegation struct {
	Identifier string    `json:"identifier"`
	Name       string    `json:"name"` // _acme-challenge.<identifier>
	Target     string    `json:"target"`
	Config     string    `json:"config"`
	Owner      string    `json:"owner"`
	Created    time.Time `json:"created"`
}

// Request is the body of a POST.
type Request struct {
	Identifier string `json:"identifier"`
	Target     string `json:"target"`
}

// New returns the door's handler.
func New(d *doors.Door) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Base, func(w http.ResponseWriter, r *http.Request) {
		body, err := doors.ReadBody(r)
		var req Request
		if err == nil {
			if err = json.Unmarshal(body, &req); err != nil || req.Identifier == "" || req.Target == "" {
				err = doors.Invalid("request body: want {\"identifier\", \"target\"}")
			}
		}
		serve(w, r, d, "delegate", req.Identifier, err, func(ctx context.Context, c managed.Caller) (any, error) {
			dl, err := d.Service.Delegate(ctx, c, req.Identifier, req.Target)
			return wire(dl), err
		})
	})
	mux.HandleFunc("GET "+Base, func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, d, "delegations", "", nil, func(ctx context.Context, c managed.Caller) (any, error) {
			list, err := d.Service.Delegations(ctx, c)
			out := []Delegation{}
			for _, dl := range list {
				out = append(out, wire(dl))
			}
			return out, err
		})
	})
	mux.HandleFunc("DELETE "+Base+"/{identifier}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("identifier")
		serve(w, r, d, "undelegate", id, nil, func(ctx context.Context, c managed.Caller) (any, error) {
			dl, err := d.Service.Undelegate(ctx, c, id)
			return wire(dl), err
		})
	})
	return mux
}

var errMissingAuth = errors.New("HTTP basic auth is required: the API token's client ID and secret")

// serve admits the request (a bad request, err, is refused after the
// token is known, so that it is audited under it) and answers do's result
// as JSON.
func serve(w http.ResponseWriter, r *http.Request, d *doors.Door, action, identifier string, bad error,
	do func(ctx context.Context, c managed.Caller) (any, error)) {
	req := managed.Request{Identifier: identifier, Via: "delegations"}
	clientID, secret, ok := r.BasicAuth()
	caller, err := d.Admit(r, action, clientID, &req, func(ctx context.Context) (managed.Caller, error) {
		if !ok {
			return managed.Caller{}, &managed.Error{Code: managed.CodeUnauthenticated, Err: errMissingAuth}
		}
		return d.Service.Authenticate(ctx, clientID, secret)
	})
	if err == nil {
		err = bad
	}
	var out any
	if err == nil {
		out, err = do(r.Context(), caller)
	}
	if err != nil {
		d.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func wire(d store.Delegation) Delegation {
	return Delegation{Identifier: d.Identifier, Name: managed.ChallengeName(d.Identifier), Target: d.Target, Config: d.Config,
		Owner: d.Owner, Created: d.Created.UTC()}
}

func init() {
	doors.Register(doors.Protocol{
		Name:        "delegations",
		Description: "`acmehub register --hub` and any client with a managed-challenge-delegate token: the hub writes `_acme-challenge.<name>`'s CNAME to an acme-dns account: `" + Base + "`",
		Mount: func(d *doors.Door, _ config.Hub, mux *http.ServeMux) (string, func(), error) {
			h := New(d)
			mux.Handle(Base, h)
			mux.Handle(Base+"/", h)
			return Base, nil, nil
		},
	})
}
