// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID        int64
	At        time.Time
	Action    string // present, cleanup, sweep, refused, admin…
	Principal string
	ClientID  string
	// Issuer, Subject and TokenID name a caller who came with an issuer's
	// signed token (an Issuer's ID, the token's sub and jti) instead of
	// an API token's client ID.
	Issuer, Subject, TokenID string
	Address                  string
	Identifier               string
	Record                   string
	// ValueHash identifies the value without revealing it.
	ValueHash string
	Config    string
	Result    string // ok, or the failure
	Detail    string
	Duration  time.Duration
}

// Audit results a query may select.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
)

// ActivityBucket counts the presents and cleanups audited in a span of time.
type ActivityBucket struct {
	Start              time.Time
	Requests, Failures int
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Since, Until time.Time // zero: unbounded
	Principal    string
	Identifier   string
	// Result selects entries whose result is "ok" (ResultOK) or is not
	// (ResultFailed); "": all.
	Result string
	// Before, when not 0, continues a page: entries with a smaller ID.
	Before int64
	// ID, when not 0, selects that entry alone.
	ID    int64
	Limit int // 0: 100
}

// AuditLog is the append-only record of what the hub did and refused.
type AuditLog interface {
	// Audit appends an entry.
	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog lists entries, newest first.
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// Activity counts the presents and cleanups audited in n buckets of
	// width from since.
	Activity(ctx context.Context, since time.Time, width time.Duration, n int) ([]ActivityBucket, error)
}

func (m managedStore) Audit(ctx context.Context, e AuditEntry) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return m.audit(ctx, tx, e) })
	return wrapErr("audit entry", err)
}

// audit appends e in tx.
func (m managedStore) audit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	_, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_audit (at, action, principal, client_id, issuer, subject, token_id, address,
		identifier, record, value_hash, config, result, detail, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		nanos(e.At), e.Action, e.Principal, e.ClientID, e.Issuer, e.Subject, e.TokenID, e.Address, e.Identifier, e.Record, e.ValueHash,
		e.Config, e.Result, e.Detail, e.Duration.Microseconds())
	return err
}

func (m managedStore) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if !q.Since.IsZero() {
		add(`at >= ?`, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		add(`at < ?`, nanos(q.Until))
	}
	if q.Principal != "" {
		add(`principal = ?`, q.Principal)
	}
	if q.Identifier != "" {
		add(`identifier = ?`, q.Identifier)
	}
	switch q.Result {
	case ResultOK:
		add(`result = ?`, "ok")
	case ResultFailed:
		add(`result <> ?`, "ok")
	}
	if q.Before > 0 {
		add(`id < ?`, q.Before)
	}
	if q.ID > 0 {
		add(`id = ?`, q.ID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT id, at, action, principal, client_id, issuer, subject, token_id, address, identifier, record, value_hash, config,
		result, detail, duration_us FROM hub_audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := m.s.db.QueryContext(ctx, m.q(query+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			e      AuditEntry
			at, us int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Action, &e.Principal, &e.ClientID, &e.Issuer, &e.Subject, &e.TokenID, &e.Address,
			&e.Identifier, &e.Record, &e.ValueHash, &e.Config, &e.Result, &e.Detail, &us); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At, e.Duration = fromNanos(at), time.Duration(us)*time.Microsecond
		out = append(out, e)
	}
	return out, rows.Err()
}

func (m managedStore) Activity(ctx context.Context, since time.Time, width time.Duration, n int) ([]ActivityBucket, error) {
	out := make([]ActivityBucket, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * width)
	}
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT (at - ?) / ?, COUNT(*), SUM(CASE WHEN result = 'ok' THEN 0 ELSE 1 END)
		FROM hub_audit WHERE at >= ? AND at < ? AND action IN ('present', 'cleanup') GROUP BY 1`),
		nanos(since), int64(width), nanos(since), nanos(since.Add(time.Duration(n)*width)))
	if err != nil {
		return nil, fmt.Errorf("counting the audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, requests, failures int64
		if err := rows.Scan(&b, &requests, &failures); err != nil {
			return nil, fmt.Errorf("counting the audit log: %w", err)
		}
		if b >= 0 && b < int64(n) {
			out[b].Requests, out[b].Failures = int(requests), int(failures)
		}
	}
	return out, rows.Err()
}
