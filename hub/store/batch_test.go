// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBatchSurvivesACancelledWrite: one write of a group commit whose client
// hangs up while it runs must neither undo the writes batched with it nor
// leave them committed but reported as failed. The driver interrupts a
// statement whose context ends, and SQLite then rolls back the whole
// transaction: so no statement of a batch may run with a caller's context.
func TestBatchSurvivesACancelledWrite(t *testing.T) {
	s := openSQLiteFile(t)
	b := s.w.(*batcher)

	// A write long enough to be cut short: many rows in one statement.
	slow := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO txt (subdomain, value)
			WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000)
			SELECT 'slow', 'v' || x FROM c`)
		return err
	}
	insert := func(value string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO txt (subdomain, value) VALUES ('other', ?)`, value)
			return err
		}
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batch := []*writeReq{
		{ctx: context.Background(), fn: insert("before"), err: make(chan error, 1)},
		{ctx: cctx, fn: slow, err: make(chan error, 1)},
		{ctx: context.Background(), fn: insert("after"), err: make(chan error, 1)},
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	b.commit(batch)

	for i, value := range map[int]string{0: "before", 2: "after"} {
		err := <-batch[i].err
		var n int
		if qerr := s.db.QueryRow(`SELECT COUNT(*) FROM txt WHERE subdomain = 'other' AND value = ?`, value).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		if err != nil || n != 1 {
			t.Errorf("write %q batched with a cancelled one: err %v, %d rows in the database; want acknowledged and stored", value, err, n)
		}
	}
	// The slow write had started: it ran to its end, and says so truthfully.
	err := <-batch[1].err
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM txt WHERE subdomain = 'slow'`).Scan(&n)
	if (err == nil) != (n == 400000) {
		t.Errorf("the cancelled write reported %v with %d of its rows stored", err, n)
	}
}

// TestEveryConnectionIsDurable: each connection the pool opens to a SQLite
// file commits in WAL mode with synchronous=FULL, so a commit is on disk,
// not only in the page cache, when a write is acknowledged.
func TestEveryConnectionIsDurable(t *testing.T) {
	ctx := context.Background()
	for i, c := range heldConns(t, openSQLiteFile(t).db, 4) {
		mode, sync, err := durability(ctx, c)
		if err != nil || mode != "wal" || sync != syncFull {
			t.Errorf("connection %d: journal_mode=%s synchronous=%d (%v), want wal and %d", i, mode, sync, err, syncFull)
		}
	}
}

// TestExpiredUsesIndex: looking for expired values, which runs every
// minute, reads the held rows only, not the whole txt table.
func TestExpiredUsesIndex(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteFile(t)
	rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s.q.expired, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if !strings.Contains(strings.Join(plan, "; "), "idx_txt_expires") {
		t.Errorf("query plan %q does not use idx_txt_expires", plan)
	}
}

func TestHexBounds(t *testing.T) {
	for n, want := range map[int]string{1: "", 2: ",8", 4: ",4,8,c", 3: ",5,a", 16: ",1,2,3,4,5,6,7,8,9,a,b,c,d,e,f"} {
		if got := strings.Join(hexBounds(n), ","); got != want {
			t.Errorf("hexBounds(%d) = %q, want %q", n, got, want)
		}
	}
}

// openSQLiteFile opens a store on a SQLite file of the test's own.
func openSQLiteFile(t *testing.T) *sqlStore {
	t.Helper()
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.(*sqlStore)
}

// heldConns takes n of the pool's connections at once, so that each is
// another connection; they go back at the test's end.
func heldConns(t *testing.T, db *sql.DB, n int) []*sql.Conn {
	t.Helper()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}
