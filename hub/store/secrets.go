// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/hex"
	"fmt"
)

// secretTables hold secrets every server sharing the database must use
// alike; acme-dns never reads them.
var secretTables = []string{
	`CREATE TABLE IF NOT EXISTS shared_secrets(name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
}

// SharedSecret returns the secret stored under name, storing fresh first
// when there is none: the first server to ask decides it for every other.
func (s *sqlStore) SharedSecret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	m := managedStore{s}
	if err := m.exec(ctx, "shared secret "+name, `INSERT INTO shared_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, hex.EncodeToString(fresh)); err != nil {
		return nil, err
	}
	var text string
	if err := s.db.QueryRowContext(ctx, m.q(`SELECT value FROM shared_secrets WHERE name = ?`), name).Scan(&text); err != nil {
		return nil, fmt.Errorf("reading shared secret %s: %w", name, err)
	}
	secret, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("shared secret %s: stored value is not hex: %w", name, err)
	}
	return secret, nil
}
