// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/miekg/dns"
)

// The fast path answers the question a CA asks most, an account's TXT
// values over UDP, straight from the packet: it reads the header and the
// question, finds the values, and writes the answer's bytes, with no
// message unpacked, built or packed and no goroutine started. It answers
// exactly as the general path would (a fuzz target holds them to it) and
// leaves everything else to the general path: other types, names that do
// not exist or hold no value, EDNS options, an answer that would not fit,
// anything unusual. In a signed zone it answers DO queries too, with the
// TXT set's signatures packed once per set (fastSigs).

// fastReader reads a UDP socket for a miekg/dns server, answering the
// packets the fast path can and passing on the others. Each server reads
// its socket from one goroutine, so the buffers are the reader's own.
type fastReader struct {
	dns.Reader
	h       *Handler
	in, out []byte
	lowered []byte // the question's name in lower case
}

func newFastReader(h *Handler) func(dns.Reader) dns.Reader {
	return func(r dns.Reader) dns.Reader {
		return &fastReader{Reader: r, h: h, in: make([]byte, dns.MaxMsgSize), out: make([]byte, maxUDPSize), lowered: make([]byte, 0, 256)}
	}
}

// ReadUDP answers packets until one needs the general path, and returns it.
func (f *fastReader) ReadUDP(conn *net.UDPConn, _ time.Duration) ([]byte, *dns.SessionUDP, error) {
	for {
		n, session, err := dns.ReadFromSessionUDP(conn, f.in)
		if err != nil {
			return nil, nil, err
		}
		start := time.Now()
		if size, ok := f.h.fastAnswer(f.in[:n], f.out, &f.lowered); ok {
			if _, err := dns.WriteToSessionUDP(conn, f.out[:size], session); err != nil {
				f.h.log.Debug("writing DNS answer", "remote", session.RemoteAddr(), "err", err)
			}
			f.h.metrics.count(dns.TypeTXT, dns.RcodeSuccess, false, time.Since(start))
			continue
		}
		m := make([]byte, n)
		copy(m, f.in[:n])
		return m, session, nil
	}
}

// Header bits of a DNS message.
const (
	bitQR = 1 << 15
	bitAA = 1 << 10
	bitTC = 1 << 9
	bitRD = 1 << 8
	bitCD = 1 << 4
	// opcodeMask covers the opcode; a query's is 0.
	opcodeMask = 0xf << 11
)

// fastAnswer writes into out the answer to the query pkt when it asks, in
// class IN, for the TXT values of an account that has some, and returns
// its length; ok is false when the general path must answer.
func (h *Handler) fastAnswer(pkt, out []byte, lowered *[]byte) (size int, ok bool) {
	var signed bool
	if len(pkt) < 12+1+4 || h.log.Enabled(context.Background(), slog.LevelDebug) {
		return 0, false
	}
	flags := binary.BigEndian.Uint16(pkt[2:])
	if flags&(bitQR|opcodeMask|bitTC) != 0 || binary.BigEndian.Uint16(pkt[4:]) != 1 ||
		binary.BigEndian.Uint16(pkt[6:]) != 0 || binary.BigEndian.Uint16(pkt[8:]) != 0 {
		return 0, false
	}
	extra := binary.BigEndian.Uint16(pkt[10:])
	// The name: plain labels of letters, digits, '-' and '_', no pointer.
	name := (*lowered)[:0]
	off := 12
	for {
		if off >= len(pkt) {
			return 0, false
		}
		l := int(pkt[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 || off+1+l > len(pkt) || len(name)+l+1 > 254 {
			return 0, false
		}
		for _, c := range pkt[off+1 : off+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return 0, false
			}
			name = append(name, c)
		}
		name = append(name, '.')
		off += 1 + l
	}
	*lowered = name
	nameEnd := off
	if off+4 > len(pkt) || binary.BigEndian.Uint16(pkt[off:]) != dns.TypeTXT || binary.BigEndian.Uint16(pkt[off+2:]) != dns.ClassINET {
		return 0, false
	}
	off += 4
	limit := dns.MinMsgSize
	switch {
	case extra == 0 && off == len(pkt):
	case extra == 1 && off+11 == len(pkt) && pkt[off] == 0 && binary.BigEndian.Uint16(pkt[off+1:]) == dns.TypeOPT &&
		pkt[off+5] == 0 && pkt[off+6] == 0 && binary.BigEndian.Uint16(pkt[off+9:]) == 0:
		// An OPT without options, EDNS version 0. DO asks for nothing
		// more of an unsigned zone.
		signed = h.signer != nil && binary.BigEndian.Uint16(pkt[off+7:])&ednsDO != 0
		limit = max(limit, min(int(binary.BigEndian.Uint16(pkt[off+3:])), maxUDPSize))
	default:
		return 0, false
	}
	// One label below the origin, an account with values, nothing static.
	label, rest, found := cutLabel(name)
	if !found || string(rest) != h.origin || h.names[string(name)] != nil {
		return 0, false
	}
	values, exists := h.src.Values(unsafe.String(unsafe.SliceData(label), len(label)))
	if !exists || values == "" {
		return 0, false
	}
	var sigs *packedSigs
	if signed {
		if sigs = h.fastSigs.get(h, name, len(label), values); sigs == nil {
			return 0, false
		}
	}
	question := pkt[12 : nameEnd+4]
	owner := nameEnd - 12
	size = 12 + len(question)
	for v := values; v != ""; {
		i := strings.IndexByte(v, '\n')
		size += owner + 10 + 1 + i
		v = v[i+1:]
	}
	if sigs != nil {
		for _, rdata := range sigs.rdata {
			size += owner + 10 + len(rdata)
		}
	}
	if extra == 1 {
		size += 11
	}
	if size > limit || size > len(out) {
		return 0, false
	}
	// The header: the query's ID, QR and AA, RD and CD as asked.
	copy(out, pkt[:2])
	binary.BigEndian.PutUint16(out[2:], bitQR|bitAA|flags&(bitRD|bitCD))
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], extra)
	at := 12 + copy(out[12:], question)
	count := 0
	for v := values; v != ""; count++ {
		i := strings.IndexByte(v, '\n')
		at += copy(out[at:], pkt[12:nameEnd]) // the owner, as asked
		binary.BigEndian.PutUint16(out[at:], dns.TypeTXT)
		binary.BigEndian.PutUint16(out[at+2:], dns.ClassINET)
		binary.BigEndian.PutUint32(out[at+4:], h.ttl)
		binary.BigEndian.PutUint16(out[at+8:], uint16(1+i))
		out[at+10] = byte(i)
		at += 11 + copy(out[at+11:], v[:i])
		v = v[i+1:]
	}
	if sigs != nil {
		for _, rdata := range sigs.rdata {
			at += copy(out[at:], pkt[12:nameEnd])
			binary.BigEndian.PutUint16(out[at:], dns.TypeRRSIG)
			binary.BigEndian.PutUint16(out[at+2:], dns.ClassINET)
			binary.BigEndian.PutUint32(out[at+4:], h.ttl)
			binary.BigEndian.PutUint16(out[at+8:], uint16(len(rdata)))
			at += 10 + copy(out[at+10:], rdata)
			count++
		}
	}
	binary.BigEndian.PutUint16(out[6:], uint16(count))
	if extra == 1 {
		// The server's OPT: its UDP size, version 0, DO when signed.
		out[at] = 0
		binary.BigEndian.PutUint16(out[at+1:], dns.TypeOPT)
		binary.BigEndian.PutUint16(out[at+3:], maxUDPSize)
		binary.BigEndian.PutUint32(out[at+5:], 0)
		if signed {
			binary.BigEndian.PutUint16(out[at+7:], ednsDO)
		}
		binary.BigEndian.PutUint16(out[at+9:], 0)
		at += 11
	}
	return at, true
}

