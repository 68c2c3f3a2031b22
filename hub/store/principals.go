// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Principal is a user or an application that tokens act for.
type Principal struct {
	ID          string
	Kind        string // "user" or "application"
	Title       string
	Description string
	Created     time.Time
	// Roles are the roles assigned to the principal.
	Roles []string
}

// Principals keeps the users and applications tokens act for.
type Principals interface {
	// CreatePrincipal adds a principal, or fails with ErrExists.
	CreatePrincipal(ctx context.Context, p Principal) error
	// Principal returns the principal with its roles, or ErrNotFound.
	Principal(ctx context.Context, id string) (Principal, error)
	// Principals lists every principal.
	Principals(ctx context.Context) ([]Principal, error)
	// SetRoles replaces the principal's roles.
	SetRoles(ctx context.Context, principal string, roles []string) error
}

func (m managedStore) CreatePrincipal(ctx context.Context, p Principal) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_principals (id, kind, title, description, created) VALUES (?, ?, ?, ?, ?)`),
			p.ID, p.Kind, p.Title, p.Description, nanos(p.Created)); err != nil {
			return err
		}
		for _, r := range p.Roles {
			if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_roles (principal, role) VALUES (?, ?)`), p.ID, r); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("principal "+p.ID, err)
}

func (m managedStore) Principal(ctx context.Context, id string) (Principal, error) {
	list, err := m.principals(ctx, ` WHERE p.id = ?`, id)
	if err != nil {
		return Principal{}, err
	}
	if len(list) == 0 {
		return Principal{}, fmt.Errorf("principal %s: %w", id, ErrNotFound)
	}
	return list[0], nil
}

func (m managedStore) Principals(ctx context.Context) ([]Principal, error) {
	return m.principals(ctx, ``)
}

func (m managedStore) principals(ctx context.Context, where string, args ...any) ([]Principal, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT p.id, p.kind, p.title, p.description, p.created, COALESCE(r.role, '')
		FROM hub_principals p LEFT JOIN hub_roles r ON r.principal = p.id`+where+` ORDER BY p.created, p.id, r.role`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading principals: %w", err)
	}
	defer rows.Close()
	var out []Principal
	for rows.Next() {
		var (
			p       Principal
			created int64
			role    string
		)
		if err := rows.Scan(&p.ID, &p.Kind, &p.Title, &p.Description, &created, &role); err != nil {
			return nil, fmt.Errorf("reading principals: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == p.ID {
			out[n-1].Roles = append(out[n-1].Roles, role)
			continue
		}
		p.Created = fromNanos(created)
		if role != "" {
			p.Roles = []string{role}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (m managedStore) SetRoles(ctx context.Context, principal string, roles []string) error {
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, m.q(`SELECT COUNT(*) FROM hub_principals WHERE id = ?`), principal).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, m.q(`DELETE FROM hub_roles WHERE principal = ?`), principal); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hub_roles (principal, role) VALUES (?, ?)`), principal, r); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("roles of principal "+principal, err)
}
