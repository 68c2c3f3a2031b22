// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnsserver is the authoritative DNS server for the acme-dns zone:
// SOA, NS and static records from the configuration, and the TXT values of
// accounts read from an in-memory source, never from the database. Beside
// the zone it answers for the _acme-challenge names delegated to the hub.
package dnsserver

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/dnssec"
)

// Source gives the TXT values of the account owning a subdomain (one label,
// lower case): newest first, each followed by a newline (a value never
// holds one), and whether such an account exists. subdomain may be a
// buffer the server reuses: a Source does not keep it.
type Source interface {
	Values(subdomain string) (values string, ok bool)
}

// Zone describes what the server is authoritative for.
type Zone struct {
	// Domain is the zone's name, e.g. auth.example.org.
	Domain string
	// NSName is the primary name server; NSAdmin the SOA mailbox as a name.
	NSName, NSAdmin string
	// Records are static records in zone-file syntax. Names are taken as
	// absolute; a record without a TTL gets 3600.
	Records []string
	// TXTTTL is the TTL of TXT answers and of the SOA in negative answers.
	TXTTTL uint32
	// Serial is the SOA serial.
	Serial uint32
	// Signer, when set, signs the zone: its DNSKEY is served at the apex,
	// and answers to queries with the DO bit carry RRSIGs and compact
	// denials of existence (see dnssec.go).
	Signer *dnssec.Signer
}

const (
	// maxUDPSize is the largest UDP answer sent and the size advertised in
	// EDNS0: 1232 bytes avoids IP fragmentation on any usual path (DNS flag day 2020).
	maxUDPSize = 1232
	soaTTL     = 3600
)

// Handler answers questions about one zone.
type Handler struct {
	origin string // lower case, fully qualified
	suffix string // "." + origin
	soa    *dns.SOA
	negSOA *dns.SOA // the SOA placed in negative answers, with the short TTL
	names  map[string]*node
	src    Source
	// delegations, when set, are answered for beside the zone.
	delegations DelegatedZones
	ttl         uint32
	signer      *dnssec.Signer
	// fastSigs are accounts' TXT signatures packed for the fast path.
	fastSigs fastSigs
	// apexSigners sign the delegated apexes, with the zone's keys.
	apexSigners apexSigners
	metrics     *Metrics
	log         *slog.Logger
	// protect, limiter and queryLog are how clients are treated (Protect).
	protect  Protection
	limiter  *rateLimiter
	queryLog *QueryLog
}

// node is a name that exists in the static part of the zone; an empty
// non-terminal has no records.
type node struct {
	rrs map[uint16][]dns.RR
}

// NewHandler builds the zone. Static records must lie inside it.
func NewHandler(z Zone, src Source, m *Metrics, log *slog.Logger) (*Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	origin := dns.CanonicalName(z.Domain)
	if _, ok := dns.IsDomainName(origin); !ok || origin == "." {
		return nil, fmt.Errorf("zone %q is not a domain name", z.Domain)
	}
	h := &Handler{
		origin: origin, suffix: "." + origin, names: map[string]*node{},
		src: src, ttl: z.TXTTTL, signer: z.Signer, metrics: m, log: log,
	}
	nsname := dns.Fqdn(defaultString(z.NSName, z.Domain))
	h.soa = &dns.SOA{
		Hdr:     dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaTTL},
		Ns:      nsname,
		Mbox:    dns.Fqdn(defaultString(strings.ReplaceAll(z.NSAdmin, "@", "."), "hostmaster."+origin)),
		Serial:  z.Serial,
		Refresh: 28800, Retry: 7200, Expire: 604800, Minttl: 86400,
	}
	neg := *h.soa
	neg.Hdr.Ttl = min(z.TXTTTL, soaTTL)
	h.negSOA = &neg
	h.add(h.soa)
	for i, text := range z.Records {
		rr, err := dns.NewRR(text)
		if err != nil {
			return nil, fmt.Errorf("records[%d] %q: %w", i, text, err)
		}
		if rr == nil {
			return nil, fmt.Errorf("records[%d] %q: no record", i, text)
		}
		name := dns.CanonicalName(rr.Header().Name)
		if !dns.IsSubDomain(origin, name) {
			return nil, fmt.Errorf("records[%d] %q: %s is outside the zone %s", i, text, name, origin)
		}
		if rr.Header().Rrtype == dns.TypeSOA {
			return nil, fmt.Errorf("records[%d] %q: the SOA is generated from nsname and nsadmin", i, text)
		}
		rr.Header().Name = name
		h.add(rr)
	}
	if len(h.names[origin].rrs[dns.TypeNS]) == 0 {
		h.add(&dns.NS{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: soaTTL}, Ns: nsname})
	}
	for name, n := range h.names {
		if cname := n.rrs[dns.TypeCNAME]; len(cname) > 0 && len(n.rrs) > 1 {
			return nil, fmt.Errorf("records: %s has a CNAME and other records", name)
		}
	}
	if err := h.loadSigner(); err != nil {
		return nil, err
	}
	return h, nil
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// add places rr at its name and makes every name between it and the origin exist.
func (h *Handler) add(rr dns.RR) {
	name := rr.Header().Name
	n := h.names[name]
	if n == nil {
		n = &node{rrs: map[uint16][]dns.RR{}}
		h.names[name] = n
	}
	n.rrs[rr.Header().Rrtype] = append(n.rrs[rr.Header().Rrtype], rr)
	for name != h.origin {
		_, rest, _ := strings.Cut(name, ".")
		name = rest
		if h.names[name] == nil {
			h.names[name] = &node{rrs: map[uint16][]dns.RR{}}
		}
	}
}

