// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/dnssec"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

// DNSSECKeys are the zone's DNSSEC keys kept in the database
// ([dnssec] database = true), so that every replica sharing it signs with
// the same keys: the texts of each key's two BIND files, the private one
// sealed with the hub's keys and bound to the key's name.
type DNSSECKeys struct {
	zone string
	st   store.Store
	keys *managed.Keyring
}

// StoredKey is a key as the database keeps it.
type StoredKey struct {
	dnssec.Key
	// SealedWith is the hub key that sealed its private half.
	SealedWith string
	Imported   time.Time
}

// OpenDNSSECKeys opens the database and the hub's keys of cfg.
func OpenDNSSECKeys(ctx context.Context, cfg config.Config) (*DNSSECKeys, error) {
	keys, err := loadKeys(cfg.Hub)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Database.Engine, cfg.Database.Connection, store.Options{})
	if err != nil {
		return nil, err
	}
	return &DNSSECKeys{zone: dns.CanonicalName(cfg.General.Domain), st: st, keys: keys}, nil
}

// Close closes the database, every write acknowledged before.
func (d *DNSSECKeys) Close() { d.st.Close() }

// sealedAs binds a sealed private key to its key's name.
func sealedAs(k store.DNSSECKey) string { return "dnssec key " + k.Name() }

// Import reads keys from their BIND files (either file, or their path
// without extension) and writes them, replacing a key of the same name
// (imported again after dnssec-settime changed its times). Every key is
// read before any is written.
func (d *DNSSECKeys) Import(ctx context.Context, paths []string, now time.Time) error {
	var rows []store.DNSSECKey
	for _, path := range paths {
		base, public, private, err := dnssec.ReadFiles(path)
		if err != nil {
			return err
		}
		k, err := dnssec.Parse(base, public, private)
		if err != nil {
			return err
		}
		if k.Zone() != d.zone {
			return fmt.Errorf("key %s is for %s, and the server's zone ([general] domain) is %s", base, k.Zone(), d.zone)
		}
		row := store.DNSSECKey{Zone: k.Zone(), Algorithm: k.DNSKEY.Algorithm, Tag: k.Tag(), Public: string(public), Imported: now}
		row.Private, row.KeyID = d.keys.Seal(private, sealedAs(row))
		rows = append(rows, row)
	}
	for _, row := range rows {
		if err := d.st.DNSSECKeys().PutDNSSECKey(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

// Keys reads every key of the zone and opens its private half.
func (d *DNSSECKeys) Keys(ctx context.Context) ([]StoredKey, error) {
	return readDNSSECKeys(ctx, d.st, d.keys)
}

func readDNSSECKeys(ctx context.Context, st store.Store, keys *managed.Keyring) ([]StoredKey, error) {
	rows, err := st.DNSSECKeys().DNSSECKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]StoredKey, 0, len(rows))
	for _, row := range rows {
		private, err := keys.Open(row.Private, row.KeyID, sealedAs(row))
		if err != nil {
			return nil, fmt.Errorf("DNSSEC key %s in the database: %w", row.Name(), err)
		}
		k, err := dnssec.Parse(row.Name(), []byte(row.Public), private)
		if err != nil {
			return nil, fmt.Errorf("DNSSEC key %s in the database: %w", row.Name(), err)
		}
		out = append(out, StoredKey{Key: k, SealedWith: row.KeyID, Imported: row.Imported})
	}
	return out, nil
}

// Remove deletes the key named as BIND names its files
// (K<zone>+<algorithm>+<tag>, with or without a directory or extension).
func (d *DNSSECKeys) Remove(ctx context.Context, name string) error {
	zone, algorithm, tag, err := parseKeyName(name)
	if err != nil {
		return err
	}
	return d.st.DNSSECKeys().DeleteDNSSECKey(ctx, zone, algorithm, tag)
}

// parseKeyName reads K<zone>+<algorithm>+<tag>.
func parseKeyName(name string) (zone string, algorithm uint8, tag uint16, err error) {
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(name), ".key"), ".private")
	parts := strings.Split(strings.TrimPrefix(base, "K"), "+")
	bad := fmt.Errorf("key name %q: want K<zone>+<algorithm>+<tag>, as BIND names the files", name)
	if !strings.HasPrefix(base, "K") || len(parts) != 3 {
		return "", 0, 0, bad
	}
	a, aerr := strconv.ParseUint(parts[1], 10, 8)
	t, terr := strconv.ParseUint(parts[2], 10, 16)
	if aerr != nil || terr != nil {
		return "", 0, 0, bad
	}
	return dns.CanonicalName(parts[0]), uint8(a), uint16(t), nil
}
