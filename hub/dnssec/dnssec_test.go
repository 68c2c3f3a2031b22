// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnssec_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/dnssec"
	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

const zone = "auth.example.org."

func txtSet(owner string, values ...string) []dns.RR {
	var set []dns.RR
	for _, v := range values {
		set = append(set, &dns.TXT{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{v}})
	}
	return set
}

// TestKeyFiles: a generated key written in BIND's format reads back the
// same, for both algorithms and both roles; files are not overwritten and
// the private one is its owner's only.
func TestKeyFiles(t *testing.T) {
	for _, tc := range []struct {
		alg   uint8
		sep   bool
		flags uint16
	}{{dns.ECDSAP256SHA256, true, 257}, {dns.ED25519, false, 256}} {
		dir := t.TempDir()
		k, err := dnssec.Generate("Auth.Example.org", tc.alg, tc.sep)
		if err != nil {
			t.Fatal(err)
		}
		base, err := k.Write(dir, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "Kauth.example.org.+0"+map[uint8]string{13: "13", 15: "15"}[tc.alg]+"+"); !strings.HasPrefix(base, want) {
			t.Errorf("key files %s, want %s<tag>", base, want)
		}
		if fi, err := os.Stat(base + ".private"); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("private key file: %v %v", fi.Mode(), err)
		}
		for _, name := range []string{base, base + ".key", base + ".private"} {
			back, err := dnssec.Load(name)
			if err != nil {
				t.Fatalf("Load(%s): %v", name, err)
			}
			if back.DNSKEY.String() != k.DNSKEY.String() || back.DNSKEY.Flags != tc.flags || back.Tag() != k.Tag() {
				t.Errorf("Load(%s) = %s, want %s", name, back.DNSKEY, k.DNSKEY)
			}
			// The private half read back signs what the public half verifies.
			sig := sign(t, back, txtSet(zone, "v"))
			if err := sig.Verify(k.DNSKEY, txtSet(zone, "v")); err != nil {
				t.Errorf("a signature of the key read back: %v", err)
			}
		}
		if _, err := k.Write(dir, time.Now()); err == nil {
			t.Error("a key written over its own files")
		}
	}
	if _, err := dnssec.Generate(zone, dns.RSASHA256, true); err == nil || !strings.Contains(err.Error(), "want 13") {
		t.Errorf("RSA: %v", err)
	}
}

