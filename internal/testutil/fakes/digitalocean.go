// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
)

// DigitalOceanHost is the host of DigitalOcean's API.
const DigitalOceanHost = "api.digitalocean.com"

// FakeDigitalOcean is DigitalOcean's DNS API on 127.0.0.1, as the libdns
// provider uses it: records of the domains it holds, listed in pages,
// created and deleted by ID. It checks every call (the bearer token, the
// paths, the bodies, the pages asked for) and fails the test on any it
// would not accept; its records are served by a DNS responder.
type FakeDigitalOcean struct {
	t     testing.TB
	token string
	// PerPage is the default page size of listings (DigitalOcean's: 20).
	PerPage int
	// Delay is how long a new record takes to reach the DNS responder.
	Delay time.Duration

	mu      sync.Mutex
	nextID  int
	domains map[string][]doRecord // domain → records
	failing []doFailure
	calls   []DOCall
	hold    chan struct{} // closed to release held creates; nil: none held
	held    chan DOCall   // a create that arrived while holding
}

type doRecord struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Data    string `json:"data"`
	TTL     int    `json:"ttl"`
	visible time.Time
}

type doFailure struct {
	method     string
	status     int
	retryAfter string
}

// DOCall is one API call the fake answered.
type DOCall struct {
	Method, Path string
	Query        string
	Status       int
	Body         map[string]any
}

// NewFakeDigitalOcean serves the API until the test ends; token is the
// only one it accepts, and domains exist, empty.
func NewFakeDigitalOcean(t testing.TB, token string, domains ...string) *FakeDigitalOcean {
	t.Helper()
	f := &FakeDigitalOcean{t: t, token: token, PerPage: 20, nextID: 1000, domains: map[string][]doRecord{}}
	for _, d := range domains {
		f.domains[d] = nil
	}
	t.Cleanup(func() {
		f.mu.Lock()
		if f.hold != nil {
			close(f.hold)
			f.hold = nil
		}
		f.mu.Unlock()
	})
	return f
}

// Add puts a record into a domain, visible at once.
func (f *FakeDigitalOcean) Add(domain, typ, name, data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.domains[domain] = append(f.domains[domain], doRecord{ID: f.nextID, Type: typ, Name: name, Data: data, TTL: 1800})
}

// TXT returns the TXT values at name (relative) in domain.
func (f *FakeDigitalOcean) TXT(domain, name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.domains[domain] {
		if r.Type == "TXT" && r.Name == name {
			out = append(out, r.Data)
		}
	}
	return out
}

// CNAME returns the target of the CNAME at name of domain, "" when none.
func (f *FakeDigitalOcean) CNAME(domain, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.domains[domain] {
		if r.Type == "CNAME" && r.Name == name {
			return r.Data
		}
	}
	return ""
}

// Fail makes the next call of method answer status, with Retry-After when
// not empty; failures queue up in order.
func (f *FakeDigitalOcean) Fail(method string, status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = append(f.failing, doFailure{method, status, retryAfter})
}

// HoldCreates makes record creations wait, after the record exists, until
// the test ends: the returned channel receives each such call. A client
// killed meanwhile never hears that its record was made.
func (f *FakeDigitalOcean) HoldCreates() <-chan DOCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold, f.held = make(chan struct{}), make(chan DOCall, 16)
	return f.held
}

