// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/store"
)

// brokenStore is a store whose database has gone away.
type brokenStore struct{ store.Store }

var errGone = errors.New("connection refused")

func (brokenStore) Ping(context.Context) error { return errGone }
func (brokenStore) Account(context.Context, string) (store.Account, error) {
	return store.Account{}, errGone
}
func (brokenStore) Register(context.Context, store.Account) error { return errGone }

func TestStoreFailures(t *testing.T) {
	a := New(accounts.New(brokenStore{}, accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10, BcryptCost: bcrypt.MinCost}), Options{})
	tests := []struct {
		method, path string
		header       map[string]string
		status       int
		body         string
	}{
		{"GET", "/health", nil, 503, `{"error": "db_unavailable"}`},
		{"POST", "/register", nil, 500, `{"error": "db_error"}`},
		{"POST", "/update", map[string]string{"X-Api-User": "3f2c1a2b-0000-4000-8000-000000000000", "X-Api-Key": accounts.NewPassword()}, 500, `{"error": "db_error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(""))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.body)
			}
			if strings.Contains(rec.Body.String(), errGone.Error()) {
				t.Error("the database error leaks to the client")
			}
		})
	}
}

// fieldFold returns the value of the one key of obj equal to name without
// regard to case, and whether there is exactly one.
func fieldFold(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	var found json.RawMessage
	n := 0
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			found, n = v, n+1
		}
	}
	return found, n == 1
}

// FuzzDecodeRegister: what the decoder accepts survives a round trip, and a
// lone allowfrom or txtlimit key (in any case, as acme-dns matches keys) is
// read as a generic JSON decoder reads it.
func FuzzDecodeRegister(f *testing.F) {
	for _, seed := range []string{"", "null", "{}", `{"allowfrom":["192.0.2.0/24"]}`, `{"AllowFrom":["[::1]/64"],"txtlimit":3}`,
		`{"allowfrom":"x"}`, `{"allowfrom":[1]}`, `[]`, `{"allowfrom":null}`, "\x00", `{"ALLOWFROM":["10.0.0.0/8"],"TxtLimit":2}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRegister(body)
		if err != nil {
			return
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		again, err := decodeRegister(out)
		if err != nil || !slices.Equal(again.AllowFrom, req.AllowFrom) || again.TXTLimit != req.TXTLimit {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", req, out, again, err)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		if raw, ok := fieldFold(obj, "allowfrom"); ok {
			var want []string
			if json.Unmarshal(raw, &want) == nil && !slices.Equal(req.AllowFrom, want) {
				t.Fatalf("allowfrom %s read as %q", raw, req.AllowFrom)
			}
		}
		if raw, ok := fieldFold(obj, "txtlimit"); ok {
			var want int
			if json.Unmarshal(raw, &want) == nil && req.TXTLimit != want {
				t.Fatalf("txtlimit %s read as %d", raw, req.TXTLimit)
			}
		}
	})
}

