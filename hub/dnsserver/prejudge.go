// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"github.com/miekg/dns"
)

// A client prefix past its rate limit is judged by the UDP reader before
// its question is unpacked, when the packet alone tells which class the
// answer would be counted in: the flood that put it there then costs a
// batched read and a look at the zone, not an answer built to be dropped.
// A limited answer is dropped or, every Slip-th, written here truncated,
// exactly as the general path would write it (a fuzz target holds them to
// it). Everything else (a prefix within its limit, a question whose
// answer's class is not certain from the packet, EDNS options such as a
// cookie, log-only mode) goes to the general path.

// prejudge judges pkt from client when its prefix is past the limit of
// the class its answer would be counted in, writing a slipped answer into
// out. It reports whether it judged; size is 0 for a dropped answer.
// lowered is the caller's buffer for the question's name.
func (h *Handler) prejudge(pkt, out []byte, lowered *[]byte, client netip.AddrPort) (size int, judged bool) {
	if h.limiter == nil {
		return 0, false
	}
	start := time.Now()
	q, ok := h.readQuery(pkt, lowered)
	if !ok {
		return 0, false
	}
	c, ok := h.classify(q, *lowered)
	if !ok {
		return 0, false
	}
	v, judged := h.limiter.judgeOwing(client.Addr(), c.class)
	if !judged {
		return 0, false
	}
	if v == slip {
		size = h.slipped(pkt, out, q, c)
		h.metrics.count(q.qtype, c.rcode, false, time.Since(start))
	}
	if h.queryLog.sample() {
		name, _, _ := dns.UnpackDomainName(pkt, 12)
		h.queryLog.write(start, client.Addr().Unmap(), name, q.qtype, c.rcode, size, v)
	}
	return size, true
}

// certainAnswer is what the packet tells of its answer.
type certainAnswer struct {
	class         answerClass
	rcode         int
	authoritative bool
	co            bool // the answer's OPT carries CO
}

// classify tells the class, rcode and AA flag of the general path's answer
// over UDP to q, whose name is name (lower case), when they are certain
// without building it: ANY with DO in a signed zone (truncated at once);
// a type a name of the zone holds; a name of the zone that does not
// exist; a name outside it and every delegated zone. ok is false for
// anything else.
func (h *Handler) classify(q fastQuery, name []byte) (c certainAnswer, ok bool) {
	data := certainAnswer{class: classResponses, rcode: dns.RcodeSuccess, authoritative: true}
	fqdn := unsafe.String(unsafe.SliceData(name), len(name))
	switch inZone := fqdn == h.origin || strings.HasSuffix(fqdn, h.suffix); {
	case q.signed && q.qtype == dns.TypeANY:
		return data, true
	case q.qtype == dns.TypeAXFR || q.qtype == dns.TypeIXFR:
		return certainAnswer{class: classErrors, rcode: dns.RcodeRefused}, true
	case !inZone:
		if strings.Contains(fqdn, "_acme-challenge") {
			return c, false // perhaps a delegated zone's
		}
		return certainAnswer{class: classErrors, rcode: dns.RcodeRefused}, true
	}
	if n := h.names[fqdn]; n != nil {
		if len(n.rrs[q.qtype]) > 0 || (q.qtype == dns.TypeANY && len(n.rrs) > 0) {
			return data, true
		}
		return c, false
	}
	if label, rest, found := cutLabel(name); found && string(rest) == h.origin {
		if _, exists := h.src.Values(unsafe.String(unsafe.SliceData(label), len(label))); exists {
			return c, false
		}
	}
	// A name of the zone that does not exist; signed, its denial is
	// NOERROR unless the client asked for NXDOMAIN with CO.
	c = certainAnswer{class: classErrors, rcode: dns.RcodeNameError, authoritative: true}
	if q.signed {
		if c.co = q.co; !q.co {
			c.rcode = dns.RcodeSuccess
		}
	}
	return c, true
}

// slipped writes into out the truncated, empty answer to q that c
// describes, and returns its length.
func (h *Handler) slipped(pkt, out []byte, q fastQuery, c certainAnswer) int {
	size := h.writeAnswer(pkt, out, q, "", nil)
	flags := binary.BigEndian.Uint16(out[2:])&^(bitAA|0xf) | bitTC | uint16(c.rcode)
	if !c.authoritative {
		flags &^= bitAA
	} else {
		flags |= bitAA
	}
	binary.BigEndian.PutUint16(out[2:], flags)
	if q.extra == 1 && c.co {
		binary.BigEndian.PutUint16(out[size-4:], binary.BigEndian.Uint16(out[size-4:])|ednsCO)
	}
	return size
}
