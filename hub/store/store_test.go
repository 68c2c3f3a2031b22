// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// engine opens stores of one kind; reopen gives a second handle on the same database.
type engine struct {
	name string
	open func(t *testing.T) (s store.Store, reopen func() store.Store)
}

func openOrFail(t *testing.T, eng, conn string, opts store.Options) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := store.Open(ctx, eng, conn, opts)
	if err != nil {
		t.Fatalf("opening %s store: %v", eng, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func engines(opts store.Options) []engine {
	return []engine{
		{"sqlite", func(t *testing.T) (store.Store, func() store.Store) {
			path := filepath.Join(t.TempDir(), "sub", "acmehub.db")
			return openOrFail(t, "sqlite", path, opts), func() store.Store {
				return openOrFail(t, "sqlite", path, opts)
			}
		}},
		{"postgres", func(t *testing.T) (store.Store, func() store.Store) {
			dsn := pgtest.Database(t)
			return openOrFail(t, "postgres", dsn, opts), func() store.Store {
				return openOrFail(t, "postgres", dsn, opts)
			}
		}},
	}
}

func forEachEngine(t *testing.T, fn func(t *testing.T, s store.Store, reopen func() store.Store)) {
	forEachEngineWith(t, store.Options{}, fn)
}

func forEachEngineWith(t *testing.T, opts store.Options, fn func(t *testing.T, s store.Store, reopen func() store.Store)) {
	for _, e := range engines(opts) {
		t.Run(e.name, func(t *testing.T) {
			s, reopen := e.open(t)
			fn(t, s, reopen)
		})
	}
}

var ctx = context.Background()

func account(n int) store.Account {
	return store.Account{
		Username:     fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		PasswordHash: []byte(fmt.Sprintf("$2a$10$hash%d", n)),
		Subdomain:    fmt.Sprintf("11111111-0000-4000-8000-%012d", n),
	}
}

func mustAdd(t *testing.T, s store.Store, sub, value string) store.TXTSet {
	t.Helper()
	set, err := s.AddTXT(ctx, sub, value)
	if err != nil {
		t.Fatalf("AddTXT(%s, %s): %v", sub, value, err)
	}
	return set
}

func TestRegisterAndRead(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, _ func() store.Store) {
		a := account(1)
		a.AllowFrom = []string{"192.0.2.0/24", "2001:db8::/32"}
		a.TXTLimit = 5
		if err := s.Register(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.Account(ctx, a.Username)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != a.Username || string(got.PasswordHash) != string(a.PasswordHash) ||
			got.Subdomain != a.Subdomain || !slices.Equal(got.AllowFrom, a.AllowFrom) || got.TXTLimit != 5 {
			t.Errorf("Account = %+v, want %+v", got, a)
		}
		set, err := s.TXT(ctx, a.Subdomain)
		if err != nil || len(set.Values) != 0 {
			t.Errorf("TXT of a new account = %+v, %v; want no values", set, err)
		}
		if err := s.Register(ctx, a); err == nil {
			t.Error("registering the same username twice succeeded")
		}
		if _, err := s.Account(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(nobody) err = %v, want ErrNotFound", err)
		}
		if _, err := s.TXT(ctx, "nothing"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("TXT(nothing) err = %v, want ErrNotFound", err)
		}
	})
}

func TestTXTValues(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, _ func() store.Store) {
		a, big := account(1), account(2)
		big.TXTLimit = 3
		for _, acct := range []store.Account{a, big} {
			if err := s.Register(ctx, acct); err != nil {
				t.Fatal(err)
			}
		}
		sub := a.Subdomain
		steps := []struct {
			op, value string
			want      []string
		}{
			{"add", "A", []string{"A"}},
			{"add", "B", []string{"B", "A"}},
			{"add", "C", []string{"C", "B"}}, // two most recent, written in the same second
			{"add", "B", []string{"B", "C"}}, // re-adding refreshes, no duplicate
			{"add", "D", []string{"D", "B"}},
			{"delete", "B", []string{"D"}},
			{"delete", "B", []string{"D"}}, // idempotent
			{"add", "E", []string{"E", "D"}},
			{"delete", "E", []string{"D"}},
			{"delete", "D", nil},
		}
		var version int64 = -1
		for i, st := range steps {
			var set store.TXTSet
			var err error
			if st.op == "add" {
				set, err = s.AddTXT(ctx, sub, st.value)
			} else {
				set, err = s.DeleteTXT(ctx, sub, st.value)
			}
			if err != nil {
				t.Fatalf("step %d %s %s: %v", i, st.op, st.value, err)
			}
			if !slices.Equal(set.Values, st.want) {
				t.Fatalf("step %d %s %s: values %q, want %q", i, st.op, st.value, set.Values, st.want)
			}
			if set.Version < version {
				t.Fatalf("step %d: version went back from %d to %d", i, version, set.Version)
			}
			version = set.Version
			read, err := s.TXT(ctx, sub)
			if err != nil || !slices.Equal(read.Values, st.want) || read.Version != set.Version {
				t.Fatalf("step %d: TXT read back %+v, %v; want %q version %d", i, read, err, st.want, set.Version)
			}
		}

		for _, v := range []string{"1", "2", "3", "4"} {
			mustAdd(t, s, big.Subdomain, v)
		}
		if set, _ := s.TXT(ctx, big.Subdomain); !slices.Equal(set.Values, []string{"4", "3", "2"}) {
			t.Errorf("account with limit 3 holds %q", set.Values)
		}

		if _, err := s.AddTXT(ctx, "not-registered", "A"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddTXT on an unknown subdomain err = %v, want ErrNotFound", err)
		}
		if _, err := s.DeleteTXT(ctx, "not-registered", "A"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteTXT on an unknown subdomain err = %v, want ErrNotFound", err)
		}
	})
}

