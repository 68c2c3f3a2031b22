// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestOf: with a header, the client's address is the right-most one
// its trusted proxies did not write: addresses the client itself put in the
// header are never taken.
func TestOf(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	tests := []struct {
		name    string
		header  bool
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string // "" for unknown
	}{
		{"no header use: the peer", false, nil, "192.0.2.1:4000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"one proxy: its appended address", true, nil, "10.0.0.2:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"a spoofed entry to the left is ignored", true, nil, "10.0.0.2:4000", []string{"192.0.2.7, 203.0.113.9"}, "203.0.113.9"},
		{"header repeated: read in order", true, nil, "10.0.0.2:4000", []string{"192.0.2.7", "203.0.113.9"}, "203.0.113.9"},
		{"no header: the peer", true, nil, "10.0.0.2:4000", nil, "10.0.0.2"},
		{"garbage where the proxy writes: unknown", true, nil, "10.0.0.2:4000", []string{"203.0.113.9, nonsense"}, ""},
		{"trusted chain skipped", true, proxies, "10.0.0.2:4000", []string{"192.0.2.7, 203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"every entry trusted: the left-most", true, proxies, "10.0.0.2:4000", []string{"10.9.9.9, 10.1.1.1"}, "10.9.9.9"},
		{"peer not a trusted proxy: header ignored", true, proxies, "192.0.2.50:4000", []string{"203.0.113.9"}, "192.0.2.50"},
		{"v4-mapped peer", false, nil, "[::ffff:192.0.2.1]:4000", nil, "192.0.2.1"},
		{"v6 trusted proxy", true, proxies, "[2001:db8:1::5]:4000", []string{"2001:db8:2::9"}, "2001:db8:2::9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Resolver{Trusted: tt.trusted}
			if tt.header {
				c.Header = "X-Forwarded-For"
			}
			r := httptest.NewRequest("POST", "/update", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := c.Of(r)
			if tt.want == "" && got.IsValid() || tt.want != "" && got != netip.MustParseAddr(tt.want) {
				t.Errorf("Of = %v, want %q", got, tt.want)
			}
		})
	}
}
