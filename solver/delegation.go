package solver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DelegationMode says what to do when a challenge name is not delegated to
// its account: "off" does not look, "warn" logs, "enforce" fails the challenge.
type DelegationMode string

// Delegation modes.
const (
	DelegationOff     DelegationMode = "off"
	DelegationWarn    DelegationMode = "warn"
	DelegationEnforce DelegationMode = "enforce"
)

// ParseDelegationMode checks a mode's spelling.
func ParseDelegationMode(s string) (DelegationMode, error) {
	switch m := DelegationMode(strings.ToLower(s)); m {
	case DelegationOff, DelegationWarn, DelegationEnforce:
		return m, nil
	}
	return "", fmt.Errorf("delegation check %q: must be off, warn or enforce", s)
}

// Resolver asks recursive resolvers.
type Resolver struct {
	// Servers are host:port addresses of recursive resolvers, tried in order.
	Servers []string
	// Timeout bounds each question.
	Timeout time.Duration
}

// SystemResolver uses the resolvers of /etc/resolv.conf.
func SystemResolver() (Resolver, error) {
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

// DelegationError says which record is missing.
type DelegationError struct {
	Name, Want, Found string
}

func (e *DelegationError) Error() string {
	return fmt.Sprintf("%s must be a CNAME to %s (found: %s)", e.Name, e.Want, e.Found)
}

// ChallengeName is the name the CA asks for dnsName's challenge.
func ChallengeName(dnsName string) string {
	return "_acme-challenge." + strings.TrimPrefix(normalize(dnsName), "*.")
}

// CheckDelegation confirms that the challenge name of dnsName is a CNAME (or a
// chain of them) leading to fullDomain, or returns a *DelegationError saying
// which record to create.
func (r Resolver) CheckDelegation(ctx context.Context, dnsName, fullDomain string) error {
	name := ChallengeName(dnsName)
	want := normalize(fullDomain)
	fail := func(found string) error { return &DelegationError{Name: name, Want: want, Found: found} }
	if len(r.Servers) == 0 {
		return fail("no resolver to ask")
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.SetEdns0(1232, false)
	var (
		reply *dns.Msg
		errs  []error
	)
	for _, server := range r.Servers {
		var err error
		if reply, err = r.exchange(ctx, m, server); err == nil {
			break
		}
		errs = append(errs, fmt.Errorf("%s: %w", server, err))
	}
	if reply == nil {
		return fail("no answer: " + errors.Join(errs...).Error())
	}
	// Follow the CNAME chain the resolver returned from the challenge name.
	first, cur := "", normalize(name)
	for range 8 {
		next := ""
		for _, rr := range reply.Answer {
			if c, ok := rr.(*dns.CNAME); ok && normalize(c.Hdr.Name) == cur {
				next = normalize(c.Target)
			}
		}
		if next == "" {
			break
		}
		if first == "" {
			first = next
		}
		if next == want {
			return nil
		}
		cur = next
	}
	if first == "" {
		if reply.Rcode != dns.RcodeSuccess && reply.Rcode != dns.RcodeNameError {
			return fail("none, resolver answered " + dns.RcodeToString[reply.Rcode])
		}
		return fail("none")
	}
	return fail(first)
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
