// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/store"
)

// mapSource is a Source over a map; an entry with nil values is an account without values.
type mapSource struct {
	mu sync.RWMutex
	m  map[string][]string
}

func (s *mapSource) Values(sub string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[sub]
	var joined strings.Builder
	for _, value := range v {
		joined.WriteString(value + "\n")
	}
	return joined.String(), ok
}

const (
	withValues = "3cdc87f8-09d8-436c-8848-e0dbe65ffbf6"
	noValues   = "d725dcc1-1f4a-4de6-8d6a-484ea0414231"
	valueA     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	valueB     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2"
)

var testZone = Zone{
	Domain:  "auth.example.org",
	NSName:  "ns1.auth.example.org",
	NSAdmin: "admin.example.org",
	Records: []string{
		"auth.example.org. A 198.51.100.1",
		"auth.example.org. NS ns1.auth.example.org.",
		"ns1.auth.example.org. 300 A 198.51.100.2",
		"www.auth.example.org. CNAME auth.example.org.",
		"_acme-challenge.app.auth.example.org. CNAME 3cdc87f8-09d8-436c-8848-e0dbe65ffbf6.auth.example.org.",
		"loop1.auth.example.org. CNAME loop2.auth.example.org.",
		"loop2.auth.example.org. CNAME loop1.auth.example.org.",
		"away.auth.example.org. CNAME _acme-challenge.app.example.com.",
		"dangling.auth.example.org. CNAME nothing.auth.example.org.",
		"c0.auth.example.org. CNAME c1.auth.example.org.",
		"c1.auth.example.org. CNAME c2.auth.example.org.",
		"c2.auth.example.org. CNAME c3.auth.example.org.",
		"c3.auth.example.org. CNAME c4.auth.example.org.",
		"c4.auth.example.org. CNAME c5.auth.example.org.",
		"c5.auth.example.org. CNAME c6.auth.example.org.",
		"c6.auth.example.org. CNAME c7.auth.example.org.",
		"c7.auth.example.org. CNAME c8.auth.example.org.",
		"c8.auth.example.org. CNAME c9.auth.example.org.",
		"c9.auth.example.org. TXT \"end\"",
		"deep.under.auth.example.org. TXT \"static\"",
		"big.auth.example.org. TXT \"" + strings.Repeat("x", 250) + "\"",
		"big.auth.example.org. TXT \"" + strings.Repeat("y", 250) + "\"",
		"big.auth.example.org. TXT \"" + strings.Repeat("z", 250) + "\"",
	},
	TXTTTL: 1,
	Serial: 2026112301,
}

// startServer serves the test zone on 127.0.0.1 over UDP and TCP.
func startServer(t *testing.T) (udp, tcp string, reg *prometheus.Registry) {
	t.Helper()
	src := &mapSource{m: map[string][]string{withValues: {valueB, valueA}, noValues: nil}}
	reg = prometheus.NewRegistry()
	h, err := NewHandler(testZone, src, NewMetrics(reg), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, []string{"udp", "tcp"}, h, TCPLimits{})
	return srv.Addrs()[0].String(), srv.Addrs()[1].String(), reg
}

// serve serves h on 127.0.0.1 until the test ends.
func serve(t *testing.T, networks []string, h *Handler, limits TCPLimits) *Server {
	t.Helper()
	srv, err := Listen(networks, "127.0.0.1:0", h, limits)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

func exchange(t *testing.T, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s exchange with %s: %v", network, addr, err)
	}
	if r.Id != m.Id || !r.Response {
		t.Fatalf("reply id %d response %v, want id %d", r.Id, r.Response, m.Id)
	}
	return r
}

func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	return m
}

func txtValues(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out
}

// want is what a question is answered.
type want struct {
	rcode  int
	aa     bool
	answer []string // the answers' String(), in any order
	soa    bool     // SOA in the authority section
}

