// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"bytes"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// recorder is a dns.ResponseWriter that keeps the packed answer.
type recorder struct {
	remote net.Addr
	packed []byte
}

func (r *recorder) LocalAddr() net.Addr  { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (r *recorder) RemoteAddr() net.Addr { return r.remote }
func (r *recorder) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	r.packed = b
	return err
}
func (r *recorder) Write(b []byte) (int, error) { r.packed = b; return len(b), nil }
func (r *recorder) Close() error                { return nil }
func (r *recorder) TsigStatus() error           { return nil }
func (r *recorder) TsigTimersOnly(bool)         {}
func (r *recorder) Hijack()                     {}

// FuzzServeDNS feeds arbitrary messages to the handler, with the zone
// signed or not: it must never panic, and every answer must pack, carry the
// question's ID and fit the UDP limit.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []*dns.Msg{
		question(withValues+".auth.example.org.", dns.TypeTXT),
		question("AUTH.example.org.", dns.TypeANY),
		question("big.auth.example.org.", dns.TypeTXT),
		question("x.example.com.", dns.TypeA),
		question("under.auth.example.org.", dns.TypeCNAME),
		question("_acme-challenge.app.auth.example.org.", dns.TypeTXT),
		question("loop1.auth.example.org.", dns.TypeA),
		question("c0.auth.example.org.", dns.TypeANY),
		question(`x\.auth.example.org.`, dns.TypeTXT),
		question("nosuchaccount.auth.example.org.", dns.TypeTXT),
		question("auth.example.org.", dns.TypeDNSKEY),
		question(noValues+".auth.example.org.", dns.TypeAAAA),
	} {
		q.SetEdns0(4096, true)
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true, false)
		f.Add(b, true, true)
		for _, cookie := range []string{"0102030405060708", "0102030405060708" + "01000000" + "5cf79f11" + "1f8130c3eee29480", "01020304"} {
			b, err := withCookie(q.Copy(), cookie).Pack()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, true, true)
		}
	}
	src := &mapSource{m: map[string][]string{withValues: {valueA, `quote" back\slash`}, noValues: nil}}
	plain, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	signed, _ := signedHandler(f)
	// Every answer past a rate of one a second is sent truncated: every
	// question is answered, through the limit's every branch.
	for _, h := range []*Handler{plain, signed} {
		h.Protect(Protection{CookieSecret: CookieSecret{1},
			RateLimit: RateLimit{ResponsesPerSecond: 1, ErrorsPerSecond: 1, Window: time.Second, Slip: 1}})
	}
	f.Fuzz(func(t *testing.T, data []byte, udp, sign bool) {
		h := plain
		if sign {
			h = signed
		}
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return
		}
		w := &recorder{remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
		if udp {
			w.remote = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
		}
		h.ServeDNS(w, req)
		reply := new(dns.Msg)
		if err := reply.Unpack(w.packed); err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
		if reply.Id != req.Id || !reply.Response {
			t.Fatalf("answer id %d response %v for question id %d", reply.Id, reply.Response, req.Id)
		}
		if udp && len(w.packed) > maxUDPSize {
			t.Fatalf("UDP answer of %d bytes", len(w.packed))
		}
	})
}

// fastSeeds are packets the fast path answers, and neighbours it leaves to
// the general path.
func fastSeeds() []*dns.Msg {
	account := withValues + ".auth.example.org."
	var seeds []*dns.Msg
	for _, name := range []string{account, strings.ToUpper(account), "3CDC87F8-09d8-436c-8848-e0dbe65ffbf6.Auth.Example.Org.",
		noValues + ".auth.example.org.", "nosuch.auth.example.org.", "auth.example.org.", "c9.auth.example.org.", "x.example.com."} {
		plain := question(name, dns.TypeTXT)
		rd := question(name, dns.TypeTXT)
		rd.RecursionDesired, rd.CheckingDisabled = true, true
		edns := question(name, dns.TypeTXT)
		edns.SetEdns0(4096, false)
		small := question(name, dns.TypeTXT)
		small.SetEdns0(100, true)
		seeds = append(seeds, plain, rd, edns, small, question(name, dns.TypeA))
	}
	return seeds
}

