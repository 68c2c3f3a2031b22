// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnssec holds a zone's DNSSEC keys and signs its records: keys
// kept in BIND's key files (K<zone>+<algorithm>+<tag>.key and .private,
// which dnssec-keygen writes and BIND, Knot and ldns read), the DS record
// a parent zone publishes for a key, and RRSIGs made with their inception
// in the past, cached until they near their expiry.
package dnssec

import (
	"bytes"
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

// Key is a DNSKEY with its private key and its timing, as BIND's
// .private file keeps it (dnssec-settime changes it): published in the
// DNSKEY set from Publish until Delete, signing from Activate until
// Inactive. A zero time is no bound.
type Key struct {
	DNSKEY                              *dns.DNSKEY
	Signer                              crypto.Signer
	Publish, Activate, Inactive, Delete time.Time
}

// Published reports whether the key is in the DNSKEY set at t.
func (k Key) Published(t time.Time) bool {
	return (k.Publish.IsZero() || !t.Before(k.Publish)) && (k.Delete.IsZero() || t.Before(k.Delete))
}

// Active reports whether the key signs at t.
func (k Key) Active(t time.Time) bool {
	return k.Published(t) && (k.Activate.IsZero() || !t.Before(k.Activate)) && (k.Inactive.IsZero() || t.Before(k.Inactive))
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
func (k Key) DS() *dns.DS { return k.DSFor(k.Zone()) }

// DSFor is the DS record for the key serving zone, another zone than its
// own (see Signer.For): the digest covers the owner's name.
func (k Key) DSFor(zone string) *dns.DS {
	key := *k.DNSKEY
	key.Hdr.Name = dns.CanonicalName(zone)
	ds := key.ToDS(dns.SHA256)
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
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: dns.CanonicalName(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: defaultTTL},
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

// defaultTTL is the TTL of a DNSKEY whose file gives none.
const defaultTTL = 3600

// timeFormat is how BIND writes a key's times.
const timeFormat = "20060102150405"

// Write writes the key's two files into dir, the private one readable by
// its owner only, and returns their path without extension. Files already
// there are not overwritten.
func (k Key) Write(dir string, created time.Time) (string, error) {
	base := filepath.Join(dir, k.Base())
	kind := "zone-signing"
	if k.SEP() {
		kind = "key-signing"
	}
	public := fmt.Sprintf("; This is a %s key, keyid %d, for %s\n; Created: %s\n%s\n", kind, k.Tag(), k.Zone(), created.UTC().Format(timeFormat), k.DNSKEY)
	private := k.DNSKEY.PrivateKeyString(k.Signer) + "Created: " + created.UTC().Format(timeFormat) + "\n"
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"Publish", k.Publish}, {"Activate", k.Activate}, {"Inactive", k.Inactive}, {"Delete", k.Delete}} {
		if !t.at.IsZero() {
			private += t.name + ": " + t.at.UTC().Format(timeFormat) + "\n"
		}
	}
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
	base, public, private, err := ReadFiles(path)
	if err != nil {
		return Key{}, err
	}
	return Parse(base, public, private)
}

// ReadFiles reads a key's two files, named by either file or by their
// common path without extension, and returns that path and their texts.
func ReadFiles(path string) (base string, public, private []byte, err error) {
	base = keyBase(path)
	if public, err = os.ReadFile(base + ".key"); err != nil {
		return base, nil, nil, fmt.Errorf("reading key %s: %w", base, err)
	}
	if private, err = os.ReadFile(base + ".private"); err != nil {
		return base, nil, nil, fmt.Errorf("reading key %s: %w", base, err)
	}
	return base, public, private, nil
}

// Parse reads a key from the texts of its two files; name names it in
// errors.
func Parse(name string, public, private []byte) (Key, error) {
	dnskey, err := ParsePublic(name, public)
	if err != nil {
		return Key{}, err
	}
	priv, err := dnskey.ReadPrivateKey(bytes.NewReader(private), name+".private")
	if err != nil {
		return Key{}, fmt.Errorf("key %s.private: %w", name, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("key %s.private: not a signing key", name)
	}
	k := Key{DNSKEY: dnskey, Signer: signer}
	if err := k.check(); err != nil {
		return Key{}, fmt.Errorf("key %s: %w", name, err)
	}
	for _, line := range strings.Split(string(private), "\n") {
		field, value, _ := strings.Cut(line, ":")
		at := map[string]*time.Time{"Publish": &k.Publish, "Activate": &k.Activate, "Inactive": &k.Inactive, "Delete": &k.Delete}[field]
		if at == nil {
			continue
		}
		if *at, err = time.Parse(timeFormat, strings.TrimSpace(value)); err != nil {
			return Key{}, fmt.Errorf("key %s.private: %s: %w", name, field, err)
		}
	}
	return k, nil
}

// check proves that the private key is the DNSKEY's other half: a
// signature it makes verifies.
func (k Key) check() error {
	probe := []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: k.Zone(), Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"probe"}}}
	sig := &dns.RRSIG{Algorithm: k.DNSKEY.Algorithm, KeyTag: k.Tag(), SignerName: k.Zone()}
	if err := sig.Sign(k.Signer, probe); err != nil {
		return err
	}
	if err := sig.Verify(k.DNSKEY, probe); err != nil {
		return errors.New("the .private file is not the private half of the .key file")
	}
	return nil
}

// keyBase is the path without extension of a key named by either file or
// by that path.
func keyBase(path string) string {
	return strings.TrimSuffix(strings.TrimSuffix(path, ".key"), ".private")
}

// LoadPublic reads the DNSKEY of a key's .key file (comment lines and all,
// as BIND writes it); path names it as Load's does.
func LoadPublic(path string) (*dns.DNSKEY, error) {
	base := keyBase(path)
	text, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", base+".key", err)
	}
	return ParsePublic(base, text)
}

// ParsePublic reads the DNSKEY of a .key file's text; name names it in
// errors.
func ParsePublic(name string, text []byte) (*dns.DNSKEY, error) {
	name += ".key"
	zp := dns.NewZoneParser(bytes.NewReader(text), "", name)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if k, isKey := rr.(*dns.DNSKEY); isKey {
			if _, known := Algorithms[k.Algorithm]; !known {
				return nil, fmt.Errorf("key %s: algorithm %d: the server signs with 13 (ECDSAP256SHA256) or 15 (ED25519)", name, k.Algorithm)
			}
			if k.Flags&dns.ZONE == 0 || k.Protocol != 3 {
				return nil, fmt.Errorf("key %s: not a zone key (flags %d, protocol %d)", name, k.Flags, k.Protocol)
			}
			if k.Hdr.Ttl == 0 { // dnssec-keygen writes none: the zone's default, as BIND's $TTL
				k.Hdr.Ttl = defaultTTL
			}
			return k, nil
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	return nil, errors.New("key " + name + ": no DNSKEY record")
}