// answerTests are the questions TestAnswers asks, with what each is answered.
var answerTests = []struct {
	name  string
	qname string
	qtype uint16
	want  want
}{
	{"TXT values of an account, TTL 1, question's case",
		"3CDC87F8-09d8-436c-8848-E0DBE65FFBF6.Auth.Example.Org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"3CDC87F8-09d8-436c-8848-E0DBE65FFBF6.Auth.Example.Org.\t1\tIN\tTXT\t\"" + valueB + "\"",
			"3CDC87F8-09d8-436c-8848-E0DBE65FFBF6.Auth.Example.Org.\t1\tIN\tTXT\t\"" + valueA + "\"",
		}}},
	{"account without values: NODATA, not NXDOMAIN",
		noValues + ".auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, soa: true}},
	{"account asked another type: NODATA",
		withValues + ".auth.example.org.", dns.TypeA, want{rcode: dns.RcodeSuccess, aa: true, soa: true}},
	{"unknown name: NXDOMAIN with SOA",
		"0e0e0e0e-0000-4000-8000-000000000000.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeNameError, aa: true, soa: true}},
	{"below an account: NXDOMAIN",
		"x." + withValues + ".auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeNameError, aa: true, soa: true}},
	{"out of zone: REFUSED",
		withValues + ".example.com.", dns.TypeTXT, want{rcode: dns.RcodeRefused}},
	{"parent of the zone: REFUSED",
		"example.org.", dns.TypeSOA, want{rcode: dns.RcodeRefused}},
	{"SOA",
		"auth.example.org.", dns.TypeSOA, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"auth.example.org.\t3600\tIN\tSOA\tns1.auth.example.org. admin.example.org. 2026112301 28800 7200 604800 86400"}}},
	{"NS",
		"AUTH.example.org.", dns.TypeNS, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"AUTH.example.org.\t3600\tIN\tNS\tns1.auth.example.org."}}},
	{"static A",
		"auth.example.org.", dns.TypeA, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"auth.example.org.\t3600\tIN\tA\t198.51.100.1"}}},
	{"static A with its own TTL",
		"ns1.auth.example.org.", dns.TypeA, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"ns1.auth.example.org.\t300\tIN\tA\t198.51.100.2"}}},
	{"static name lacking the type: NODATA",
		"ns1.auth.example.org.", dns.TypeAAAA, want{rcode: dns.RcodeSuccess, aa: true, soa: true}},
	{"in-zone CNAME followed to the target's records",
		"www.auth.example.org.", dns.TypeA, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"www.auth.example.org.\t3600\tIN\tCNAME\tauth.example.org.",
			"auth.example.org.\t3600\tIN\tA\t198.51.100.1"}}},
	{"a challenge name kept in the zone: CNAME, then the account's TXT values",
		"_acme-challenge.APP.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"_acme-challenge.APP.auth.example.org.\t3600\tIN\tCNAME\t3cdc87f8-09d8-436c-8848-e0dbe65ffbf6.auth.example.org.",
			"3cdc87f8-09d8-436c-8848-e0dbe65ffbf6.auth.example.org.\t1\tIN\tTXT\t\"" + valueB + "\"",
			"3cdc87f8-09d8-436c-8848-e0dbe65ffbf6.auth.example.org.\t1\tIN\tTXT\t\"" + valueA + "\""}}},
	{"asked for the CNAME itself: not followed",
		"www.auth.example.org.", dns.TypeCNAME, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"www.auth.example.org.\t3600\tIN\tCNAME\tauth.example.org."}}},
	{"a CNAME loop ends, answered",
		"loop1.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"loop1.auth.example.org.\t3600\tIN\tCNAME\tloop2.auth.example.org.",
			"loop2.auth.example.org.\t3600\tIN\tCNAME\tloop1.auth.example.org."}}},
	{"a CNAME out of the zone is left to the resolver",
		"away.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"away.auth.example.org.\t3600\tIN\tCNAME\t_acme-challenge.app.example.com."}}},
	{"a CNAME to a missing name: NXDOMAIN, the CNAME kept (RFC 6604)",
		"dangling.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeNameError, aa: true, soa: true, answer: []string{
			"dangling.auth.example.org.\t3600\tIN\tCNAME\tnothing.auth.example.org."}}},
	{"a long chain is cut after 8 CNAMEs",
		"c0.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"c0.auth.example.org.\t3600\tIN\tCNAME\tc1.auth.example.org.",
			"c1.auth.example.org.\t3600\tIN\tCNAME\tc2.auth.example.org.",
			"c2.auth.example.org.\t3600\tIN\tCNAME\tc3.auth.example.org.",
			"c3.auth.example.org.\t3600\tIN\tCNAME\tc4.auth.example.org.",
			"c4.auth.example.org.\t3600\tIN\tCNAME\tc5.auth.example.org.",
			"c5.auth.example.org.\t3600\tIN\tCNAME\tc6.auth.example.org.",
			"c6.auth.example.org.\t3600\tIN\tCNAME\tc7.auth.example.org.",
			"c7.auth.example.org.\t3600\tIN\tCNAME\tc8.auth.example.org."}}},
	{"zone membership by labels: x\\.auth.example.org. is outside",
		"x\\.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeRefused}},
	{"an account label with an escaped dot is no account",
		"3cdc87f8\\.09d8.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeNameError, aa: true, soa: true}},
	{"empty non-terminal: NODATA",
		"under.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, soa: true}},
	{"static TXT deep in the zone",
		"deep.under.auth.example.org.", dns.TypeTXT, want{rcode: dns.RcodeSuccess, aa: true, answer: []string{
			"deep.under.auth.example.org.\t3600\tIN\tTXT\t\"static\""}}},
	{"zone transfer: REFUSED",
		"auth.example.org.", dns.TypeAXFR, want{rcode: dns.RcodeRefused}},
}

func TestAnswers(t *testing.T) {
	udp, tcp, _ := startServer(t)
	tests := answerTests
	for _, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				addr := udp
				if network == "tcp" {
					addr = tcp
				}
				r := exchange(t, network, addr, question(tt.qname, tt.qtype))
				if r.Rcode != tt.want.rcode {
					t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.want.rcode])
				}
				if r.Authoritative != tt.want.aa {
					t.Errorf("AA = %v, want %v", r.Authoritative, tt.want.aa)
				}
				if r.Question[0].Name != tt.qname {
					t.Errorf("question echoed as %q", r.Question[0].Name)
				}
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rr.String())
				}
				slices.Sort(got)
				wantAnswer := slices.Sorted(slices.Values(tt.want.answer))
				if !slices.Equal(got, wantAnswer) {
					t.Errorf("answer:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantAnswer, "\n"))
				}
				hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
				if hasSOA != tt.want.soa {
					t.Errorf("authority = %v, want SOA: %v", r.Ns, tt.want.soa)
				}
				if hasSOA && r.Ns[0].Header().Ttl != 1 {
					t.Errorf("negative answer's SOA TTL = %d, want 1 so the absence is not cached", r.Ns[0].Header().Ttl)
				}
			})
		}
	}
}

