// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"math/bits"
	"net/netip"
	"time"
)

// DNS cookies (RFC 7873) with server cookies made as RFC 9018 says, so
// that servers sharing a secret accept each other's: version 1, three
// reserved bytes, a timestamp, and SipHash-2-4 over the client cookie,
// those eight bytes and the client's address. A client that returns a
// valid server cookie has shown it receives answers at its address: it is
// not a spoofed source, and no rate limit applies to it.

// CookieSecret is the 16-byte key server cookies are made with.
type CookieSecret [16]byte

const (
	clientCookieLen = 8
	serverCookieLen = 16 // as RFC 9018 makes them
	// A server cookie is accepted from an hour before to five minutes
	// after now, and renewed once it is half an hour old (RFC 9018).
	cookieMaxAge    = 3600
	cookieMaxFuture = 300
	cookieRenewAge  = 1800
)

// errBadCookieOption: a COOKIE option of a length RFC 7873 does not allow.
var errBadCookieOption = errors.New("malformed COOKIE option")

// cookieState is what a query's COOKIE option says.
type cookieState struct {
	sent   bool // the query had a COOKIE option
	client [clientCookieLen]byte
	server []byte // as sent, maybe empty
	valid  bool   // the server cookie is one of ours, for this client, in date
}

// readCookie reads a COOKIE option's data: a client cookie of 8 bytes,
// alone or followed by a server cookie of 8 to 32 bytes.
func (s CookieSecret) readCookie(data []byte, client netip.Addr, now time.Time) (cookieState, error) {
	var c cookieState
	if len(data) != clientCookieLen && (len(data) < clientCookieLen+8 || len(data) > clientCookieLen+32) {
		return c, errBadCookieOption
	}
	c.sent = true
	copy(c.client[:], data)
	c.server = data[clientCookieLen:]
	if len(c.server) != serverCookieLen || c.server[0] != 1 {
		return c, nil
	}
	stamp := binary.BigEndian.Uint32(c.server[4:])
	age := int64(uint32(now.Unix()) - stamp) // serial arithmetic: the timestamp wraps in 2106
	if int32(age) > cookieMaxAge || int32(age) < -cookieMaxFuture {
		return c, nil
	}
	want := s.serverCookie(c.client, stamp, client)
	c.valid = subtle.ConstantTimeCompare(want[:], c.server) == 1
	return c, nil
}

// reply is the COOKIE option's data for the answer: the client cookie and
// the server cookie sent, while it is valid and young, else a new one.
func (s CookieSecret) reply(c cookieState, client netip.Addr, now time.Time) []byte {
	out := make([]byte, 0, clientCookieLen+serverCookieLen)
	out = append(out, c.client[:]...)
	if c.valid && int32(uint32(now.Unix())-binary.BigEndian.Uint32(c.server[4:])) < cookieRenewAge {
		return append(out, c.server...)
	}
	fresh := s.serverCookie(c.client, uint32(now.Unix()), client)
	return append(out, fresh[:]...)
}

// serverCookie is RFC 9018's server cookie for a client cookie, a
// timestamp and the client's address.
func (s CookieSecret) serverCookie(clientCookie [clientCookieLen]byte, stamp uint32, client netip.Addr) [serverCookieLen]byte {
	var out [serverCookieLen]byte
	out[0] = 1 // version; three reserved bytes of zero follow
	binary.BigEndian.PutUint32(out[4:], stamp)
	msg := make([]byte, 0, clientCookieLen+8+16)
	msg = append(msg, clientCookie[:]...)
	msg = append(msg, out[:8]...)
	client = client.Unmap()
	if client.Is4() {
		a := client.As4()
		msg = append(msg, a[:]...)
	} else {
		a := client.As16()
		msg = append(msg, a[:]...)
	}
	binary.LittleEndian.PutUint64(out[8:], sipHash24(s, msg)) // the bytes SipHash's authors output
	return out
}

// sipHash24 is SipHash-2-4 of msg under key, as its authors define it.
func sipHash24(key [16]byte, msg []byte) uint64 {
	k0, k1 := binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
	v0, v1, v2, v3 := k0^0x736f6d6570736575, k1^0x646f72616e646f6d, k0^0x6c7967656e657261, k1^0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
		msg = msg[8:]
	}
	var last [8]byte
	copy(last[:], msg)
	last[7] = byte(n)
	m := binary.LittleEndian.Uint64(last[:])
	v3 ^= m
	round()
	round()
	v0 ^= m
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
