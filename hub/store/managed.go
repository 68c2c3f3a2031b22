// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The managed-challenge hub's tables live beside acme-dns's, prefixed hub_,
// which acme-dns never reads. Lists are JSON text, secrets base64 text and
// times Unix nanoseconds (0: never), so one set of statements serves both
// engines.

// ErrExists is returned when a row with the same key already exists.
var ErrExists = errors.New("already exists")

// Managed keeps the managed-challenge hub's data, an interface per entity.
type Managed interface {
	Principals
	Tokens
	Configs
	Records
	Authorisations
	Delegations
	Issuers
	AuditLog

	// Exclusively runs fn unless another process sharing the database runs
	// an Exclusively fn of the same name at the moment; it reports whether fn
	// ran. On SQLite, which one process writes, fn always runs.
	Exclusively(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error)
}

// hubTables creates the hub's tables; serial is the dialect's
// auto-increment primary key.
func hubTables(serial string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS hub_principals(
			id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,
			description TEXT NOT NULL DEFAULT '', created BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS hub_roles(
			principal TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (principal, role))`,
		`CREATE TABLE IF NOT EXISTS hub_tokens(
			client_id TEXT PRIMARY KEY, principal TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
			secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '[]',
			created BIGINT NOT NULL, expires BIGINT NOT NULL DEFAULT 0,
			last_used BIGINT NOT NULL DEFAULT 0, revoked BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_tokens_principal ON hub_tokens (principal)`,
		`CREATE TABLE IF NOT EXISTS hub_configs(
			id TEXT PRIMARY KEY, title TEXT NOT NULL, challenge_type TEXT NOT NULL, provider TEXT NOT NULL,
			credentials TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL DEFAULT '', zone TEXT NOT NULL,
			rules TEXT NOT NULL, ttl INTEGER NOT NULL, propagation TEXT NOT NULL DEFAULT '{}',
			allow_cname INTEGER NOT NULL DEFAULT 0, created BIGINT NOT NULL, updated BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS hub_records(
			id TEXT PRIMARY KEY, config TEXT NOT NULL, zone TEXT NOT NULL, name TEXT NOT NULL,
			value TEXT NOT NULL, client_id TEXT NOT NULL, created BIGINT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0, next_attempt BIGINT NOT NULL DEFAULT 0,
			expires BIGINT NOT NULL DEFAULT 0, identifier TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS idx_hub_records_created ON hub_records (created)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_records_name ON hub_records (name)`,
		`CREATE TABLE IF NOT EXISTS hub_authorisations(
			name TEXT PRIMARY KEY, client_id TEXT NOT NULL, suffix_match INTEGER NOT NULL DEFAULT 0,
			created BIGINT NOT NULL, created_by TEXT NOT NULL DEFAULT '')`,
		`CREATE TABLE IF NOT EXISTS hub_delegations(
			identifier TEXT PRIMARY KEY, target TEXT NOT NULL, config TEXT NOT NULL, zone TEXT NOT NULL,
			owner TEXT NOT NULL, created BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS hub_issuers(
			id TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, jwks_url TEXT NOT NULL DEFAULT '', jwks TEXT NOT NULL DEFAULT '',
			ca TEXT NOT NULL DEFAULT '', audience TEXT NOT NULL DEFAULT '', skew_ms BIGINT NOT NULL DEFAULT 0,
			max_lifetime_ms BIGINT NOT NULL DEFAULT 0, created BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS hub_bindings(
			id TEXT PRIMARY KEY, issuer TEXT NOT NULL, principal TEXT NOT NULL, claims TEXT NOT NULL,
			scopes TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '[]', created BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_bindings_issuer ON hub_bindings (issuer)`,
		`CREATE TABLE IF NOT EXISTS hub_audit(
			id ` + serial + `, at BIGINT NOT NULL, action TEXT NOT NULL, principal TEXT NOT NULL DEFAULT '',
			client_id TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', identifier TEXT NOT NULL DEFAULT '',
			record TEXT NOT NULL DEFAULT '', value_hash TEXT NOT NULL DEFAULT '', config TEXT NOT NULL DEFAULT '',
			result TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', duration_us BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS idx_hub_audit_at ON hub_audit (at)`,
	}
}

// managedStore implements Managed on the store's database.
type managedStore struct{ s *sqlStore }

// Managed returns the hub's tables, in the same database as the accounts.
func (s *sqlStore) Managed() Managed { return managedStore{s} }

func (m managedStore) q(query string) string {
	if m.s.d.positional {
		return positional(query)
	}
	return query
}

func (m managedStore) exec(ctx context.Context, what, query string, args ...any) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(query), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 && strings.HasPrefix(strings.TrimSpace(query), "UPDATE") {
			return ErrNotFound
		}
		return nil
	})
	return wrapErr(what, err)
}

// wrapErr names the object and turns a unique-key violation into ErrExists.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "unique constraint") || strings.Contains(msg, "duplicate key") {
		return fmt.Errorf("%s: %w", what, ErrExists)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func jsonList(list []string) string {
	b, _ := json.Marshal(nonNil(list))
	return string(b)
}

func parseList(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", s, err)
	}
	return out, nil
}

// deleteRow runs a DELETE of one row, or fails with ErrNotFound.
func (m managedStore) deleteRow(ctx context.Context, what, query string, args ...any) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(query), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
	return wrapErr(what, err)
}

// Exclusively holds a PostgreSQL advisory lock (keyed by name) on one
// connection while fn runs.
func (m managedStore) Exclusively(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if m.s.d.tryLock == "" {
		return true, fn(ctx)
	}
	conn, err := m.s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, m.q(m.s.d.tryLock), name).Scan(&locked); err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !locked {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), m.q(m.s.d.unlock), name) //nolint:errcheck // closing the connection unlocks too
	return true, fn(ctx)
}
