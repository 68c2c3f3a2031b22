// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
)

var ctx = context.Background()

func newService(t testing.TB, cacheSize int) *Service {
	t.Helper()
	st, err := store.OpenSQLite(ctx, ":memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10, CredentialCacheSize: cacheSize})
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	valueA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	valueB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2"
	valueC = "ccccccccccccccccccccccccccccccccccccccccccc"
)

func TestRegister(t *testing.T) {
	s := newService(t, 10)
	reg, err := s.Register(ctx, []string{"192.0.2.0/24", "[2001:db8::]/32"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"username": reg.Username, "subdomain": reg.Subdomain} {
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || id != strings.ToLower(id) {
			t.Errorf("%s %q is not a lower-case UUIDv4", name, id)
		}
	}
	if reg.Username == reg.Subdomain {
		t.Error("username and subdomain are the same UUID")
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{40}$`).MatchString(reg.Password) {
		t.Errorf("password %q is not 40 characters of A-Za-z0-9-_", reg.Password)
	}
	if reg.FullDomain != reg.Subdomain+".auth.example.org" {
		t.Errorf("fulldomain = %q", reg.FullDomain)
	}
	if !slices.Equal(reg.AllowFrom, []string{"192.0.2.0/24", "2001:db8::/32"}) {
		t.Errorf("allowfrom = %q, want brackets stripped", reg.AllowFrom)
	}
	acct, err := s.store.Account(ctx, reg.Username)
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost(acct.PasswordHash); err != nil || cost != BcryptCost {
		t.Errorf("stored hash cost = %d, %v; want bcrypt cost %d", cost, err, BcryptCost)
	}
	if strings.Contains(string(acct.PasswordHash), reg.Password) {
		t.Error("the password is stored in clear")
	}
	if values, ok := s.Index().Lookup(reg.Subdomain); !ok || len(values) != 0 {
		t.Errorf("index after registration: %q, %v; want an account without values", values, ok)
	}

	for _, bad := range [][]string{{"1.2.3.4"}, {"192.0.2.0/33"}, {"not a cidr"}} {
		if _, err := s.Register(ctx, bad, 0); !errors.Is(err, ErrInvalidCIDR) {
			t.Errorf("Register(%q) err = %v, want ErrInvalidCIDR", bad, err)
		}
	}
	for _, bad := range []int{-1, 11} {
		if _, err := s.Register(ctx, nil, bad); !errors.Is(err, ErrTXTLimit) {
			t.Errorf("Register(txtlimit %d) err = %v, want ErrTXTLimit", bad, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	s := newService(t, 10)
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	wrong := NewPassword()
	tests := []struct {
		name, user, key string
		ok              bool
	}{
		{"right", reg.Username, reg.Password, true},
		{"right again (cached)", reg.Username, reg.Password, true},
		{"wrong key", reg.Username, wrong, false},
		{"unknown user", uuid.NewString(), reg.Password, false},
		{"user not a UUID", "admin", reg.Password, false},
		{"key too short", reg.Username, reg.Password[:39], false},
		{"key with bad characters", reg.Username, reg.Password[:39] + "!", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, err := s.Authenticate(ctx, tt.user, tt.key, nil)
			if tt.ok && (err != nil || acct.Subdomain != reg.Subdomain) {
				t.Errorf("Authenticate = %+v, %v; want the account", acct, err)
			}
			if !tt.ok && !errors.Is(err, ErrForbidden) {
				t.Errorf("Authenticate err = %v, want ErrForbidden", err)
			}
		})
	}
	if s.creds.verified(reg.Username, wrong, nil) {
		t.Error("a failed attempt was cached")
	}
}

func TestCredentialCache(t *testing.T) {
	s := newService(t, 10)
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := s.store.Account(ctx, reg.Username)
	if s.creds.verified(reg.Username, reg.Password, acct.PasswordHash) {
		t.Fatal("cached before any authentication")
	}
	if _, err := s.Authenticate(ctx, reg.Username, reg.Password, nil); err != nil {
		t.Fatal(err)
	}
	if !s.creds.verified(reg.Username, reg.Password, acct.PasswordHash) {
		t.Fatal("verified credentials were not cached")
	}
	if s.creds.verified(reg.Username, reg.Password, []byte("$2a$10$another-hash")) {
		t.Error("cache matched after the stored hash changed")
	}
	if err := s.Deregister(ctx, reg.Username); err != nil {
		t.Fatal(err)
	}
	if s.creds.verified(reg.Username, reg.Password, acct.PasswordHash) {
		t.Error("credentials still cached after deregistration")
	}
	if _, err := s.Authenticate(ctx, reg.Username, reg.Password, nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("deregistered account authenticated: %v", err)
	}

	bounded := newCredCache(3)
	for i := range 10 {
		bounded.add(uuid.NewString(), "k", []byte{byte(i)})
	}
	if len(bounded.m) != 3 {
		t.Errorf("cache of size 3 holds %d entries", len(bounded.m))
	}
	off := newCredCache(0)
	off.add("u", "k", nil)
	if off.verified("u", "k", nil) {
		t.Error("a disabled cache remembered credentials")
	}
}

func TestTXTKeepsIndexInStep(t *testing.T) {
	s := newService(t, 10)
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func() []string {
		values, ok := s.Index().Lookup(reg.Subdomain)
		if !ok {
			t.Fatal("account missing from the index")
		}
		return values
	}
	steps := []struct {
		add   bool
		value string
		want  []string
	}{
		{true, valueA, []string{valueA}},
		{true, valueB, []string{valueB, valueA}},
		{true, valueC, []string{valueC, valueB}},
		{false, valueB, []string{valueC}},
		{false, valueB, []string{valueC}},
	}
	for _, st := range steps {
		op := s.AddTXT
		if !st.add {
			op = s.DeleteTXT
		}
		if err := op(ctx, reg.Subdomain, st.value); err != nil {
			t.Fatal(err)
		}
		if got := lookup(); !slices.Equal(got, st.want) {
			t.Fatalf("index = %q, want %q", got, st.want)
		}
	}
	for _, bad := range []string{"", "short", valueA + "x", strings.Repeat("!", 43)} {
		if err := s.AddTXT(ctx, reg.Subdomain, bad); !errors.Is(err, ErrBadTXT) {
			t.Errorf("AddTXT(%q) err = %v, want ErrBadTXT", bad, err)
		}
	}
	anyTXT := New(s.store, Options{Domain: "auth.example.org", MaxTXTLimit: 10, AnyTXT: true})
	loose, err := anyTXT.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for value, ok := range map[string]bool{"anothertestingkey": true, `with "quotes" and spaces`: true,
		"": false, strings.Repeat("x", 256): false, "tab\there": false, `caf\u00e9`: true, "café": false} {
		if err := anyTXT.AddTXT(ctx, loose.Subdomain, value); (err == nil) != ok {
			t.Errorf("with any TXT format, AddTXT(%q) = %v, want accepted %v", value, err, ok)
		}
	}
	if err := s.AddTXT(ctx, "unknown", valueA); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddTXT on unknown subdomain err = %v", err)
	}

	// A fresh service over the same store reads the same state.
	other := New(s.store, Options{Domain: "auth.example.org"})
	if err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := other.Index().Lookup(reg.Subdomain); !slices.Equal(got, []string{valueC}) {
		t.Errorf("loaded index = %q", got)
	}
	if err := s.Deregister(ctx, reg.Username); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Index().Lookup(reg.Subdomain); ok {
		t.Error("deregistered account still in the index")
	}
	if s.Index().Len() != 0 {
		t.Errorf("Len = %d after deregistering the only account", s.Index().Len())
	}
}

func TestAllowed(t *testing.T) {
	acct := store.Account{AllowFrom: []string{"192.0.2.0/24", "2001:db8::/32"}}
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		acct store.Account
		ip   netip.Addr
		want bool
	}{
		{"no allowfrom: anywhere", store.Account{}, ip("203.0.113.9"), true},
		{"no allowfrom, unknown client", store.Account{}, netip.Addr{}, true},
		{"v4 inside", acct, ip("192.0.2.77"), true},
		{"v4-mapped v6 inside", acct, ip("::ffff:192.0.2.77"), true},
		{"v6 inside", acct, ip("2001:db8::1"), true},
		{"outside", acct, ip("198.51.100.1"), false},
		{"unknown client", acct, netip.Addr{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.acct, tt.ip); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIndexOrdering(t *testing.T) {
	x := NewIndex()
	x.Set("a", store.TXTSet{Values: []string{"new"}, Version: 5})
	x.Set("a", store.TXTSet{Values: []string{"old"}, Version: 3}) // a late, stale state
	if v, _ := x.Lookup("a"); !slices.Equal(v, []string{"new"}) {
		t.Errorf("stale state applied: %q", v)
	}
	x.Remove("a")
	x.Set("a", store.TXTSet{Values: []string{"zombie"}, Version: 9})
	if _, ok := x.Lookup("a"); ok {
		t.Error("a removed account came back")
	}

	// A snapshot read while writes happen keeps the writes made during it.
	x = NewIndex()
	x.Set("kept", store.TXTSet{Values: []string{"v1"}, Version: 1})
	x.Set("gone", store.TXTSet{Values: nil, Version: 0})
	snap := x.BeginSnapshot(0)
	x.Set("during", store.TXTSet{Values: []string{"d"}, Version: 1}) // registered while the snapshot read
	x.Set("kept", store.TXTSet{Values: []string{"v2"}, Version: 2})  // changed while the snapshot read
	snap.Add("kept", store.TXTSet{Values: []string{"v1"}, Version: 1})
	snap.Add("other", store.TXTSet{Values: []string{"o"}, Version: 4})
	x.Replace(snap)
	for name, want := range map[string][]string{"kept": {"v2"}, "during": {"d"}, "other": {"o"}} {
		if v, ok := x.Lookup(name); !ok || !slices.Equal(v, want) {
			t.Errorf("%s = %q, %v; want %q", name, v, ok, want)
		}
	}
	if _, ok := x.Lookup("gone"); ok {
		t.Error("an account the snapshot no longer found is still there")
	}
	if x.Len() != 3 {
		t.Errorf("Len = %d, want 3", x.Len())
	}
}

func TestDummyHashCostsAsMuchAsARealOne(t *testing.T) {
	if cost, err := bcrypt.Cost(dummyHash); err != nil || cost != BcryptCost {
		t.Fatalf("dummy hash cost = %d, %v", cost, err)
	}
	if err := bcrypt.CompareHashAndPassword(dummyHash, []byte(NewPassword())); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Errorf("comparing against the dummy hash: %v, want a mismatch after full work", err)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int
	}{{"cached", 10}, {"bcrypt", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newService(b, bc.cache)
			reg, err := s.Register(ctx, nil, 0)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Authenticate(ctx, reg.Username, reg.Password, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPresentHoldsUntilDeleted: concurrent presents on one account are all
// served until each is deleted, rolling updates beside them keep acme-dns's
// window, and a value never deleted goes once its hold expires.
func TestPresentHoldsUntilDeleted(t *testing.T) {
	var now atomic.Int64
	now.Store(1_700_000_000)
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10, PresentExpiry: time.Hour, Now: clock})
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	served := func() []string { v, _ := s.Index().Lookup(reg.Subdomain); return v }

	const n = 30
	values := make([]string, n)
	var wg sync.WaitGroup
	for i := range values {
		values[i] = fmt.Sprintf("%043d", i)
		wg.Go(func() {
			if err := s.Present(ctx, reg.Subdomain, values[i]); err != nil {
				t.Errorf("Present: %v", err)
			}
		})
	}
	wg.Wait()
	if got := served(); !testutil.SameElements(got, values) {
		t.Fatalf("served %d values after %d concurrent presents, want all: %q", len(got), n, got)
	}
	if held := s.Index().Held()[reg.Subdomain]; held != n {
		t.Errorf("Held() = %d, want %d", held, n)
	}
	for _, v := range []string{valueA, valueB, valueC} {
		if err := s.AddTXT(ctx, reg.Subdomain, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := served(); !testutil.SameElements(got, append([]string{valueB, valueC}, values...)) {
		t.Fatalf("rolling updates beside presented values: %d served, want %d", len(got), n+2)
	}
	for i, v := range values[1:] {
		if err := s.DeleteTXT(ctx, reg.Subdomain, v); err != nil {
			t.Fatal(err)
		}
		if got := served(); slices.Contains(got, v) || len(got) != 2+n-1-i {
			t.Fatalf("after deleting value %d: %d served", i+1, len(got))
		}
	}
	// values[0] is never deleted: it is served until its hold expires.
	now.Add(int64(59 * time.Minute / time.Second))
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(served(), values[0]) {
		t.Fatal("a presented value went before its expiry")
	}
	now.Add(int64(time.Minute / time.Second))
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := served(); !testutil.SameElements(got, []string{valueB, valueC}) {
		t.Fatalf("after expiry: %q", got)
	}
	if _, ok := s.Index().Held()[reg.Subdomain]; ok {
		t.Error("Held() still lists the account")
	}
}

// TestBcryptGate: while every bcrypt slot is taken a credential check waits
// briefly, then is refused ErrBusy; credentials already verified need no
// slot, so a known client is served during a flood of wrong keys.
func TestBcryptGate(t *testing.T) {
	st, err := store.OpenSQLite(ctx, ":memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10, CredentialCacheSize: 10,
		BcryptCost: bcrypt.MinCost, BcryptConcurrency: 1, BcryptWait: 20 * time.Millisecond})
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, reg.Username, reg.Password, nil); err != nil {
		t.Fatal(err)
	}

	s.bcrypt.slots <- struct{}{} // a flood holds the only slot
	start := time.Now()
	if _, err := s.Authenticate(ctx, reg.Username, NewPassword(), nil); !errors.Is(err, ErrBusy) {
		t.Errorf("wrong key while busy: %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("refused after %v, without waiting for a slot", waited)
	}
	if _, err := s.Authenticate(ctx, uuid.NewString(), NewPassword(), nil); !errors.Is(err, ErrBusy) {
		t.Errorf("unknown user while busy: %v, want ErrBusy", err)
	}
	if _, err := s.Register(ctx, nil, 0); !errors.Is(err, ErrBusy) {
		t.Errorf("Register while busy: %v, want ErrBusy", err)
	}
	if _, err := s.Authenticate(ctx, reg.Username, reg.Password, nil); err != nil {
		t.Errorf("known credentials while busy: %v, want them served from the cache", err)
	}
	<-s.bcrypt.slots
	if _, err := s.Authenticate(ctx, reg.Username, NewPassword(), nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("wrong key once free: %v, want ErrForbidden", err)
	}
}

// TestIndexSnapshotKeepsChanges: accounts kept as UUIDs and as other names
// alike, a snapshot read while accounts change, are registered and are
// deregistered keeps every change made during it.
func TestIndexSnapshotKeepsChanges(t *testing.T) {
	a, b, c, d := uuid.NewString(), uuid.NewString(), "custom-name", uuid.NewString()
	x := NewIndex()
	x.Set(a, store.TXTSet{Values: []string{"a1"}, Version: 1})
	x.Set(b, store.TXTSet{Values: []string{"b1"}, Version: 1})
	x.Set(c, store.TXTSet{Values: []string{"c1"}, Version: 1})
	snap := x.BeginSnapshot(0)
	x.Remove(b)                                                               // deregistered during the read
	x.Set(c, store.TXTSet{Values: []string{"c2", "c1"}, Version: 2, Held: 1}) // changed during it
	x.Set(d, store.TXTSet{Values: nil, Version: 0})                           // registered during it
	snap.Add(a, store.TXTSet{Values: []string{"a1"}, Version: 1})
	snap.Add(b, store.TXTSet{Values: []string{"b1"}, Version: 1}) // the read saw b before it went
	snap.Add(c, store.TXTSet{Values: []string{"c1"}, Version: 1})
	x.Replace(snap)
	if v, ok := x.Lookup(a); !ok || !slices.Equal(v, []string{"a1"}) {
		t.Errorf("a = %q, %v", v, ok)
	}
	if _, ok := x.Lookup(b); ok {
		t.Error("an account deregistered during the read came back")
	}
	if v, ok := x.Lookup(c); !ok || !slices.Equal(v, []string{"c2", "c1"}) || x.Held()[c] != 1 {
		t.Errorf("c = %q, %v, held %d", v, ok, x.Held()[c])
	}
	if v, ok := x.Lookup(d); !ok || len(v) != 0 {
		t.Errorf("d = %q, %v; want an account without values", v, ok)
	}
	if x.Len() != 3 {
		t.Errorf("Len = %d, want 3", x.Len())
	}
	x.Set(b, store.TXTSet{Values: []string{"late"}, Version: 5})
	if _, ok := x.Lookup(b); ok {
		t.Error("a late state brought a deregistered account back")
	}
	if _, ok := x.Lookup(strings.ToUpper(a)); ok {
		t.Error("an upper-case subdomain found a lower-case account")
	}
}

// TestConcurrentFirstAuthentications: many requests bringing the same new
// credentials at once share one bcrypt computation: none is refused busy,
// even with one slot and almost no wait.
func TestConcurrentFirstAuthentications(t *testing.T) {
	st, err := store.OpenSQLite(ctx, ":memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10, CredentialCacheSize: 10,
		BcryptCost: 11, BcryptConcurrency: 1, BcryptWait: time.Millisecond})
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Authenticate(ctx, reg.Username, reg.Password, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
}

// TestRegistrationsQueueLonger: with every bcrypt slot taken, a credential
// check gives up after BcryptWait (ErrBusy, and the client retries), while a
// registration, rare and waited for, queues up to RegisterWait.
func TestRegistrationsQueueLonger(t *testing.T) {
	st, err := store.OpenSQLite(ctx, ":memory:", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10, BcryptCost: bcrypt.MinCost,
		BcryptConcurrency: 1, BcryptWait: 20 * time.Millisecond, RegisterWait: 5 * time.Second})
	reg, err := s.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	taken, release := make(chan struct{}), make(chan struct{})
	go s.bcrypt.do(ctx, time.Second, func() { close(taken); <-release })
	<-taken
	if _, err := s.Authenticate(ctx, reg.Username, reg.Password, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("a credential check with the slot taken: %v, want ErrBusy", err)
	}
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	if _, err := s.Register(ctx, nil, 0); err != nil {
		t.Errorf("a registration waiting for the slot: %v", err)
	}
}

// TestReserve: the server's own account exists once however often it is
// reserved, by this service or by another sharing the database; its values
// are answered like any account's; no client can authenticate as it.
func TestReserve(t *testing.T) {
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "acme-dns.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, b := New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10}), New(st, Options{Domain: "auth.example.org", MaxTXTLimit: 10})
	for _, s := range []*Service{a, b} {
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Reserve(ctx, "_acme-challenge"); err != nil {
		t.Fatal(err)
	}
	if err := a.Reserve(ctx, "_acme-challenge"); err != nil {
		t.Fatalf("reserved again: %v", err)
	}
	if err := b.Reserve(ctx, "_acme-challenge"); err != nil {
		t.Fatalf("reserved by a second server, which had not seen the first's: %v", err)
	}
	if n, _ := st.Count(ctx); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
	if err := b.Present(ctx, "_acme-challenge", valueA); err != nil {
		t.Fatal(err)
	}
	if values, ok := b.Index().Lookup("_acme-challenge"); !ok || len(values) != 1 || values[0] != valueA {
		t.Errorf("values %v %v, want [%s]", values, ok, valueA)
	}
	for _, user := range []string{"acmehub:_acme-challenge", "_acme-challenge"} {
		if _, err := b.Authenticate(ctx, user, NewPassword(), func() error { return nil }); err == nil {
			t.Errorf("authenticated as %q", user)
		}
	}
}