// FuzzDecodeUpdate: what the decoder accepts survives a round trip, and lone
// subdomain and txt keys are read as a generic JSON decoder reads them.
func FuzzDecodeUpdate(f *testing.F) {
	for _, seed := range []string{`{"subdomain":"a","txt":"b"}`, `{"SubDomain":"a","Txt":"b"}`, `{"subdomain":1}`, "", "null",
		`{"txt":"\u0000"}`, `{"subdomain":"a","txt":"b"} trailing`, `{"TXT":"\ud800"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeUpdate(body)
		if err != nil {
			return
		}
		out, _ := json.Marshal(req)
		if again, err := decodeUpdate(out); err != nil || again != req {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", req, out, again, err)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		for name, got := range map[string]string{"subdomain": req.Subdomain, "txt": req.TXT} {
			if raw, ok := fieldFold(obj, name); ok {
				var want string
				if json.Unmarshal(raw, &want) == nil && got != want {
					t.Fatalf("%s %s read as %q", name, raw, got)
				}
			}
		}
	})
}

// FuzzAPI sends arbitrary requests through the whole handler: it must never
// panic, answer only with the statuses the API documents, and give every
// error as {"error": "<code>"}.
func FuzzAPI(f *testing.F) {
	svc := accounts.New(memStore(f), accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10, BcryptCost: bcrypt.MinCost})
	reg, err := svc.Register(context.Background(), nil, 0)
	if err != nil {
		f.Fatal(err)
	}
	a := New(svc, Options{CORSOrigins: []string{"*"}})
	valid := `{"subdomain":"` + reg.Subdomain + `","txt":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}`
	f.Add("POST", "/update", reg.Username, reg.Password, valid)
	f.Add("POST", "/delete", reg.Username, reg.Password, valid)
	f.Add("POST", "/present", reg.Username, reg.Password, valid)
	f.Add("POST", "/update", reg.Username, reg.Password, `{"subdomain":"`+reg.Subdomain+`","txt":"short"}`)
	f.Add("POST", "/register", "", "", `{"allowfrom":["192.0.2.0/24"],"txtlimit":4}`)
	f.Add("POST", "/register", "", "", `{"allowfrom":["x"]}`)
	f.Add("GET", "/health", "", "", "")
	f.Add("OPTIONS", "/update", "", "", "")
	f.Add("PUT", "/nothing", "", "", "")
	allowed := map[int]bool{200: true, 201: true, 204: true, 400: true, 401: true, 404: true, 405: true, 413: true, 429: true}
	f.Fuzz(func(t *testing.T, method, path, user, key, body string) {
		if path == "/deregister" {
			return // would end the fuzzed account
		}
		req := &http.Request{
			Method: method, URL: &url.URL{Path: path}, RemoteAddr: "127.0.0.1:40000",
			Header: http.Header{"X-Api-User": {user}, "X-Api-Key": {key}, "Origin": {"https://example.org"}},
			Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		}
		req = req.WithContext(context.Background())
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %s: status %d: %s", method, path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s: error body %q", method, path, rec.Body)
			}
		}
		if rec.Header().Get("Vary") != "Origin" {
			t.Fatalf("no Vary: Origin")
		}
		// Nothing outside the rules is ever accepted.
		switch {
		case rec.Code == 200 && method == "POST" && (path == "/update" || path == "/present"):
			got, _ := decodeUpdate([]byte(body))
			if got.Subdomain != reg.Subdomain || !accounts.ValidTXT(got.TXT) {
				t.Fatalf("%s accepted %q", path, body)
			}
			if values, _ := svc.Index().Lookup(reg.Subdomain); !slices.Contains(values, got.TXT) {
				t.Fatalf("%s answered 200 but %q is not served", path, got.TXT)
			}
		case rec.Code == 201:
			var out registerResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("register answer %q: %v", rec.Body, err)
			}
			for _, c := range out.AllowFrom {
				if _, err := netip.ParsePrefix(c); err != nil {
					t.Fatalf("registered with allowfrom %q", c)
				}
			}
			if out.TXTLimit < 0 || out.TXTLimit > 10 {
				t.Fatalf("registered with txtlimit %d", out.TXTLimit)
			}
		}
	})
}

func memStore(tb testing.TB) store.Store {
	st, err := store.OpenSQLite(context.Background(), ":memory:", store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func TestOriginPatterns(t *testing.T) {
	a := New(nil, Options{CORSOrigins: []string{"https://*.example.org", "http://localhost:3000"}})
	for origin, want := range map[string]bool{
		"https://app.example.org":  true,
		"https://example.org":      false,
		"http://localhost:3000":    true,
		"http://localhost:3001":    false,
		"https://app.example.org.": false,
	} {
		if got := a.originAllowed(origin); got != want {
			t.Errorf("%s: %v, want %v", origin, got, want)
		}
	}
}

// slowCommitStore writes, then holds the write's return until released: a
// commit on its way to disk.
type slowCommitStore struct {
	store.Store
	written, release chan struct{}
}

func (s slowCommitStore) AddTXT(ctx context.Context, sub, value string) (store.TXTSet, error) {
	set, err := s.Store.AddTXT(ctx, sub, value)
	s.written <- struct{}{}
	<-s.release
	return set, err
}

// TestAcknowledgedOnlyAfterCommit: /update answers, and DNS serves the value,
// only once the store's write has returned, never while its commit is on
// its way.
func TestAcknowledgedOnlyAfterCommit(t *testing.T) {
	st := slowCommitStore{Store: memStore(t), written: make(chan struct{}), release: make(chan struct{})}
	svc := accounts.New(st, accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10, BcryptCost: bcrypt.MinCost})
	reg, err := svc.Register(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := New(svc, Options{})
	const value = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	req := httptest.NewRequest("POST", "/update", strings.NewReader(`{"subdomain":"`+reg.Subdomain+`","txt":"`+value+`"}`))
	req.Header.Set("X-Api-User", reg.Username)
	req.Header.Set("X-Api-Key", reg.Password)
	rec := httptest.NewRecorder()
	answered := make(chan struct{})
	go func() { a.ServeHTTP(rec, req); close(answered) }()

	<-st.written // the row is written, the commit has not returned
	select {
	case <-answered:
		t.Fatal("/update answered before the store's write returned")
	default:
	}
	if values, _ := svc.Index().Lookup(reg.Subdomain); len(values) != 0 {
		t.Errorf("DNS serves %q before the write returned", values)
	}
	close(st.release)
	<-answered
	if rec.Code != 200 {
		t.Fatalf("/update: %d %s", rec.Code, rec.Body)
	}
	if values, _ := svc.Index().Lookup(reg.Subdomain); len(values) != 1 || values[0] != value {
		t.Errorf("DNS serves %q after the write, want the value", values)
	}
}

// TestClientLimits: past its limit a client is answered 429 with
// Retry-After before any bcrypt; other clients are not affected, and an IPv6
// client is one per /64.
func TestClientLimits(t *testing.T) {
	svc := accounts.New(memStore(t), accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10, BcryptCost: bcrypt.MinCost, CredentialCacheSize: 10})
	reg, err := svc.Register(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := New(svc, Options{RegisterPerMinute: 2, FailedAuthPerMinute: 3})
	send := func(path, remote, key string) *httptest.ResponseRecorder {
		body := `{"subdomain":"` + reg.Subdomain + `","txt":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}`
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.RemoteAddr = remote
		r.Header.Set("X-Api-User", reg.Username)
		r.Header.Set("X-Api-Key", key)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, r)
		return rec
	}
	wrong := accounts.NewPassword()
	for i, want := range []int{401, 401, 401, 429, 429} {
		if rec := send("/update", "192.0.2.1:1000", wrong); rec.Code != want {
			t.Fatalf("wrong key %d: %d %s, want %d", i+1, rec.Code, rec.Body, want)
		} else if want == 429 && (rec.Header().Get("Retry-After") != "20" || rec.Body.String() != `{"error": "too_many_requests"}`) {
			t.Errorf("429 with Retry-After %q and %s", rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if rec := send("/update", "192.0.2.2:1000", reg.Password); rec.Code != 200 {
		t.Errorf("another client: %d %s", rec.Code, rec.Body)
	}
	for i, want := range []int{401, 401, 401, 429} {
		remote := fmt.Sprintf("[2001:db8:1:2::%x]:1000", i+1) // one /64, four addresses
		if rec := send("/update", remote, wrong); rec.Code != want {
			t.Fatalf("IPv6 wrong key %d: %d, want %d", i+1, rec.Code, want)
		}
	}
	if rec := send("/update", "[2001:db8:1:3::1]:1000", wrong); rec.Code != 401 {
		t.Errorf("the next /64: %d, want 401", rec.Code)
	}
	for i, want := range []int{201, 201, 429} {
		if rec := send("/register", "198.51.100.1:1000", ""); rec.Code != want {
			t.Fatalf("register %d: %d %s, want %d", i+1, rec.Code, rec.Body, want)
		}
	}
	if rec := send("/register", "198.51.100.2:1000", ""); rec.Code != 201 {
		t.Errorf("register from another client: %d", rec.Code)
	}
}

// TestNoLockoutByANeighbour: behind one address (a NAT, an ingress
// without trusted_proxies), clients sending wrong keys for an account
// exhaust the limits of their failures, while the account's own clients,
// whose key passed before, are never refused nor made to wait; another
// account's clients at that address keep their own limit, up to the
// address's ceiling.
func TestNoLockoutByANeighbour(t *testing.T) {
	svc := accounts.New(memStore(t), accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10, BcryptCost: bcrypt.MinCost, CredentialCacheSize: 10})
	reg, _ := svc.Register(context.Background(), nil, 0)
	other, _ := svc.Register(context.Background(), nil, 0)
	a := New(svc, Options{FailedAuthPerMinute: 3, FailedAuthPerAddressPerMinute: 6})
	send := func(acct accounts.Registration, key string) int {
		body := `{"subdomain":"` + acct.Subdomain + `","txt":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}`
		r := httptest.NewRequest("POST", "/update", strings.NewReader(body))
		r.RemoteAddr = "192.0.2.1:1000"
		r.Header.Set("X-Api-User", acct.Username)
		r.Header.Set("X-Api-Key", key)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, r)
		return rec.Code
	}
	if code := send(reg, reg.Password); code != 200 {
		t.Fatalf("the account's client: %d", code)
	}
	var wg sync.WaitGroup
	var refused, valid atomic.Int32
	for range 64 {
		wg.Go(func() {
			for range 20 {
				if send(reg, accounts.NewPassword()) == 429 {
					refused.Add(1)
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if code := send(reg, reg.Password); code != 200 {
					t.Errorf("the account's own client, among wrong keys: %d", code)
				}
				valid.Add(1)
			}
		})
	}
	wg.Wait()
	// The first call of the account's client took one of the three checks.
	if refused.Load() != 64*20-2 || valid.Load() != 200 {
		t.Errorf("%d of %d wrong keys refused 429; %d valid calls", refused.Load(), 64*20, valid.Load())
	}
	// Another account's clients at that address keep their own limit of
	// three checks (the address's ceiling of six has three left).
	if code := send(other, other.Password); code != 200 {
		t.Errorf("another account's right key: %d", code)
	}
	for i, want := range []int{401, 401, 429} {
		if code := send(other, accounts.NewPassword()); code != want {
			t.Errorf("another account's wrong key %d: %d, want %d", i+1, code, want)
		}
	}
	// A third account's first check meets the address's ceiling: 3 + 3.
	third, _ := svc.Register(context.Background(), nil, 0)
	if code := send(third, third.Password); code != 429 {
		t.Errorf("past the address's ceiling: %d, want 429", code)
	}
}

// TestBusy: a credential check that finds every bcrypt slot taken is
// answered 503 with Retry-After.
func TestBusy(t *testing.T) {
	svc := accounts.New(memStore(t), accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10,
		BcryptCost: 12, BcryptConcurrency: 1, BcryptWait: time.Millisecond})
	reg, err := svc.Register(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := New(svc, Options{})
	send := func(remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/update", strings.NewReader(`{}`))
		r.RemoteAddr = remote
		r.Header.Set("X-Api-User", reg.Username)
		r.Header.Set("X-Api-Key", accounts.NewPassword())
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, r)
		return rec
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // keeps the only slot busy with wrong keys
		for {
			select {
			case <-stop:
				return
			default:
				send("192.0.2.1:1")
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := send("192.0.2.2:1")
		if rec.Code == http.StatusServiceUnavailable {
			if rec.Header().Get("Retry-After") != "1" || rec.Body.String() != `{"error": "busy"}` {
				t.Errorf("503 with Retry-After %q and %s", rec.Header().Get("Retry-After"), rec.Body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("never refused while the only slot was busy")
		}
	}
}
