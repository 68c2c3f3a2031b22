// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnssec holds a zone's DNSSEC keys and signs its records: keys
// kept in BIND's key files (K<zone>+<algorithm>+<tag>.key and .private,
// which dnssec-keygen writes and BIND, Knot and ldns read), the DS record
// a parent zone publishes for a key, and RRSIGs made with their inception
// in the past, cached until they near their expiry.
package dnssec

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Algorithms the server signs with: 13 (ECDSA P-256 with SHA-256, the
// default) and 15 (Ed25519).
var Algorithms = map[uint8]string{dns.ECDSAP256SHA256: "ECDSAP256SHA256", dns.ED25519: "ED25519"}

// Key is a DNSKEY with its private key.
type Key struct {
	DNSKEY *dns.DNSKEY
	Signer crypto.Signer
}

// Tag is the key's tag, as RRSIGs and DS records name it.
func (k Key) Tag() uint16 { return k.DNSKEY.KeyTag() }

// SEP reports a key with the secure entry point flag (257): a KSK, or a
// CSK when it is the zone's only key. A parent's DS points at such a key.
func (k Key) SEP() bool { return k.DNSKEY.Flags&dns.SEP != 0 }

// Zone is the key's owner, lower case and fully qualified.
func (k Key) Zone() string { return dns.CanonicalName(k.DNSKEY.Hdr.Name) }

// DS is the DS record for the key with a SHA-256 digest (digest type 2),
// the record the parent zone publishes.
func (k Key) DS() *dns.DS {
	ds := k.DNSKEY.ToDS(dns.SHA256)
	ds.Hdr.Ttl = k.DNSKEY.Hdr.Ttl
	return ds
}

// Generate makes a key for zone with algorithm (13 or 15); sep makes it a
// KSK or CSK (flags 257), otherwise a ZSK (flags 256).
func Generate(zone string, algorithm uint8, sep bool) (Key, error) {
	if _, ok := Algorithms[algorithm]; !ok {
		return Key{}, fmt.Errorf("algorithm %d: want 13 (ECDSAP256SHA256) or 15 (ED25519)", algorithm)
	}
	if _, ok := dns.IsDomainName(zone); !ok || zone == "" {
		return Key{}, fmt.Errorf("zone %q is not a domain name", zone)
	}
	flags := uint16(dns.ZONE)
	if sep {
		flags |= dns.SEP
	}
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: dns.CanonicalName(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: flags, Protocol: 3, Algorithm: algorithm}
	priv, err := k.Generate(256) // the size of a P-256 key; Ed25519 ignores it
	if err != nil {
		return Key{}, fmt.Errorf("generating a key for %s: %w", zone, err)
	}
	return Key{DNSKEY: k, Signer: priv.(crypto.Signer)}, nil
}

// Base is the key files' name without extension, as BIND names them:
// K<zone>+<algorithm, three digits>+<tag, five digits>.
func (k Key) Base() string {
	return fmt.Sprintf("K%s+%03d+%05d", k.Zone(), k.DNSKEY.Algorithm, k.Tag())
}

// Write writes the key's two files into dir, the private one readable by
// its owner only, and returns their path without extension. Files already
// there are not overwritten.
func (k Key) Write(dir string, created time.Time) (string, error) {
	base := filepath.Join(dir, k.Base())
	kind := "zone-signing"
	if k.SEP() {
		kind = "key-signing"
	}
	stamp := created.UTC().Format("20060102150405")
	public := fmt.Sprintf("; This is a %s key, keyid %d, for %s\n; Created: %s\n%s\n", kind, k.Tag(), k.Zone(), stamp, k.DNSKEY)
	private := k.DNSKEY.PrivateKeyString(k.Signer) + "Created: " + stamp + "\nPublish: " + stamp + "\nActivate: " + stamp + "\n"
	for _, f := range []struct {
		path, text string
		mode       os.FileMode
	}{{base + ".private", private, 0o600}, {base + ".key", public, 0o644}} {
		w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			return "", fmt.Errorf("writing key %s: %w", f.path, err)
		}
		_, err = w.WriteString(f.text)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("writing key %s: %w", f.path, err)
		}
	}
	return base, nil
}

// Load reads a key from its two files, named by either file or by their
// common path without extension.
func Load(path string) (Key, error) {
	base := keyBase(path)
	public, err := LoadPublic(base)
	if err != nil {
		return Key{}, err
	}
	f, err := os.Open(base + ".private")
	if err != nil {
		return Key{}, fmt.Errorf("reading key %s: %w", base, err)
	}
	defer f.Close()
	priv, err := public.ReadPrivateKey(f, base+".private")
	if err != nil {
		return Key{}, fmt.Errorf("key %s.private: %w", base, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("key %s.private: not a signing key", base)
	}
	return Key{DNSKEY: public, Signer: signer}, nil
}

// keyBase is the path without extension of a key named by either file or
// by that path.
func keyBase(path string) string {
	return strings.TrimSuffix(strings.TrimSuffix(path, ".key"), ".private")
}

// LoadPublic reads the DNSKEY of a key's .key file (comment lines and all,
// as BIND writes it); path names it as Load's does.
func LoadPublic(path string) (*dns.DNSKEY, error) {
	path = keyBase(path) + ".key"
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", path, err)
	}
	defer f.Close()
	zp := dns.NewZoneParser(f, "", path)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if k, isKey := rr.(*dns.DNSKEY); isKey {
			if _, known := Algorithms[k.Algorithm]; !known {
				return nil, fmt.Errorf("key %s: algorithm %d: the server signs with 13 (ECDSAP256SHA256) or 15 (ED25519)", path, k.Algorithm)
			}
			if k.Flags&dns.ZONE == 0 || k.Protocol != 3 {
				return nil, fmt.Errorf("key %s: not a zone key (flags %d, protocol %d)", path, k.Flags, k.Protocol)
			}
			return k, nil
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return nil, errors.New("key " + path + ": no DNSKEY record")
}