// Protection is how the server treats clients on the Internet.
type Protection struct {
	RateLimit RateLimit
	// CookieSecret makes and checks server cookies; servers answering for
	// the same zone should share it, so that a cookie one made is valid at
	// every other.
	CookieSecret CookieSecret
	// FullANYOverTCP answers ANY over TCP with every record at the name;
	// otherwise ANY is answered minimally over TCP as over UDP.
	FullANYOverTCP bool
	// QueryLog, when set, logs (a sample of) the questions.
	QueryLog *QueryLog
}

// Protect sets how clients are treated; call it before serving.
func (h *Handler) Protect(p Protection) {
	h.protect, h.queryLog = p, p.QueryLog
	h.limiter = newRateLimiter(p.RateLimit, h.metrics, h.log)
}

// ServeDNS answers one message: over UDP within the client's rate limit
// (RateLimit), with a COOKIE when it sent one (cookie.go).
func (h *Handler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	start := time.Now()
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	client := remoteAddr(w.RemoteAddr())
	cookie, cookieErr := h.readCookie(r, client, start)
	m := h.answerWith(r, !udp && h.protect.FullANYOverTCP, udp && !cookie.valid)
	h.answerCookie(m, cookie, cookieErr, client, start)
	v := send
	if udp {
		v = h.limitUDP(m, client, cookie)
	}
	if v == drop {
		h.queryLog.record(start, client, r, m, v)
		return
	}
	size := dns.MinMsgSize
	if opt := r.IsEdns0(); opt != nil {
		size = max(size, min(int(opt.UDPSize()), maxUDPSize))
	}
	if !udp {
		size = dns.MaxMsgSize
	}
	// Name compression costs time on every answer; it is used only for
	// answers that do not fit without it, which are then truncated if needed.
	if m.Len() > size {
		m.Compress = true
		m.Truncate(size)
	}
	// Counted before it is sent: whoever got the answer finds it counted.
	h.metrics.observe(r, m, time.Since(start))
	if err := w.WriteMsg(m); err != nil {
		h.log.Debug("writing DNS answer", "remote", w.RemoteAddr(), "err", err)
	}
	h.queryLog.record(start, client, r, m, v)
	if h.log.Enabled(context.Background(), slog.LevelDebug) && len(r.Question) > 0 {
		q := r.Question[0]
		h.log.Debug("DNS question", "name", q.Name, "type", dns.TypeToString[q.Qtype],
			"rcode", dns.RcodeToString[m.Rcode], "answers", len(m.Answer), "remote", w.RemoteAddr())
	}
}