// TestRaiseTXTLimit: an account that gained names keeps more values from its
// next write on, across a reopen; a lower limit never shrinks it.
func TestRaiseTXTLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		a := account(1)
		if err := s.Register(ctx, a); err != nil {
			t.Fatal(err)
		}
		steps := []struct{ ask, want int }{{0, 2}, {1, 2}, {2, 2}, {6, 6}, {4, 6}, {0, 6}}
		for _, st := range steps {
			if got, err := s.RaiseTXTLimit(ctx, a.Username, st.ask); err != nil || got != st.want {
				t.Fatalf("RaiseTXTLimit(%d) = %d, %v; want %d", st.ask, got, err, st.want)
			}
		}
		for _, v := range []string{"1", "2", "3", "4", "5", "6", "7"} {
			mustAdd(t, s, a.Subdomain, v)
		}
		if set, _ := reopen().TXT(ctx, a.Subdomain); !slices.Equal(set.Values, []string{"7", "6", "5", "4", "3", "2"}) {
			t.Errorf("after raising the limit to 6 the account holds %q", set.Values)
		}
		if got, err := reopen().Account(ctx, a.Username); err != nil || got.TXTLimit != 6 {
			t.Errorf("reopened account = %+v, %v; want txtlimit 6", got, err)
		}
		if _, err := s.RaiseTXTLimit(ctx, "nobody", 4); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RaiseTXTLimit(nobody) err = %v, want ErrNotFound", err)
		}
	})
}