// TestValuesServedExactly: a value with backslashes and quotes (txt_format
// "any") is on the wire exactly as written, not read as escapes.
func TestValuesServedExactly(t *testing.T) {
	values := []string{`a\b"c`, `\\`, `"`, `\065`, `plain`}
	src := &mapSource{m: map[string][]string{withValues: values}}
	h, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := h.answer(question(withValues+".auth.example.org.", dns.TypeTXT)).Pack()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if !bytes.Contains(wire, append([]byte{byte(len(v))}, v...)) {
			t.Errorf("value %q is not on the wire as written", v)
		}
	}
	r := new(dns.Msg)
	if err := r.Unpack(wire); err != nil || len(r.Answer) != len(values) {
		t.Fatalf("answer: %v, %v", r, err)
	}
}

func TestEDNSAndTruncation(t *testing.T) {
	udp, tcp, _ := startServer(t)

	t.Run("OPT echoed with 1232", func(t *testing.T) {
		m := question(withValues+".auth.example.org.", dns.TypeTXT)
		m.SetEdns0(4096, false)
		r := exchange(t, "udp", udp, m)
		opt := r.IsEdns0()
		if opt == nil || opt.UDPSize() != maxUDPSize || opt.Version() != 0 {
			t.Fatalf("OPT = %v, want UDP size %d", opt, maxUDPSize)
		}
		if len(r.Answer) != 2 {
			t.Errorf("%d answers", len(r.Answer))
		}
	})
	t.Run("no OPT without EDNS", func(t *testing.T) {
		r := exchange(t, "udp", udp, question("auth.example.org.", dns.TypeSOA))
		if r.IsEdns0() != nil {
			t.Error("OPT in the answer to a question without EDNS")
		}
	})
	t.Run("EDNS version 1: BADVERS", func(t *testing.T) {
		m := question("auth.example.org.", dns.TypeSOA)
		m.SetEdns0(1232, false)
		m.IsEdns0().SetVersion(1)
		r := exchange(t, "udp", udp, m)
		if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || len(r.Answer) != 0 {
			t.Errorf("rcode %s, OPT %v, %d answers; want BADVERS with OPT", dns.RcodeToString[r.Rcode], r.IsEdns0(), len(r.Answer))
		}
	})
	bigName := "big.auth.example.org."
	t.Run("answer larger than 512 without EDNS: TC over UDP", func(t *testing.T) {
		r := exchange(t, "udp", udp, question(bigName, dns.TypeTXT))
		if !r.Truncated {
			t.Errorf("TC not set; %d answers", len(r.Answer))
		}
	})
	t.Run("the same fits with EDNS 1232", func(t *testing.T) {
		m := question(bigName, dns.TypeTXT)
		m.SetEdns0(1232, false)
		r := exchange(t, "udp", udp, m)
		if r.Truncated || len(r.Answer) != 3 {
			t.Errorf("TC %v, %d answers; want all 3", r.Truncated, len(r.Answer))
		}
	})
	t.Run("client retries over TCP and gets everything", func(t *testing.T) {
		r := exchange(t, "tcp", tcp, question(bigName, dns.TypeTXT))
		if r.Truncated || len(r.Answer) != 3 {
			t.Errorf("TC %v, %d answers over TCP", r.Truncated, len(r.Answer))
		}
	})
}