// formatError answers a query that does not unpack with FORMERR, its
// header alone, as miekg/dns's server does; over UDP within the client's
// rate limit.
func (h *Handler) formatError(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	m := new(dns.Msg)
	m.Id, m.Opcode, m.Response, m.Rcode = req.Id, req.Opcode, true, dns.RcodeFormatError
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp && h.limitUDP(m, remoteAddr(w.RemoteAddr()), cookieState{}) == drop {
		return
	}
	h.metrics.observe(req, m, time.Since(start))
	if err := w.WriteMsg(m); err != nil {
		h.log.Debug("writing DNS answer", "remote", w.RemoteAddr(), "err", err)
	}
}

// limitUDP holds an answer over UDP to the client's rate limit, unless
// the client returned a valid server cookie: it is then no spoofed
// source. It says what becomes of the answer, which it may make truncated
// and empty.
func (h *Handler) limitUDP(m *dns.Msg, client netip.Addr, cookie cookieState) verdict {
	if cookie.valid {
		return send
	}
	class := classErrors
	if m.Rcode == dns.RcodeSuccess && (len(m.Answer) > 0 || m.Truncated) {
		class = classResponses
	}
	v := h.limiter.judge(client, class)
	switch {
	case v == send:
	case len(cookie.server) > 0:
		// A client that speaks cookies gets a fresh one to retry with
		// instead (RFC 7873 section 5.2.3): its retry is then not limited.
		emptyTruncated(m)
		m.Truncated = false
		m.Rcode = dns.RcodeBadCookie
		v = slip
	case v == slip:
		emptyTruncated(m)
	}
	return v
}

// emptyTruncated makes m a truncated answer without records, so that the
// client asks again over TCP.
func emptyTruncated(m *dns.Msg) {
	m.Truncated = true
	m.Answer, m.Ns = nil, nil
	if opt := m.IsEdns0(); opt != nil {
		m.Extra = []dns.RR{opt}
	} else {
		m.Extra = nil
	}
}

// readCookie reads the COOKIE option of r, if any; an error for a
// malformed one.
func (h *Handler) readCookie(r *dns.Msg, client netip.Addr, now time.Time) (cookieState, error) {
	opt := r.IsEdns0()
	if opt == nil || opt.Version() != 0 {
		return cookieState{}, nil
	}
	for _, o := range opt.Option {
		if sent, ok := o.(*dns.EDNS0_COOKIE); ok {
			data, err := hex.DecodeString(sent.Cookie)
			if err != nil {
				return cookieState{}, errBadCookieOption
			}
			return h.protect.CookieSecret.readCookie(data, client, now)
		}
	}
	return cookieState{}, nil
}

// answerCookie answers the client's COOKIE option in m: its client cookie
// and a server cookie; FORMERR for a malformed option.
func (h *Handler) answerCookie(m *dns.Msg, c cookieState, err error, client netip.Addr, now time.Time) {
	reply := m.IsEdns0()
	switch {
	case reply == nil:
	case err != nil:
		m.Rcode = dns.RcodeFormatError
		m.Answer, m.Ns, m.Extra = nil, nil, []dns.RR{reply}
	case c.sent:
		reply.Option = append(reply.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE,
			Cookie: hex.EncodeToString(h.protect.CookieSecret.reply(c, client, now))})
	}
}

// remoteAddr is a client's address; the zero Addr when it has none.
func remoteAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// answer builds the reply to r, with r's question in its own case; ANY is
// answered minimally.
func (h *Handler) answer(r *dns.Msg) *dns.Msg { return h.answerWith(r, false, false) }

