// Package dnsserver is the authoritative DNS server for the acme-dns zone:
// SOA, NS and static records from the configuration, and the TXT values of
// accounts read from an in-memory source, never from the database.
package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Source gives the TXT values of the account owning a subdomain (one label,
// lower case) and whether such an account exists.
type Source interface {
	Lookup(subdomain string) (values []string, ok bool)
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
}

const (
	// maxUDPSize is the largest UDP answer sent and the size advertised in
	// EDNS0: 1232 bytes avoids IP fragmentation on any usual path (DNS flag day 2020).
	maxUDPSize = 1232
	soaTTL     = 3600
)

// Handler answers questions about one zone.
type Handler struct {
	origin  string // lower case, fully qualified
	suffix  string // "." + origin
	soa     *dns.SOA
	negSOA  *dns.SOA // the SOA placed in negative answers, with the short TTL
	names   map[string]*node
	src     Source
	ttl     uint32
	metrics *Metrics
	log     *slog.Logger
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
		src: src, ttl: z.TXTTTL, metrics: m, log: log,
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
		if name != origin && !strings.HasSuffix(name, h.suffix) {
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

// ServeDNS answers one message.
func (h *Handler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	start := time.Now()
	m := h.answer(r)
	size := dns.MinMsgSize
	if opt := r.IsEdns0(); opt != nil {
		size = max(size, min(int(opt.UDPSize()), maxUDPSize))
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); !udp {
		size = dns.MaxMsgSize
	}
	// Name compression costs time on every answer; it is used only for
	// answers that do not fit without it, which are then truncated if needed.
	if m.Len() > size {
		m.Compress = true
		m.Truncate(size)
	}
	if err := w.WriteMsg(m); err != nil {
		h.log.Debug("writing DNS answer", "remote", w.RemoteAddr(), "err", err)
	}
	h.metrics.observe(r, m, time.Since(start))
	if h.log.Enabled(context.Background(), slog.LevelDebug) && len(r.Question) > 0 {
		q := r.Question[0]
		h.log.Debug("DNS question", "name", q.Name, "type", dns.TypeToString[q.Qtype],
			"rcode", dns.RcodeToString[m.Rcode], "answers", len(m.Answer), "remote", w.RemoteAddr())
	}
}

// answer builds the reply to r, with r's question in its own case.
func (h *Handler) answer(r *dns.Msg) *dns.Msg {
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
	if name != h.origin && !strings.HasSuffix(name, h.suffix) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	switch {
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
		return m
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true

	exists := false
	if n := h.names[name]; n != nil {
		exists = true
		h.static(m, n, q)
	}
	if sub, ok := h.accountLabel(name); ok && (q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY) {
		if values, found := h.src.Lookup(sub); found {
			exists = true
			for _, v := range values {
				m.Answer = append(m.Answer, &dns.TXT{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: h.ttl},
					Txt: []string{v},
				})
			}
		}
	} else if ok && !exists {
		_, exists = h.src.Lookup(sub)
	}
	switch {
	case !exists:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{h.negSOA}
	case len(m.Answer) == 0:
		m.Ns = []dns.RR{h.negSOA} // NODATA
	}
	return m
}

// accountLabel returns the single label name has under the origin.
func (h *Handler) accountLabel(name string) (string, bool) {
	label, ok := strings.CutSuffix(name, h.suffix)
	if !ok || label == "" || strings.IndexByte(label, '.') >= 0 {
		return "", false
	}
	return label, true
}

// static answers q from a node of the static zone. A CNAME answers every
// type it does not hold itself; it is not followed.
func (h *Handler) static(m *dns.Msg, n *node, q dns.Question) {
	var rrs []dns.RR
	switch {
	case q.Qtype == dns.TypeANY:
		for _, set := range n.rrs {
			rrs = append(rrs, set...)
		}
	case len(n.rrs[q.Qtype]) > 0:
		rrs = n.rrs[q.Qtype]
	default:
		rrs = n.rrs[dns.TypeCNAME]
	}
	for _, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = q.Name
		m.Answer = append(m.Answer, c)
	}
}
