// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// DNSSECKey is one of the zone's DNSSEC keys kept in the database, so that
// every replica signs with the same keys: the texts of its two BIND files,
// the private one sealed with a hub key.
type DNSSECKey struct {
	// Zone is the key's owner, lower case and fully qualified.
	Zone      string
	Algorithm uint8
	Tag       uint16
	// Public is the .key file's text.
	Public string
	// Private is the .private file's text, sealed with the hub key KeyID.
	Private []byte
	KeyID   string
	// Imported is when the key was last written.
	Imported time.Time
}

// Name is how BIND names the key's files: K<zone>+<algorithm>+<tag>.
func (k DNSSECKey) Name() string {
	return fmt.Sprintf("K%s+%03d+%05d", k.Zone, k.Algorithm, k.Tag)
}

// DNSSECKeys keeps the zone's DNSSEC keys.
type DNSSECKeys interface {
	// PutDNSSECKey adds a key, or replaces the one of the same zone,
	// algorithm and tag (its times changed, or sealed with another key).
	PutDNSSECKey(ctx context.Context, k DNSSECKey) error
	// DNSSECKeys lists the keys by zone, algorithm and tag.
	DNSSECKeys(ctx context.Context) ([]DNSSECKey, error)
	// DeleteDNSSECKey removes a key, or fails with ErrNotFound.
	DeleteDNSSECKey(ctx context.Context, zone string, algorithm uint8, tag uint16) error
}

// dnssecTables hold the DNSSEC keys; acme-dns never reads them.
var dnssecTables = []string{
	`CREATE TABLE IF NOT EXISTS dnssec_keys(
		zone TEXT NOT NULL, algorithm INTEGER NOT NULL, tag INTEGER NOT NULL,
		public TEXT NOT NULL, private TEXT NOT NULL, key_id TEXT NOT NULL, imported BIGINT NOT NULL,
		PRIMARY KEY (zone, algorithm, tag))`,
}

// dnssecStore implements DNSSECKeys on the store's database.
type dnssecStore struct{ managedStore }

func (s *sqlStore) DNSSECKeys() DNSSECKeys { return dnssecStore{managedStore{s}} }

func (d dnssecStore) PutDNSSECKey(ctx context.Context, k DNSSECKey) error {
	return d.exec(ctx, "DNSSEC key "+k.Name(), `INSERT INTO dnssec_keys (zone, algorithm, tag, public, private, key_id, imported)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (zone, algorithm, tag) DO UPDATE SET
		public = excluded.public, private = excluded.private, key_id = excluded.key_id, imported = excluded.imported`,
		strings.ToLower(k.Zone), int(k.Algorithm), int(k.Tag), k.Public, base64.StdEncoding.EncodeToString(k.Private), k.KeyID, nanos(k.Imported))
}

func (d dnssecStore) DNSSECKeys(ctx context.Context) ([]DNSSECKey, error) {
	rows, err := d.s.db.QueryContext(ctx, `SELECT zone, algorithm, tag, public, private, key_id, imported FROM dnssec_keys
		ORDER BY zone, algorithm, tag`)
	if err != nil {
		return nil, fmt.Errorf("reading DNSSEC keys: %w", err)
	}
	defer rows.Close()
	var out []DNSSECKey
	for rows.Next() {
		var (
			k              DNSSECKey
			algorithm, tag int
			private        string
			imported       int64
		)
		if err := rows.Scan(&k.Zone, &algorithm, &tag, &k.Public, &private, &k.KeyID, &imported); err != nil {
			return nil, fmt.Errorf("reading DNSSEC keys: %w", err)
		}
		k.Algorithm, k.Tag, k.Imported = uint8(algorithm), uint16(tag), fromNanos(imported)
		if k.Private, err = base64.StdEncoding.DecodeString(private); err != nil {
			return nil, fmt.Errorf("DNSSEC key %s: stored private key: %w", k.Name(), err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (d dnssecStore) DeleteDNSSECKey(ctx context.Context, zone string, algorithm uint8, tag uint16) error {
	k := DNSSECKey{Zone: strings.ToLower(zone), Algorithm: algorithm, Tag: tag}
	return d.deleteRow(ctx, "DNSSEC key "+k.Name(), `DELETE FROM dnssec_keys WHERE zone = ? AND algorithm = ? AND tag = ?`,
		k.Zone, int(algorithm), int(tag))
}