func TestMalformedQuestions(t *testing.T) {
	udp, _, reg := startServer(t)
	two := question("auth.example.org.", dns.TypeSOA)
	two.Question = append(two.Question, dns.Question{Name: "auth.example.org.", Qtype: dns.TypeNS, Qclass: dns.ClassINET})
	chaos := question("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	chaosInZone := question("auth.example.org.", dns.TypeTXT)
	chaosInZone.Question[0].Qclass = dns.ClassCHAOS
	notify := question("auth.example.org.", dns.TypeSOA)
	notify.Opcode = dns.OpcodeNotify
	tests := []struct {
		name  string
		m     *dns.Msg
		rcode int
	}{
		{"two questions", two, dns.RcodeFormatError},
		{"CHAOS version.bind", chaos, dns.RcodeRefused},
		{"CHAOS in the zone", chaosInZone, dns.RcodeRefused},
		{"NOTIFY", notify, dns.RcodeNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, "udp", udp, tt.m)
			if r.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
		})
	}
	if n := questionsWithRcode(t, reg, "FORMERR"); n != 1 {
		t.Errorf("FORMERR answers counted: %v, want 1 (two questions)", n)
	}

	// Garbage: shorter than a header it is dropped unanswered; with a header
	// but no parsable question it is answered FORMERR with its ID.
	conn, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	read := func() *dns.Msg {
		t.Helper()
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("unparsable answer: %v", err)
		}
		return r
	}
	conn.Write([]byte{0, 1, 2, 3, 4})
	q := question("auth.example.org.", dns.TypeSOA)
	q.Id = 4242
	wire, _ := q.Pack()
	conn.Write(wire)
	if r := read(); r.Id != 4242 || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("first answer after a 5-byte packet: id %d %s, want the SOA question's (id 4242): the packet was answered", r.Id, dns.RcodeToString[r.Rcode])
	}
	conn.Write([]byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) // QDCOUNT 1, a broken name
	if r := read(); r.Id != 0x1234 || r.Rcode != dns.RcodeFormatError {
		t.Errorf("header with a broken question: id %#x %s, want FORMERR for id 0x1234", r.Id, dns.RcodeToString[r.Rcode])
	}
}

func questionsWithRcode(t *testing.T, reg *prometheus.Registry, rcode string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "acmehub_dns_questions_total" {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "rcode" && l.GetValue() == rcode {
					total += m.Counter.GetValue()
				}
			}
		}
	}
	return total
}