// TestAccountLifecycle: an account remembers when it was registered and
// last given a value, to the minute (not when one was deleted or expired);
// its password and
// allowfrom are replaced in place; Accounts lists every account with its
// count of values.
func TestAccountLifecycle(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	forEachEngineWith(t, store.Options{Now: clock}, func(t *testing.T, s store.Store, _ func() store.Store) {
		a, b := account(1), account(2)
		registered := now
		for _, acct := range []store.Account{a, b} {
			if err := s.Register(ctx, acct); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Hour)
		used := now
		mustAdd(t, s, a.Subdomain, "A")
		if _, err := s.HoldTXT(ctx, a.Subdomain, "B", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Within the minute the last use is kept to, a write changes nothing.
		now = now.Add(30 * time.Second)
		if _, err := s.HoldTXT(ctx, a.Subdomain, "D", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Neither a deletion nor an expiry is a use.
		now = now.Add(time.Hour)
		if _, err := s.DeleteTXT(ctx, a.Subdomain, "B"); err != nil {
			t.Fatal(err)
		}
		if expired, err := s.ExpireTXT(ctx); err != nil || len(expired) != 1 {
			t.Fatalf("ExpireTXT = %v, %v; want D expired", expired, err)
		}
		if err := s.SetPassword(ctx, a.Username, []byte("$2a$10$rotated")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAllowFrom(ctx, a.Username, []string{"192.0.2.0/24"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Account(ctx, a.Username)
		if err != nil || string(got.PasswordHash) != "$2a$10$rotated" || !slices.Equal(got.AllowFrom, []string{"192.0.2.0/24"}) ||
			!got.Created.Equal(registered) || !got.LastUsed.Equal(used) {
			t.Errorf("Account = %+v, %v; want the new hash and allowfrom, created %v, last used %v", got, err, registered, used)
		}
		list, err := s.Accounts(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("Accounts = %+v, %v", list, err)
		}
		if l := list[0]; l.Username != a.Username || l.Values != 1 || !l.LastUsed.Equal(used) || !slices.Equal(l.AllowFrom, []string{"192.0.2.0/24"}) {
			t.Errorf("Accounts[0] = %+v, want %s holding 1 value, last used %v", l, a.Username, used)
		}
		if l := list[1]; l.Username != b.Username || l.Values != 0 || !l.LastUsed.IsZero() || !l.Created.Equal(registered) {
			t.Errorf("Accounts[1] = %+v, want %s unused, created %v", l, b.Username, registered)
		}
		for _, err := range []error{s.SetPassword(ctx, "nobody", []byte("x")), s.SetAllowFrom(ctx, "nobody", nil)} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("changing an unknown account: %v, want ErrNotFound", err)
			}
		}
	})
}

func TestDeregister(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, _ func() store.Store) {
		a, b := account(1), account(2)
		for _, acct := range []store.Account{a, b} {
			if err := s.Register(ctx, acct); err != nil {
				t.Fatal(err)
			}
			mustAdd(t, s, acct.Subdomain, "A")
		}
		sub, err := s.Deregister(ctx, a.Username)
		if err != nil || sub != a.Subdomain {
			t.Fatalf("Deregister = %q, %v", sub, err)
		}
		if _, err := s.Account(ctx, a.Username); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deregistered account still readable: %v", err)
		}
		if _, err := s.TXT(ctx, a.Subdomain); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deregistered account's TXT still readable: %v", err)
		}
		if _, err := s.Deregister(ctx, a.Username); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second Deregister err = %v, want ErrNotFound", err)
		}
		if set, err := s.TXT(ctx, b.Subdomain); err != nil || !slices.Equal(set.Values, []string{"A"}) {
			t.Errorf("the other account lost its value: %+v, %v", set, err)
		}
	})
}

func TestEachAndPersistence(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		want := map[string][]string{}
		// Subdomains over every range Each reads at once, and some that are
		// not UUIDs, at the edges of those ranges.
		names := []string{"", "4", "8", "c", "~custom", "Upper", "0-zero"}
		for range 500 {
			names = append(names, uuid.NewString())
		}
		for i, name := range names {
			a := account(i)
			a.Subdomain = name
			if err := s.Register(ctx, a); err != nil {
				t.Fatal(err)
			}
			want[a.Subdomain] = nil
			for v := range i % 3 {
				value := fmt.Sprintf("v%d-%d", i, v)
				mustAdd(t, s, a.Subdomain, value)
				want[a.Subdomain] = append([]string{value}, want[a.Subdomain]...)
			}
		}
		check := func(s store.Store) {
			t.Helper()
			got := map[string][]string{}
			err := s.Each(ctx, func(sub string, set store.TXTSet) error {
				if _, dup := got[sub]; dup {
					t.Errorf("Each gave %s twice", sub)
				}
				got[sub] = set.Values
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("Each gave %d accounts, want %d", len(got), len(want))
			}
			for sub, values := range want {
				if !slices.Equal(got[sub], values) {
					t.Errorf("Each: %s = %q, want %q", sub, got[sub], values)
				}
			}
		}
		check(s)
		stop := errors.New("stop")
		calls := 0
		if err := s.Each(ctx, func(string, store.TXTSet) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Each after fn failed: %v after %d calls, want fn's error after 1", err, calls)
		}
		s.Close()
		check(reopen())
	})
}

