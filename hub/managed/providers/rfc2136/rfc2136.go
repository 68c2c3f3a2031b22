// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package rfc2136 writes TXT records into any DNS server that takes
// dynamic updates (RFC 2136) signed with TSIG: BIND, Knot, PowerDNS,
// Windows DNS. Each value is one record added to the name's RRset and
// removed by its value, so values of several clients at one name coexist.
// The updates are cert-manager's own (pkg/issuer/acme/dns/rfc2136); the
// credentials check is an update whose prerequisite fails, which the
// server answers only after it accepted the TSIG signature, and which
// changes nothing.
package rfc2136

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"time"

	cmrfc2136 "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/rfc2136"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "rfc2136"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "a TXT record per value through RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS, Windows DNS)",
		Credentials: []providers.Field{
			{Name: "nameserver", Help: "host:port of the primary server that takes the updates (port 53 when left out)", Required: true},
			{Name: "tsig_key_name", Help: "the TSIG key's name, as the server's key statement names it", Required: true},
			{Name: "tsig_algorithm", Help: "HMACSHA256 (the default), HMACSHA512, or HMACSHA1 for old servers"},
			{Name: "tsig_secret", Help: "the TSIG key's secret, base64 as in the server's key statement", Secret: true, Required: true},
		},
		New: func(_ providers.Env, _ store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(credentials)
		},
	})
}

// Credentials are a config's credentials for an RFC 2136 server.
type Credentials struct {
	Nameserver    string `json:"nameserver"`
	TSIGKeyName   string `json:"tsig_key_name"`
	TSIGAlgorithm string `json:"tsig_algorithm,omitempty"`
	TSIGSecret    string `json:"tsig_secret"`
}

// algorithms are the TSIG algorithms a config may name, by their names in
// cert-manager's Issuers; HMAC-MD5 is left out.
var algorithms = map[string]string{
	"HMACSHA256": dns.HmacSHA256,
	"HMACSHA512": dns.HmacSHA512,
	"HMACSHA1":   dns.HmacSHA1,
}

// DefaultAlgorithm is the TSIG algorithm of a config that names none.
const DefaultAlgorithm = "HMACSHA256"

// Timeout bounds the key check's exchange with the server (cert-manager's
// updates keep miekg/dns's own timeouts).
const Timeout = 10 * time.Second

// Writer writes TXT records through dynamic updates.
type Writer struct {
	c   Credentials
	cm  *cmrfc2136.DNSProvider
	alg string // as miekg/dns names it
}

// New makes a provider from a config's credentials (JSON, see Credentials).
func New(credentials []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(credentials, &c, `{"nameserver": "host:port", "tsig_key_name": "…", "tsig_algorithm": "HMACSHA256", "tsig_secret": "…"}`); err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"nameserver", c.Nameserver}, {"tsig_key_name", c.TSIGKeyName}, {"tsig_secret", c.TSIGSecret}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("credentials: %s empty", strings.Join(missing, ", "))
	}
	if _, err := base64.StdEncoding.DecodeString(c.TSIGSecret); err != nil {
		return nil, fmt.Errorf("credentials: tsig_secret is not base64 (as in the server's key statement): %w", err)
	}
	c.TSIGAlgorithm = strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(c.TSIGAlgorithm))
	if c.TSIGAlgorithm == "" {
		c.TSIGAlgorithm = DefaultAlgorithm
	}
	alg, ok := algorithms[c.TSIGAlgorithm]
	if !ok {
		return nil, fmt.Errorf("credentials: tsig_algorithm %q: want HMACSHA256, HMACSHA512 or HMACSHA1", c.TSIGAlgorithm)
	}
	if _, _, err := net.SplitHostPort(c.Nameserver); err != nil {
		c.Nameserver = net.JoinHostPort(c.Nameserver, "53")
	}
	cm, err := cmrfc2136.NewDNSProviderCredentials(c.Nameserver, c.TSIGAlgorithm, c.TSIGKeyName, c.TSIGSecret)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return &Writer{c: c, cm: cm, alg: alg}, nil
}

// AppendRecords adds each TXT record to its name's RRset.
func (p *Writer) AppendRecords(_ context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	for i, r := range recs {
		rr := r.RR()
		fqdn := libdns.AbsoluteName(rr.Name, zone)
		if err := p.cm.Present("", fqdn, dns.Fqdn(zone), rr.Data); err != nil {
			return recs[:i], p.explain("adding a TXT record at "+strings.TrimSuffix(fqdn, "."), zone, err)
		}
	}
	return recs, nil
}

// DeleteRecords removes each TXT record by its value: the name's other
// values stay. A record already gone is no error (RFC 2136 ignores it).
func (p *Writer) DeleteRecords(_ context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	for i, r := range recs {
		rr := r.RR()
		fqdn := libdns.AbsoluteName(rr.Name, zone)
		if err := p.cm.CleanUp("", fqdn, dns.Fqdn(zone), rr.Data); err != nil {
			return recs[:i], p.explain("removing a TXT record at "+strings.TrimSuffix(fqdn, "."), zone, err)
		}
	}
	return recs, nil
}

