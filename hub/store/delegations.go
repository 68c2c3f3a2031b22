// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"time"
)

// Delegation is a CNAME the hub wrote for a name: its challenge name
// (_acme-challenge.<identifier>) to an acme-dns account's fulldomain,
// through a config's provider. It is kept until its owner (or an admin)
// removes it; the sweep never touches it.
type Delegation struct {
	// Identifier is the name certificates are issued for; the CNAME is
	// at _acme-challenge.<Identifier>.
	Identifier string
	Target     string
	// Config is the config whose provider wrote it, Zone that config's zone.
	Config, Zone string
	// Owner is the principal that asked for it (or "cli:<user>").
	Owner   string
	Created time.Time
}

// Delegations keeps the CNAMEs the hub wrote.
type Delegations interface {
	// CreateDelegation stores d, or ErrExists when its identifier has one.
	CreateDelegation(ctx context.Context, d Delegation) error
	// Delegation returns the delegation of identifier, or ErrNotFound.
	Delegation(ctx context.Context, identifier string) (Delegation, error)
	// Delegations lists every delegation, by identifier.
	Delegations(ctx context.Context) ([]Delegation, error)
	// DeleteDelegation removes the delegation of identifier, or ErrNotFound.
	DeleteDelegation(ctx context.Context, identifier string) error
}

func (m managedStore) CreateDelegation(ctx context.Context, d Delegation) error {
	return m.exec(ctx, "delegation of "+d.Identifier, `INSERT INTO hub_delegations (identifier, target, config, zone, owner, created)
		VALUES (?, ?, ?, ?, ?, ?)`, d.Identifier, d.Target, d.Config, d.Zone, d.Owner, nanos(d.Created))
}

func (m managedStore) Delegation(ctx context.Context, identifier string) (Delegation, error) {
	list, err := m.delegations(ctx, ` WHERE identifier = ?`, identifier)
	if err != nil {
		return Delegation{}, err
	}
	if len(list) == 0 {
		return Delegation{}, fmt.Errorf("delegation of %s: %w", identifier, ErrNotFound)
	}
	return list[0], nil
}

func (m managedStore) Delegations(ctx context.Context) ([]Delegation, error) {
	return m.delegations(ctx, ``)
}

func (m managedStore) delegations(ctx context.Context, where string, args ...any) ([]Delegation, error) {
	rows, err := m.s.db.QueryContext(ctx, m.q(`SELECT identifier, target, config, zone, owner, created FROM hub_delegations`+where+
		` ORDER BY identifier`), args...)
	if err != nil {
		return nil, fmt.Errorf("reading delegations: %w", err)
	}
	defer rows.Close()
	var out []Delegation
	for rows.Next() {
		var (
			d       Delegation
			created int64
		)
		if err := rows.Scan(&d.Identifier, &d.Target, &d.Config, &d.Zone, &d.Owner, &created); err != nil {
			return nil, fmt.Errorf("reading delegations: %w", err)
		}
		d.Created = fromNanos(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

func (m managedStore) DeleteDelegation(ctx context.Context, identifier string) error {
	return m.deleteRow(ctx, "delegation of "+identifier, `DELETE FROM hub_delegations WHERE identifier = ?`, identifier)
}