func sign(t *testing.T, k dnssec.Key, set []dns.RR) *dns.RRSIG {
	t.Helper()
	s, err := dnssec.NewSigner(k.Zone(), []dnssec.Key{k}, dnssec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := s.Sign(set)
	if err != nil || len(sigs) != 1 {
		t.Fatalf("Sign: %v %v", sigs, err)
	}
	return sigs[0].(*dns.RRSIG)
}

// TestBINDKeys: keys made by BIND's dnssec-keygen load, and the DS the
// server prints for one is the DS dnssec-dsfromkey prints.
func TestBINDKeys(t *testing.T) {
	keygen, dsfromkey := testdeps.Program(t, "dnssec-keygen"), testdeps.Program(t, "dnssec-dsfromkey")
	dir := t.TempDir()
	for _, args := range [][]string{{"-a", "ECDSAP256SHA256", "-f", "KSK"}, {"-a", "ED25519"}} {
		cmd := exec.Command(keygen, append(append([]string{"-K", dir, "-q"}, args...), zone)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dnssec-keygen %v: %v", args, err)
		}
		base := filepath.Join(dir, strings.TrimSpace(string(out)))
		k, err := dnssec.Load(base)
		if err != nil {
			t.Fatalf("a key of dnssec-keygen: %v", err)
		}
		if k.DNSKEY.Hdr.Ttl != 3600 {
			t.Errorf("a key of dnssec-keygen (no TTL) served with TTL %d, want 3600", k.DNSKEY.Hdr.Ttl)
		}
		if k.SEP() {
			bind, err := exec.Command(dsfromkey, "-2", base+".key").Output()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := dns.NewRR(string(bind))
			got := k.DS()
			if want != nil {
				got.Hdr.Ttl = want.Header().Ttl // the key file has none
			}
			if want == nil || got.String() != want.String() {
				t.Errorf("DS %s, dnssec-dsfromkey says %s", got, want)
			}
		}
		sig := sign(t, k, txtSet(zone, "v"))
		if err := sig.Verify(k.DNSKEY, txtSet(zone, "v")); err != nil {
			t.Errorf("a signature with %s: %v", base, err)
		}
	}
}

// TestSigner: the DNSKEY set is signed by the KSK, everything else by the
// ZSK; signatures hold from skew before now to validity after it, are
// made once and served from the cache whatever the owner's case and the
// records' order, and made again once less than refresh remains.
func TestSigner(t *testing.T) {
	ksk, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, true)
	zsk, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, false)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s, err := dnssec.NewSigner(zone, []dnssec.Key{ksk, zsk}, dnssec.Options{
		Validity: 10 * 24 * time.Hour, Refresh: 3 * 24 * time.Hour, Skew: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	owner := "_acme-challenge." + zone
	set := txtSet(owner, "one", "two")
	sigs, err := s.Sign(set)
	if err != nil || len(sigs) != 1 {
		t.Fatalf("Sign: %v %v", sigs, err)
	}
	sig := sigs[0].(*dns.RRSIG)
	if sig.KeyTag != zsk.Tag() || sig.SignerName != zone || sig.Hdr.Name != owner || sig.OrigTtl != 1 || sig.Hdr.Ttl != 1 {
		t.Errorf("TXT signed as %s, want by the ZSK %d", sig, zsk.Tag())
	}
	if err := sig.Verify(zsk.DNSKEY, set); err != nil {
		t.Error(err)
	}
	if got, want := time.Unix(int64(sig.Inception), 0).UTC(), now.Add(-time.Hour); !got.Equal(want) {
		t.Errorf("inception %s, want %s", got, want)
	}
	if got, want := time.Unix(int64(sig.Expiration), 0).UTC(), now.Add(10*24*time.Hour); !got.Equal(want) {
		t.Errorf("expiration %s, want %s", got, want)
	}
	keySigs, _ := s.Sign(s.DNSKEY())
	if len(keySigs) != 1 || keySigs[0].(*dns.RRSIG).KeyTag != ksk.Tag() || keySigs[0].(*dns.RRSIG).Verify(ksk.DNSKEY, s.DNSKEY()) != nil {
		t.Errorf("DNSKEY signed as %v, want by the KSK %d", keySigs, ksk.Tag())
	}

	// ECDSA signatures differ each time they are made: the same one back
	// means it came from the cache.
	upper := txtSet(strings.ToUpper(owner), "two", "one")
	again, _ := s.Sign(upper)
	if again[0].(*dns.RRSIG).Signature != sig.Signature || again[0].Header().Name != strings.ToUpper(owner) {
		t.Errorf("asked again in capitals, in another order: %s, want the cached signature named as asked", again[0])
	}
	if err := again[0].(*dns.RRSIG).Verify(zsk.DNSKEY, upper); err != nil {
		t.Errorf("the cached signature for the name in capitals: %v", err)
	}
	now = now.Add(6 * 24 * time.Hour)
	if kept, _ := s.Sign(set); kept[0].(*dns.RRSIG).Signature != sig.Signature {
		t.Error("made again with 4 of 10 days left, more than refresh")
	}
	now = now.Add(2 * 24 * time.Hour)
	fresh, _ := s.Sign(set)
	if f := fresh[0].(*dns.RRSIG); f.Signature == sig.Signature || time.Unix(int64(f.Expiration), 0).Before(now.Add(9*24*time.Hour)) {
		t.Errorf("with 2 days left, the signature is %s, want a new one", f)
	}
	if other, _ := s.Sign(txtSet(owner, "one", "three")); other[0].(*dns.RRSIG).Signature == fresh[0].(*dns.RRSIG).Signature {
		t.Error("another value served with the signature of the old set")
	}
}

// TestSignerRefuses: keys of another zone, no key, refresh not below
// validity.
func TestSignerRefuses(t *testing.T) {
	other, _ := dnssec.Generate("example.net", dns.ECDSAP256SHA256, true)
	mine, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, true)
	for _, tc := range []struct {
		keys []dnssec.Key
		o    dnssec.Options
		want string
	}{
		{[]dnssec.Key{other}, dnssec.Options{}, "is for example.net., not auth.example.org."},
		{nil, dnssec.Options{}, "has no key"},
		{[]dnssec.Key{mine}, dnssec.Options{Validity: time.Hour, Refresh: time.Hour}, "must be shorter than validity"},
	} {
		if _, err := dnssec.NewSigner(zone, tc.keys, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSigner: %v, want %q", err, tc.want)
		}
	}
}

// tagsOf are the key tags of RRSIGs or DNSKEYs.
func tagsOf(rrs []dns.RR) []uint16 {
	var tags []uint16
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.RRSIG:
			tags = append(tags, r.KeyTag)
		case *dns.DNSKEY:
			tags = append(tags, r.KeyTag())
		}
	}
	slices.Sort(tags)
	return tags
}

func sortedTags(keys ...dnssec.Key) []uint16 {
	var tags []uint16
	for _, k := range keys {
		tags = append(tags, k.Tag())
	}
	slices.Sort(tags)
	return tags
}

