// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// CloudflareHost is the host of Cloudflare's API.
const CloudflareHost = "api.cloudflare.com"

// FakeCloudflare is Cloudflare's DNS API (v4) as cert-manager's client
// and the hub's CNAMEs use it: zones found by name, TXT and CNAME records
// listed by name (and type), created (a CNAME beside nothing else) and
// deleted by ID, every answer in Cloudflare's envelope
// ({"success", "errors", "result"}). It authenticates an API token
// (Authorization: Bearer) or a global key with its e-mail (X-Auth-Key,
// X-Auth-Email), fails the test on a call it would not accept, and keeps
// the calls for the test to compare with the API's.
type FakeCloudflare struct {
	t                 testing.TB
	token, key, email string
	callLog           // "METHOD path?query"
	mu                sync.Mutex
	zones             map[string]string // name → ID
	records           []CloudflareRecord
	nextID            int
	failPost          string // an error message the next POST answers, if set
}

// CloudflareRecord is a DNS record as Cloudflare's API shows it.
type CloudflareRecord struct {
	ID      string `json:"id"`
	ZoneID  string `json:"zone_id,omitempty"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
}

// CNAME is the target of the CNAME at name, "" when none.
func (f *FakeCloudflare) CNAME(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rec := range f.records {
		if rec.Type == "CNAME" && rec.Name == name {
			return rec.Content
		}
	}
	return ""
}

// NewFakeCloudflare is an account holding zones, reached with token, or
// with key and email.
func NewFakeCloudflare(t testing.TB, token, key, email string, zones ...string) *FakeCloudflare {
	f := &FakeCloudflare{t: t, token: token, key: key, email: email, zones: map[string]string{}}
	for i, z := range zones {
		f.zones[z] = fmt.Sprintf("%032x", i+1)
	}
	return f
}

// TXT are the values of the TXT records at name (fully qualified, without
// the trailing dot).
func (f *FakeCloudflare) TXT(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if r.Type == "TXT" && r.Name == name {
			out = append(out, r.Content)
		}
	}
	return out
}

// FailNextPost makes the next record creation fail with Cloudflare's error
// code and message.
func (f *FakeCloudflare) FailNextPost(message string) {
	f.mu.Lock()
	f.failPost = message
	f.mu.Unlock()
}

// ProxyEnv is the environment that sends a child process's requests for
// Cloudflare's API to the fake (see ProxyHTTPS), until the test ends.
func (f *FakeCloudflare) ProxyEnv(t testing.TB) []string {
	t.Helper()
	return proxyEnv(t, f, CloudflareHost)
}

type cloudflareError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ServeHTTP answers one API call in Cloudflare's envelope.
func (f *FakeCloudflare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, result, errs := f.handle(r)
	f.record(r.Method + " " + r.URL.RequestURI())
	writeJSON(w, status, map[string]any{"success": len(errs) == 0, "errors": append([]cloudflareError{}, errs...),
		"messages": []string{}, "result": result})
}

// handle answers a call: its status, result and errors.
func (f *FakeCloudflare) handle(r *http.Request) (int, any, []cloudflareError) {
	refuse := func(status int, format string, a ...any) (int, any, []cloudflareError) {
		msg := fmt.Sprintf(format, a...)
		f.t.Errorf("fake Cloudflare: %s %s: %s", r.Method, r.URL, msg)
		return status, nil, []cloudflareError{{Code: 7000, Message: msg}}
	}
	bearer, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case isBearer && f.token != "" && bearer == f.token:
	case !isBearer && f.key != "" && r.Header.Get("X-Auth-Key") == f.key && r.Header.Get("X-Auth-Email") == f.email:
	case isBearer:
		return http.StatusBadRequest, nil, []cloudflareError{{Code: 6003, Message: "Invalid request headers"}, {Code: 9109, Message: "Invalid access token"}}
	default:
		return http.StatusForbidden, nil, []cloudflareError{{Code: 9103, Message: "Unknown X-Auth-Key or X-Auth-Email"}}
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/client/v4/zones")
	if !ok {
		return refuse(http.StatusNotFound, "no such path")
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case path == "" && r.Method == http.MethodGet:
		zones := []map[string]string{}
		if id, ok := f.zones[q.Get("name")]; ok {
			zones = append(zones, map[string]string{"id": id, "name": q.Get("name")})
		}
		return http.StatusOK, zones, nil
	case len(parts) < 2 || parts[1] != "dns_records" || len(parts) > 3:
		return refuse(http.StatusNotFound, "no such path")
	case !slices.Contains(slices.Collect(maps.Values(f.zones)), parts[0]):
		return http.StatusNotFound, nil, []cloudflareError{{Code: 7003,
			Message: "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"}}
	}
	zone := parts[0]
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		if q.Get("name") == "" || q.Get("per_page") == "" {
			return refuse(http.StatusBadRequest, "a listing without name and per_page")
		}
		out := []CloudflareRecord{}
		for _, rec := range f.records {
			if rec.ZoneID == zone && (q.Get("type") == "" || rec.Type == q.Get("type")) && rec.Name == q.Get("name") {
				rec.ZoneID = "" // not in answers since 2024-11-30
				out = append(out, rec)
			}
		}
		return http.StatusOK, out, nil
	case len(parts) == 2 && r.Method == http.MethodPost:
		var rec CloudflareRecord
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil || rec.Type != "TXT" && rec.Type != "CNAME" || rec.Name == "" || rec.Content == "" {
			return refuse(http.StatusBadRequest, "a record without type TXT or CNAME, name and content (%v)", err)
		}
		for _, other := range f.records {
			switch {
			case other.ZoneID != zone || other.Name != rec.Name:
			case rec.Type == "CNAME" && other.Type == "CNAME":
				return http.StatusBadRequest, nil, []cloudflareError{{Code: 81053, Message: "An A, AAAA, or CNAME record with that host already exists."}}
			case rec.Type == "CNAME" || other.Type == "CNAME":
				return http.StatusBadRequest, nil, []cloudflareError{{Code: 81054, Message: "A CNAME record with that host already exists."}}
			}
		}
		if msg := f.failPost; msg != "" {
			f.failPost = ""
			return http.StatusBadRequest, nil, []cloudflareError{{Code: 81057, Message: msg}}
		}
		f.nextID++
		rec.ID, rec.ZoneID = fmt.Sprintf("rec%029d", f.nextID), zone
		f.records = append(f.records, rec)
		return http.StatusOK, rec, nil
	case len(parts) == 3 && r.Method == http.MethodDelete:
		for i, rec := range f.records {
			if rec.ZoneID == zone && rec.ID == parts[2] {
				f.records = slices.Delete(f.records, i, i+1)
				return http.StatusOK, map[string]string{"id": rec.ID}, nil
			}
		}
		return http.StatusNotFound, nil, []cloudflareError{{Code: 81044, Message: "Record does not exist."}}
	}
	return refuse(http.StatusMethodNotAllowed, "not a call cert-manager's client makes")
}
