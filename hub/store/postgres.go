// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

var postgresDialect = dialect{
	name:        "postgres",
	positional:  true,
	lockAccount: " FOR UPDATE",
	// acme-dns's own statements.
	tables: append(acmeDNSTables("rowid SERIAL,"),
		// Rows are addressed by rowid; a txt table made without it gets one.
		`ALTER TABLE txt ADD COLUMN IF NOT EXISTS rowid SERIAL`),
	serial:  "BIGSERIAL PRIMARY KEY",
	tryLock: `SELECT pg_try_advisory_lock(hashtext(?))`,
	unlock:  `SELECT pg_advisory_unlock(hashtext(?))`,
	hasColumn: func(ctx context.Context, tx *sql.Tx, table, column string) (bool, error) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, table, column).Scan(&n)
		return n > 0, err
	},
	// Processes starting together must not race to create the same tables.
	lockSchema: `SELECT pg_advisory_xact_lock(7271837)`,
	notify:     `SELECT pg_notify(?, ?)`,
}

// OpenPostgres connects to the PostgreSQL database at connection (a postgres://
// URL or key=value DSN) and brings its schema up to date.
func OpenPostgres(ctx context.Context, connection string, opts Options) (Store, error) {
	cfg, err := pgx.ParseConfig(connection)
	if err != nil {
		return nil, fmt.Errorf("postgres connection %q: %w", redact(connection), err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := newSQLStore(db, postgresDialect, opts)
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres %s: %w", redact(connection), err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres %s: %w", redact(connection), err)
	}
	s.w = txWriter{db: db}
	s.origin = newOrigin()
	s.watch = func(ctx context.Context, topic Topic, resync time.Duration, fn func(string)) error {
		return listen(ctx, cfg, topic, s.origin, resync, s.opts.Log, fn)
	}
	return s, nil
}

func newOrigin() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// listen delivers every other store's notification on topic (a PostgreSQL
// channel whose payloads are "<key> <origin>") to fn until ctx ends,
// reconnecting after failures. After each (re)connection it calls fn("")
// since notifications sent while disconnected are lost, and again every
// resync (when not 0) as a safety net.
func listen(ctx context.Context, cfg *pgx.ConnConfig, topic Topic, origin string, resync time.Duration, log *slog.Logger, fn func(string)) error {
	backoff := 100 * time.Millisecond
	for {
		err := listenOnce(ctx, cfg, topic, origin, resync, fn, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("postgres listener disconnected; reconnecting", "channel", topic, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, topic Topic, origin string, resync time.Duration, fn func(string), connected func()) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{string(topic)}.Sanitize()); err != nil {
		return err
	}
	connected()
	fn("")
	next := time.Now().Add(resync)
	for {
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if resync > 0 {
			wctx, cancel = context.WithDeadline(ctx, next)
		}
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if sub, from, _ := strings.Cut(n.Payload, " "); from != origin {
				fn(sub)
			}
		case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			fn("")
			next = time.Now().Add(resync)
		default:
			return err
		}
	}
}
