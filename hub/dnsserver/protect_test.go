// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// protectedServer serves the test zone, signed or not, with p.
func protectedServer(t *testing.T, signed bool, p Protection) (udp, tcp string) {
	t.Helper()
	src := &mapSource{m: map[string][]string{withValues: {valueB, valueA}, noValues: nil}}
	z := testZone
	if signed {
		sh, _ := signedHandler(t)
		z.Signer = sh.signer
	}
	h, err := NewHandler(z, src, NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Protect(p)
	srv := serve(t, []string{"udp", "tcp"}, h, TCPLimits{})
	return srv.Addrs()[0].String(), srv.Addrs()[1].String()
}

func withCookie(m *dns.Msg, cookie string) *dns.Msg {
	if m.IsEdns0() == nil {
		m.SetEdns0(1232, false)
	}
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cookie})
	return m
}

func cookieOf(r *dns.Msg) string {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if c, ok := o.(*dns.EDNS0_COOKIE); ok {
				return c.Cookie
			}
		}
	}
	return ""
}

func packedLen(t *testing.T, m *dns.Msg) int {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestMinimalANY: ANY is answered with one synthesized HINFO (RFC 8482)
// over UDP and TCP, or in full over TCP when configured; a name that does
// not exist is NXDOMAIN as ever.
func TestMinimalANY(t *testing.T) {
	udp, tcp := protectedServer(t, false, Protection{})
	_, fullTCP := protectedServer(t, false, Protection{FullANYOverTCP: true})
	for _, tc := range []struct {
		name, network, addr, qname string
		want                       []string
		rcode                      int
	}{
		{"UDP, the apex", "udp", udp, "auth.example.org.", []string{"auth.example.org.\t3600\tIN\tHINFO\t\"RFC8482\" \"\""}, dns.RcodeSuccess},
		{"TCP, the apex", "tcp", tcp, "auth.example.org.", []string{"auth.example.org.\t3600\tIN\tHINFO\t\"RFC8482\" \"\""}, dns.RcodeSuccess},
		{"UDP, an account", "udp", udp, withValues + ".auth.example.org.", []string{withValues + ".auth.example.org.\t1\tIN\tHINFO\t\"RFC8482\" \"\""}, dns.RcodeSuccess},
		{"UDP, no such name", "udp", udp, "nothing.auth.example.org.", nil, dns.RcodeNameError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, tc.network, tc.addr, question(tc.qname, dns.TypeANY))
			var got []string
			for _, rr := range r.Answer {
				got = append(got, rr.String())
			}
			if r.Rcode != tc.rcode || strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s %q, want %s %q", dns.RcodeToString[r.Rcode], got, dns.RcodeToString[tc.rcode], tc.want)
			}
		})
	}
	if r := exchange(t, "tcp", fullTCP, question("auth.example.org.", dns.TypeANY)); len(r.Answer) < 3 {
		t.Errorf("any_over_tcp full: %d records at the apex, want every one (SOA, NS, A)", len(r.Answer))
	}
}

// TestANYWithDOAmplifiesNothing: in a signed zone, ANY with DO over UDP
// is answered truncated, no larger than three times the question, unless
// the client returned a valid server cookie; over TCP with the signed
// HINFO.
func TestANYWithDOAmplifiesNothing(t *testing.T) {
	udp, tcp := protectedServer(t, true, Protection{CookieSecret: CookieSecret{1}})
	q := withDO(question("auth.example.org.", dns.TypeANY), 0)
	q.IsEdns0().SetUDPSize(4096)
	r := exchange(t, "udp", udp, q)
	if asked, got := packedLen(t, q), packedLen(t, r); !r.Truncated || len(r.Answer) != 0 || got > 3*asked {
		t.Errorf("over UDP: TC %v, %d records, %d bytes for a %d-byte question; want TC, none, at most 3 times", r.Truncated, len(r.Answer), got, asked)
	} else {
		t.Logf("ANY with DO over UDP: %d bytes for a %d-byte question", got, asked)
	}
	r = exchange(t, "tcp", tcp, q)
	if len(r.Answer) != 2 || r.Answer[0].Header().Rrtype != dns.TypeHINFO || r.Answer[1].Header().Rrtype != dns.TypeRRSIG {
		t.Errorf("over TCP: %v, want the HINFO and its RRSIG", r.Answer)
	}
	// A client with a valid cookie is no spoofed source.
	first := exchange(t, "udp", udp, withCookie(withDO(question("auth.example.org.", dns.TypeSOA), 0), "0102030405060708"))
	r = exchange(t, "udp", udp, withCookie(withDO(question("auth.example.org.", dns.TypeANY), 0), cookieOf(first)))
	if r.Truncated || len(r.Answer) != 2 {
		t.Errorf("over UDP with a valid cookie: TC %v, %v; want the HINFO and its RRSIG", r.Truncated, r.Answer)
	}
}

