// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HubRecord is a TXT record the hub wrote (or is writing) through a
// provider and has not yet removed: what the sweep works from.
type HubRecord struct {
	ID       string
	Config   string
	Zone     string
	Name     string
	Value    string
	ClientID string
	// Identifier is the name the value answers for.
	Identifier string
	Created    time.Time
	// Expires, when set, is when the sweep removes the record; zero: once
	// it is older than the hub's cleanup_after.
	Expires time.Time
	// Attempts counts failed removals; NextAttempt is when the sweep tries again.
	Attempts    int
	NextAttempt time.Time
}

// Records keeps the records the hub's providers wrote, until they remove
// them, so that nothing is left behind after a crash.
type Records interface {
	// AddRecord remembers a record before the provider writes it. Other
	// processes are told of it on RecordsChanged.
	AddRecord(ctx context.Context, r HubRecord) error
	// RemoveRecords forgets the records the provider removed and appends e
	// to the audit log, in one transaction; a record that is gone already
	// is no error. Other processes are told of it on RecordsChanged.
	RemoveRecords(ctx context.Context, ids []string, e AuditEntry) error
	// RetryRecord counts a failed removal and sets the next attempt.
	RetryRecord(ctx context.Context, id string, next time.Time) error
	// Records lists every record.
	Records(ctx context.Context) ([]HubRecord, error)
	// RecordsAt lists the records at a name, of every config.
	RecordsAt(ctx context.Context, name string) ([]HubRecord, error)
	// DueRecords lists the records to sweep at now: those whose Expires has
	// come, and those without one created before staleBefore.
	DueRecords(ctx context.Context, now, staleBefore time.Time) ([]HubRecord, error)
}

func (m managedStore) AddRecord(ctx context.Context, r HubRecord) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_records (id, config, zone, name, value, client_id, identifier, created,
			attempts, next_attempt, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), r.ID, r.Config, r.Zone, r.Name, r.Value, r.ClientID,
			r.Identifier, nanos(r.Created), r.Attempts, nanos(r.NextAttempt), nanos(r.Expires))
		if err != nil {
			return err
		}
		return m.s.notify(ctx, tx, RecordsChanged, r.Name)
	})
	return wrapErr("record "+r.ID, err)
}

func (m managedStore) RemoveRecords(ctx context.Context, ids []string, e AuditEntry) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, id := range ids {
			var name string
			err := tx.QueryRowContext(ctx, m.q(`DELETE FROM hub_records WHERE id = ? RETURNING name`), id).Scan(&name)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("record %s: %w", id, err)
			}
			if err := m.s.notify(ctx, tx, RecordsChanged, name); err != nil {
				return err
			}
		}
		return m.audit(ctx, tx, e)
	})
	return wrapErr("removing records", err)
}

func (m managedStore) RetryRecord(ctx context.Context, id string, next time.Time) error {
	return m.exec(ctx, "record "+id, `UPDATE hub_records SET attempts = attempts + 1, next_attempt = ? WHERE id = ?`, nanos(next), id)
}

func (m managedStore) Records(ctx context.Context) ([]HubRecord, error) {
	return m.records(ctx, ``)
}

func (m managedStore) RecordsAt(ctx context.Context, name string) ([]HubRecord, error) {
	return m.records(ctx, ` WHERE name = ?`, name)
}

func (m managedStore) DueRecords(ctx context.Context, now, staleBefore time.Time) ([]HubRecord, error) {
	return m.records(ctx, ` WHERE (expires > 0 AND expires <= ?) OR (expires = 0 AND created < ?)`, nanos(now), nanos(staleBefore))
}

func (m managedStore) records(ctx context.Context, where string, args ...any) ([]HubRecord, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT id, config, zone, name, value, client_id, identifier, created, attempts,
		next_attempt, expires FROM hub_records`+where+` ORDER BY created, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading records: %w", err)
	}
	defer rows.Close()
	var out []HubRecord
	for rows.Next() {
		var (
			r                      HubRecord
			created, next, expires int64
		)
		if err := rows.Scan(&r.ID, &r.Config, &r.Zone, &r.Name, &r.Value, &r.ClientID, &r.Identifier, &created, &r.Attempts, &next, &expires); err != nil {
			return nil, fmt.Errorf("reading records: %w", err)
		}
		r.Created, r.NextAttempt, r.Expires = fromNanos(created), fromNanos(next), fromNanos(expires)
		out = append(out, r)
	}
	return out, rows.Err()
}
