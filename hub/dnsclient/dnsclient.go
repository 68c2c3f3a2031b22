// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnsclient asks DNS the questions acmehub's parts need: records
// through recursive resolvers, the authoritative servers of a zone, the TXT
// values one of them serves, and where a CNAME chain leads. The solver's
// delegation check, acmehub check and the hub's propagation wait and CNAME
// rule are built on it.
package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// MaxChain bounds the CNAME chains followed.
const MaxChain = 8

// Resolver asks recursive resolvers.
type Resolver struct {
	// Servers are host:port addresses of recursive resolvers, tried in order.
	Servers []string
	// Timeout bounds each question (default 2 s).
	Timeout time.Duration
}

// System uses the resolvers of /etc/resolv.conf.
func System() (Resolver, error) {
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return Resolver{}, fmt.Errorf("reading /etc/resolv.conf: %w", err)
	}
	r := Resolver{Timeout: 2 * time.Second}
	for _, s := range conf.Servers {
		r.Servers = append(r.Servers, net.JoinHostPort(s, conf.Port))
	}
	return r, nil
}

// Normalize is name in lower case without the trailing dot.
func Normalize(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// ask sends the question to the resolvers in order and returns the first
// reply.
func (r Resolver) ask(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if len(r.Servers) == 0 {
		return nil, errors.New("no resolver to ask")
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	var errs []error
	for _, server := range r.Servers {
		reply, err := r.exchange(ctx, m, server)
		if err == nil {
			return reply, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", server, err))
	}
	return nil, fmt.Errorf("no answer: %w", errors.Join(errs...))
}

// Lookup asks the resolvers, in order, for name's records of qtype.
func (r Resolver) Lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	reply, err := r.ask(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	if reply.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[reply.Rcode])
	}
	return reply.Answer, nil
}

// Chain follows name's CNAME records through the resolvers and returns the
// names it leads to, in order (none when name is no CNAME). A chain that
// loops or is longer than MaxChain is returned as far as it was followed,
// with an error; so is a resolver's answer other than NOERROR or NXDOMAIN
// when no CNAME was found.
func (r Resolver) Chain(ctx context.Context, name string) ([]string, error) {
	reply, err := r.ask(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var chain []string
	for cur := Normalize(name); ; {
		next := ""
		for _, rr := range reply.Answer {
			if c, ok := rr.(*dns.CNAME); ok && Normalize(c.Hdr.Name) == cur {
				next = Normalize(c.Target)
			}
		}
		switch {
		case next == "":
			if len(chain) == 0 && reply.Rcode != dns.RcodeSuccess && reply.Rcode != dns.RcodeNameError {
				return nil, fmt.Errorf("the resolver answered %s", dns.RcodeToString[reply.Rcode])
			}
			return chain, nil
		case next == Normalize(name) || slices.Contains(chain, next):
			return chain, fmt.Errorf("the CNAME chain from %s loops at %s", Normalize(name), next)
		case len(chain) == MaxChain:
			return chain, fmt.Errorf("the CNAME chain from %s is longer than %d", Normalize(name), MaxChain)
		}
		chain = append(chain, next)
		cur = next
	}
}

// CNAMETarget is the name at the end of name's CNAME chain, or name itself
// when it is no CNAME; lower case, without the trailing dot.
func (r Resolver) CNAMETarget(ctx context.Context, name string) (string, error) {
	chain, err := r.Chain(ctx, name)
	if err != nil {
		return "", fmt.Errorf("following %s: %w", name, err)
	}
	if len(chain) == 0 {
		return Normalize(name), nil
	}
	return chain[len(chain)-1], nil
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

// NotServedError names the servers that do not serve a value yet.
type NotServedError struct {
	Name    string
	Servers []string // host:port, with the failure when one did not answer
}

func (e *NotServedError) Error() string {
	return "not served by " + strings.Join(e.Servers, ", ") + " at " + e.Name
}

// AllServe checks once that every one of servers (the zone's authoritative
// ones, found through the resolvers, when servers is empty) serves value at
// name; a *NotServedError names those that do not.
func (r Resolver) AllServe(ctx context.Context, servers []string, zone, name, value string) error {
	if len(servers) == 0 {
		var err error
		if servers, err = r.Nameservers(ctx, zone); err != nil {
			return err
		}
	}
	missing := &NotServedError{Name: Normalize(name)}
	for _, s := range servers {
		values, err := r.ServedTXT(ctx, s, name)
		switch {
		case err != nil:
			missing.Servers = append(missing.Servers, fmt.Sprintf("%s (%v)", s, err))
		case !slices.Contains(values, value):
			missing.Servers = append(missing.Servers, s)
		}
	}
	if len(missing.Servers) > 0 {
		return missing
	}
	return nil
}

// WaitServed asks as AllServe does, with a growing pause (50 ms to 2 s),
// until every server serves the value or ctx ends; then it returns the last
// answer's error.
func (r Resolver) WaitServed(ctx context.Context, servers []string, zone, name, value string) error {
	if len(servers) == 0 {
		var err error
		if servers, err = r.Nameservers(ctx, zone); err != nil {
			return err
		}
	}
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := r.AllServe(ctx, servers, zone, name, value)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func (r Resolver) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	c := &dns.Client{Timeout: timeout}
	reply, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && reply.Truncated {
		c.Net = "tcp"
		reply, _, err = c.ExchangeContext(ctx, m, server)
	}
	return reply, err
}
