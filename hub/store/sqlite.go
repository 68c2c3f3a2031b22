// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"modernc.org/sqlite" // pure-Go SQLite driver
)

var sqliteDialect = dialect{
	name: "sqlite",
	// acme-dns's own statements, so a new database is one acme-dns can open
	// too; SQLite numbers the txt rows itself (rowid).
	tables: acmeDNSTables(""),
	serial: "INTEGER PRIMARY KEY AUTOINCREMENT",
	// Reading every account walks the txt table in subdomain order, a page
	// at random for each row: through a memory map of the file and a page
	// cache that holds the table, rather than a read call and a 2 MB cache,
	// it takes half the time. Only for the start-up's read: a memory-mapped
	// file turns an I/O error into a crash, which a server cannot have.
	bulkRead:    []string{`PRAGMA mmap_size = 2147418112`, `PRAGMA cache_size = -131072`},
	endBulkRead: []string{`PRAGMA mmap_size = 0`, `PRAGMA cache_size = -2000`},
	hasColumn: func(ctx context.Context, tx *sql.Tx, table, column string) (bool, error) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ? COLLATE NOCASE`, table, column).Scan(&n)
		return n > 0, err
	},
}

// OpenSQLite opens (creating if needed) the SQLite database at path, in WAL
// mode with synchronous=FULL so that every commit is on disk before it is
// acknowledged. ":memory:" gives a database that lives as long as the store.
func OpenSQLite(ctx context.Context, path string, opts Options) (Store, error) {
	memory := path == ":memory:"
	if strings.ContainsAny(path, "?#") && !memory {
		return nil, fmt.Errorf("sqlite database path %q must not contain ? or #", path)
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)&_txlock=immediate"
	if !memory {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("creating directory for sqlite database %s: %w", absolute(path), err)
			}
		}
		pragmas += "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	}
	var lock *serverLock
	if opts.Serving && !memory {
		var err error
		if lock, err = lockServer(path); err != nil {
			return nil, err
		}
	}
	s, err := openSQLiteLocked(ctx, path, pragmas, memory, opts)
	if err != nil {
		lock.release()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// openSQLiteLocked is OpenSQLite once the lock, if any, is held.
func openSQLiteLocked(ctx context.Context, path, pragmas string, memory bool, opts Options) (*sqlStore, error) {
	db := sql.OpenDB(keepingConnector{drv: &sqlite.Driver{}, dsn: path + "?" + pragmas})
	if memory {
		// Every connection to :memory: is a database of its own: keep one.
		db.SetMaxOpenConns(1)
	} else {
		// Readers run beside the writer (WAL). Connections stay open, with
		// their statements: opening one reads the schema and runs the pragmas.
		db.SetMaxOpenConns(sqliteConns)
		db.SetMaxIdleConns(sqliteConns)
	}
	db.SetConnMaxIdleTime(0)
	s := newSQLStore(db, sqliteDialect, opts)
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite database %s: %w", absolute(path), err)
	}
	if !memory {
		mode, sync, err := durability(ctx, db)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite database %s: reading its durability settings: %w", absolute(path), err)
		}
		if mode != "wal" || sync < syncFull {
			db.Close()
			return nil, fmt.Errorf("sqlite database %s: journal_mode=%s synchronous=%d, want wal and FULL (2): "+
				"the file system may not support WAL (network file systems do not)", absolute(path), mode, sync)
		}
		s.opts.Log.Info("sqlite database open", "path", absolute(path), "journal_mode", mode, "synchronous", "full")
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite database %s: %w", absolute(path), err)
	}
	s.w = newBatcher(db)
	return s, nil
}

// absolute is a SQLite path for messages: as written and, when relative,
// the file it led to from the working directory.
func absolute(path string) string {
	if filepath.IsAbs(path) || path == ":memory:" {
		return path
	}
	if abs, err := filepath.Abs(path); err == nil {
		return fmt.Sprintf("%s (%s)", path, abs)
	}
	return path
}

// sqliteConns bounds the connections to a SQLite file: the writer and the
// readers running at once, more than the cores that run them.
const sqliteConns = 16

// syncFull is PRAGMA synchronous=FULL: every commit is fsynced before it returns.
const syncFull = 2

// durability reads a connection's effective journal mode and synchronous level.
func durability(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (mode string, sync int, err error) {
	if err := q.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return "", 0, err
	}
	if err := q.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return "", 0, err
	}
	return strings.ToLower(mode), sync, nil
}

// batcher is SQLite's writer. SQLite takes one writer at a time and a durable
// commit costs an fsync, so the batcher commits the writes that arrive while
// the previous commit is on its way together, each in a savepoint so that one
// failing write does not undo the others: group commit.
type batcher struct {
	db     *sql.DB
	reqs   chan *writeReq
	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

type writeReq struct {
	ctx context.Context
	fn  func(context.Context, *sql.Tx) error
	err chan error
}

// maxBatch bounds the writes one commit carries.
const maxBatch = 128

var errClosed = errors.New("store is closed")

func newBatcher(db *sql.DB) *batcher {
	b := &batcher{db: db, reqs: make(chan *writeReq, maxBatch), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *batcher) write(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	b.mu.RUnlock()
	// Once queued, wait for the outcome even if ctx ends: an answer must not
	// claim a write failed that then commits.
	return <-req.err
}

func (b *batcher) run() {
	defer close(b.done)
	for req := range b.reqs {
		batch := []*writeReq{req}
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.commit(batch)
	}
}

// commit runs batch in one transaction. Its statements use a context of
// their own, never a caller's: the driver interrupts the connection when a
// statement's context ends, which would undo every write of the batch.
func (b *batcher) commit(batch []*writeReq) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			r.err <- err
		}
		return
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err // not started: it has no effect
			continue
		}
		errs[i] = inSavepoint(ctx, tx, r.fn)
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	for i, r := range batch {
		r.err <- errs[i]
	}
}

func inSavepoint(ctx context.Context, tx *sql.Tx, fn func(context.Context, *sql.Tx) error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO w`); rerr != nil {
			return errors.Join(err, rerr)
		}
		tx.ExecContext(ctx, `RELEASE w`) //nolint:errcheck // the savepoint is empty after ROLLBACK TO
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE w`)
	return err
}

func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	<-b.done
}
