// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package certify is the hub's front door for Certify Certificate Manager's
// "Certify Managed Challenge API" DNS provider (wire types in
// hub/certifyapi): requestbegin starts an operation whose status is polled
// without credentials, request answers once the value is served, cleanup
// removes it.
package certify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/acmehub/acmehub/hub/certifyapi"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/doors"
)

// Options configure the handler.
type Options struct {
	// Timeout bounds the wait for a value to be served (default 5 minutes).
	Timeout time.Duration
	// KeepOperations is how long a finished operation can be polled (default 1 hour).
	KeepOperations time.Duration
}

// Handler serves the API.
type Handler struct {
	door *doors.Door
	svc  *managed.Service
	o    Options
	mux  *http.ServeMux
	mu   sync.Mutex
	ops  map[string]*certifyapi.Operation
	work sync.WaitGroup
	stop context.Context
	quit context.CancelFunc
}

// New returns the handler, admitting requests through door; Close ends the
// operations under way.
func New(door *doors.Door, o Options) *Handler {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.KeepOperations <= 0 {
		o.KeepOperations = time.Hour
	}
	h := &Handler{door: door, svc: door.Service, o: o, mux: http.NewServeMux(), ops: map[string]*certifyapi.Operation{}}
	h.stop, h.quit = context.WithCancel(context.Background())
	h.mux.HandleFunc("POST "+certifyapi.Base+"/requestbegin", h.begin)
	h.mux.HandleFunc("POST "+certifyapi.Base+"/request", h.request)
	h.mux.HandleFunc("GET "+certifyapi.Base+"/requeststatus/{id}", h.status)
	h.mux.HandleFunc("POST "+certifyapi.Base+"/cleanup", h.cleanup)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close ends the operations under way and waits for them.
func (h *Handler) Close() {
	h.quit()
	h.work.Wait()
}

// accept authenticates the body's credentials and decodes the request.
func (h *Handler) accept(r *http.Request) (managed.Caller, managed.Request, error) {
	body, err := doors.ReadBody(r)
	if err != nil {
		return managed.Caller{}, managed.Request{}, err
	}
	var req certifyapi.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return managed.Caller{}, managed.Request{}, doors.Invalid("request body: %v", err)
	}
	if req.ChallengeType != "" && req.ChallengeType != "dns-01" {
		return managed.Caller{}, managed.Request{}, doors.Invalid("challenge type %q: the hub answers dns-01", req.ChallengeType)
	}
	mreq := managed.Request{Identifier: req.Identifier, Record: req.ResponseKey, Value: req.ResponseValue, Via: "certify"}
	action := "present"
	if strings.HasSuffix(r.URL.Path, "/cleanup") {
		action = "cleanup"
	}
	caller, err := h.door.Admit(r, action, req.AuthKey, &mreq, func(ctx context.Context) (managed.Caller, error) {
		return h.svc.Authenticate(ctx, req.AuthKey, req.AuthSecret)
	})
	if err != nil {
		return managed.Caller{}, managed.Request{}, err
	}
	if req.Identifier == "" || req.ResponseValue == "" {
		return caller, managed.Request{}, doors.Invalid("Identifier and ResponseValue are required")
	}
	return caller, mreq, nil
}

// present writes the value and waits until it is served.
func (h *Handler) present(ctx context.Context, caller managed.Caller, req managed.Request) (string, error) {
	placed, err := h.svc.Present(ctx, caller, req)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	by, err := h.svc.WaitServed(ctx, placed, req.Value)
	if err != nil {
		return "", err
	}
	return "the value is served at " + placed.Record + " by " + by, nil
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request) {
	caller, req, err := h.accept(r)
	if err == nil {
		// Refusals are answered at once, with their cause; only the
		// provider's work and the wait run in the operation.
		err = h.svc.Check(r.Context(), caller, req)
	}
	if err != nil {
		h.door.WriteProblem(w, r, err)
		return
	}
	now := time.Now().UTC()
	op := &certifyapi.Operation{ID: newOperationID(), Status: certifyapi.Pending, DateCreated: now, DateLastUpdated: now}
	h.mu.Lock()
	h.forgetOld(now)
	h.ops[op.ID] = op
	snapshot := *op
	h.mu.Unlock()
	h.work.Go(func() {
		h.update(op.ID, func(o *certifyapi.Operation) {
			t := time.Now().UTC()
			o.Status, o.DateStarted = certifyapi.Running, &t
		})
		message, err := h.present(h.stop, caller, req)
		h.update(op.ID, func(o *certifyapi.Operation) {
			t := time.Now().UTC()
			o.DateCompleted = &t
			if err != nil {
				o.Status, o.Result = certifyapi.Failed, &certifyapi.Result{Message: err.Error()}
			} else {
				o.Status, o.Result = certifyapi.Succeeded, &certifyapi.Result{IsSuccess: true, Message: message}
			}
		})
	})
	writeJSON(w, http.StatusAccepted, snapshot)
}

func (h *Handler) update(id string, change func(*certifyapi.Operation)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o := h.ops[id]; o != nil {
		change(o)
		o.DateLastUpdated = time.Now().UTC()
	}
}

// forgetOld drops operations finished longer ago than KeepOperations; h.mu is held.
func (h *Handler) forgetOld(now time.Time) {
	for id, o := range h.ops {
		if o.DateCompleted != nil && now.Sub(*o.DateCompleted) > h.o.KeepOperations {
			delete(h.ops, id)
		}
	}
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	o, ok := h.ops[r.PathValue("id")]
	var snapshot certifyapi.Operation
	if ok {
		snapshot = *o
	}
	h.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, doors.Problem{Type: "about:blank", Title: "Not Found", Status: http.StatusNotFound, Detail: "operation not found"})
		return
	}
	writeJSON(w, http.StatusOK, snapshot)
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	caller, req, err := h.accept(r)
	if err == nil {
		var message string
		if message, err = h.present(r.Context(), caller, req); err == nil {
			writeJSON(w, http.StatusOK, certifyapi.Result{IsSuccess: true, Message: message})
			return
		}
	}
	h.door.WriteProblem(w, r, err)
}

func (h *Handler) cleanup(w http.ResponseWriter, r *http.Request) {
	caller, req, err := h.accept(r)
	if err == nil {
		if err = h.svc.CleanUp(r.Context(), caller, req); err == nil {
			writeJSON(w, http.StatusOK, certifyapi.Result{IsSuccess: true, Message: "the value is removed"})
			return
		}
	}
	h.door.WriteProblem(w, r, err)
}

// newOperationID is the only capability of a status poll: 256 random bits.
func newOperationID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(status)
	w.Write(body)
}

func init() {
	doors.Register(doors.Protocol{
		Name:        "certify",
		Description: "Certify Certificate Manager's Certify Managed Challenge API DNS provider, and the webhook's solver `hub`: `" + certifyapi.Base + "/`",
		Mount: func(d *doors.Door, cfg config.Hub, mux *http.ServeMux) (string, func(), error) {
			h := New(d, Options{Timeout: cfg.RequestTimeout.Duration})
			mux.Handle(certifyapi.Base+"/", h)
			return certifyapi.Base, h.Close, nil
		},
	})
}