// FuzzFastPath holds the fast path to the general one: for every packet it
// answers, the general path's answer is the same, byte for byte, with the
// zone signed or not.
func FuzzFastPath(f *testing.F) {
	for _, q := range fastSeeds() {
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	src := &mapSource{m: map[string][]string{withValues: {valueB, valueA, `quote" back\slash`}, noValues: nil}}
	plain, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	signed, _ := signedHandler(f)
	signed.src = src
	out, lowered := make([]byte, maxUDPSize), make([]byte, 0, 256)
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		h := plain
		if sign {
			h = signed
		}
		n, ok := h.fastAnswer(data, out, &lowered)
		if !ok {
			return
		}
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			t.Fatalf("the fast path answered a packet the general path cannot read: %v", err)
		}
		w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
		h.ServeDNS(w, req)
		if !bytes.Equal(out[:n], w.packed) {
			fast, general := new(dns.Msg), new(dns.Msg)
			fast.Unpack(out[:n])
			general.Unpack(w.packed)
			t.Fatalf("the fast path answers\n%v\nthe general path\n%v", fast, general)
		}
	})
}

// TestFastPathTakesTheTXTQuestions: the questions a CA asks (an account's
// TXT, in any case, with or without EDNS, with DO of a signed zone) are
// answered by the fast path; the others go to the general path.
func TestFastPathTakesTheTXTQuestions(t *testing.T) {
	src := &mapSource{m: map[string][]string{withValues: {valueA, valueB}, noValues: nil}}
	plain, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := signedHandler(t)
	out, lowered := make([]byte, maxUDPSize), make([]byte, 0, 256)
	for _, h := range []*Handler{plain, signed} {
		for i, q := range fastSeeds() {
			b, _ := q.Pack()
			name := strings.ToLower(q.Question[0].Name)
			want := name == withValues+".auth.example.org." && q.Question[0].Qtype == dns.TypeTXT
			n, ok := h.fastAnswer(b, out, &lowered)
			if ok != want {
				t.Errorf("signed %v, seed %d (%s %s, EDNS %v): fast path %v, want %v", h.signer != nil, i, q.Question[0].Name,
					dns.TypeToString[q.Question[0].Qtype], q.IsEdns0() != nil, ok, want)
			}
			r := new(dns.Msg)
			if ok && (r.Unpack(out[:n]) != nil || (h.signer != nil && q.IsEdns0() != nil && q.IsEdns0().Do()) != slices.ContainsFunc(r.Answer, func(rr dns.RR) bool {
				return rr.Header().Rrtype == dns.TypeRRSIG
			})) {
				t.Errorf("signed %v, seed %d: answer %v", h.signer != nil, i, r)
			}
		}
	}
}

// prejudgeSeeds are questions of floods and their neighbours: ANY with DO,
// names of the zone that exist or not (with CO), out of the zone,
// delegated.
func prejudgeSeeds() []*dns.Msg {
	var seeds []*dns.Msg
	for _, name := range []string{"auth.example.org.", "AUTH.example.org.", "r1f2e3-7.auth.example.org.", "a.b.auth.example.org.",
		withValues + ".auth.example.org.", noValues + ".auth.example.org.", "x.example.com.", "_acme-challenge.app.example.com.", "c9.auth.example.org."} {
		for _, qtype := range []uint16{dns.TypeANY, dns.TypeTXT, dns.TypeSOA, dns.TypeNS, dns.TypeA, dns.TypeDNSKEY, dns.TypeAXFR} {
			seeds = append(seeds, question(name, qtype))
			do := question(name, qtype)
			do.SetEdns0(4096, true)
			co := question(name, qtype)
			co.SetEdns0(1232, true)
			co.IsEdns0().Hdr.Ttl |= ednsCO
			seeds = append(seeds, do, co)
		}
	}
	return seeds
}