// answerWith builds the reply to r; fullANY answers ANY with every record
// at the name instead of one synthesized HINFO (RFC 8482); truncateANY
// answers ANY with DO in a signed zone truncated and empty, at once: even
// minimal, its signed answer is several times the question, and over UDP
// its source may be forged.
func (h *Handler) answerWith(r *dns.Msg, fullANY, truncateANY bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	opt := r.IsEdns0()
	if opt != nil {
		m.SetEdns0(maxUDPSize, false)
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
	}
	if r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	if h.signer != nil && opt != nil && opt.Do() {
		m.IsEdns0().SetDo()
		if truncateANY && q.Qtype == dns.TypeANY {
			m.Authoritative, m.Truncated = true, true
			return m
		}
		defer h.secure(m, opt)
	}
	if q.Qtype == dns.TypeANY && !fullANY {
		defer minimalANY(m) // before the answer is signed
	}
	switch {
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
		return m
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused
		return m
	case !h.inZone(name):
		return h.answerDelegated(m, q, name)
	}
	m.Authoritative = true

	// Follow in-zone CNAMEs as RFC 1034 section 4.3.2 says: the answer holds
	// each CNAME and then the records of the asked type at its target; the
	// rcode is the last name's (RFC 6604). A chain leaving the zone ends with
	// its CNAME, for the resolver to follow; a loop or an overlong chain ends
	// where it stands.
	owner := q.Name
	seen := map[string]bool{}
	for hops := 0; ; hops++ {
		seen[name] = true
		rrs, cname, exists := h.lookup(name, owner, q.Qtype)
		m.Answer = append(m.Answer, rrs...)
		if !exists {
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{h.negSOA}
			h.deny(m, owner, name, false)
			return m
		}
		if cname == nil {
			if len(rrs) == 0 {
				if len(m.Answer) == 0 {
					m.Ns = []dns.RR{h.negSOA} // NODATA
				}
				h.deny(m, owner, name, true)
			}
			return m
		}
		m.Answer = append(m.Answer, cname)
		target := strings.ToLower(cname.Target)
		if !h.inZone(target) || seen[target] || hops+1 >= maxChain {
			return m
		}
		name, owner = target, cname.Target
	}
}

// minimalANY answers ANY at a name that has records with one synthesized
// HINFO "RFC8482" (RFC 8482 section 4.2) instead of all of them: an ANY
// question is no longer worth many times its size to whoever can forge
// its source. Names without records are answered as before.
func minimalANY(m *dns.Msg) {
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 {
		return
	}
	q := m.Question[0]
	m.Answer = []dns.RR{&dns.HINFO{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: m.Answer[0].Header().Ttl},
		Cpu: "RFC8482",
	}}
}

// maxChain bounds the in-zone CNAMEs one answer follows.
const maxChain = 8

// inZone reports whether name (lower case, fully qualified) is the origin or
// below it, label by label: x\.auth.example.org. is not below auth.example.org.
func (h *Handler) inZone(name string) bool { return dns.IsSubDomain(h.origin, name) }

// lookup returns the records of qtype at name (lower case), with owner as
// their name; when name holds a CNAME and not the asked type, that CNAME
// instead; and whether name exists.
func (h *Handler) lookup(name, owner string, qtype uint16) (rrs []dns.RR, cname *dns.CNAME, exists bool) {
	if n := h.names[name]; n != nil {
		exists = true
		var set []dns.RR
		switch {
		case qtype == dns.TypeANY:
			for _, rs := range n.rrs {
				set = append(set, rs...)
			}
		case len(n.rrs[qtype]) > 0:
			set = n.rrs[qtype]
		case len(n.rrs[dns.TypeCNAME]) > 0:
			c := dns.Copy(n.rrs[dns.TypeCNAME][0]).(*dns.CNAME)
			c.Hdr.Name = owner
			return nil, c, true
		}
		for _, rr := range set {
			c := dns.Copy(rr)
			c.Header().Name = owner
			rrs = append(rrs, c)
		}
		if name == h.origin && (qtype == dns.TypeDNSKEY || qtype == dns.TypeANY) {
			rrs = append(rrs, h.dnskey(owner)...)
		}
	}
	sub, ok := h.accountLabel(name)
	if !ok {
		return rrs, nil, exists
	}
	values, found := h.src.Values(sub)
	if !found {
		return rrs, nil, exists
	}
	if qtype == dns.TypeTXT || qtype == dns.TypeANY {
		for v := range strings.Lines(values) {
			v = v[:len(v)-1]
			rrs = append(rrs, &dns.TXT{
				Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: h.ttl},
				Txt: []string{escapeTXT(v)},
			})
		}
	}
	return rrs, nil, true
}

// escapeTXT writes value in the presentation form miekg/dns packs, so that
// the wire carries exactly value, backslashes and quotes included.
func escapeTXT(value string) string {
	if !strings.ContainsAny(value, `\"`) {
		return value
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value)
}

// accountLabel returns the single label name has under the origin.
func (h *Handler) accountLabel(name string) (string, bool) {
	label, ok := strings.CutSuffix(name, h.suffix)
	if !ok || label == "" || strings.IndexByte(label, '.') >= 0 || strings.IndexByte(label, '\\') >= 0 {
		return "", false
	}
	return label, true
}
