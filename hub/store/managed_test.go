// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/pgtest"
)

var t0 = time.Unix(1_800_000_000, 0)

func TestManagedPrincipalsAndTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		m := s.Managed()
		p := store.Principal{ID: "p1", Kind: "application", Title: "cluster prod", Description: "cert-manager in prod",
			Created: t0, Roles: []string{"managed-challenge-consumer"}}
		if err := m.CreatePrincipal(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := m.CreatePrincipal(ctx, p); !errors.Is(err, store.ErrExists) {
			t.Errorf("creating p1 again: %v, want ErrExists", err)
		}
		if err := m.SetRoles(ctx, "p1", []string{"managed-challenge-admin", "managed-challenge-consumer"}); err != nil {
			t.Fatal(err)
		}
		if err := m.SetRoles(ctx, "nobody", nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("roles of a missing principal: %v", err)
		}
		tok := store.Token{ClientID: "c1", Principal: "p1", Title: "prod", SecretHash: []byte{1, 2, 3, 0, 255},
			Scopes: []string{"managed-challenge-consumer"}, Domains: []string{".prod.example.com"}, Created: t0, Expires: t0.Add(90 * 24 * time.Hour)}
		if err := m.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := m.CreateToken(ctx, tok); !errors.Is(err, store.ErrExists) {
			t.Errorf("a second token c1: %v, want ErrExists", err)
		}
		if err := m.TouchToken(ctx, "c1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		m.TouchToken(ctx, "c1", t0.Add(time.Minute)) // never moves back

		// Everything survives a restart.
		m = reopen().Managed()
		got, err := m.Principal(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != p.Title || got.Description != p.Description || !got.Created.Equal(t0) ||
			!slices.Equal(got.Roles, []string{"managed-challenge-admin", "managed-challenge-consumer"}) {
			t.Errorf("principal = %+v", got)
		}
		tg, err := m.Token(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tg.SecretHash, tok.SecretHash) || !slices.Equal(tg.Scopes, tok.Scopes) || !slices.Equal(tg.Domains, tok.Domains) ||
			!tg.Expires.Equal(tok.Expires) || !tg.LastUsed.Equal(t0.Add(time.Hour)) || !tg.Revoked.IsZero() {
			t.Errorf("token = %+v", tg)
		}
		if err := m.RotateToken(ctx, "c1", []byte("new hash")); err != nil {
			t.Fatal(err)
		}
		if err := m.RevokeToken(ctx, "c1", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		tg, _ = m.Token(ctx, "c1")
		if string(tg.SecretHash) != "new hash" || !tg.Revoked.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("after rotate and revoke: %+v", tg)
		}
		for _, err := range []error{m.RevokeToken(ctx, "c9", t0), m.RotateToken(ctx, "c9", nil)} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("changing a missing token: %v, want ErrNotFound", err)
			}
		}
		if _, err := m.Token(ctx, "c9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reading a missing token: %v", err)
		}
		m.CreatePrincipal(ctx, store.Principal{ID: "p2", Kind: "user", Title: "alice", Created: t0.Add(time.Second)})
		m.CreateToken(ctx, store.Token{ClientID: "c2", Principal: "p2", SecretHash: []byte{9}, Created: t0})
		if list, err := m.Tokens(ctx, "p2"); err != nil || len(list) != 1 || list[0].ClientID != "c2" || len(list[0].Scopes) != 0 {
			t.Errorf("tokens of p2 = %+v, %v", list, err)
		}
		if list, err := m.Principals(ctx); err != nil || len(list) != 2 || list[1].ID != "p2" || len(list[1].Roles) != 0 {
			t.Errorf("principals = %+v, %v", list, err)
		}
	})
}

