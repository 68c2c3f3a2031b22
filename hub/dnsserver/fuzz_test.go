// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"net"
	"testing"

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
	}
	src := &mapSource{m: map[string][]string{withValues: {valueA, `quote" back\slash`}, noValues: nil}}
	plain, err := NewHandler(testZone, src, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	signed, _ := signedHandler(f)
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