func TestZoneErrors(t *testing.T) {
	tests := []struct {
		records []string
		want    string
	}{
		{[]string{"other.example.com. A 192.0.2.1"}, "outside the zone"},
		{[]string{"auth.example.org. A not-an-ip"}, `records[0] "auth.example.org. A not-an-ip"`},
		{[]string{"x.auth.example.org. CNAME auth.example.org.", "x.auth.example.org. A 192.0.2.1"}, "has a CNAME and other records"},
		{[]string{"auth.example.org. SOA a. b. 1 2 3 4 5"}, "SOA is generated"},
	}
	for _, tt := range tests {
		z := testZone
		z.Records = tt.records
		_, err := NewHandler(z, &mapSource{}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("records %q: err = %v, want %q", tt.records, err, tt.want)
		}
	}
	if _, err := NewHandler(Zone{Domain: "bad..name"}, &mapSource{}, nil, nil); err == nil {
		t.Error("accepted an invalid zone name")
	}
}

func TestSynthesizedNS(t *testing.T) {
	z := Zone{Domain: "acme.example.net", NSName: "ns.example.net", TXTTTL: 1}
	h, err := NewHandler(z, &mapSource{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := h.answer(question("acme.example.net.", dns.TypeNS))
	if len(r.Answer) != 1 || r.Answer[0].(*dns.NS).Ns != "ns.example.net." {
		t.Errorf("NS = %v, want one generated from nsname", r.Answer)
	}
}

func TestBusyPort(t *testing.T) {
	// Hold the UDP side of a port whose TCP side is free.
	var busy net.PacketConn
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if l, err := net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			l.Close()
			busy = pc
			break
		}
		pc.Close()
	}
	if busy == nil {
		t.Fatal("no port with a free TCP side")
	}
	defer busy.Close()
	addr := busy.LocalAddr().String()
	_, err := Listen([]string{"tcp", "udp"}, addr, &Handler{}, TCPLimits{})
	if err == nil || !strings.Contains(err.Error(), "udp "+addr) {
		t.Fatalf("err = %v, want one naming udp %s", err, addr)
	}
	// The TCP socket bound before the failure was released.
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("TCP port still held after the failed Listen: %v", err)
	} else {
		tl.Close()
	}
}

