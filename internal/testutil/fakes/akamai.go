// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// AkamaiHost is the host of the fake Edge DNS's API client.
const AkamaiHost = "akab-acmehubtest.luna.akamaiapis.net"

// FakeAkamai is Akamai's Edge DNS API (config-dns v2) as its Go client
// uses it: zones read by name, a name's TXT or CNAME record set read,
// created (a CNAME beside no other set), replaced and deleted, errors as RFC 7807 problems. Every call must carry
// an EdgeGrid (EG1-HMAC-SHA256) signature made with the client's secret
// over the method, host, path and (for a POST) the body's hash, within a
// minute of now; a call it would not accept fails the test. It keeps the
// calls for the test to compare with the API's.
type FakeAkamai struct {
	t                                      testing.TB
	clientToken, clientSecret, accessToken string
	callLog                                // "METHOD path"
	mu                                     sync.Mutex
	zones                                  map[string]map[string][]string // zone → "name/TYPE" → rdata
	beforeWrite, afterWrite                func()                         // run (once) around the next write
}

// NewFakeAkamai is an account, reached with an API client's credentials,
// holding zones.
func NewFakeAkamai(t testing.TB, clientToken, clientSecret, accessToken string, zones ...string) *FakeAkamai {
	f := &FakeAkamai{t: t, clientToken: clientToken, clientSecret: clientSecret, accessToken: accessToken, zones: map[string]map[string][]string{}}
	for _, z := range zones {
		f.zones[z] = map[string][]string{}
	}
	return f
}

// TXT are the values of the TXT record set at name (fully qualified,
// without the trailing dot), unquoted.
func (f *FakeAkamai) TXT(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, z := range f.zones {
		var out []string
		for _, v := range z[name+"/TXT"] {
			var s string
			if json.Unmarshal([]byte(v), &s) != nil {
				s = v
			}
			out = append(out, s)
		}
		if out != nil {
			return out
		}
	}
	return nil
}

// SetTXT sets the TXT record set at name in zone, as another writer would;
// no values delete it.
func (f *FakeAkamai) SetTXT(zone, name string, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set(zone, name, values)
}

func (f *FakeAkamai) set(zone, name string, values []string) {
	if len(values) == 0 {
		delete(f.zones[zone], name+"/TXT")
		return
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = `"` + v + `"`
	}
	f.zones[zone][name+"/TXT"] = quoted
}

// CNAME is the target of the CNAME at name (fully qualified, without the
// trailing dot), "" when none.
func (f *FakeAkamai) CNAME(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, z := range f.zones {
		if t := z[name+"/CNAME"]; len(t) == 1 {
			return t[0]
		}
	}
	return ""
}

// BeforeNextWrite runs fn before the next write (POST, PUT, DELETE) is
// applied, as another writer changing the set between a client's read and
// its write.
func (f *FakeAkamai) BeforeNextWrite(fn func()) {
	f.mu.Lock()
	f.beforeWrite = fn
	f.mu.Unlock()
}

// AfterNextWrite runs fn after the next write is applied, as another
// writer that read the set before it and writes after it.
func (f *FakeAkamai) AfterNextWrite(fn func()) {
	f.mu.Lock()
	f.afterWrite = fn
	f.mu.Unlock()
}

// ProxyEnv is the environment that sends a child process's requests for
// the API client's host to the fake (see ProxyHTTPS), until the test ends.
func (f *FakeAkamai) ProxyEnv(t testing.TB) []string {
	t.Helper()
	return proxyEnv(t, f, AkamaiHost)
}

type akamaiProblem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Status int    `json:"status"`
}

type akamaiRecordSet struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	TTL   int      `json:"ttl"`
	RData []string `json:"rdata"`
}

// ServeHTTP answers one API call.
func (f *FakeAkamai) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.record(r.Method + " " + r.URL.RequestURI())
	status, body := f.handle(r)
	if p, ok := body.(akamaiProblem); ok {
		p.Status = status
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(p)
		return
	}
	writeJSON(w, status, body)
}

func problem(kind, title, detail string) akamaiProblem {
	return akamaiProblem{Type: "https://problems.luna.akamaiapis.net/authoritative-dns/" + kind, Title: title, Detail: detail}
}

