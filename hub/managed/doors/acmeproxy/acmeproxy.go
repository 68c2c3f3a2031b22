// Package acmeproxy is the hub's front door for acmeproxy's form API, as
// its dehydrated and certbot hooks call it: form-encoded POSTs to
// create_authorisation, expire_authorisation, publish_response and
// expire_response, each answered with JSON {"result": …}, or {"result":
// false} with an HTTP error and the cause in "error". An authorisation is
// a name and a secret (see managed.CreateAuthorisation); a published
// response expires on its own after five minutes, as acmeproxy's do.
package acmeproxy

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

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
	// TrustedProxies may set X-Forwarded-For; empty: the socket's address.
	TrustedProxies []netip.Prefix
	Limits         *doors.Limits
	// Log receives the failures that are no refusal.
	Log *slog.Logger
	// CreateSecret, when set, is the secret that create_authorisation
	// needs. Without it, authorisations are created with acmehub admin
	// only, unless OpenCreation lets anyone who reaches the hub create them
	// (for names a config matches and no authorisation holds), as
	// acmeproxy does.
	CreateSecret string
	OpenCreation bool
}

type handler struct {
	svc *managed.Service
	o   Options
}

// New returns the handler.
func New(svc *managed.Service, o Options) http.Handler {
	h := &handler{svc: svc, o: o}
	prefix := strings.TrimSuffix(o.Prefix, "/")
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix+"/create_authorisation", h.create)
	mux.HandleFunc("POST "+prefix+"/expire_authorisation", h.expireAuthorisation)
	mux.HandleFunc("POST "+prefix+"/publish_response", h.publish)
	mux.HandleFunc("POST "+prefix+"/expire_response", h.expireResponse)
	return mux
}

// form reads the request's form fields and the client's address.
func (h *handler) form(r *http.Request) (address string, err error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return "", doors.Invalid("form: %v", err)
	}
	if ip := doors.ClientIP(r, forwardedHeader(h.o), h.o.TrustedProxies); ip.IsValid() {
		address = ip.String()
	}
	if r.PostForm.Get("name") == "" {
		return address, doors.Invalid("the field name is required")
	}
	return address, nil
}

func forwardedHeader(o Options) string {
	if len(o.TrustedProxies) == 0 {
		return ""
	}
	return "X-Forwarded-For"
}

var errCreationOff = errors.New("creating authorisations over the API is off: create one with `acmehub admin authorisations create`, " +
	"or set [hub] acmeproxy_create_secret_file (or acmeproxy_open_creation)")

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	address, err := h.form(r)
	name := r.PostForm.Get("name")
	if err == nil {
		switch {
		case h.o.CreateSecret != "":
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("secret")), []byte(h.o.CreateSecret)) != 1 {
				err = &managed.Error{Code: managed.CodeUnauthenticated, Err: errors.New("wrong secret for creating authorisations")}
			}
		case !h.o.OpenCreation:
			err = &managed.Error{Code: managed.CodeForbidden, Err: errCreationOff}
		}
	}
	if err == nil {
		err = h.o.Limits.Allow("create " + address)
	}
	if err != nil {
		h.svc.Refused(r.Context(), "create_authorisation", "", managed.Request{Identifier: name, Address: address, Via: "acmeproxy"}, err)
		h.fail(w, r, err)
		return
	}
	a, err := h.svc.CreateAuthorisation(r.Context(), managed.Caller{Principal: "acmeproxy", Address: address}, name, truthy(r.PostForm.Get("suffix_match")), address)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer(w, secretResult(a))
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

// caller authenticates the request's name and secret and takes a request
// from the token's rate limit.
func (h *handler) caller(r *http.Request, action string) (managed.Caller, store.Authorisation, managed.Request, error) {
	address, err := h.form(r)
	req := managed.Request{Identifier: r.PostForm.Get("name"), Address: address, Via: "acmeproxy"}
	if err != nil {
		return managed.Caller{}, store.Authorisation{}, req, err
	}
	caller, a, err := h.svc.AuthorisationCaller(r.Context(), req.Identifier, r.PostForm.Get("secret"))
	if err == nil {
		err = h.o.Limits.Allow(caller.ClientID)
	}
	if err != nil {
		h.svc.Refused(r.Context(), action, a.ClientID, req, err)
	}
	return caller, a, req, err
}

func (h *handler) expireAuthorisation(w http.ResponseWriter, r *http.Request) {
	caller, a, _, err := h.caller(r, "expire_authorisation")
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
	status, detail := doors.Explain(w, r, h.o.Log, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"result": false, "error": detail})
}