func TestManagedConfigs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		m := s.Managed()
		c := store.ChallengeConfig{ID: "do-example", Title: "example.com at DigitalOcean", ChallengeType: "dns-01", Provider: "digitalocean",
			Credentials: []byte("sealed\x00bytes"), KeyID: "k1", Zone: "example.com", Rules: []string{".example.com", "!secret.example.com"},
			TTL: 30, Propagation: `{"timeout":"2m"}`, AllowCNAME: true, Created: t0, Updated: t0}
		if err := m.PutConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Title, c.Rules, c.Updated = "renamed", []string{"example.com"}, t0.Add(time.Hour)
		if err := m.PutConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
		list, err := reopen().Managed().Configs(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("configs = %+v, %v", list, err)
		}
		got := list[0]
		if got.Title != "renamed" || !slices.Equal(got.Rules, c.Rules) || string(got.Credentials) != "sealed\x00bytes" || got.KeyID != "k1" ||
			!got.AllowCNAME || got.TTL != 30 || got.Propagation != c.Propagation || !got.Created.Equal(t0) || !got.Updated.Equal(c.Updated) {
			t.Errorf("config = %+v", got)
		}
		if err := m.DeleteConfig(ctx, "do-example"); err != nil {
			t.Fatal(err)
		}
		if err := m.DeleteConfig(ctx, "do-example"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func TestAuthorisations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		m := s.Managed()
		a := store.Authorisation{Name: "www.example.com", ClientID: "az_1", SuffixMatch: true, Created: t0, CreatedBy: "192.0.2.7"}
		if err := m.CreateAuthorisation(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := m.CreateAuthorisation(ctx, store.Authorisation{Name: "www.example.com", ClientID: "az_2", Created: t0}); !errors.Is(err, store.ErrExists) {
			t.Errorf("a second authorisation of the name: %v", err)
		}
		m = reopen().Managed()
		if got, err := m.Authorisation(ctx, "www.example.com"); err != nil || got != a {
			t.Errorf("authorisation = %+v, %v; want %+v", got, err, a)
		}
		if err := m.DeleteAuthorisation(ctx, "www.example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Authorisation(ctx, "www.example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		if err := m.DeleteAuthorisation(ctx, "www.example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

// TestDelegations: a delegation per identifier, kept across a reopen,
// listed by identifier, removed once.
func TestDelegations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		m := s.Managed()
		d := store.Delegation{Identifier: "www.example.com", Target: "d420c923.auth.example.org", Config: "bind", Zone: "example.com",
			Owner: "hub_1", Created: t0}
		for _, d := range []store.Delegation{d, {Identifier: "app.example.com", Target: "x.auth.example.org", Config: "bind", Zone: "example.com", Owner: "cli:root", Created: t0}} {
			if err := m.CreateDelegation(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.CreateDelegation(ctx, d); !errors.Is(err, store.ErrExists) {
			t.Errorf("a second delegation of the name: %v", err)
		}
		m = reopen().Managed()
		if got, err := m.Delegation(ctx, "www.example.com"); err != nil || got != d {
			t.Errorf("delegation = %+v, %v; want %+v", got, err, d)
		}
		if list, err := m.Delegations(ctx); err != nil || len(list) != 2 || list[0].Identifier != "app.example.com" {
			t.Errorf("delegations = %+v, %v", list, err)
		}
		if err := m.DeleteDelegation(ctx, "www.example.com"); err != nil {
			t.Fatal(err)
		}
		if err := m.DeleteDelegation(ctx, "www.example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

// addRecordsAndAudit: concurrent writers; every record and every audit
// entry is kept, with distinct, growing audit IDs.
func addRecordsAndAudit(t *testing.T, m store.Managed) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			r := store.HubRecord{ID: fmt.Sprintf("r%02d", i), Config: "self", Zone: "example.com", Name: "_acme-challenge.www.example.com",
				Value: fmt.Sprintf("value-%02d", i), ClientID: "c1", Created: t0.Add(time.Duration(i) * time.Minute)}
			switch i {
			case 5: // old, but it expires later
				r.Expires = t0.Add(20 * time.Minute)
			case 35: // young, but it expires early
				r.Expires, r.Config = t0.Add(5*time.Minute), "other"
			}
			if err := m.AddRecord(ctx, r); err != nil {
				t.Error(err)
			}
			err := m.Audit(ctx, store.AuditEntry{At: r.Created, Action: "present", Principal: []string{"p1", "p2"}[i%2], ClientID: "c1",
				Address: "127.0.0.1", Identifier: "www.example.com", Record: r.Name, ValueHash: "h", Config: "self",
				Result: []string{"ok", "provider error"}[i%2], Duration: 1500 * time.Microsecond})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var ids []int64
	entries, err := m.AuditLog(ctx, store.AuditQuery{Limit: 100})
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	if slices.Sort(ids); err != nil || len(slices.Compact(slices.Clone(ids))) != 40 || ids[0] <= 0 {
		t.Errorf("audit IDs %v (%v), want 40 distinct", ids, err)
	}
}

// auditPages: the audit log newest first, filtered, paged.
func auditPages(t *testing.T, m store.Managed) {
	t.Helper()
	page, err := m.AuditLog(ctx, store.AuditQuery{Principal: "p2", Result: store.ResultFailed, Limit: 7})
	if err != nil || len(page) != 7 {
		t.Fatalf("page = %d, %v", len(page), err)
	}
	for i, e := range page {
		if e.Principal != "p2" || e.Result == "ok" || e.Duration != 1500*time.Microsecond || (i > 0 && e.ID >= page[i-1].ID) {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	rest, _ := m.AuditLog(ctx, store.AuditQuery{Principal: "p2", Result: store.ResultFailed, Before: page[6].ID})
	if len(rest) != 13 {
		t.Errorf("second page: %d entries, want 13", len(rest))
	}
	window, _ := m.AuditLog(ctx, store.AuditQuery{Since: t0.Add(5 * time.Minute), Until: t0.Add(15 * time.Minute), Identifier: "www.example.com"})
	if len(window) != 10 {
		t.Errorf("entries between +5m and +15m: %d, want 10", len(window))
	}
	if ok, _ := m.AuditLog(ctx, store.AuditQuery{Result: store.ResultOK, Limit: 100}); len(ok) != 22 {
		t.Errorf("entries that succeeded: %d, want the 20 presents and the 2 removals", len(ok))
	}
}

func TestManagedRecordsAndAudit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, reopen func() store.Store) {
		m := s.Managed()
		addRecordsAndAudit(t, m)
		m = reopen().Managed()
		due, err := m.DueRecords(ctx, t0.Add(10*time.Minute), t0.Add(10*time.Minute))
		var dueIDs []string
		for _, r := range due {
			dueIDs = append(dueIDs, r.ID)
		}
		if want := []string{"r00", "r01", "r02", "r03", "r04", "r06", "r07", "r08", "r09", "r35"}; err != nil || !slices.Equal(dueIDs, want) {
			t.Fatalf("records due at +10m = %q, %v; want %q", dueIDs, err, want)
		}
		if at, err := m.RecordsAt(ctx, "_acme-challenge.www.example.com"); err != nil || len(at) != 40 {
			t.Errorf("records at the name: %d, %v; want every config's 40", len(at), err)
		}
		if err := m.RetryRecord(ctx, "r00", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second removal finds nothing to remove
			if err := m.RemoveRecords(ctx, []string{"r01"}, store.AuditEntry{At: t0.Add(time.Hour), Action: "cleanup", Result: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
		if removals, err := m.AuditLog(ctx, store.AuditQuery{Since: t0.Add(time.Hour)}); err != nil || len(removals) != 2 {
			t.Errorf("audit entries of the removals: %d, %v; want 2", len(removals), err)
		}
		all, _ := m.Records(ctx)
		if len(all) != 39 || all[0].Attempts != 1 || !all[0].NextAttempt.Equal(t0.Add(time.Hour)) || all[1].ID != "r02" {
			t.Errorf("records after a retry and a removal: %d, first %+v", len(all), all[0])
		}

		auditPages(t, m)
		// Presents in buckets of 10 minutes: 10 each, half of them failed.
		m.Audit(ctx, store.AuditEntry{At: t0.Add(12 * time.Minute), Action: "admin", Result: "ok"})
		buckets, err := m.Activity(ctx, t0, 10*time.Minute, 5)
		if err != nil || len(buckets) != 5 {
			t.Fatalf("activity: %v, %v", buckets, err)
		}
		for i, b := range buckets {
			want := store.ActivityBucket{Start: t0.Add(time.Duration(i) * 10 * time.Minute), Requests: 10, Failures: 5}
			if i == 4 {
				want.Requests, want.Failures = 0, 0
			}
			if !b.Start.Equal(want.Start) || b.Requests != want.Requests || b.Failures != want.Failures {
				t.Errorf("bucket %d: %+v, want %+v", i, b, want)
			}
		}
	})
}

// TestExclusively: of two processes sharing PostgreSQL, one runs a named
// job at a time; the other is told it did not run, and runs it afterwards.
func TestExclusively(t *testing.T) {
	dsn := pgtest.Database(t)
	a, b := openOrFail(t, "postgres", dsn, store.Options{}), openOrFail(t, "postgres", dsn, store.Options{})
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		ran, err := a.Managed().Exclusively(ctx, "sweep", func(context.Context) error {
			close(inside)
			<-release
			return nil
		})
		if !ran {
			err = errors.Join(err, errors.New("the first holder did not run"))
		}
		done <- err
	}()
	<-inside
	if ran, err := b.Managed().Exclusively(ctx, "sweep", func(context.Context) error { return nil }); ran || err != nil {
		t.Errorf("the second process ran while the first held the lock: %v %v", ran, err)
	}
	if ran, err := b.Managed().Exclusively(ctx, "another job", func(context.Context) error { return nil }); !ran || err != nil {
		t.Errorf("another name is not held: %v %v", ran, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran, err := b.Managed().Exclusively(ctx, "sweep", func(context.Context) error { return nil }); !ran || err != nil {
		t.Errorf("after the first finished: %v %v", ran, err)
	}
}

// TestHubRecordsGainColumns: a database whose hub_records table predates
// the expires column gets it when opened, keeping its records.
func TestHubRecordsGainColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE hub_records(id TEXT PRIMARY KEY, config TEXT NOT NULL, zone TEXT NOT NULL, name TEXT NOT NULL,
		value TEXT NOT NULL, client_id TEXT NOT NULL, created BIGINT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt BIGINT NOT NULL DEFAULT 0);
		INSERT INTO hub_records (id, config, zone, name, value, client_id, created) VALUES ('old', 'self', 'example.com', 'n', 'v', 'c', 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	s, err := store.Open(ctx, "sqlite", path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := s.Managed()
	if err := m.AddRecord(ctx, store.HubRecord{ID: "new", Config: "self", Zone: "example.com", Name: "n", Value: "w", ClientID: "c",
		Identifier: "www.example.com", Created: t0, Expires: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	all, err := m.Records(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "old" || !all[0].Expires.IsZero() || !all[1].Expires.Equal(t0.Add(time.Minute)) ||
		all[1].Identifier != "www.example.com" {
		t.Errorf("records after the migration: %+v, %v", all, err)
	}
}