// Calls are the calls answered so far.
func (f *FakeDigitalOcean) Calls() []DOCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *FakeDigitalOcean) serve(w http.ResponseWriter, r *http.Request) {
	call := DOCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	answer := func(status int, body any) {
		call.Status = status
		f.mu.Lock()
		f.calls = append(f.calls, call)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if body != nil {
			json.NewEncoder(w).Encode(body)
		}
	}
	refuse := func(status int, id, format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		f.t.Errorf("fake DigitalOcean: %s %s: %s", r.Method, r.URL, msg)
		answer(status, map[string]string{"id": id, "message": msg})
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		refuse(http.StatusUnauthorized, "unauthorized", "Authorization %q is no bearer token", r.Header.Get("Authorization"))
		return
	}
	if bearer != f.token {
		answer(http.StatusUnauthorized, map[string]string{"id": "Unauthorized", "message": "Unable to authenticate you"})
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			refuse(http.StatusBadRequest, "bad_request", "Content-Type %q", ct)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&call.Body); err != nil {
			refuse(http.StatusBadRequest, "bad_request", "body: %v", err)
			return
		}
	}
	f.mu.Lock()
	for i, fl := range f.failing {
		if fl.method == r.Method {
			f.failing = slices.Delete(f.failing, i, i+1)
			f.mu.Unlock()
			if fl.retryAfter != "" {
				w.Header().Set("Retry-After", fl.retryAfter)
			}
			answer(fl.status, map[string]string{"id": "too_many_requests", "message": "injected failure " + strconv.Itoa(fl.status)})
			return
		}
	}
	f.mu.Unlock()

	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/domains/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/v2/domains/") || len(parts) < 2 || parts[1] != "records" || len(parts) > 3 {
		refuse(http.StatusNotFound, "not_found", "no such path")
		return
	}
	domain := parts[0]
	f.mu.Lock()
	_, known := f.domains[domain]
	f.mu.Unlock()
	if !known {
		answer(http.StatusNotFound, map[string]string{"id": "not_found", "message": "The resource you were accessing could not be found."})
		return
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		f.list(r, domain, answer, refuse)
	case len(parts) == 2 && r.Method == http.MethodPost:
		f.create(domain, call, answer, refuse)
	case len(parts) == 3 && r.Method == http.MethodDelete:
		f.delete(domain, parts[2], answer, refuse)
	default:
		refuse(http.StatusMethodNotAllowed, "method_not_allowed", "not a call the provider makes")
	}
}

func (f *FakeDigitalOcean) delete(domain, record string, answer func(int, any), refuse func(int, string, string, ...any)) {
	id, err := strconv.Atoi(record)
	if err != nil {
		refuse(http.StatusBadRequest, "bad_request", "record ID %q", record)
		return
	}
	f.mu.Lock()
	n := len(f.domains[domain])
	f.domains[domain] = slices.DeleteFunc(f.domains[domain], func(rec doRecord) bool { return rec.ID == id })
	gone := n == len(f.domains[domain])
	f.mu.Unlock()
	if gone {
		answer(http.StatusNotFound, map[string]string{"id": "not_found", "message": "The resource you were accessing could not be found."})
		return
	}
	answer(http.StatusNoContent, nil)
}

func (f *FakeDigitalOcean) list(r *http.Request, domain string, answer func(int, any), refuse func(int, string, string, ...any)) {
	q := r.URL.Query()
	page, perPage := 1, f.PerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			refuse(http.StatusBadRequest, "bad_request", "page %q", v)
			return
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			refuse(http.StatusBadRequest, "bad_request", "per_page %q", v)
			return
		}
		perPage = n
	}
	f.mu.Lock()
	all := slices.Clone(f.domains[domain])
	f.mu.Unlock()
	pages := max((len(all)+perPage-1)/perPage, 1)
	if page > pages {
		refuse(http.StatusBadRequest, "bad_request", "page %d of %d", page, pages)
		return
	}
	chunk := all[(page-1)*perPage : min(page*perPage, len(all))]
	link := func(p int) string {
		return fmt.Sprintf("https://%s/v2/domains/%s/records?page=%d&per_page=%d", DigitalOceanHost, domain, p, perPage)
	}
	links := map[string]string{}
	if page > 1 {
		links["first"], links["prev"] = link(1), link(page-1)
	}
	if page < pages {
		links["next"], links["last"] = link(page+1), link(pages)
	}
	answer(http.StatusOK, map[string]any{
		"domain_records": chunk,
		"links":          map[string]any{"pages": links},
		"meta":           map[string]int{"total": len(all)},
	})
}