// Test checks the key against the zone without changing it: an update
// whose only prerequisite (a TXT RRset at a name that has none) fails. The
// server answers NXRRSET once it has accepted the signature and found
// itself the zone's primary; NOTAUTH for a key it does not know or a
// signature it rejects.
func (p *Writer) Test(ctx context.Context, zone string) error {
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	probe := &dns.ANY{Hdr: dns.RR_Header{Name: "_acmehub-credentials-check." + dns.Fqdn(zone), Rrtype: dns.TypeTXT, Class: dns.ClassANY}}
	m.RRsetUsed([]dns.RR{probe})
	m.SetTsig(dns.Fqdn(p.c.TSIGKeyName), p.alg, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: Timeout, TsigSecret: map[string]string{dns.Fqdn(p.c.TSIGKeyName): p.c.TSIGSecret}}
	reply, _, err := c.ExchangeContext(ctx, m, p.c.Nameserver)
	switch {
	case err != nil:
		return p.explain("checking the key", zone, err)
	case reply.Rcode == dns.RcodeNXRrset:
		return nil
	default:
		return p.explain("checking the key", zone, fmt.Errorf("the server answered %s", dns.RcodeToString[reply.Rcode]))
	}
}

// explain says what was attempted at which server, and what an answer
// code means for the config.
func (p *Writer) explain(what, zone string, err error) error {
	msg := err.Error()
	var hint string
	switch {
	// cert-manager's updates keep miekg/dns's errors as text only. Knot
	// answers a name its acl does not grant as it answers a wrong key.
	case strings.Contains(msg, dns.ErrAuth.Error()), strings.Contains(msg, dns.ErrSig.Error()), strings.Contains(msg, "NOTAUTH"):
		hint = fmt.Sprintf("the server did not accept TSIG key %[1]s (%[2]s) for this: the key's name, secret or algorithm differs from the server's, "+
			"the server is not the primary of %[3]s, or its policy (Knot's acl) does not grant key %[1]s this name", p.c.TSIGKeyName, p.c.TSIGAlgorithm,
			strings.TrimSuffix(zone, "."))
	case strings.Contains(msg, "REFUSED"):
		hint = fmt.Sprintf("the server refused the update: its policy (BIND's update-policy) does not grant key %s this name", p.c.TSIGKeyName)
	case strings.Contains(msg, "NOTZONE"):
		hint = fmt.Sprintf("the name is not in zone %s on that server", strings.TrimSuffix(zone, "."))
	}
	e := fmt.Errorf("RFC 2136 server %s: %s: %w", p.c.Nameserver, what, err)
	if hint != "" {
		e = fmt.Errorf("%w; %s", e, hint)
	}
	return e
}

// CNAME asks the server for the CNAME at name.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	fqdn := libdns.AbsoluteName(name, zone)
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(fqdn), dns.TypeCNAME)
	q.RecursionDesired = false
	reply, _, err := (&dns.Client{Net: "tcp", Timeout: Timeout}).ExchangeContext(ctx, q, p.c.Nameserver)
	if err != nil {
		return "", p.explain("reading the CNAME at "+strings.TrimSuffix(fqdn, "."), zone, err)
	}
	for _, rr := range reply.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, dns.Fqdn(fqdn)) {
			return strings.TrimSuffix(strings.ToLower(c.Target), "."), nil
		}
	}
	return "", nil
}

// SetCNAME adds the CNAME in one update whose prerequisite is that no
// record holds the name (RFC 2136 2.4.5), so that nothing is overwritten:
// a server answering YXDOMAIN holds the name already, and the CNAME there
// (if any) tells whether that is this delegation.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	fqdn := dns.Fqdn(libdns.AbsoluteName(name, zone))
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	m.NameNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: fqdn}}})
	m.Insert([]dns.RR{&dns.CNAME{Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 300}, Target: dns.Fqdn(target)}})
	what := "adding the CNAME " + strings.TrimSuffix(fqdn, ".") + " → " + strings.TrimSuffix(target, ".")
	rcode, err := p.update(ctx, m)
	switch {
	case err != nil:
		return p.explain(what, zone, err)
	case rcode == dns.RcodeSuccess:
		return nil
	case rcode != dns.RcodeYXDomain:
		return p.explain(what, zone, fmt.Errorf("the server answered %s", dns.RcodeToString[rcode]))
	}
	held, err := p.CNAME(ctx, zone, name)
	switch {
	case err != nil:
		return err
	case strings.EqualFold(held, strings.TrimSuffix(target, ".")):
		return nil
	case held != "":
		return fmt.Errorf("%s: %w: a CNAME to %s", strings.TrimSuffix(fqdn, "."), providers.ErrNameTaken, held)
	}
	return fmt.Errorf("%s: %w: records other than a CNAME", strings.TrimSuffix(fqdn, "."), providers.ErrNameTaken)
}

// DeleteCNAME removes the CNAME record with exactly that target (RFC 2136
// 2.5.4): a name holding anything else is left as it is.
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	fqdn := dns.Fqdn(libdns.AbsoluteName(name, zone))
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	m.Remove([]dns.RR{&dns.CNAME{Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeCNAME, Class: dns.ClassINET}, Target: dns.Fqdn(target)}})
	what := "removing the CNAME " + strings.TrimSuffix(fqdn, ".") + " → " + strings.TrimSuffix(target, ".")
	rcode, err := p.update(ctx, m)
	if err == nil && rcode != dns.RcodeSuccess {
		err = fmt.Errorf("the server answered %s", dns.RcodeToString[rcode])
	}
	if err != nil {
		return p.explain(what, zone, err)
	}
	return nil
}

// update sends m signed with the config's key and returns the answer's
// code.
func (p *Writer) update(ctx context.Context, m *dns.Msg) (int, error) {
	m.SetTsig(dns.Fqdn(p.c.TSIGKeyName), p.alg, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: Timeout, TsigSecret: map[string]string{dns.Fqdn(p.c.TSIGKeyName): p.c.TSIGSecret}}
	reply, _, err := c.ExchangeContext(ctx, m, p.c.Nameserver)
	if err != nil {
		return 0, err
	}
	return reply.Rcode, nil
}