// generalSlip is the general path's answer over UDP to req, from a client
// without a cookie, and the class it is counted in; slipped, the answer
// as the rate limit makes it truncated.
func generalSlip(h *Handler, req *dns.Msg) (m *dns.Msg, class answerClass, slipped []byte, err error) {
	m = h.answerWith(req, false, true)
	class = classErrors
	if m.Rcode == dns.RcodeSuccess && (len(m.Answer) > 0 || m.Truncated) {
		class = classResponses
	}
	t := m.Copy()
	emptyTruncated(t)
	slipped, err = t.Pack()
	return m, class, slipped, err
}

// FuzzPrejudge holds the reader's judgement of a limited prefix to the
// general path: for every packet whose answer it classifies, the general
// path's answer has that class, rcode and AA flag, and its slipped answer
// is the same, byte for byte, with the zone signed or not.
func FuzzPrejudge(f *testing.F) {
	for _, q := range prejudgeSeeds() {
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	src := &mapSource{m: map[string][]string{withValues: {valueA}, noValues: nil}}
	plain, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	signed, _ := signedHandler(f)
	signed.src = src
	out, lowered := make([]byte, maxUDPSize), make([]byte, 0, 256)
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		h := plain
		if sign {
			h = signed
		}
		q, ok := h.readQuery(data, &lowered)
		if !ok {
			return
		}
		c, ok := h.classify(q, lowered)
		if !ok {
			return
		}
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			t.Fatalf("classified a packet the general path cannot read: %v", err)
		}
		m, class, want, err := generalSlip(h, req)
		if err != nil {
			t.Fatal(err)
		}
		if class != c.class || m.Rcode != c.rcode || m.Authoritative != c.authoritative {
			t.Fatalf("classified as %s, rcode %s, AA %v; the general path answers (%s)\n%v",
				classNames[c.class], dns.RcodeToString[c.rcode], c.authoritative, classNames[class], m)
		}
		if n := h.slipped(data, out, q, c); !bytes.Equal(out[:n], want) {
			got, general := new(dns.Msg), new(dns.Msg)
			got.Unpack(out[:n])
			general.Unpack(want)
			t.Fatalf("slipped by the reader\n%v\nby the general path\n%v", got, general)
		}
	})
}

// TestPrejudgeTakesTheFloods: the questions of the floods port 53 gets
// (ANY with DO, random names below the zone, names of other zones) are
// classified from the packet, so that a limited prefix's flood is judged
// before it is unpacked; questions whose answer needs the general path
// (an account's, a delegated zone's, the DNSKEY) are not.
func TestPrejudgeTakesTheFloods(t *testing.T) {
	signed, _ := signedHandler(t)
	lowered := make([]byte, 0, 256)
	for _, tc := range []struct {
		name  string
		qtype uint16
		want  bool
	}{
		{"auth.example.org.", dns.TypeANY, true},
		{"r1f2e3-7.auth.example.org.", dns.TypeTXT, true},
		{"a.b.auth.example.org.", dns.TypeA, true},
		{"x.example.com.", dns.TypeA, true},
		{"auth.example.org.", dns.TypeSOA, true},
		{withValues + ".auth.example.org.", dns.TypeA, false},
		{noValues + ".auth.example.org.", dns.TypeTXT, false},
		{"_acme-challenge.app.example.com.", dns.TypeTXT, false},
		{"auth.example.org.", dns.TypeDNSKEY, false},
	} {
		m := question(tc.name, tc.qtype)
		m.SetEdns0(4096, true)
		b, _ := m.Pack()
		q, ok := signed.readQuery(b, &lowered)
		if ok {
			_, ok = signed.classify(q, lowered)
		}
		if ok != tc.want {
			t.Errorf("%s %s: classified %v, want %v", tc.name, dns.TypeToString[tc.qtype], ok, tc.want)
		}
	}
}
