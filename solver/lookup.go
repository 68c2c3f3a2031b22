package solver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Lookup asks the resolvers, in order, for name's records of qtype.
func (r Resolver) Lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if len(r.Servers) == 0 {
		return nil, errors.New("no resolver to ask")
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	var errs []error
	for _, server := range r.Servers {
		reply, err := r.exchange(ctx, m, server)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", server, err))
			continue
		}
		if reply.Rcode != dns.RcodeSuccess {
			return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[reply.Rcode])
		}
		return reply.Answer, nil
	}
	return nil, errors.Join(errs...)
}

// Nameservers returns the address (host:53) of every authoritative server of
// zone, from its NS records and their addresses, through the resolvers.
func (r Resolver) Nameservers(ctx context.Context, zone string) ([]string, error) {
	rrs, err := r.Lookup(ctx, zone, dns.TypeNS)
	if err != nil {
		return nil, fmt.Errorf("name servers of %s: %w", zone, err)
	}
	var out []string
	for _, rr := range rrs {
		ns, ok := rr.(*dns.NS)
		if !ok {
			continue
		}
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			addrs, _ := r.Lookup(ctx, ns.Ns, qtype)
			for _, a := range addrs {
				switch a := a.(type) {
				case *dns.A:
					out = append(out, net.JoinHostPort(a.A.String(), "53"))
				case *dns.AAAA:
					out = append(out, net.JoinHostPort(a.AAAA.String(), "53"))
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("name servers of %s: none found with an address", zone)
	}
	return out, nil
}

// ServedTXT asks server, as an authoritative server and without recursion,
// for the TXT values of name.
func (r Resolver) ServedTXT(ctx context.Context, server, name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.RecursionDesired = false
	m.SetEdns0(1232, false)
	reply, err := r.exchange(ctx, m, server)
	if err != nil {
		return nil, err
	}
	var values []string
	for _, rr := range reply.Answer {
		if t, ok := rr.(*dns.TXT); ok && strings.EqualFold(dns.Fqdn(t.Hdr.Name), dns.Fqdn(name)) {
			values = append(values, strings.Join(t.Txt, ""))
		}
	}
	return values, nil
}
