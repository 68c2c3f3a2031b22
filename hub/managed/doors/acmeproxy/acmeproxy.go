// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package acmeproxy is the hub's front door for acmeproxy's form API, as
// its dehydrated and certbot hooks call it: form-encoded POSTs to
// create_authorisation, expire_authorisation, publish_response and
// expire_response, each answered with JSON {"result": …}, or {"result":
// false} with an HTTP error and the cause in "error". An authorisation is
// a name and a secret (see managed.CreateAuthorisation); a published
// response expires on its own after five minutes, as acmeproxy's do.
package acmeproxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
	"github.com/acmehub/acmehub/hub/store"
)

// ResponseLifetime is how long a published response stays.
const ResponseLifetime = 5 * time.Minute

// Options configure the handler.
type Options struct {
	// Prefix is the path it is mounted under, e.g. "/acmeproxy".
	Prefix string
	// CreateSecret, when set, is the secret that create_authorisation
	// needs. Without it, authorisations are created with acmehub admin
	// only, unless OpenCreation lets anyone who reaches the hub create them
	// (for names a config matches and no authorisation holds), as
	// acmeproxy does.
	CreateSecret string
	OpenCreation bool
}

type handler struct {
	door *doors.Door
	svc  *managed.Service
	o    Options
}

// New returns the handler, admitting requests through door.
func New(door *doors.Door, o Options) http.Handler {
	h := &handler{door: door, svc: door.Service, o: o}
	prefix := strings.TrimSuffix(o.Prefix, "/")
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix+"/create_authorisation", h.create)
	mux.HandleFunc("POST "+prefix+"/expire_authorisation", h.expireAuthorisation)
	mux.HandleFunc("POST "+prefix+"/publish_response", h.publish)
	mux.HandleFunc("POST "+prefix+"/expire_response", h.expireResponse)
	return mux
}

// form reads the request's form fields into a request for the name.
func form(r *http.Request) (managed.Request, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	req := managed.Request{Via: "acmeproxy"}
	if err := r.ParseForm(); err != nil {
		return req, doors.Invalid("form: %v", err)
	}
	if req.Identifier = r.PostForm.Get("name"); req.Identifier == "" {
		return req, doors.Invalid("the field name is required")
	}
	return req, nil
}

var errCreationOff = errors.New("creating authorisations over the API is off: create one with `acmehub admin authorisations create`, " +
	"or set [hub] acmeproxy_create_secret_file (or acmeproxy_open_creation)")

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	req, err := form(r)
	if err == nil {
		// Without a token, the door limits creations by the caller's address.
		_, err = h.door.Admit(r, "create_authorisation", "", &req, func(context.Context) (managed.Caller, error) {
			return managed.Caller{Principal: "acmeproxy"}, h.mayCreate(r)
		})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	caller := managed.Caller{Principal: "acmeproxy", Address: req.Address}
	a, err := h.svc.CreateAuthorisation(r.Context(), caller, req.Identifier, truthy(r.PostForm.Get("suffix_match")), req.Address)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer(w, secretResult(a))
}

// mayCreate checks the create secret, or that creation is open.
func (h *handler) mayCreate(r *http.Request) error {
	switch {
	case h.o.CreateSecret != "":
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("secret")), []byte(h.o.CreateSecret)) != 1 {
			return &managed.Error{Code: managed.CodeUnauthenticated, Err: errors.New("wrong secret for creating authorisations")}
		}
	case !h.o.OpenCreation:
		return &managed.Error{Code: managed.CodeForbidden, Err: errCreationOff}
	}
	return nil
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func secretResult(a managed.NewAuthorisation) map[string]any {
	return map[string]any{"secret": a.Secret, "authorisation": a.Name, "suffix_match": a.SuffixMatch}
}

// caller admits a request by its name and secret.
func (h *handler) caller(r *http.Request, action string) (managed.Caller, store.Authorisation, managed.Request, error) {
	req, err := form(r)
	if err != nil {
		return managed.Caller{}, store.Authorisation{}, req, err
	}
	var a store.Authorisation
	caller, err := h.door.Admit(r, action, "", &req, func(ctx context.Context) (managed.Caller, error) {
		caller, found, err := h.svc.AuthorisationCaller(ctx, req.Identifier, r.PostForm.Get("secret"))
		if a = found; err != nil {
			return managed.Caller{ClientID: found.ClientID}, err
		}
		return caller, nil
	})
	return caller, a, req, err
}

func (h *handler) expireAuthorisation(w http.ResponseWriter, r *http.Request) {
	caller, a, _, err := h.caller(r, "expire_authorisation")
	if err == nil && a.Name == "" {
		// Admitted by an issuer's token, which holds no authorisation.
		err = doors.Invalid("expire_authorisation needs the authorisation's name and secret, not a bearer token")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rotated, err := h.svc.RotateAuthorisation(r.Context(), caller, a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer(w, secretResult(rotated))
}

func (h *handler) publish(w http.ResponseWriter, r *http.Request) {
	caller, a, req, err := h.caller(r, "present")
	if err == nil {
		req.Value, req.Expires = r.PostForm.Get("response"), ResponseLifetime
		_, err = h.svc.Present(r.Context(), caller, req)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer(w, map[string]any{"authorisation": a.Name, "suffix_match": a.SuffixMatch, "published": true})
}

func (h *handler) expireResponse(w http.ResponseWriter, r *http.Request) {
	caller, a, req, err := h.caller(r, "cleanup")
	if err == nil {
		err = h.svc.CleanUp(r.Context(), caller, req)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer(w, map[string]any{"authorisation": a.Name, "suffix_match": a.SuffixMatch, "expired": true})
}

func answer(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"result": result})
}

// fail answers {"result": false} with the refusal's status and cause.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := h.door.Explain(w, r, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"result": false, "error": detail})
}

func init() {
	doors.Register(doors.Protocol{
		Name:        "acmeproxy",
		Description: "acmeproxy's form API (`create_authorisation`, `publish_response`, …): `[hub] acmeproxy_prefix` (`/acmeproxy`)",
		Mount: func(d *doors.Door, cfg config.Hub, mux *http.ServeMux) (string, func(), error) {
			o := Options{Prefix: cfg.AcmeproxyPrefix, OpenCreation: cfg.AcmeproxyOpenCreation}
			if f := cfg.AcmeproxyCreateSecretFile; f != "" {
				data, err := os.ReadFile(f)
				if err != nil {
					return "", nil, config.FileError("[hub] acmeproxy_create_secret_file", f, err)
				}
				if o.CreateSecret = strings.TrimSpace(string(data)); len(o.CreateSecret) < 16 {
					return "", nil, fmt.Errorf("[hub] acmeproxy_create_secret_file %s: the secret must have 16 characters or more", f)
				}
			} else if o.OpenCreation && d.Log != nil {
				d.Log.Warn("anyone who reaches the hub may create acmeproxy authorisations (for names a config matches and nobody holds): "+
					"set [hub] acmeproxy_create_secret_file instead of acmeproxy_open_creation", "listen", cfg.Listen)
			}
			mux.Handle(strings.TrimSuffix(cfg.AcmeproxyPrefix, "/")+"/", New(d, o))
			return cfg.AcmeproxyPrefix, nil, nil
		},
	})
}
