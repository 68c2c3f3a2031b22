// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
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
// TXT set's signatures packed once per set (fastSigs). The UDP reader
// (udp.go) calls it for every packet before anything else.

// serveFast answers pkt from client into out when the fast path can,
// within the client's rate limit: answered is false when the general path
// must answer, size is the answer's length, 0 when the limit drops it.
// lowered is the caller's buffer for the question's name.
func (h *Handler) serveFast(pkt, out []byte, lowered *[]byte, client netip.AddrPort) (size int, answered bool) {
	start := time.Now()
	size, ok := h.fastAnswer(pkt, out, lowered)
	if !ok {
		return 0, false
	}
	v := h.limiter.judge(client.Addr(), classResponses)
	switch v {
	case slip:
		size = truncateFast(out, size)
	case drop:
		size = 0
	}
	if v != drop {
		// Counted before it is sent: whoever got the answer finds it counted.
		h.metrics.count(dns.TypeTXT, dns.RcodeSuccess, false, time.Since(start))
	}
	if h.queryLog.sample() {
		name, _, _ := dns.UnpackDomainName(pkt, 12)
		h.queryLog.write(start, client.Addr().Unmap(), name, dns.TypeTXT, dns.RcodeSuccess, size, v)
	}
	return size, true
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

// fastQuery is what the fast path reads of a query.
type fastQuery struct {
	flags   uint16 // the header's
	nameEnd int    // where the question's name ends in the packet
	extra   uint16 // 1 with an OPT, 0 without
	limit   int    // the largest answer the client takes
	qtype   uint16
	signed  bool // DO, asked of a signed zone
	co      bool // EDNS's CO flag (compact denial of existence)
}

// readQuery reads pkt when it is a plain query with one question in class
// IN, with at most an OPT without options (EDNS version 0): the question's
// name goes into lowered, in lower case.
func (h *Handler) readQuery(pkt []byte, lowered *[]byte) (q fastQuery, ok bool) {
	if len(pkt) < 12+1+4 {
		return q, false
	}
	q.flags, q.extra = binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint16(pkt[10:])
	if q.flags&(bitQR|opcodeMask|bitTC) != 0 || binary.BigEndian.Uint16(pkt[4:]) != 1 ||
		binary.BigEndian.Uint16(pkt[6:]) != 0 || binary.BigEndian.Uint16(pkt[8:]) != 0 {
		return q, false
	}
	// The name: plain labels of letters, digits, '-' and '_', no pointer.
	name := (*lowered)[:0]
	off := 12
	for {
		if off >= len(pkt) {
			return q, false
		}
		l := int(pkt[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 || off+1+l > len(pkt) || len(name)+l+1 > 254 {
			return q, false
		}
		for _, c := range pkt[off+1 : off+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return q, false
			}
			name = append(name, c)
		}
		name = append(name, '.')
		off += 1 + l
	}
	*lowered, q.nameEnd = name, off
	if off+4 > len(pkt) || binary.BigEndian.Uint16(pkt[off+2:]) != dns.ClassINET {
		return q, false
	}
	q.qtype = binary.BigEndian.Uint16(pkt[off:])
	off += 4
	q.limit = dns.MinMsgSize
	switch {
	case q.extra == 0 && off == len(pkt):
	case q.extra == 1 && off+11 == len(pkt) && pkt[off] == 0 && binary.BigEndian.Uint16(pkt[off+1:]) == dns.TypeOPT &&
		pkt[off+5] == 0 && pkt[off+6] == 0 && binary.BigEndian.Uint16(pkt[off+9:]) == 0:
		// DO asks for nothing more of an unsigned zone.
		q.signed = h.signer != nil && binary.BigEndian.Uint16(pkt[off+7:])&ednsDO != 0
		q.co = binary.BigEndian.Uint16(pkt[off+7:])&ednsCO != 0
		q.limit = max(q.limit, min(int(binary.BigEndian.Uint16(pkt[off+3:])), maxUDPSize))
	default:
		return q, false
	}
	return q, true
}

// fastAnswer writes into out the answer to the query pkt when it asks, in
// class IN, for the TXT values of an account that has some, and returns
// its length; ok is false when the general path must answer.
func (h *Handler) fastAnswer(pkt, out []byte, lowered *[]byte) (size int, ok bool) {
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		return 0, false
	}
	q, ok := h.readQuery(pkt, lowered)
	if !ok || q.qtype != dns.TypeTXT {
		return 0, false
	}
	// One label below the origin, an account with values, nothing static.
	name := *lowered
	label, rest, found := cutLabel(name)
	if !found || string(rest) != h.origin || h.names[string(name)] != nil {
		return 0, false
	}
	values, exists := h.src.Values(unsafe.String(unsafe.SliceData(label), len(label)))
	if !exists || values == "" {
		return 0, false
	}
	var sigs *packedSigs
	if q.signed {
		if sigs = h.fastSigs.get(h, name, len(label), values); sigs == nil {
			return 0, false
		}
	}
	if size = answerSize(q, values, sigs); size > q.limit || size > len(out) {
		return 0, false
	}
	return h.writeAnswer(pkt, out, q, values, sigs), true
}

// answerSize is the length of the answer writeAnswer writes.
func answerSize(q fastQuery, values string, sigs *packedSigs) int {
	owner := q.nameEnd - 12
	size := 12 + owner + 4
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
	return size + 11*int(q.extra)
}

// writeAnswer writes the answer to q into out, as the general path packs
// it: the query's ID, QR and AA, RD and CD as asked; the question; a TXT
// record per value and the set's signatures, owned by the name as asked;
// the server's OPT when the query has one. It returns its length.
func (h *Handler) writeAnswer(pkt, out []byte, q fastQuery, values string, sigs *packedSigs) int {
	copy(out, pkt[:2])
	binary.BigEndian.PutUint16(out[2:], bitQR|bitAA|q.flags&(bitRD|bitCD))
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], q.extra)
	owner := pkt[12:q.nameEnd]
	at := 12 + copy(out[12:], pkt[12:q.nameEnd+4])
	count := 0
	record := func(rtype uint16, rdlen int) {
		at += copy(out[at:], owner)
		binary.BigEndian.PutUint16(out[at:], rtype)
		binary.BigEndian.PutUint16(out[at+2:], dns.ClassINET)
		binary.BigEndian.PutUint32(out[at+4:], h.ttl)
		binary.BigEndian.PutUint16(out[at+8:], uint16(rdlen))
		at += 10
		count++
	}
	for v := values; v != ""; {
		i := strings.IndexByte(v, '\n')
		record(dns.TypeTXT, 1+i)
		out[at] = byte(i)
		at += 1 + copy(out[at+1:], v[:i])
		v = v[i+1:]
	}
	if sigs != nil {
		for _, rdata := range sigs.rdata {
			record(dns.TypeRRSIG, len(rdata))
			at += copy(out[at:], rdata)
		}
	}
	binary.BigEndian.PutUint16(out[6:], uint16(count))
	if q.extra == 1 {
		// The server's OPT: its UDP size, version 0, DO when signed.
		out[at] = 0
		binary.BigEndian.PutUint16(out[at+1:], dns.TypeOPT)
		binary.BigEndian.PutUint16(out[at+3:], maxUDPSize)
		binary.BigEndian.PutUint32(out[at+5:], 0)
		if q.signed {
			binary.BigEndian.PutUint16(out[at+7:], ednsDO)
		}
		binary.BigEndian.PutUint16(out[at+9:], 0)
		at += 11
	}
	return at
}

// truncateFast makes the answer of size bytes in out truncated and
// without records: its header with TC, its question, its OPT. It returns
// the new size.
func truncateFast(out []byte, size int) int {
	end := 12
	for out[end] != 0 {
		end += 1 + int(out[end])
	}
	end += 1 + 4
	binary.BigEndian.PutUint16(out[2:], binary.BigEndian.Uint16(out[2:])|bitTC)
	binary.BigEndian.PutUint16(out[6:], 0)
	if binary.BigEndian.Uint16(out[10:]) == 1 {
		end += copy(out[end:], out[size-11:size])
	}
	return end
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
