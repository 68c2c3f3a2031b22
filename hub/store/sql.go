// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dialect holds what differs between SQLite and PostgreSQL.
type dialect struct {
	name string
	// positional turns ? placeholders into $1, $2, ….
	positional bool
	// lockAccount is appended to the query that reads the account's limit in a
	// write, serialising concurrent writes to one account across processes.
	lockAccount string
	// tables create acme-dns's schema in a new database, and bring older
	// acme-dns schemas to what acmehub reads.
	tables []string
	// hasColumn reports whether table has column.
	hasColumn func(ctx context.Context, tx *sql.Tx, table, column string) (bool, error)
	// lockSchema, when set, runs first in the migration transaction.
	lockSchema string
	// notify, when set, tells other processes sharing the database of a
	// change: its arguments are the topic and the payload.
	notify string
	// serial declares an auto-increment primary key column.
	serial string
	// tryLock and unlock take and release a lock named by their argument
	// across processes; empty where one process writes.
	tryLock, unlock string
	// bulkRead tunes a connection that reads every account at start-up;
	// endBulkRead gives it back as it was.
	bulkRead, endBulkRead []string
}

// acmeDNSTables are acme-dns's statements creating its tables; rowid is
// the txt table's row number column, where the engine has none of its own.
func acmeDNSTables(rowid string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS acmedns(Name TEXT, Value TEXT)`,
		`CREATE TABLE IF NOT EXISTS records(
			Username TEXT UNIQUE NOT NULL PRIMARY KEY,
			Password TEXT UNIQUE NOT NULL,
			Subdomain TEXT UNIQUE NOT NULL,
			AllowFrom TEXT)`,
		`CREATE TABLE IF NOT EXISTS txt(` + rowid + `
			Subdomain TEXT NOT NULL,
			Value TEXT NOT NULL DEFAULT '',
			LastUpdate INT)`,
	}
}

// queries are the statements a store runs, in the dialect's placeholder style.
type queries struct {
	account, accountLimit, limitOf, setLimit, rows, insertAccount, insertRow, updateRow,
	deleteRows, deleteAccount, subdomainOf, exists, allFrom, allBetween, expired, notify,
	used, setPassword, setAllowFrom, accounts string
}

func newQueries(d dialect) queries {
	q := queries{
		account:       `SELECT username, password, subdomain, allowfrom, txtlimit, created, lastused FROM records WHERE username = ?`,
		accountLimit:  `SELECT txtlimit, lastused FROM records WHERE subdomain = ?` + d.lockAccount,
		limitOf:       `SELECT txtlimit FROM records WHERE username = ?` + d.lockAccount,
		setLimit:      `UPDATE records SET txtlimit = ? WHERE username = ?`,
		rows:          `SELECT rowid, value, seq, COALESCE(lastupdate, 0), expires FROM txt WHERE subdomain = ?`,
		insertAccount: `INSERT INTO records (username, password, subdomain, allowfrom, txtlimit, created) VALUES (?, ?, ?, ?, ?, ?)`,
		insertRow:     `INSERT INTO txt (subdomain, value, lastupdate, seq, expires) VALUES (?, ?, ?, ?, ?)`,
		updateRow:     `UPDATE txt SET value = ?, lastupdate = ?, seq = ?, expires = ? WHERE rowid = ?`,
		deleteRows:    `DELETE FROM txt WHERE subdomain = ?`,
		deleteAccount: `DELETE FROM records WHERE username = ?`,
		subdomainOf:   `SELECT subdomain FROM records WHERE username = ?` + d.lockAccount,
		exists:        `SELECT 1 FROM records WHERE subdomain = ?`,
		allFrom: `SELECT r.subdomain, t.rowid, t.value, t.seq, COALESCE(t.lastupdate, 0), COALESCE(t.expires, 0)
			FROM records r LEFT JOIN txt t ON t.subdomain = r.subdomain WHERE r.subdomain >= ? ORDER BY r.subdomain`,
		allBetween: `SELECT r.subdomain, t.rowid, t.value, t.seq, COALESCE(t.lastupdate, 0), COALESCE(t.expires, 0)
			FROM records r LEFT JOIN txt t ON t.subdomain = r.subdomain WHERE r.subdomain >= ? AND r.subdomain < ? ORDER BY r.subdomain`,
		expired:      `SELECT DISTINCT subdomain FROM txt WHERE expires > 0 AND expires <= ? AND value <> ''`,
		notify:       d.notify,
		used:         `UPDATE records SET lastused = ? WHERE subdomain = ?`,
		setPassword:  `UPDATE records SET password = ? WHERE username = ?`,
		setAllowFrom: `UPDATE records SET allowfrom = ? WHERE username = ?`,
		accounts: `SELECT r.username, r.subdomain, r.allowfrom, r.txtlimit, r.created, r.lastused,
			(SELECT COUNT(*) FROM txt t WHERE t.subdomain = r.subdomain AND t.value <> '') FROM records r ORDER BY r.username`,
	}
	if d.positional {
		for _, p := range []*string{&q.account, &q.accountLimit, &q.limitOf, &q.setLimit, &q.rows, &q.insertAccount, &q.insertRow,
			&q.updateRow, &q.deleteRows, &q.deleteAccount, &q.subdomainOf, &q.exists, &q.allFrom, &q.allBetween, &q.expired, &q.notify,
			&q.used, &q.setPassword, &q.setAllowFrom, &q.accounts} {
			*p = positional(*p)
		}
	}
	return q
}

func positional(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writer runs fn in a transaction and returns once it is durable, or once it
// is certain that nothing of it was. The caller's ctx only decides whether
// the write starts: once started, fn runs to its end with the writer's own
// context (which it must use for every statement), so that a client hanging
// up can neither undo a write batched with others nor leave one committed but
// reported as failed.
type writer interface {
	write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error
	close()
}

// sqlStore implements Store over database/sql for both engines.
type sqlStore struct {
	db    *sql.DB
	d     dialect
	q     queries
	opts  Options
	w     writer
	watch func(ctx context.Context, topic Topic, resync time.Duration, fn func(string)) error
	// origin tags this store's notifications, so its own Watch skips them.
	origin string
	// lock is a serving store's lock of its SQLite file.
	lock *serverLock
}

func newSQLStore(db *sql.DB, d dialect, opts Options) *sqlStore {
	return &sqlStore{db: db, d: d, q: newQueries(d), opts: opts.withDefaults()}
}

// migrate creates acme-dns's tables when missing and adds acmehub's columns and index.
func (s *sqlStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if s.d.lockSchema != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockSchema); err != nil {
			return fmt.Errorf("migrating schema: locking: %w", err)
		}
	}
	for _, stmt := range s.d.tables {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrating schema: %q: %w", stmt, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM acmedns WHERE name = 'db_version'`).Scan(&n); err != nil {
		return fmt.Errorf("migrating schema: reading db_version: %w", err)
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO acmedns (name, value) VALUES ('db_version', '1')`); err != nil {
			return fmt.Errorf("migrating schema: writing db_version: %w", err)
		}
	}
	for _, stmt := range append(append(hubTables(s.d.serial), dnssecTables...), secretTables...) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrating schema: %q: %w", stmt, err)
		}
	}
	columns := []struct{ table, column, decl string }{
		{"txt", "seq", "BIGINT NOT NULL DEFAULT 0"},
		{"records", "txtlimit", "INTEGER"},
		{"records", "created", "BIGINT NOT NULL DEFAULT 0"},
		{"records", "lastused", "BIGINT NOT NULL DEFAULT 0"},
		{"txt", "expires", "BIGINT NOT NULL DEFAULT 0"},
		{"hub_records", "expires", "BIGINT NOT NULL DEFAULT 0"},
		{"hub_records", "identifier", "TEXT NOT NULL DEFAULT ''"},
		{"hub_audit", "issuer", "TEXT NOT NULL DEFAULT ''"},
		{"hub_audit", "subject", "TEXT NOT NULL DEFAULT ''"},
		{"hub_audit", "token_id", "TEXT NOT NULL DEFAULT ''"},
	}
	for _, c := range columns {
		ok, err := s.d.hasColumn(ctx, tx, c.table, c.column)
		if err != nil {
			return fmt.Errorf("migrating schema: inspecting %s: %w", c.table, err)
		}
		if !ok {
			stmt := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.table, c.column, c.decl)
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrating schema: %q: %w", stmt, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS idx_txt_subdomain ON txt (subdomain)`); err != nil {
		return fmt.Errorf("migrating schema: creating idx_txt_subdomain: %w", err)
	}
	// Held values only, so that looking for expired ones reads no other row.
	if _, err := tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS idx_txt_expires ON txt (expires) WHERE expires > 0`); err != nil {
		return fmt.Errorf("migrating schema: creating idx_txt_expires: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	return nil
}

// notify announces, when the transaction commits, that key changed on topic.
func (s *sqlStore) notify(ctx context.Context, tx *sql.Tx, topic Topic, key string) error {
	if s.q.notify == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q.notify, string(topic), key+" "+s.origin)
	return err
}

func (s *sqlStore) Watch(ctx context.Context, topic Topic, resync time.Duration, fn func(string)) error {
	if s.watch == nil {
		return nil
	}
	return s.watch(ctx, topic, resync, fn)
}

func (s *sqlStore) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("%s does not answer: %w", s.d.name, err)
	}
	return nil
}

func (s *sqlStore) Close() error {
	s.w.close()
	err := s.db.Close()
	s.lock.release()
	return err
}

// writeTimeout bounds one write once it has started.
const writeTimeout = 30 * time.Second

// txWriter runs each write in its own transaction; the database groups
// concurrent commits itself (PostgreSQL).
type txWriter struct{ db *sql.DB }

func (w txWriter) write(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback() //nolint:errcheck // the first error is the one to report
		return err
	}
	return tx.Commit()
}

func (txWriter) close() {}
