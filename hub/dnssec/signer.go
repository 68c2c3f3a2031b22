// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnssec

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Options say how long signatures hold. Zero values take the defaults.
type Options struct {
	// Validity is how long a signature holds from when it is made
	// (default 14 days).
	Validity time.Duration
	// Refresh: a signature is made again once less than this remains of it
	// (default 4 days, so a resolver never caches one past its expiry).
	Refresh time.Duration
	// Skew dates a signature's inception back, for validators whose clock
	// is behind (default 1 hour).
	Skew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultValidity = 14 * 24 * time.Hour
	DefaultRefresh  = 4 * 24 * time.Hour
	DefaultSkew     = time.Hour
)

func (o Options) withDefaults() Options {
	if o.Validity == 0 {
		o.Validity = DefaultValidity
	}
	if o.Refresh == 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Skew == 0 {
		o.Skew = DefaultSkew
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// cacheSize bounds each of the cache's two generations.
const cacheSize = 1 << 16

// Signer signs a zone's RRsets with its active keys: the DNSKEY set with
// the keys that have the SEP flag, everything else with the others (when
// one role has no active key, the other's sign for it: a CSK signs all).
// The DNSKEY set holds the published keys. Keys follow their timing, so a
// rollover needs no restart. Signatures are kept until they near their
// expiry, so an RRset asked again is not signed again.
type Signer struct {
	zone string
	keys []Key
	o    Options

	mu       sync.Mutex
	cur, old map[string]signed // two generations: a full one ages out whole
}

type signed struct {
	sigs      []*dns.RRSIG // owner lower case
	refreshAt time.Time
}

// NewSigner signs zone with keys (each of them zone's).
func NewSigner(zone string, keys []Key, o Options) (*Signer, error) {
	o = o.withDefaults()
	if o.Refresh >= o.Validity {
		return nil, fmt.Errorf("dnssec: refresh %s must be shorter than validity %s", o.Refresh, o.Validity)
	}
	zone = dns.CanonicalName(zone)
	if len(keys) == 0 {
		return nil, fmt.Errorf("dnssec: zone %s has no key", zone)
	}
	for _, k := range keys {
		if k.Zone() != zone {
			return nil, fmt.Errorf("dnssec: key %s is for %s, not %s", k.Base(), k.Zone(), zone)
		}
	}
	return &Signer{zone: zone, keys: keys, o: o, cur: map[string]signed{}, old: map[string]signed{}}, nil
}

// For is a signer of another zone with the same keys, options and times:
// one key set for every name delegated to the server. Its DNSKEY set and
// signatures are that zone's; the parent's DS for it is Key.DSFor(zone).
func (s *Signer) For(zone string) *Signer {
	return &Signer{zone: dns.CanonicalName(zone), keys: s.keys, o: s.o, cur: map[string]signed{}, old: map[string]signed{}}
}

// Now is the signer's clock.
func (s *Signer) Now() time.Time { return s.o.Now() }

// Zone is the zone signed, lower case and fully qualified.
func (s *Signer) Zone() string { return s.zone }

// DNSKEY is the zone's DNSKEY RRset now: its published keys.
func (s *Signer) DNSKEY() []dns.RR {
	now := s.o.Now()
	var set []dns.RR
	for _, k := range s.keys {
		if k.Published(now) {
			rr := *k.DNSKEY
			rr.Hdr.Name = s.zone
			set = append(set, &rr)
		}
	}
	return set
}

// Until is when sigs, as Sign returned them now, must no longer be
// served: when less than refresh remains of the first to expire, or when
// a key's times next change which keys sign (Sign then makes new ones).
func (s *Signer) Until(sigs []dns.RR) time.Time {
	now := s.o.Now()
	var until time.Time
	earlier := func(t time.Time) {
		if t.After(now) && (until.IsZero() || t.Before(until)) {
			until = t
		}
	}
	for _, rr := range sigs {
		if sig, ok := rr.(*dns.RRSIG); ok {
			earlier(time.Unix(int64(sig.Expiration), 0).Add(-s.o.Refresh))
		}
	}
	for _, k := range s.keys {
		for _, t := range []time.Time{k.Publish, k.Activate, k.Inactive, k.Delete} {
			earlier(t)
		}
	}
	if until.IsZero() {
		return now
	}
	return until
}

// signers are the keys that sign an RRset of rtype at t.
func (s *Signer) signers(rtype uint16, t time.Time) []Key {
	var mine, others []Key
	for _, k := range s.keys {
		switch {
		case !k.Active(t):
		case k.SEP() == (rtype == dns.TypeDNSKEY):
			mine = append(mine, k)
		default:
			others = append(others, k)
		}
	}
	if len(mine) == 0 {
		return others
	}
	return mine
}

// Sign returns the RRSIGs of rrset (records of one name, type and class),
// named as rrset is: from the cache while they hold long enough, made now
// otherwise.
func (s *Signer) Sign(rrset []dns.RR) ([]dns.RR, error) {
	if len(rrset) == 0 {
		return nil, nil
	}
	now := s.o.Now()
	keys := s.signers(rrset[0].Header().Rrtype, now)
	if len(keys) == 0 {
		return nil, fmt.Errorf("dnssec: no key of %s is active", s.zone)
	}
	key := cacheKey(rrset, keys)
	s.mu.Lock()
	e, ok := s.cur[key]
	if !ok {
		if e, ok = s.old[key]; ok {
			s.put(key, e)
		}
	}
	s.mu.Unlock()
	if !ok || !now.Before(e.refreshAt) {
		var err error
		if e, err = s.sign(rrset, keys, now); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.put(key, e)
		s.mu.Unlock()
	}
	owner := rrset[0].Header().Name
	out := make([]dns.RR, len(e.sigs))
	for i, sig := range e.sigs {
		c := *sig
		c.Hdr.Name = owner
		out[i] = &c
	}
	return out, nil
}

// put adds an entry to the current generation; a full one becomes the old.
func (s *Signer) put(key string, e signed) {
	if len(s.cur) >= cacheSize {
		s.old, s.cur = s.cur, make(map[string]signed, cacheSize)
	}
	s.cur[key] = e
}

// sign makes rrset's signatures, one per key.
func (s *Signer) sign(rrset []dns.RR, keys []Key, now time.Time) (signed, error) {
	canonical := make([]dns.RR, len(rrset))
	for i, rr := range rrset {
		canonical[i] = dns.Copy(rr)
		canonical[i].Header().Name = dns.CanonicalName(rr.Header().Name)
	}
	e := signed{refreshAt: now.Add(s.o.Validity - s.o.Refresh)}
	for _, k := range keys {
		sig := &dns.RRSIG{
			Hdr:        dns.RR_Header{Ttl: rrset[0].Header().Ttl},
			Algorithm:  k.DNSKEY.Algorithm,
			KeyTag:     k.Tag(),
			SignerName: s.zone,
			Inception:  uint32(now.Add(-s.o.Skew).Unix()),
			Expiration: uint32(now.Add(s.o.Validity).Unix()),
		}
		if err := sig.Sign(k.Signer, canonical); err != nil {
			return signed{}, fmt.Errorf("dnssec: signing %s %s with key %d: %w", canonical[0].Header().Name, dns.TypeToString[canonical[0].Header().Rrtype], k.Tag(), err)
		}
		sig.Hdr.Ttl = rrset[0].Header().Ttl
		e.sigs = append(e.sigs, sig)
	}
	return e, nil
}

// cacheKey names an RRset, whatever its owner's case and its records'
// order, signed by keys.
func cacheKey(rrset []dns.RR, keys []Key) string {
	h := rrset[0].Header()
	rdata := make([]string, len(rrset))
	for i, rr := range rrset {
		rdata[i] = strings.TrimPrefix(rr.String(), rr.Header().String())
	}
	slices.Sort(rdata)
	tags := make([]uint16, len(keys))
	for i, k := range keys {
		tags[i] = k.Tag()
	}
	return fmt.Sprintf("%s %d %d %d %v\n%s", dns.CanonicalName(h.Name), h.Class, h.Rrtype, h.Ttl, tags, strings.Join(rdata, "\n"))
}