// TestConcurrentWrites checks that writes racing on one account and across
// accounts are all applied: group commit must neither lose nor mix them up.
func TestConcurrentWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		const accounts, perAccount = 8, 10
		for i := range accounts {
			a := account(i)
			a.TXTLimit = perAccount
			if err := s.Register(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, accounts*perAccount)
		for i := range accounts {
			for v := range perAccount {
				wg.Go(func() {
					if _, err := s.AddTXT(ctx, account(i).Subdomain, fmt.Sprintf("value-%d", v)); err != nil {
						errs <- err
					}
				})
			}
		}
		// A failing write in the same batch as good ones must not undo them.
		wg.Go(func() {
			if _, err := s.AddTXT(ctx, "not-registered", "x"); !errors.Is(err, store.ErrNotFound) {
				errs <- fmt.Errorf("AddTXT on unknown account: %v", err)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		s.Close()
		s = reopen()
		for i := range accounts {
			set, err := s.TXT(ctx, account(i).Subdomain)
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Values) != perAccount {
				t.Errorf("account %d holds %d values after %d concurrent adds: %q", i, len(set.Values), perAccount, set.Values)
			}
		}
	})
}

// TestWatchResyncs: Watch asks for everything to be read again every
// resync interval, beside the notifications.
func TestWatchResyncs(t *testing.T) {
	dsn := pgtest.Database(t)
	s := openOrFail(t, "postgres", dsn, store.Options{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resyncs := make(chan struct{}, 16)
	go s.Watch(wctx, store.AccountsChanged, 100*time.Millisecond, func(sub string) {
		if sub == "" {
			resyncs <- struct{}{}
		}
	})
	for i := range 3 { // the one on connecting, then periodic ones
		select {
		case <-resyncs:
		case <-time.After(5 * time.Second):
			t.Fatalf("resync %d did not come", i)
		}
	}
}

// watch has s Watch topic and returns the next event, failing after 5 s,
// and a function that stops watching and returns Watch's error.
func watch(t *testing.T, s store.Store, topic store.Topic) (next func() string, stop func() error) {
	events := make(chan string, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.Watch(wctx, topic, 0, func(key string) { events <- key }) }()
	next = func() string {
		t.Helper()
		select {
		case key := <-events:
			return key
		case <-time.After(5 * time.Second):
			t.Fatal("no notification within 5 s")
			return ""
		}
	}
	if got := next(); got != "" {
		t.Fatalf("first event = %q, want the resync signal \"\"", got)
	}
	return next, func() error { cancel(); return <-done }
}

func TestWatchSeesOtherProcess(t *testing.T) {
	dsn := pgtest.Database(t)
	a := openOrFail(t, "postgres", dsn, store.Options{})
	b := openOrFail(t, "postgres", dsn, store.Options{})
	next, stop := watch(t, b, store.AccountsChanged)
	acct := account(1)
	if err := a.Register(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != acct.Subdomain {
		t.Errorf("after Register: event %q, want %q", got, acct.Subdomain)
	}
	mustAdd(t, a, acct.Subdomain, "A")
	if got := next(); got != acct.Subdomain {
		t.Errorf("after AddTXT: event %q, want %q", got, acct.Subdomain)
	}
	// The watching store's own writes are not announced to it: it has them.
	own := account(2)
	if err := b.Register(ctx, own); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, b, own.Subdomain, "B")
	mustAdd(t, a, acct.Subdomain, "C")
	if got := next(); got != acct.Subdomain {
		t.Errorf("after writes through both: event %q, want only %q", got, acct.Subdomain)
	}
	if err := stop(); err != nil {
		t.Errorf("Watch returned %v after its context ended", err)
	}
}

// TestWatchRecords: another process is told the name of each record added
// or removed, and only of those.
func TestWatchRecords(t *testing.T) {
	dsn := pgtest.Database(t)
	a := openOrFail(t, "postgres", dsn, store.Options{}).Managed()
	b := openOrFail(t, "postgres", dsn, store.Options{})
	next, stop := watch(t, b, store.RecordsChanged)
	defer stop()
	record := func(id, name string) store.HubRecord {
		return store.HubRecord{ID: id, Config: "self", Zone: "example.com", Name: name, Value: "v", ClientID: "c", Created: t0}
	}
	remove := func(id string) error {
		return a.RemoveRecords(ctx, []string{id}, store.AuditEntry{At: t0, Action: "cleanup"})
	}
	steps := []struct {
		what string
		do   func() error
		want string
	}{
		{"add", func() error { return a.AddRecord(ctx, record("r1", "_acme-challenge.a.example.com")) }, "_acme-challenge.a.example.com"},
		{"remove", func() error { return remove("r1") }, "_acme-challenge.a.example.com"},
		// Unannounced: a removal that removes nothing, and the watcher's own write.
		{"remove again, add through the watcher, add another", func() error {
			return errors.Join(remove("r1"), b.Managed().AddRecord(ctx, record("r2", "_acme-challenge.b.example.com")),
				a.AddRecord(ctx, record("r3", "_acme-challenge.c.example.com")))
		}, "_acme-challenge.c.example.com"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if got := next(); got != s.want {
			t.Errorf("%s: event %q, want %q", s.what, got, s.want)
		}
	}
}

type fixture struct {
	Domain   string `json:"domain"`
	Accounts []struct {
		Username  string   `json:"username"`
		Password  string   `json:"password"`
		Subdomain string   `json:"subdomain"`
		AllowFrom []string `json:"allowfrom"`
		Values    []string `json:"txt_values_served"`
	} `json:"accounts"`
}

func readFixture(t *testing.T, name string) fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAcmeDNSDatabases opens databases written by acme-dns itself and checks
// that accounts, credentials and values carry over, and that after acmehub's
// migration and writes the tables still read the way acme-dns reads them.
func TestAcmeDNSDatabases(t *testing.T) {
	cases := []struct {
		name, accounts string
		open           func(t *testing.T) (store.Store, *sql.DB)
	}{
		{"sqlite v1.1", "acme-dns-v1.1.accounts.json", sqliteFixture("acme-dns-v1.1.db")},
		{"sqlite v2", "acme-dns-v2.accounts.json", sqliteFixture("acme-dns-v2.db")},
		{"postgres v2", "acme-dns-v2-postgres.accounts.json", func(t *testing.T) (store.Store, *sql.DB) {
			dsn := pgtest.Database(t)
			psql := exec.Command(testdeps.Program(t, "psql"), "-v", "ON_ERROR_STOP=1", "-q", "-f", "../../testdata/acme-dns-v2-postgres.sql", dsn)
			if out, err := psql.CombinedOutput(); err != nil {
				t.Fatalf("loading the acme-dns dump with psql: %v\n%s", err, out)
			}
			raw, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			return openOrFail(t, "postgres", dsn, store.Options{}), raw
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := readFixture(t, tc.accounts)
			s, raw := tc.open(t)
			for _, fa := range f.Accounts {
				a, err := s.Account(ctx, fa.Username)
				if err != nil {
					t.Fatalf("account %s: %v", fa.Username, err)
				}
				if err := bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(fa.Password)); err != nil {
					t.Errorf("account %s: acme-dns's password no longer matches: %v", fa.Username, err)
				}
				if a.Subdomain != fa.Subdomain || !slices.Equal(a.AllowFrom, fa.AllowFrom) {
					t.Errorf("account %s = %+v, want subdomain %s allowfrom %q", fa.Username, a, fa.Subdomain, fa.AllowFrom)
				}
				set, err := s.TXT(ctx, fa.Subdomain)
				if err != nil {
					t.Fatal(err)
				}
				if !testutil.SameElements(set.Values, fa.Values) {
					t.Errorf("%s values = %q, acme-dns served %q", fa.Subdomain, set.Values, fa.Values)
				}
			}
			// acme-dns kept no times: a migrated account's are unknown.
			list, err := s.Accounts(ctx)
			if err != nil || len(list) != len(f.Accounts) {
				t.Fatalf("Accounts = %d, %v; want the %d of the fixture", len(list), err, len(f.Accounts))
			}
			for _, a := range list {
				if !a.Created.IsZero() || !a.LastUsed.IsZero() {
					t.Errorf("migrated account %s: created %v, last used %v; want both unknown", a.Username, a.Created, a.LastUsed)
				}
			}
			// Writes after the migration keep acme-dns's view consistent: its
			// query reads the values we hold.
			first := f.Accounts[0].Subdomain
			const v = "ccccccccccccccccccccccccccccccccccccccccccc"
			set := mustAdd(t, s, first, v)
			if len(set.Values) != 2 || set.Values[0] != v {
				t.Errorf("after an update: %q", set.Values)
			}
			q := `SELECT Value FROM txt WHERE Subdomain = $1 LIMIT 2`
			rs, err := raw.QueryContext(ctx, q, first)
			if err != nil {
				t.Fatalf("acme-dns's query fails after migration: %v", err)
			}
			var asAcmeDNS []string
			for rs.Next() {
				var value string
				rs.Scan(&value)
				asAcmeDNS = append(asAcmeDNS, value)
			}
			rs.Close()
			if !testutil.SameElements(asAcmeDNS, set.Values) {
				t.Errorf("acme-dns would serve %q, acmehub serves %q", asAcmeDNS, set.Values)
			}
			var version string
			if err := raw.QueryRowContext(ctx, `SELECT Value FROM acmedns WHERE Name = 'db_version'`).Scan(&version); err != nil || version != "1" {
				t.Errorf("db_version = %q, %v; acme-dns needs 1", version, err)
			}
		})
	}
}

func sqliteFixture(name string) func(t *testing.T) (store.Store, *sql.DB) {
	return func(t *testing.T) (store.Store, *sql.DB) {
		path := filepath.Join(t.TempDir(), name)
		copyFile(t, filepath.Join("..", "..", "testdata", name), path)
		s := openOrFail(t, "sqlite", path, store.Options{})
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return s, raw
	}
}

func TestMigrationIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	for range 3 {
		s := openOrFail(t, "sqlite", path, store.Options{})
		s.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		engine, conn, want string
	}{
		{"mysql", "x", `unknown database engine "mysql"`},
		{"sqlite", "a?b.db", "must not contain ? or #"},
		{"sqlite", "/proc/nonexistent/dir/db", "/proc/nonexistent/dir/db"},
		{"postgres", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", "xxxxx"},
		{"postgres", "::not a url", "postgres connection"},
	}
	for _, tt := range tests {
		t.Run(tt.engine+" "+tt.conn, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			s, err := store.Open(ctx, tt.engine, tt.conn, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestPostgresTxtWithoutRowid opens a PostgreSQL database whose txt table was
// made without the rowid column acmehub addresses rows by.
func TestPostgresTxtWithoutRowid(t *testing.T) {
	dsn := pgtest.Database(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{
		`CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL, Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT)`,
		`CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT)`,
		`INSERT INTO records VALUES ('u', 'h', 'sub', '[]')`,
		`INSERT INTO txt VALUES ('sub', 'old', 1), ('sub', '', 0)`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	s := openOrFail(t, "postgres", dsn, store.Options{})
	if set := mustAdd(t, s, "sub", "new"); !slices.Equal(set.Values, []string{"new", "old"}) {
		t.Errorf("values = %q", set.Values)
	}
}
