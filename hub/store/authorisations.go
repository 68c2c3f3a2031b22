// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"
)

// Authorisation is an acmeproxy authorisation: a token that may answer for
// one name (and, with SuffixMatch, the names below it).
type Authorisation struct {
	Name        string
	ClientID    string
	SuffixMatch bool
	Created     time.Time
	// CreatedBy is the address it was created from, or the CLI's user.
	CreatedBy string
}

// Authorisations keeps acmeproxy's authorisations.
type Authorisations interface {
	// CreateAuthorisation adds an authorisation, or fails with ErrExists.
	CreateAuthorisation(ctx context.Context, a Authorisation) error
	// Authorisation returns the authorisation of name, or ErrNotFound.
	Authorisation(ctx context.Context, name string) (Authorisation, error)
	// Authorisations lists every authorisation.
	Authorisations(ctx context.Context) ([]Authorisation, error)
	// DeleteAuthorisation removes the authorisation of name.
	DeleteAuthorisation(ctx context.Context, name string) error
}

func (m managedStore) CreateAuthorisation(ctx context.Context, a Authorisation) error {
	suffix := 0
	if a.SuffixMatch {
		suffix = 1
	}
	return m.exec(ctx, "authorisation "+a.Name, `INSERT INTO hub_authorisations (name, client_id, suffix_match, created, created_by)
		VALUES (?, ?, ?, ?, ?)`, a.Name, a.ClientID, suffix, nanos(a.Created), a.CreatedBy)
}

func (m managedStore) Authorisation(ctx context.Context, name string) (Authorisation, error) {
	list, err := m.authorisations(ctx, ` WHERE name = ?`, name)
	if err != nil {
		return Authorisation{}, err
	}
	if len(list) == 0 {
		return Authorisation{}, fmt.Errorf("authorisation %s: %w", name, ErrNotFound)
	}
	return list[0], nil
}

func (m managedStore) Authorisations(ctx context.Context) ([]Authorisation, error) {
	return m.authorisations(ctx, ``)
}

func (m managedStore) authorisations(ctx context.Context, where string, args ...any) ([]Authorisation, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT name, client_id, suffix_match, created, created_by FROM hub_authorisations`+where+` ORDER BY name`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading authorisations: %w", err)
	}
	defer rows.Close()
	var out []Authorisation
	for rows.Next() {
		var (
			a       Authorisation
			suffix  int
			created int64
		)
		if err := rows.Scan(&a.Name, &a.ClientID, &suffix, &created, &a.CreatedBy); err != nil {
			return nil, fmt.Errorf("reading authorisations: %w", err)
		}
		a.SuffixMatch, a.Created = suffix != 0, fromNanos(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (m managedStore) DeleteAuthorisation(ctx context.Context, name string) error {
	return m.deleteRow(ctx, "authorisation "+name, `DELETE FROM hub_authorisations WHERE name = ?`, name)
}
