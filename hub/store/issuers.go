// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Issuer is an OpenID Connect issuer whose signed tokens (a cluster's
// ServiceAccount tokens, a CI system's) the hub accepts in place of an API
// token, for the subjects bound to a principal (Binding).
type Issuer struct {
	// ID names the issuer in bindings and the audit log ("cluster-b").
	ID string
	// URL is the issuer, as its tokens' iss claim spells it.
	URL string
	// JWKSURL is where its keys are; "": found by OpenID discovery at URL.
	JWKSURL string
	// JWKS holds its keys, a JSON Web Key Set, for an issuer the hub cannot
	// reach; set, nothing is fetched.
	JWKS string
	// CA is the PEM roots discovery and keys are fetched with; "": the system's.
	CA string
	// Audience is what a token's aud must hold; "": the hub's URL.
	Audience string
	// Skew is the clock difference allowed to exp, nbf and iat.
	Skew time.Duration
	// MaxLifetime is the longest a token may be valid for (exp - iat);
	// a longer one is refused.
	MaxLifetime time.Duration
	Created     time.Time
	// Config: declared in the configuration file, not kept here.
	Config bool
}

// Binding binds the tokens of an issuer whose claims match to a
// principal, with the roles and Domain Match Rules a token would carry.
type Binding struct {
	ID        string
	Issuer    string // an Issuer's ID
	Principal string
	// Claims must all match: claim name to value, a value ending in *
	// matching every value it begins ("system:serviceaccount:team-a:*").
	Claims  map[string]string
	Scopes  []string
	Domains []string
	Created time.Time
}

// Issuers keeps the trusted issuers and their bindings.
type Issuers interface {
	// CreateIssuer adds an issuer, or fails with ErrExists (its ID or URL).
	CreateIssuer(ctx context.Context, i Issuer) error
	// Issuers lists every issuer, by ID.
	Issuers(ctx context.Context) ([]Issuer, error)
	// DeleteIssuer removes an issuer and its bindings, or ErrNotFound.
	DeleteIssuer(ctx context.Context, id string) error
	// CreateBinding adds a binding, or fails with ErrExists.
	CreateBinding(ctx context.Context, b Binding) error
	// Bindings lists the bindings of issuer ("": of every issuer), oldest first.
	Bindings(ctx context.Context, issuer string) ([]Binding, error)
	// DeleteBinding removes a binding, or ErrNotFound.
	DeleteBinding(ctx context.Context, id string) error
}

func (m managedStore) CreateIssuer(ctx context.Context, i Issuer) error {
	return m.exec(ctx, "issuer "+i.ID, `INSERT INTO hub_issuers (id, url, jwks_url, jwks, ca, audience, skew_ms, max_lifetime_ms, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, i.ID, i.URL, i.JWKSURL, i.JWKS, i.CA, i.Audience,
		i.Skew.Milliseconds(), i.MaxLifetime.Milliseconds(), nanos(i.Created))
}

func (m managedStore) Issuers(ctx context.Context) ([]Issuer, error) {
	rows, err := m.s.db.QueryContext(ctx, `SELECT id, url, jwks_url, jwks, ca, audience, skew_ms, max_lifetime_ms, created
		FROM hub_issuers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading issuers: %w", err)
	}
	defer rows.Close()
	var out []Issuer
	for rows.Next() {
		var (
			i                      Issuer
			skew, lifetime, create int64
		)
		if err := rows.Scan(&i.ID, &i.URL, &i.JWKSURL, &i.JWKS, &i.CA, &i.Audience, &skew, &lifetime, &create); err != nil {
			return nil, fmt.Errorf("reading issuers: %w", err)
		}
		i.Skew, i.MaxLifetime, i.Created = time.Duration(skew)*time.Millisecond, time.Duration(lifetime)*time.Millisecond, fromNanos(create)
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading issuers: %w", err)
	}
	return out, nil
}

func (m managedStore) DeleteIssuer(ctx context.Context, id string) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(`DELETE FROM hub_issuers WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, m.q(`DELETE FROM hub_bindings WHERE issuer = ?`), id)
		return err
	})
	return wrapErr("issuer "+id, err)
}

func (m managedStore) CreateBinding(ctx context.Context, b Binding) error {
	claims, _ := json.Marshal(b.Claims)
	return m.exec(ctx, "binding "+b.ID, `INSERT INTO hub_bindings (id, issuer, principal, claims, scopes, domains, created)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, b.ID, b.Issuer, b.Principal, string(claims), jsonList(b.Scopes), jsonList(b.Domains), nanos(b.Created))
}

func (m managedStore) Bindings(ctx context.Context, issuer string) ([]Binding, error) {
	query, args := `SELECT id, issuer, principal, claims, scopes, domains, created FROM hub_bindings`, []any{}
	if issuer != "" {
		query, args = query+` WHERE issuer = ?`, append(args, issuer)
	}
	rows, err := m.s.db.QueryContext(ctx, m.q(query+` ORDER BY created, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading bindings: %w", err)
	}
	defer rows.Close()
	var out []Binding
	for rows.Next() {
		var (
			b                       Binding
			claims, scopes, domains string
			created                 int64
		)
		if err := rows.Scan(&b.ID, &b.Issuer, &b.Principal, &claims, &scopes, &domains, &created); err != nil {
			return nil, fmt.Errorf("reading bindings: %w", err)
		}
		if err := json.Unmarshal([]byte(claims), &b.Claims); err != nil {
			return nil, fmt.Errorf("binding %s: claims: %w", b.ID, err)
		}
		if b.Scopes, err = parseList(scopes); err != nil {
			return nil, fmt.Errorf("binding %s: scopes: %w", b.ID, err)
		}
		if b.Domains, err = parseList(domains); err != nil {
			return nil, fmt.Errorf("binding %s: domains: %w", b.ID, err)
		}
		b.Created = fromNanos(created)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading bindings: %w", err)
	}
	return out, nil
}

func (m managedStore) DeleteBinding(ctx context.Context, id string) error {
	return m.deleteRow(ctx, "binding "+id, `DELETE FROM hub_bindings WHERE id = ?`, id)
}
