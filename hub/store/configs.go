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

// ChallengeConfig is one managed challenge configuration: where and how the
// hub answers challenges for the names its rules match.
type ChallengeConfig struct {
	ID            string
	Title         string
	ChallengeType string // "dns-01"
	Provider      string // "digitalocean", "self", "acme-dns"
	// Credentials are the provider's credentials, sealed (encrypted) by the
	// caller; KeyID names the key that sealed them.
	Credentials []byte
	KeyID       string
	Zone        string
	Rules       []string
	TTL         int
	// Propagation holds the provider's propagation settings as JSON.
	Propagation string
	// AllowCNAME lets clients name the target of _acme-challenge.<name>'s
	// CNAME as the record, as lego and cert-manager do after following it.
	AllowCNAME bool
	Created    time.Time
	Updated    time.Time
}

// Configs keeps the managed challenge configs.
type Configs interface {
	// PutConfig creates the config, or replaces the one with the same ID.
	PutConfig(ctx context.Context, c ChallengeConfig) error
	// Configs lists every config.
	Configs(ctx context.Context) ([]ChallengeConfig, error)
	// DeleteConfig removes the config, or fails with ErrNotFound.
	DeleteConfig(ctx context.Context, id string) error
}

func (m managedStore) PutConfig(ctx context.Context, c ChallengeConfig) error {
	allow := 0
	if c.AllowCNAME {
		allow = 1
	}
	propagation := c.Propagation
	if propagation == "" {
		propagation = "{}"
	}
	args := []any{c.Title, c.ChallengeType, c.Provider, base64.StdEncoding.EncodeToString(c.Credentials), c.KeyID, c.Zone,
		jsonList(c.Rules), c.TTL, propagation, allow, nanos(c.Updated)}
	err := m.s.w.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, m.q(`UPDATE hub_configs SET title = ?, challenge_type = ?, provider = ?, credentials = ?,
			key_id = ?, zone = ?, rules = ?, ttl = ?, propagation = ?, allow_cname = ?, updated = ? WHERE id = ?`), append(args, c.ID)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, m.q(`INSERT INTO hub_configs (title, challenge_type, provider, credentials, key_id, zone,
			rules, ttl, propagation, allow_cname, updated, id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			append(args, c.ID, nanos(c.Created))...)
		return err
	})
	return wrapErr("config "+c.ID, err)
}

func (m managedStore) Configs(ctx context.Context) ([]ChallengeConfig, error) {
	rows, err := m.s.db.QueryContext(ctx, `SELECT id, title, challenge_type, provider, credentials, key_id, zone, rules, ttl,
		propagation, allow_cname, created, updated FROM hub_configs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading configs: %w", err)
	}
	defer rows.Close()
	var out []ChallengeConfig
	for rows.Next() {
		var (
			c                ChallengeConfig
			creds, rules     string
			allow            int
			created, updated int64
		)
		if err := rows.Scan(&c.ID, &c.Title, &c.ChallengeType, &c.Provider, &creds, &c.KeyID, &c.Zone, &rules, &c.TTL,
			&c.Propagation, &allow, &created, &updated); err != nil {
			return nil, fmt.Errorf("reading configs: %w", err)
		}
		if c.Credentials, err = base64.StdEncoding.DecodeString(creds); err != nil {
			return nil, fmt.Errorf("config %s: stored credentials: %w", c.ID, err)
		}
		if c.Rules, err = parseList(rules); err != nil {
			return nil, fmt.Errorf("config %s: rules: %w", c.ID, err)
		}
		c.AllowCNAME, c.Created, c.Updated = allow != 0, fromNanos(created), fromNanos(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (m managedStore) DeleteConfig(ctx context.Context, id string) error {
	return m.deleteRow(ctx, "config "+id, `DELETE FROM hub_configs WHERE id = ?`, id)
}