// A socket that takes the port between the probe and the shared sockets:
// a port the system chose is chosen again; a port the config names is
// busy, and said so.
func TestPortTakenBetweenBinds(t *testing.T) {
	if reusePort == nil {
		t.Skip("sockets do not share ports on this platform: nothing is bound twice")
	}
	for _, tc := range []struct {
		name, addr string
		wantErr    bool
	}{
		{"chosen by the system", "127.0.0.1:0", false},
		{"named by the config", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.addr
			if addr == "" {
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr = pc.LocalAddr().String()
				pc.Close()
			}
			var intruder net.PacketConn
			betweenBinds = func(network, bound string) {
				if intruder == nil {
					var err error
					if intruder, err = net.ListenPacket(network, bound); err != nil {
						t.Errorf("taking %s between the binds: %v", bound, err)
					}
				}
			}
			defer func() { betweenBinds = nil }()
			h, err := NewHandler(Zone{Domain: "acme.example.net", NSName: "ns.example.net"}, &mapSource{}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := Listen([]string{"udp"}, addr, h, TCPLimits{})
			if intruder == nil {
				t.Fatal("the probe never released the port")
			}
			defer intruder.Close()
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "address already in use") {
					t.Fatalf("err = %v, want the named port refused as busy", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			go srv.Serve()
			defer srv.Shutdown(context.Background())
			got := srv.Addrs()[0].String()
			if got == intruder.LocalAddr().String() {
				t.Fatalf("bound %s, which the intruder holds", got)
			}
			r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(question("acme.example.net.", dns.TypeSOA), got)
			if err != nil || r.Rcode != dns.RcodeSuccess {
				t.Fatalf("SOA from %s: %v %v", got, r, err)
			}
		})
	}
}

func TestValuesFollowTheSource(t *testing.T) {
	src := &mapSource{m: map[string][]string{}}
	h, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := withValues + ".auth.example.org."
	for i, values := range [][]string{nil, {valueA}, {valueB, valueA}, {valueB}} {
		src.mu.Lock()
		src.m[withValues] = values
		src.mu.Unlock()
		r := h.answer(question(name, dns.TypeTXT))
		if got := txtValues(r.Answer); !slices.Equal(got, values) {
			t.Errorf("step %d: %q, want %q", i, got, values)
		}
	}
}

// benchHandler answers from the server's own index of 100,000 accounts,
// signed or not.
func benchHandler(b *testing.B, signed bool) *Handler {
	src := accounts.NewIndex()
	for i := range 100000 {
		src.Set(fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), store.TXTSet{Values: []string{valueA}, Version: 1})
	}
	z := testZone
	if signed {
		sh, _ := signedHandler(b)
		z.Signer = sh.signer
	}
	h, err := NewHandler(z, src, NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

const benchName = "00000042-0000-4000-8000-000000000000.auth.example.org."

// BenchmarkAnswer answers a TXT question through the general path:
// unpacked, answered, packed; with DO, from a signed zone.
func BenchmarkAnswer(b *testing.B) {
	for _, signed := range []bool{false, true} {
		b.Run(map[bool]string{false: "unsigned", true: "signed with DO"}[signed], func(b *testing.B) {
			h := benchHandler(b, signed)
			q := question(benchName, dns.TypeTXT)
			q.SetEdns0(1232, signed)
			w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeDNS(w, q)
			}
			if r := new(dns.Msg); r.Unpack(w.packed) != nil || len(r.Answer) != 1+map[bool]int{true: 1}[signed] {
				b.Fatalf("unexpected answer %v", r)
			}
		})
	}
}

// BenchmarkFastAnswer answers the same questions on the fast path, from
// the packet's bytes to the answer's (goal: no allocation).
func BenchmarkFastAnswer(b *testing.B) {
	for _, signed := range []bool{false, true} {
		b.Run(map[bool]string{false: "unsigned", true: "signed with DO"}[signed], func(b *testing.B) {
			h := benchHandler(b, signed)
			q := question(benchName, dns.TypeTXT)
			q.SetEdns0(1232, signed)
			pkt, _ := q.Pack()
			out, lowered := make([]byte, maxUDPSize), make([]byte, 0, 256)
			b.ReportAllocs()
			var n int
			for b.Loop() {
				var ok bool
				if n, ok = h.fastAnswer(pkt, out, &lowered); !ok {
					b.Fatal("the fast path left the question to the general path")
				}
			}
			if r := new(dns.Msg); r.Unpack(out[:n]) != nil || len(r.Answer) != 1+map[bool]int{true: 1}[signed] {
				b.Fatalf("unexpected answer %v", r)
			}
		})
	}
}

// TestBothReadPaths: a socket bound to one address and one bound to
// every address answer alike, on the fast path and the general one; the
// latter from the address asked.
func TestBothReadPaths(t *testing.T) {
	src := &mapSource{m: map[string][]string{withValues: {valueA}}}
	h, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, listen := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		t.Run(listen, func(t *testing.T) {
			srv, err := Listen([]string{"udp4"}, listen, h, TCPLimits{})
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve()
			t.Cleanup(func() { srv.Shutdown(context.Background()) })
			addr := fmt.Sprintf("127.0.0.1:%d", srv.Addrs()[0].(*net.UDPAddr).Port)
			if r := exchange(t, "udp", addr, question(withValues+".auth.example.org.", dns.TypeTXT)); len(txtValues(r.Answer)) != 1 {
				t.Errorf("the fast path: %v", r.Answer)
			}
			if r := exchange(t, "udp", addr, question("auth.example.org.", dns.TypeSOA)); len(r.Answer) != 1 {
				t.Errorf("the general path: %v", r.Answer)
			}
		})
	}
}

// TestPortZeroPicksOnePort: a client answered truncated over UDP asks
// again over TCP at the same port, so port 0 picks one port for both.
func TestPortZeroPicksOnePort(t *testing.T) {
	h, err := NewHandler(testZone, &mapSource{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		srv, err := Listen([]string{"udp", "tcp"}, "127.0.0.1:0", h, TCPLimits{})
		if err != nil {
			t.Fatal(err)
		}
		udp, tcp := srv.Addrs()[0].(*net.UDPAddr).Port, srv.Addrs()[1].(*net.TCPAddr).Port
		srv.Close()
		if udp != tcp {
			t.Fatalf("UDP on port %d, TCP on %d", udp, tcp)
		}
	}
}