// TestRollovers: the signer follows its keys' times. A ZSK pre-published
// is in the DNSKEY set before it signs, takes over at its activation while
// the old one stays published until its deletion; two KSKs (a double-DS
// rollover) both sign the DNSKEY set.
func TestRollovers(t *testing.T) {
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	now := start
	day := 24 * time.Hour
	ksk, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, true)
	oldZSK, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, false)
	newZSK, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, false)
	oldZSK.Inactive, oldZSK.Delete = start.Add(2*day), start.Add(4*day)
	newZSK.Publish, newZSK.Activate = start, start.Add(2*day)
	s, err := dnssec.NewSigner(zone, []dnssec.Key{ksk, oldZSK, newZSK}, dnssec.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	set := txtSet("_acme-challenge."+zone, "v")
	for _, step := range []struct {
		at          time.Duration
		dnskey, txt []uint16
	}{
		{0, sortedTags(ksk, oldZSK, newZSK), sortedTags(oldZSK)},
		{2 * day, sortedTags(ksk, oldZSK, newZSK), sortedTags(newZSK)},
		{4 * day, sortedTags(ksk, newZSK), sortedTags(newZSK)},
	} {
		now = start.Add(step.at)
		sigs, err := s.Sign(set)
		if err != nil {
			t.Fatal(err)
		}
		if got := tagsOf(s.DNSKEY()); !slices.Equal(got, step.dnskey) {
			t.Errorf("day %d: DNSKEY set %v, want %v", step.at/day, got, step.dnskey)
		}
		if got := tagsOf(sigs); !slices.Equal(got, step.txt) {
			t.Errorf("day %d: TXT signed by %v, want %v", step.at/day, got, step.txt)
		}
		keySigs, _ := s.Sign(s.DNSKEY())
		if got := tagsOf(keySigs); !slices.Equal(got, sortedTags(ksk)) {
			t.Errorf("day %d: DNSKEY signed by %v, want the KSK", step.at/day, got)
		}
	}

	newKSK, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, true)
	both, _ := dnssec.NewSigner(zone, []dnssec.Key{ksk, newKSK, newZSK}, dnssec.Options{})
	keySigs, _ := both.Sign(both.DNSKEY())
	if got := tagsOf(keySigs); !slices.Equal(got, sortedTags(ksk, newKSK)) {
		t.Errorf("during a KSK rollover the DNSKEY set is signed by %v, want both KSKs", got)
	}
	for _, sig := range keySigs {
		k := map[uint16]dnssec.Key{ksk.Tag(): ksk, newKSK.Tag(): newKSK}[sig.(*dns.RRSIG).KeyTag]
		if err := sig.(*dns.RRSIG).Verify(k.DNSKEY, both.DNSKEY()); err != nil {
			t.Error(err)
		}
	}
}

// TestKeyTimesFromBIND: the times dnssec-settime writes are the key's;
// a .private file of another key is refused.
func TestKeyTimesFromBIND(t *testing.T) {
	keygen, settime := testdeps.Program(t, "dnssec-keygen"), testdeps.Program(t, "dnssec-settime")
	dir := t.TempDir()
	out, err := exec.Command(keygen, "-K", dir, "-q", "-a", "ECDSAP256SHA256", zone).Output()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, strings.TrimSpace(string(out)))
	if out, err := exec.Command(settime, "-K", dir, "-A", "20270101000000", "-I", "20270201000000", "-D", "20270301000000", base).CombinedOutput(); err != nil {
		t.Fatalf("dnssec-settime: %v\n%s", err, out)
	}
	k, err := dnssec.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ got, want time.Time }{
		"activate": {k.Activate, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		"inactive": {k.Inactive, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)},
		"delete":   {k.Delete, time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if !tc.got.Equal(tc.want) {
			t.Errorf("%s %s, want %s", name, tc.got, tc.want)
		}
	}
	if !k.Published(time.Now()) || k.Active(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) || !k.Active(time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)) {
		t.Error("the key's times are not followed")
	}

	other, _ := dnssec.Generate(zone, dns.ECDSAP256SHA256, false)
	otherBase, _ := other.Write(t.TempDir(), time.Now())
	private, _ := os.ReadFile(otherBase + ".private")
	os.WriteFile(base+".private", private, 0o600)
	if _, err := dnssec.Load(base); err == nil || !strings.Contains(err.Error(), "not the private half") {
		t.Errorf("a .private file of another key: %v", err)
	}
}

// BenchmarkSign: signing one account's TXT set anew (never from the
// cache: each round a set of its own), for each algorithm. What a change
// of value costs, and what signing every account at once would.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []uint8{dns.ECDSAP256SHA256, dns.ED25519} {
		b.Run(dnssec.Algorithms[alg], func(b *testing.B) {
			k, err := dnssec.Generate(zone, alg, true)
			if err != nil {
				b.Fatal(err)
			}
			s, err := dnssec.NewSigner(zone, []dnssec.Key{k}, dnssec.Options{})
			if err != nil {
				b.Fatal(err)
			}
			owner := "_acme-challenge." + zone
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := s.Sign(txtSet(owner, strconv.Itoa(i))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
