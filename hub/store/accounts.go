// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// HoldLimitError is returned by HoldTXT when the account already holds as many
// values as it may.
type HoldLimitError struct{ Limit int }

func (e *HoldLimitError) Error() string {
	return fmt.Sprintf("the account already holds %d live values, its limit", e.Limit)
}

// Account is one row of the records table.
type Account struct {
	Username string
	// PasswordHash is the bcrypt hash of the account's API key.
	PasswordHash []byte
	Subdomain    string
	// AllowFrom holds the CIDRs updates may come from; empty means anywhere.
	AllowFrom []string
	// TXTLimit is how many values the account keeps; 0 means the store's default.
	TXTLimit int
	// Created is when the account was registered, LastUsed when a value
	// was last added to it (/update, /present; to the minute, neither a
	// deletion nor an expiry counts); zero when not known (an account
	// acme-dns registered, or one never used).
	Created, LastUsed time.Time
}

// AccountInfo is an account as an operator lists it: never its password.
type AccountInfo struct {
	Username, Subdomain string
	AllowFrom           []string
	TXTLimit            int
	Created, LastUsed   time.Time
	// Values is how many values the account holds now.
	Values int
}

// TXTSet is the state of one account's TXT values.
//
// An account's values are of two kinds. Rolling values, written by acme-dns's
// /update, keep acme-dns's window: past the account's limit a new value
// evicts the oldest. Held values, written by clients that clean up after
// themselves, are never evicted by newer values: each stays until it is
// deleted or its hold expires.
type TXTSet struct {
	// Values are the non-empty values, newest first.
	Values []string
	// Held is how many of Values are held.
	Held int
	// Version grows with every change to the account's values, so that a reader
	// holding two states of one account can tell which is newer.
	Version int64
}

func (s *sqlStore) Register(ctx context.Context, a Account) error {
	allow, err := json.Marshal(nonNil(a.AllowFrom))
	if err != nil {
		return err
	}
	var limit sql.NullInt64
	if a.TXTLimit > 0 {
		limit = sql.NullInt64{Int64: int64(a.TXTLimit), Valid: true}
	}
	err = s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.insertAccount, a.Username, string(a.PasswordHash), a.Subdomain, string(allow), limit, nanos(s.opts.Now())); err != nil {
			return err
		}
		// Two free slots, as acme-dns creates, so acme-dns could still serve this database.
		for range 2 {
			if _, err := tx.ExecContext(ctx, s.q.insertRow, a.Subdomain, "", 0, 0, 0); err != nil {
				return err
			}
		}
		return s.notify(ctx, tx, AccountsChanged, a.Subdomain)
	})
	if err != nil {
		return fmt.Errorf("registering account %s: %w", a.Username, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *sqlStore) Account(ctx context.Context, username string) (Account, error) {
	var (
		a              Account
		allow          sql.NullString
		limit          sql.NullInt64
		created, usedN int64
	)
	err := s.db.QueryRowContext(ctx, s.q.account, username).Scan(&a.Username, &a.PasswordHash, &a.Subdomain, &allow, &limit, &created, &usedN)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading account %s: %w", username, err)
	}
	if allow.String != "" {
		if err := json.Unmarshal([]byte(allow.String), &a.AllowFrom); err != nil {
			return Account{}, fmt.Errorf("account %s: allowfrom %q is not a JSON list: %w", username, allow.String, err)
		}
	}
	a.TXTLimit = int(limit.Int64)
	a.Created, a.LastUsed = fromNanos(created), fromNanos(usedN)
	return a, nil
}

func (s *sqlStore) SetPassword(ctx context.Context, username string, hash []byte) error {
	return s.updateAccount(ctx, "password", username, s.q.setPassword, string(hash))
}

func (s *sqlStore) SetAllowFrom(ctx context.Context, username string, allowFrom []string) error {
	allow, err := json.Marshal(nonNil(allowFrom))
	if err != nil {
		return err
	}
	return s.updateAccount(ctx, "allowfrom", username, s.q.setAllowFrom, string(allow))
}

// updateAccount sets one column of username's account, and announces the
// change, so that other servers drop what they remember of it.
func (s *sqlStore) updateAccount(ctx context.Context, what, username, query, value string) error {
	err := s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var sub string
		if err := tx.QueryRowContext(ctx, s.q.subdomainOf, username).Scan(&sub); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, query, value, username); err != nil {
			return err
		}
		return s.notify(ctx, tx, AccountsChanged, sub)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("setting the %s of account %s: %w", what, username, err)
	}
	return nil
}

