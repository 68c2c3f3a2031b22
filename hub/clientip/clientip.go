// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package clientip tells the address of a request's client: the
// connection's peer, or behind proxies the address they forward, believed
// only from the proxies trusted with it. The acme-dns API checks allowfrom
// and its limits against it, the hub's front doors audit it.
package clientip

import (
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds the client's address of requests.
type Resolver struct {
	// Header names the header each proxy appends the address it saw to
	// (X-Forwarded-For); empty reads the connection only.
	Header string
	// Trusted are the proxies whose Header is believed. When empty, the
	// connection's peer is taken as the one proxy in front.
	Trusted []netip.Prefix
}

// Forwarded is the Resolver of the hub's front doors: X-Forwarded-For from
// trusted, or the connection alone when no proxy is trusted.
func Forwarded(trusted []netip.Prefix) Resolver {
	if len(trusted) == 0 {
		return Resolver{}
	}
	return Resolver{Header: "X-Forwarded-For", Trusted: trusted}
}

// Of is the client's address: the connection's peer or, when Header is set
// and the peer is a trusted proxy (any peer when Trusted is empty), the
// right-most address in Header that is not a trusted proxy. Addresses a
// client writes into the header itself stand to the left of what its proxy
// appends, so they are never reached. The zero Addr means unknown.
func (c Resolver) Of(r *http.Request) netip.Addr {
	peer := netip.Addr{}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		peer = ap.Addr().Unmap()
	}
	if c.Header == "" || len(c.Trusted) > 0 && !c.trusted(peer) {
		return peer
	}
	values := strings.Join(r.Header.Values(c.Header), ",")
	if strings.TrimSpace(values) == "" {
		return peer
	}
	parts := strings.Split(values, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			return netip.Addr{} // a proxy would not write this: unknown
		}
		if ip = ip.Unmap(); i == 0 || !c.trusted(ip) {
			return ip
		}
	}
	return netip.Addr{}
}

func (c Resolver) trusted(ip netip.Addr) bool {
	for _, p := range c.Trusted {
		if ip.IsValid() && p.Contains(ip) {
			return true
		}
	}
	return false
}