// TestCookies: a client cookie gets a server cookie back (RFC 7873); a
// malformed option is FORMERR.
func TestCookies(t *testing.T) {
	udp, tcp := protectedServer(t, false, Protection{CookieSecret: CookieSecret{1, 2, 3}})
	for _, network := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": udp, "tcp": tcp}[network]
		r := exchange(t, network, addr, withCookie(question(withValues+".auth.example.org.", dns.TypeTXT), "0102030405060708"))
		c := cookieOf(r)
		if len(c) != 48 || !strings.HasPrefix(c, "0102030405060708") || len(r.Answer) != 2 {
			t.Errorf("%s: cookie %q, %d answers; want the client cookie and a 16-byte server cookie, and the values", network, c, len(r.Answer))
		}
		if again := cookieOf(exchange(t, network, addr, withCookie(question("auth.example.org.", dns.TypeSOA), c))); again != c {
			t.Errorf("%s: a young valid cookie came back as %q, want it echoed", network, again)
		}
	}
	for _, bad := range []string{"01020304050607", "0102030405060708aabbccdd"} {
		if r := exchange(t, "udp", udp, withCookie(question("auth.example.org.", dns.TypeSOA), bad)); r.Rcode != dns.RcodeFormatError {
			t.Errorf("cookie %s: %s, want FORMERR", bad, dns.RcodeToString[r.Rcode])
		}
	}
}

// udpOutcomes asks q n times over UDP, once each, and counts the answers,
// the truncated ones and those never sent.
func udpOutcomes(t *testing.T, addr string, q func() *dns.Msg, n int) (answered, truncated, lost int, last *dns.Msg) {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 150 * time.Millisecond}
	for range n {
		r, _, err := c.Exchange(q(), addr)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			lost++
		case err != nil:
			t.Fatal(err)
		case r.Truncated:
			truncated++
			last = r
		default:
			answered++
			last = r
		}
	}
	return
}