// handle answers a call: its status and body (an akamaiProblem on error).
func (f *FakeAkamai) handle(r *http.Request) (int, any) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return http.StatusBadRequest, problem("bad-request", "Bad Request", err.Error())
	}
	if detail := f.checkSignature(r, body); detail != "" {
		return http.StatusUnauthorized, akamaiProblem{Type: "https://problems.luna.akamaiapis.net/-/pep-authn/deny", Title: "Not authorized", Detail: detail}
	}
	refuse := func(status int, format string, a ...any) (int, any) {
		msg := fmt.Sprintf(format, a...)
		f.t.Errorf("fake Akamai: %s %s: %s", r.Method, r.URL, msg)
		return status, problem("bad-request", "Bad Request", msg)
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/config-dns/v2/zones/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/config-dns/v2/zones/") || (len(parts) != 1 && len(parts) != 5) {
		return refuse(http.StatusNotFound, "no such path")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	zone := parts[0]
	names, ok := f.zones[zone]
	if !ok {
		return http.StatusNotFound, problem("errors/not-found", "Not Found", fmt.Sprintf("Zone %q does not exist", zone))
	}
	if len(parts) == 1 {
		if r.Method != http.MethodGet {
			return refuse(http.StatusMethodNotAllowed, "a zone is only read here")
		}
		return http.StatusOK, map[string]any{"zone": zone, "type": "PRIMARY", "activationState": "ACTIVE", "versionId": "1"}
	}
	if parts[1] != "names" || parts[3] != "types" || parts[4] != "TXT" && parts[4] != "CNAME" {
		return refuse(http.StatusNotFound, "only TXT and CNAME record sets, at /zones/{zone}/names/{name}/types/{TXT,CNAME}")
	}
	name, typ := parts[2], parts[4]
	if name != zone && !strings.HasSuffix(name, "."+zone) {
		return http.StatusBadRequest, problem("errors/bad-request", "Invalid Record Name", fmt.Sprintf("Record name %s is not in zone %s", name, zone))
	}
	if current, exists := names[name+"/"+typ]; r.Method == http.MethodGet {
		if !exists {
			return http.StatusNotFound, problem("errors/not-found", "Not Found", "Recordset does not exist.")
		}
		return http.StatusOK, akamaiRecordSet{Name: name, Type: typ, TTL: 300, RData: current}
	}
	return f.write(r, body, names, name, typ)
}

// write answers a write of the record set at name (the lock held): POST
// creates, PUT replaces, DELETE removes.
func (f *FakeAkamai) write(r *http.Request, body []byte, names map[string][]string, name, typ string) (int, any) {
	refuse := func(status int, format string, a ...any) (int, any) {
		msg := fmt.Sprintf(format, a...)
		f.t.Errorf("fake Akamai: %s %s: %s", r.Method, r.URL, msg)
		return status, problem("bad-request", "Bad Request", msg)
	}
	if fn := f.beforeWrite; fn != nil {
		f.beforeWrite = nil
		f.mu.Unlock()
		fn()
		f.mu.Lock()
	}
	if fn := f.afterWrite; fn != nil {
		f.afterWrite = nil
		defer func() { f.mu.Unlock(); fn(); f.mu.Lock() }()
	}
	key := name + "/" + typ
	_, exists := names[key]
	switch r.Method {
	case http.MethodPost, http.MethodPut:
		var set akamaiRecordSet
		if err := json.Unmarshal(body, &set); err != nil || set.Name != name || set.Type != typ || set.TTL < 1 || len(set.RData) == 0 ||
			typ == "CNAME" && len(set.RData) != 1 {
			return refuse(http.StatusBadRequest, "a record set is {name, type, ttl, rdata}, for the path's name and type: %s", body)
		}
		for _, v := range set.RData {
			if typ == "TXT" && (!strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) || len(v) < 2) {
				return refuse(http.StatusBadRequest, "TXT rdata %q is not one quoted string", v)
			}
		}
		if r.Method == http.MethodPost && exists {
			return http.StatusConflict, problem("errors/conflict", "Conflict", "Record set already exists")
		}
		for other := range names {
			if n, t, _ := strings.Cut(other, "/"); n == name && t != typ && (t == "CNAME" || typ == "CNAME") {
				return http.StatusBadRequest, problem("errors/bad-request", "Invalid Record", "CNAME records cannot coexist with other records at "+name)
			}
		}
		if r.Method == http.MethodPut && !exists {
			return http.StatusNotFound, problem("errors/not-found", "Not Found", "Recordset does not exist.")
		}
		names[key] = slices.Clone(set.RData)
		if r.Method == http.MethodPost {
			return http.StatusCreated, set
		}
		return http.StatusOK, set
	case http.MethodDelete:
		if !exists {
			return http.StatusNotFound, problem("errors/not-found", "Not Found", "Recordset does not exist.")
		}
		delete(names, key)
		return http.StatusNoContent, nil
	}
	return refuse(http.StatusMethodNotAllowed, "no such method")
}

// checkSignature checks r's EdgeGrid signature (Akamai's "Authenticate
// with EdgeGrid"): the reason it is refused, or "".
func (f *FakeAkamai) checkSignature(r *http.Request, body []byte) string {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "EG1-HMAC-SHA256 ")
	if !ok {
		return "The request has no EG1-HMAC-SHA256 Authorization header"
	}
	unsigned, signature, ok := strings.Cut(auth, "signature=")
	if !ok {
		return "The Authorization header has no signature"
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(unsigned, ";"), ";") {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	if fields["client_token"] != f.clientToken || fields["access_token"] != f.accessToken {
		return "Invalid authorization client_token or access_token"
	}
	ts, err := time.Parse("20060102T15:04:05-0700", fields["timestamp"])
	if err != nil || time.Since(ts).Abs() > time.Minute || fields["nonce"] == "" {
		return "Invalid timestamp or nonce"
	}
	var contentHash string
	if r.Method == http.MethodPost && len(body) > 0 {
		sum := sha256.Sum256(body)
		contentHash = base64.StdEncoding.EncodeToString(sum[:])
	}
	msg := strings.Join([]string{r.Method, "https", r.Host, r.URL.RequestURI(), "", contentHash, "EG1-HMAC-SHA256 " + unsigned}, "\t")
	key := hmacBase64([]byte(f.clientSecret), fields["timestamp"])
	if !hmac.Equal([]byte(signature), []byte(hmacBase64([]byte(key), msg))) {
		return "The signature does not match"
	}
	return ""
}

func hmacBase64(key []byte, msg string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