func (s *sqlStore) Accounts(ctx context.Context) ([]AccountInfo, error) {
	rows, err := s.db.QueryContext(ctx, s.q.accounts)
	if err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	defer rows.Close()
	var out []AccountInfo
	for rows.Next() {
		var (
			a              AccountInfo
			allow          sql.NullString
			limit          sql.NullInt64
			created, usedN int64
		)
		if err := rows.Scan(&a.Username, &a.Subdomain, &allow, &limit, &created, &usedN, &a.Values); err != nil {
			return nil, fmt.Errorf("listing accounts: %w", err)
		}
		if allow.String != "" {
			if err := json.Unmarshal([]byte(allow.String), &a.AllowFrom); err != nil {
				return nil, fmt.Errorf("account %s: allowfrom %q is not a JSON list: %w", a.Username, allow.String, err)
			}
		}
		a.TXTLimit, a.Created, a.LastUsed = int(limit.Int64), fromNanos(created), fromNanos(usedN)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	return out, nil
}

// readRows reads the txt rows of subdomain.
func readRows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query, subdomain string) ([]row, error) {
	rs, err := q.QueryContext(ctx, query, subdomain)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.value, &r.seq, &r.last, &r.expires); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, rs.Err()
}

// errHoldLimit ends a write that would hold more values than the account may.
var errHoldLimit = errors.New("hold limit")

// usedResolution is how precisely an account's last use is kept: a write
// within it of the last one does not write the time again, so that an
// account written often costs no extra statement each time.
const usedResolution = time.Minute

// change runs plan on the rows of subdomain's account inside a write and
// returns the resulting set. plan gets the account's rolling-value limit and
// the time of the write. use marks a client's write (adding, holding):
// the account's last use is then kept.
func (s *sqlStore) change(ctx context.Context, what, subdomain string, use bool, plan func(rows []row, limit int, now int64) ([]change, error)) (TXTSet, error) {
	var set TXTSet
	err := s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var (
			limit sql.NullInt64
			used  int64
		)
		if err := tx.QueryRowContext(ctx, s.q.accountLimit, subdomain).Scan(&limit, &used); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		n := s.opts.DefaultTXTLimit
		if limit.Valid && limit.Int64 > 0 {
			n = int(limit.Int64)
		}
		rows, err := readRows(ctx, tx, s.q.rows, subdomain)
		if err != nil {
			return err
		}
		now := s.opts.Now().Unix()
		changes, err := plan(rows, n, now)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.id == 0 {
				_, err = tx.ExecContext(ctx, s.q.insertRow, subdomain, c.value, now, c.seq, c.expires)
			} else {
				_, err = tx.ExecContext(ctx, s.q.updateRow, c.value, now, c.seq, c.expires, c.id)
			}
			if err != nil {
				return err
			}
		}
		if at := s.opts.Now(); use && at.Sub(fromNanos(used)) >= usedResolution {
			if _, err := tx.ExecContext(ctx, s.q.used, nanos(at), subdomain); err != nil {
				return err
			}
		}
		if len(changes) > 0 {
			if err := s.notify(ctx, tx, AccountsChanged, subdomain); err != nil {
				return err
			}
		}
		set = setOf(apply(rows, changes, now), now)
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return TXTSet{}, ErrNotFound
	case errors.Is(err, errHoldLimit):
		return TXTSet{}, fmt.Errorf("%s TXT of %s: %w", what, subdomain, &HoldLimitError{Limit: s.opts.HoldLimit})
	case err != nil:
		return TXTSet{}, fmt.Errorf("%s TXT of %s: %w", what, subdomain, err)
	}
	return set, nil
}

func (s *sqlStore) AddTXT(ctx context.Context, subdomain, value string) (TXTSet, error) {
	if value == "" {
		return TXTSet{}, errors.New("adding TXT: empty value")
	}
	return s.change(ctx, "adding", subdomain, true, func(rows []row, limit int, now int64) ([]change, error) {
		return planAdd(rows, value, limit, now), nil
	})
}

func (s *sqlStore) HoldTXT(ctx context.Context, subdomain, value string, until time.Time) (TXTSet, error) {
	if value == "" {
		return TXTSet{}, errors.New("holding TXT: empty value")
	}
	return s.change(ctx, "holding", subdomain, true, func(rows []row, _ int, now int64) ([]change, error) {
		changes, ok := planHold(rows, value, max(until.Unix(), now+1), int64(s.opts.HoldLimit), now)
		if !ok {
			return nil, errHoldLimit
		}
		return changes, nil
	})
}

func (s *sqlStore) DeleteTXT(ctx context.Context, subdomain, value string) (TXTSet, error) {
	return s.change(ctx, "deleting", subdomain, false, func(rows []row, _ int, _ int64) ([]change, error) {
		return planDelete(rows, value), nil
	})
}

func (s *sqlStore) ExpireTXT(ctx context.Context) (map[string]TXTSet, error) {
	rs, err := s.db.QueryContext(ctx, s.q.expired, s.opts.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("finding expired TXT values: %w", err)
	}
	var subs []string
	for rs.Next() {
		var sub string
		if err := rs.Scan(&sub); err != nil {
			rs.Close()
			return nil, fmt.Errorf("finding expired TXT values: %w", err)
		}
		subs = append(subs, sub)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("finding expired TXT values: %w", err)
	}
	out := make(map[string]TXTSet, len(subs))
	for _, sub := range subs {
		set, err := s.change(ctx, "expiring", sub, false, func(rows []row, _ int, now int64) ([]change, error) {
			return planExpire(rows, now), nil
		})
		if errors.Is(err, ErrNotFound) {
			continue // deregistered meanwhile
		}
		if err != nil {
			return out, err
		}
		out[sub] = set
	}
	return out, nil
}

