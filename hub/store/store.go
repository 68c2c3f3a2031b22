// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package store keeps accounts and their TXT values in SQLite or PostgreSQL,
// in the tables acme-dns itself uses (records, txt, acmedns), so an existing
// acme-dns database works unchanged. Columns acmehub needs beyond acme-dns's
// are added by idempotent migrations that acme-dns ignores.
//
// Every method that changes data returns only after the change is durable.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ErrNotFound is returned when what was asked for (an account, a
// principal, a token, a config, a record, an authorisation) does not exist.
var ErrNotFound = errors.New("not found")

// Store is the persistence every acmehub server process shares.
type Store interface {
	// Register creates the account.
	Register(ctx context.Context, a Account) error
	// Account returns the account with this username, or ErrNotFound.
	Account(ctx context.Context, username string) (Account, error)
	// AddTXT adds value as a rolling value to the account owning subdomain. A
	// rolling value the account already has becomes its newest; past the
	// account's limit the oldest rolling value is dropped. Held values are left
	// alone. It returns the resulting set, or ErrNotFound.
	AddTXT(ctx context.Context, subdomain, value string) (TXTSet, error)
	// HoldTXT adds value as a held value, kept until DeleteTXT removes it or
	// until expires (whichever comes first); holding a value again moves its
	// expiry later. It returns the resulting set, ErrNotFound, or a
	// *HoldLimitError when the account already holds Options.HoldLimit values.
	HoldTXT(ctx context.Context, subdomain, value string, expires time.Time) (TXTSet, error)
	// DeleteTXT removes value from the account owning subdomain; removing a
	// value it does not hold changes nothing. It returns the resulting set, or ErrNotFound.
	DeleteTXT(ctx context.Context, subdomain, value string) (TXTSet, error)
	// ExpireTXT removes every held value whose time has passed and returns
	// the resulting sets of the accounts it changed, by subdomain. Expired
	// values are never served, removed or not.
	ExpireTXT(ctx context.Context) (map[string]TXTSet, error)
	// RaiseTXTLimit makes the account of username keep at least limit values
	// and returns how many it keeps (its own limit, or the default). A limit
	// at or below that changes nothing; 0 only reports. ErrNotFound when there
	// is no such account.
	RaiseTXTLimit(ctx context.Context, username string, limit int) (int, error)
	// SetPassword replaces the bcrypt hash of the account's password, or
	// ErrNotFound; the old password stops working at once, in every
	// process sharing the database (each reads the hash it checks).
	SetPassword(ctx context.Context, username string, hash []byte) error
	// SetAllowFrom replaces the CIDRs the account's updates may come from
	// (none: anywhere), or ErrNotFound.
	SetAllowFrom(ctx context.Context, username string, allowFrom []string) error
	// Accounts lists every account, by username.
	Accounts(ctx context.Context) ([]AccountInfo, error)
	// Deregister deletes the account and its values and returns its subdomain, or ErrNotFound.
	Deregister(ctx context.Context, username string) (string, error)
	// TXT returns the current set of the account owning subdomain, or ErrNotFound.
	TXT(ctx context.Context, subdomain string) (TXTSet, error)
	// Each calls fn for every account, including those holding no value.
	Each(ctx context.Context, fn func(subdomain string, set TXTSet) error) error
	// Count returns the number of accounts.
	Count(ctx context.Context) (int, error)
	// Watch calls fn with the key of every change on topic that another
	// process made (never for this store's own writes), and with "" whenever
	// changes may have been missed and everything must be read again: after
	// each (re)connection, and every resync (0: never). It returns when ctx
	// ends. A store that only one process writes returns at once.
	Watch(ctx context.Context, topic Topic, resync time.Duration, fn func(key string)) error
	// Managed returns the managed-challenge hub's data, kept in the same database.
	Managed() Managed
	// DNSSECKeys returns the zone's DNSSEC keys, kept in the same database.
	DNSSECKeys() DNSSECKeys
	// SharedSecret returns the secret kept under name for every server
	// sharing the database, storing fresh when there is none yet.
	SharedSecret(ctx context.Context, name string, fresh []byte) ([]byte, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close waits for writes under way and closes the database.
	Close() error
}

// Topic is a kind of change that processes sharing a database announce to
// each other (a PostgreSQL notification channel).
type Topic string

// The topics Watch follows.
const (
	// AccountsChanged: an account's values changed; its key is the
	// account's subdomain.
	AccountsChanged Topic = "acmehub_txt"
	// RecordsChanged: a record of the managed-challenge hub was added or
	// removed; its key is the record's name.
	RecordsChanged Topic = "acmehub_records"
)

// Options tune a store.
type Options struct {
	// DefaultTXTLimit is the number of values an account without its own limit keeps.
	DefaultTXTLimit int
	// HoldLimit is the number of held values an account may have at once.
	HoldLimit int
	// Now is the clock that writes and expiries read; nil means time.Now.
	Now func() time.Time
	// Log receives the store's own events (a lost PostgreSQL listener); nil discards them.
	Log *slog.Logger
	// Serving: the caller answers from memory what the database holds (a
	// server). A SQLite file is then locked for this store alone: a second
	// server on the file is refused, naming the first. Other stores (the
	// admin commands) open it beside a server as before. PostgreSQL, whose
	// servers follow each other's writes, takes no lock.
	Serving bool
}

func (o Options) withDefaults() Options {
	if o.DefaultTXTLimit < 1 {
		o.DefaultTXTLimit = 2
	}
	if o.HoldLimit < 1 {
		o.HoldLimit = DefaultHoldLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// DefaultHoldLimit is Options.HoldLimit when unset: more than cert-manager's
// default of 60 concurrent challenges.
const DefaultHoldLimit = 100

// Open opens the database of engine ("sqlite" or "postgres") at connection and
// brings its schema up to date.
func Open(ctx context.Context, engine, connection string, opts Options) (Store, error) {
	switch engine {
	case "sqlite", "sqlite3":
		return OpenSQLite(ctx, connection, opts)
	case "postgres", "postgresql":
		return OpenPostgres(ctx, connection, opts)
	default:
		return nil, fmt.Errorf("unknown database engine %q", engine)
	}
}

// redact hides the password of a postgres:// URL for messages.
func redact(conn string) string {
	at := strings.LastIndex(conn, "@")
	scheme := strings.Index(conn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return conn
	}
	userinfo := conn[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return conn[:scheme+3] + userinfo[:i] + ":xxxxx" + conn[at:]
	}
	return conn
}