// TestRateLimitOverTheWire: past its rate a client's answers over UDP
// are dropped but every second is sent truncated, on the fast path (an
// account's values) and the general one (NXDOMAIN); TCP is not limited;
// a valid cookie lifts the limit; a stale one gets BADCOOKIE and a fresh
// one instead.
func TestRateLimitOverTheWire(t *testing.T) {
	secret := CookieSecret{9}
	udp, tcp := protectedServer(t, false, Protection{CookieSecret: secret,
		RateLimit: RateLimit{ResponsesPerSecond: 5, ErrorsPerSecond: 5, Window: 10 * time.Second, Slip: 2}})
	values := func() *dns.Msg { return question(withValues+".auth.example.org.", dns.TypeTXT) }
	missing := func() *dns.Msg { return question("nothing.auth.example.org.", dns.TypeTXT) }
	for _, tc := range []struct {
		name string
		q    func() *dns.Msg
	}{{"the fast path", values}, {"NXDOMAIN", missing}} {
		t.Run(tc.name, func(t *testing.T) {
			answered, truncated, lost, _ := udpOutcomes(t, udp, tc.q, 15)
			if answered < 5 || answered > 6 || truncated < 4 || lost < 4 {
				t.Errorf("answered %d, truncated %d, lost %d of 15; want 5 (6 if a second passed), then half truncated, half dropped", answered, truncated, lost)
			}
			if r := exchange(t, "tcp", tcp, tc.q()); r.Truncated || r.Id == 0 {
				t.Error("over TCP the client was limited")
			}
		})
	}
	t.Run("a valid cookie lifts the limit", func(t *testing.T) {
		var c string
		for c == "" { // learn one; the truncated answers carry it too
			_, _, _, r := udpOutcomes(t, udp, func() *dns.Msg { return withCookie(values(), "1111111111111111") }, 1)
			if r != nil {
				c = cookieOf(r)
			}
		}
		answered, _, _, _ := udpOutcomes(t, udp, func() *dns.Msg { return withCookie(values(), c) }, 20)
		if answered != 20 {
			t.Errorf("%d of 20 answered with a valid cookie", answered)
		}
	})
	t.Run("a cookie from another secret: BADCOOKIE with a fresh one", func(t *testing.T) {
		other := CookieSecret{8}.serverCookie([8]byte{2, 2, 2, 2, 2, 2, 2, 2}, uint32(time.Now().Unix()), mustAddr("127.0.0.1"))
		stale := "0202020202020202" + hex.EncodeToString(other[:])
		_, _, _, r := udpOutcomes(t, udp, func() *dns.Msg { return withCookie(values(), stale) }, 1)
		if r == nil || r.Rcode != dns.RcodeBadCookie || cookieOf(r) == stale || !strings.HasPrefix(cookieOf(r), "0202020202020202") {
			t.Fatalf("answer %v, want BADCOOKIE with a fresh server cookie", r)
		}
		if answered, _, _, _ := udpOutcomes(t, udp, func() *dns.Msg { return withCookie(values(), cookieOf(r)) }, 5); answered != 5 {
			t.Errorf("with the fresh cookie %d of 5 answered", answered)
		}
	})
}

// TestQueryLog: one JSON line per question, with the client, the name as
// asked, the type, the rcode, the size, and whether it was limited.
func TestQueryLog(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "queries")
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := protectedServer(t, false, Protection{QueryLog: NewQueryLog(f, 1, nil),
		RateLimit: RateLimit{ResponsesPerSecond: 1, Window: time.Second, Slip: 1}})
	exchange(t, "udp", udp, question(strings.ToUpper(withValues)+".auth.example.org.", dns.TypeTXT))
	exchange(t, "udp", udp, question(withValues+".auth.example.org.", dns.TypeTXT)) // limited, slipped
	exchange(t, "tcp", tcp, question("nothing.auth.example.org.", dns.TypeA))
	time.Sleep(50 * time.Millisecond)
	text, _ := os.ReadFile(f.Name())
	type line struct {
		Time, Client, Name, Type, Rcode, Limited string
		Size                                     int
	}
	var got []line
	for l := range bytes.Lines(text) {
		var e line
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || e.Client != "127.0.0.1" || e.Size == 0 {
			t.Errorf("line %q: want a time, the client 127.0.0.1 and a size", l)
		}
		got = append(got, e)
	}
	// A line is written after its answer, by whichever worker answered:
	// the file's order is not the questions' order; their times are.
	slices.SortFunc(got, func(a, b line) int {
		ta, _ := time.Parse(time.RFC3339Nano, a.Time)
		tb, _ := time.Parse(time.RFC3339Nano, b.Time)
		return ta.Compare(tb)
	})
	if len(got) != 3 || got[0].Name != strings.ToUpper(withValues)+".auth.example.org." || got[0].Type != "TXT" || got[0].Limited != "" ||
		got[1].Limited != "slipped" || got[2].Rcode != "NXDOMAIN" || got[2].Type != "A" {
		t.Errorf("logged %+v", got)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