func (s *sqlStore) RaiseTXTLimit(ctx context.Context, username string, limit int) (int, error) {
	keeps := 0
	err := s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var current sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q.limitOf, username).Scan(&current); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		keeps = s.opts.DefaultTXTLimit
		if current.Valid && current.Int64 > 0 {
			keeps = int(current.Int64)
		}
		if limit <= keeps {
			return nil
		}
		// The index holds values, not limits: other processes need no notice.
		if _, err := tx.ExecContext(ctx, s.q.setLimit, limit, username); err != nil {
			return err
		}
		keeps = limit
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("raising the value limit of account %s: %w", username, err)
	}
	return keeps, nil
}

func (s *sqlStore) Deregister(ctx context.Context, username string) (string, error) {
	var subdomain string
	err := s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q.subdomainOf, username).Scan(&subdomain); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.deleteRows, subdomain); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.deleteAccount, username); err != nil {
			return err
		}
		return s.notify(ctx, tx, AccountsChanged, subdomain)
	})
	if errors.Is(err, ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("deregistering account %s: %w", username, err)
	}
	return subdomain, nil
}

func (s *sqlStore) TXT(ctx context.Context, subdomain string) (TXTSet, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return TXTSet{}, fmt.Errorf("reading TXT of %s: %w", subdomain, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var one int
	if err := tx.QueryRowContext(ctx, s.q.exists, subdomain).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return TXTSet{}, ErrNotFound
		}
		return TXTSet{}, fmt.Errorf("reading account of %s: %w", subdomain, err)
	}
	rows, err := readRows(ctx, tx, s.q.rows, subdomain)
	if err != nil {
		return TXTSet{}, fmt.Errorf("reading TXT of %s: %w", subdomain, err)
	}
	return setOf(rows, s.opts.Now().Unix()), nil
}

// eachBounds split the subdomains into one range a core, read at once on
// connections of their own (more readers than cores only contend for
// SQLite's page cache): acme-dns's subdomains are UUIDs, spread evenly over
// the hex digits. Any string falls in exactly one range.
var eachBounds = hexBounds(min(runtime.NumCPU(), 16))

func hexBounds(n int) []string {
	bounds := []string{""}
	for i := 1; i < n; i++ {
		bounds = append(bounds, string("0123456789abcdef"[i*16/n]))
	}
	return bounds
}

// eachBatch is how many accounts a range reader hands over at a time.
const eachBatch = 512

type accountSet struct {
	sub string
	set TXTSet
}

func (s *sqlStore) Each(ctx context.Context, fn func(string, TXTSet) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	now := s.opts.Now().Unix()
	batches := make(chan []accountSet, 2*len(eachBounds))
	errs := make([]error, len(eachBounds))
	var wg sync.WaitGroup
	for i, lo := range eachBounds {
		query, args := s.q.allFrom, []any{lo}
		if i+1 < len(eachBounds) {
			query, args = s.q.allBetween, []any{lo, eachBounds[i+1]}
		}
		wg.Go(func() { errs[i] = s.eachRange(ctx, now, query, args, batches) })
	}
	go func() { wg.Wait(); close(batches) }()
	// fn runs here, on one goroutine, while the ranges are read.
	var failed error
	for batch := range batches {
		for _, a := range batch {
			if failed != nil {
				break
			}
			if failed = fn(a.sub, a.set); failed != nil {
				cancel()
			}
		}
	}
	if failed != nil {
		return failed
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reading all accounts: %w", err)
	}
	return nil
}

// eachRange reads the accounts query selects and sends them in batches.
func (s *sqlStore) eachRange(ctx context.Context, now int64, query string, args []any, out chan<- []accountSet) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, p := range s.d.bulkRead {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	defer func() {
		for _, p := range s.d.endBulkRead {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), p); err != nil {
				// Not given back as it is: the pool closes it.
				conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the error is the request
				return
			}
		}
	}()
	rs, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	var (
		cur   string
		rows  []row
		have  bool
		batch = make([]accountSet, 0, eachBatch)
	)
	send := func() error {
		select {
		case out <- batch:
			batch = make([]accountSet, 0, eachBatch)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flush := func() error {
		if !have {
			return nil
		}
		batch = append(batch, accountSet{cur, setOf(rows, now)})
		if len(batch) == eachBatch {
			return send()
		}
		return nil
	}
	for rs.Next() {
		var (
			sub   sql.RawBytes // a string is made once an account, not once a row
			id    sql.NullInt64
			value sql.NullString
			seq   sql.NullInt64
			last  int64
			exp   int64
		)
		if err := rs.Scan(&sub, &id, &value, &seq, &last, &exp); err != nil {
			return err
		}
		if !have || string(sub) != cur {
			if err := flush(); err != nil {
				return err
			}
			cur, rows, have = string(sub), rows[:0], true
		}
		if id.Valid {
			rows = append(rows, row{id: id.Int64, value: value.String, seq: seq.Int64, last: last, expires: exp})
		}
	}
	if err := rs.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	return send()
}

func (s *sqlStore) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting accounts: %w", err)
	}
	return n, nil
}
