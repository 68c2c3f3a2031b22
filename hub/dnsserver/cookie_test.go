// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"
)

// TestServerCookieRFC9018 makes the server cookies of RFC 9018's
// appendix A (A.1, A.2): a server of another make with the same secret
// accepts ours, and we its.
func TestServerCookieRFC9018(t *testing.T) {
	for _, tc := range []struct {
		name, secret, client, addr string
		stamp                      int64
		want                       string
	}{
		{"A.1 a new server cookie", "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559731985,
			"2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
		{"A.2 the same client, renewed", "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559734385,
			"2464c4abcf10c957010000005cf7a871d4a564a1442aca77"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var secret CookieSecret
			hex.Decode(secret[:], []byte(tc.secret))
			data, _ := hex.DecodeString(tc.client)
			addr := netip.MustParseAddr(tc.addr)
			now := time.Unix(tc.stamp, 0)
			c, err := secret.readCookie(data, addr, now)
			if err != nil {
				t.Fatal(err)
			}
			got := hex.EncodeToString(secret.reply(c, addr, now))
			if got != tc.want {
				t.Fatalf("cookie %s, RFC 9018 says %s", got, tc.want)
			}
			back, _ := hex.DecodeString(got)
			if c, _ := secret.readCookie(back, addr, now.Add(10*time.Minute)); !c.valid {
				t.Errorf("the cookie made is not valid ten minutes later")
			}
		})
	}
}

// TestCookieValidity: which server cookies a query may return.
func TestCookieValidity(t *testing.T) {
	var secret, other CookieSecret
	secret[0], other[0] = 1, 2
	addr, elsewhere := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := time.Unix(1_800_000_000, 0)
	client := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	made := func(s CookieSecret, at time.Time, a netip.Addr) []byte {
		c := s.serverCookie(client, uint32(at.Unix()), a)
		return append(client[:], c[:]...)
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		valid bool
		err   bool
	}{
		{"a client cookie alone", client[:], false, false},
		{"ours, just made", made(secret, now, addr), true, false},
		{"ours, 59 minutes old", made(secret, now.Add(-59*time.Minute), addr), true, false},
		{"ours, 61 minutes old", made(secret, now.Add(-61*time.Minute), addr), false, false},
		{"ours, 4 minutes ahead", made(secret, now.Add(4*time.Minute), addr), true, false},
		{"ours, 6 minutes ahead", made(secret, now.Add(6*time.Minute), addr), false, false},
		{"made for another address", made(secret, now, elsewhere), false, false},
		{"made with another secret", made(other, now, addr), false, false},
		{"a server cookie of 8 bytes", append(client[:], 1, 0, 0, 0, 0, 0, 0, 0), false, false},
		{"7 bytes", client[:7], false, true},
		{"12 bytes", append(client[:], 1, 2, 3, 4), false, true},
		{"41 bytes", make([]byte, 41), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := secret.readCookie(tc.data, addr, now)
			if (err != nil) != tc.err || c.valid != tc.valid {
				t.Errorf("valid %v, error %v; want valid %v, an error %v", c.valid, err, tc.valid, tc.err)
			}
		})
	}
}
