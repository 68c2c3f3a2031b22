// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"
)

// Token is an API token: a client ID and the hash of its secret.
type Token struct {
	ClientID  string
	Principal string
	Title     string
	// SecretHash is the keyed hash of the secret; the secret itself is never stored.
	SecretHash []byte
	// Scopes are the roles the token carries (a subset of its principal's).
	Scopes []string
	// Domains, when set, narrow the names the token may answer for (Domain
	// Match Rules), below what the configs allow.
	Domains  []string
	Created  time.Time
	Expires  time.Time // zero: never
	LastUsed time.Time // zero: never
	Revoked  time.Time // zero: not revoked
}

func (m managedStore) CreateToken(ctx context.Context, t Token) error {
	return m.exec(ctx, "token "+t.ClientID, `INSERT INTO hub_tokens
		(client_id, principal, title, secret_hash, scopes, domains, created, expires, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ClientID, t.Principal, t.Title, base64.StdEncoding.EncodeToString(t.SecretHash), jsonList(t.Scopes), jsonList(t.Domains),
		nanos(t.Created), nanos(t.Expires), nanos(t.LastUsed), nanos(t.Revoked))
}

// Tokens keeps the API tokens: their secrets' hashes, never the secrets.
type Tokens interface {
	// CreateToken adds a token, or fails with ErrExists.
	CreateToken(ctx context.Context, t Token) error
	// Token returns the token, revoked or not, or ErrNotFound.
	Token(ctx context.Context, clientID string) (Token, error)
	// Tokens lists the tokens of principal, or every token for "".
	Tokens(ctx context.Context, principal string) ([]Token, error)
	// RevokeToken marks the token revoked at at.
	RevokeToken(ctx context.Context, clientID string, at time.Time) error
	// RotateToken replaces the token's secret hash.
	RotateToken(ctx context.Context, clientID string, hash []byte) error
	// TouchToken records that the token was used at at; only ever later.
	TouchToken(ctx context.Context, clientID string, at time.Time) error
}

const tokenColumns = `client_id, principal, title, secret_hash, scopes, domains, created, expires, last_used, revoked`

func (m managedStore) Token(ctx context.Context, clientID string) (Token, error) {
	list, err := m.tokens(ctx, ` WHERE client_id = ?`, clientID)
	if err != nil {
		return Token{}, err
	}
	if len(list) == 0 {
		return Token{}, fmt.Errorf("token %s: %w", clientID, ErrNotFound)
	}
	return list[0], nil
}

func (m managedStore) Tokens(ctx context.Context, principal string) ([]Token, error) {
	if principal == "" {
		return m.tokens(ctx, ``)
	}
	return m.tokens(ctx, ` WHERE principal = ?`, principal)
}

func (m managedStore) tokens(ctx context.Context, where string, args ...any) ([]Token, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT `+tokenColumns+` FROM hub_tokens`+where+` ORDER BY created, client_id`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var (
			t                                  Token
			hash, scopes, domains              string
			created, expires, lastUsed, revoke int64
		)
		if err := rows.Scan(&t.ClientID, &t.Principal, &t.Title, &hash, &scopes, &domains, &created, &expires, &lastUsed, &revoke); err != nil {
			return nil, fmt.Errorf("reading tokens: %w", err)
		}
		if t.SecretHash, err = base64.StdEncoding.DecodeString(hash); err != nil {
			return nil, fmt.Errorf("token %s: stored hash: %w", t.ClientID, err)
		}
		if t.Scopes, err = parseList(scopes); err != nil {
			return nil, fmt.Errorf("token %s: scopes: %w", t.ClientID, err)
		}
		if t.Domains, err = parseList(domains); err != nil {
			return nil, fmt.Errorf("token %s: domains: %w", t.ClientID, err)
		}
		t.Created, t.Expires, t.LastUsed, t.Revoked = fromNanos(created), fromNanos(expires), fromNanos(lastUsed), fromNanos(revoke)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (m managedStore) RevokeToken(ctx context.Context, clientID string, at time.Time) error {
	return m.exec(ctx, "token "+clientID, `UPDATE hub_tokens SET revoked = ? WHERE client_id = ?`, nanos(at), clientID)
}

func (m managedStore) RotateToken(ctx context.Context, clientID string, hash []byte) error {
	return m.exec(ctx, "token "+clientID, `UPDATE hub_tokens SET secret_hash = ? WHERE client_id = ?`,
		base64.StdEncoding.EncodeToString(hash), clientID)
}

func (m managedStore) TouchToken(ctx context.Context, clientID string, at time.Time) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, m.q(`UPDATE hub_tokens SET last_used = ? WHERE client_id = ? AND last_used < ?`), nanos(at), clientID, nanos(at))
		return err
	})
	return wrapErr("token "+clientID, err)
}