// ednsDO is the DO flag of EDNS.
const ednsDO = 0x8000

// fastSigs holds, for the accounts asked about with DO, the signatures of
// their TXT sets packed as RRSIG rdata: made (through the signer's cache)
// at the first such question after the set changed, served until the
// signer would make new ones. Each of its two generations is bounded.
type fastSigs struct {
	mu       sync.RWMutex
	cur, old map[string]*packedSigs
}

type packedSigs struct {
	values string   // the set signed, as the Source gave it
	rdata  [][]byte // each signature's rdata
	until  time.Time
}

// get returns the packed signatures of the TXT set values at name (lower
// case, its first label labelLen long), or nil when they cannot be made.
func (c *fastSigs) get(h *Handler, name []byte, labelLen int, values string) *packedSigs {
	now := h.signer.Now()
	c.mu.RLock()
	p := c.cur[string(name[:labelLen])]
	if p == nil {
		p = c.old[string(name[:labelLen])]
	}
	c.mu.RUnlock()
	if p != nil && p.values == values && now.Before(p.until) {
		return p
	}
	owner := string(name)
	var set []dns.RR
	for v := range strings.Lines(values) {
		set = append(set, &dns.TXT{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: h.ttl},
			Txt: []string{escapeTXT(v[:len(v)-1])}})
	}
	sigs, err := h.signer.Sign(set)
	if err != nil {
		h.log.Error("signing an answer", "name", owner, "err", err)
		return nil
	}
	p = &packedSigs{values: values, until: h.signer.Until(sigs)}
	buf := make([]byte, dns.MaxMsgSize)
	for _, sig := range sigs {
		// A record is its owner, 10 bytes of type, class, TTL and
		// length, then the rdata.
		nameLen, err := dns.PackDomainName(sig.Header().Name, buf, 0, nil, false)
		if err != nil {
			h.log.Error("packing a signature", "name", owner, "err", err)
			return nil
		}
		end, err := dns.PackRR(sig, buf, 0, nil, false)
		if err != nil {
			h.log.Error("packing a signature", "name", owner, "err", err)
			return nil
		}
		p.rdata = append(p.rdata, append([]byte(nil), buf[nameLen+10:end]...))
	}
	c.mu.Lock()
	if len(c.cur) >= 1<<16 {
		c.old, c.cur = c.cur, nil
	}
	if c.cur == nil {
		c.cur = map[string]*packedSigs{}
	}
	c.cur[string(name[:labelLen])] = p
	c.mu.Unlock()
	return p
}

// cutLabel splits a lower-case name ("a.b.") after its first label.
func cutLabel(name []byte) (label, rest []byte, found bool) {
	for i, c := range name {
		if c == '.' {
			return name[:i], name[i+1:], i > 0 && i+1 < len(name)
		}
	}
	return nil, nil, false
}