func (f *FakeDigitalOcean) create(domain string, call DOCall, answer func(int, any), refuse func(int, string, string, ...any)) {
	str := func(k string) string { s, _ := call.Body[k].(string); return s }
	ttl, _ := call.Body["ttl"].(float64)
	rec := doRecord{Type: str("type"), Name: str("name"), Data: str("data"), TTL: int(ttl)}
	f.mu.Lock()
	shared := slices.ContainsFunc(f.domains[domain], func(r doRecord) bool { return r.Name == rec.Name && (r.Type == "CNAME" || rec.Type == "CNAME") })
	f.mu.Unlock()
	switch {
	case rec.Type != "TXT" && rec.Type != "CNAME":
		refuse(http.StatusUnprocessableEntity, "unprocessable_entity", "type %q: the hub writes TXT and CNAME records", rec.Type)
		return
	case rec.Type == "CNAME" && !strings.HasSuffix(rec.Data, "."):
		refuse(http.StatusUnprocessableEntity, "unprocessable_entity", "Data needs to end with a dot (.)")
		return
	case shared:
		refuse(http.StatusUnprocessableEntity, "unprocessable_entity", "CNAME records cannot share a name with other records.")
		return
	case rec.Name == "" || strings.HasSuffix(rec.Name, ".") || strings.HasSuffix(rec.Name, domain):
		refuse(http.StatusUnprocessableEntity, "unprocessable_entity", "name %q is not relative to the domain", rec.Name)
		return
	case rec.Data == "":
		refuse(http.StatusUnprocessableEntity, "unprocessable_entity", "data is empty")
		return
	case rec.TTL < 30:
		refuse(http.StatusUnprocessableEntity, "unprocessable_entity", "ttl %d is below 30", rec.TTL)
		return
	}
	f.mu.Lock()
	f.nextID++
	rec.ID = f.nextID
	rec.visible = time.Now().Add(f.Delay)
	f.domains[domain] = append(f.domains[domain], rec)
	hold, held := f.hold, f.held
	f.mu.Unlock()
	if hold != nil {
		held <- call
		<-hold
	}
	answer(http.StatusCreated, map[string]any{"domain_record": rec})
}

// ServeDNS answers as the domains' authoritative server: the apex's SOA,
// TXT records once they are visible, a CNAME for any question at its name,
// NODATA for other names of a domain, REFUSED elsewhere. It returns the responder's
// UDP address.
func (f *FakeDigitalOcean) ServeDNS(t testing.TB) string {
	return testutil.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(strings.TrimSuffix(q.Question[0].Name, "."))
		f.mu.Lock()
		defer f.mu.Unlock()
		m.Rcode = dns.RcodeRefused
		for domain, recs := range f.domains {
			rel, ok := strings.CutSuffix(name, "."+domain)
			if name == domain {
				rel, ok = "@", true
			}
			if !ok {
				continue
			}
			m.Rcode, m.Authoritative = dns.RcodeSuccess, true
			soa := &dns.SOA{Hdr: dns.RR_Header{Name: dns.Fqdn(domain), Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 1800},
				Ns: "ns1.digitalocean.com.", Mbox: "hostmaster." + dns.Fqdn(domain), Serial: 1, Refresh: 10800, Retry: 3600, Expire: 604800, Minttl: 1800}
			if rel == "@" && q.Question[0].Qtype == dns.TypeSOA {
				m.Answer = append(m.Answer, soa)
			}
			for _, r := range recs {
				if r.Name != rel || time.Now().Before(r.visible) {
					continue
				}
				hdr := dns.RR_Header{Name: q.Question[0].Name, Class: dns.ClassINET, Ttl: uint32(r.TTL)}
				switch {
				case r.Type == "CNAME":
					hdr.Rrtype = dns.TypeCNAME
					m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr, Target: r.Data})
				case r.Type == "TXT" && q.Question[0].Qtype == dns.TypeTXT:
					hdr.Rrtype = dns.TypeTXT
					m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{r.Data}})
				}
			}
		}
		w.WriteMsg(m)
	})
}

// ServeHTTP answers one API call.
func (f *FakeDigitalOcean) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.serve(w, r) }

// ProxyEnv is the environment that sends a child process's requests for
// DigitalOcean's API to the fake (see ProxyHTTPS), until the test ends.
func (f *FakeDigitalOcean) ProxyEnv(t testing.TB) []string {
	t.Helper()
	return proxyEnv(t, f, DigitalOceanHost)
}
