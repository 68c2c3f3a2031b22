// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/idtoken"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Request is one challenge response to present or clean up.
type Request struct {
	// Identifier is the name being validated (a wildcard's is its base).
	// Empty: taken from Record, which must then be _acme-challenge.<name>.
	Identifier string
	// Record is the TXT record's name; empty: _acme-challenge.<identifier>.
	Record string
	// Value is the TXT value.
	Value string
	// Address is the client's address, for the audit log.
	Address string
	// Via names the front door, for the audit log.
	Via string
	// Expires, when not 0, has the sweep remove a presented value this long
	// after it was presented (acmeproxy's responses last five minutes),
	// rather than after the hub's cleanup_after.
	Expires time.Duration
}

// Placed says where a value was written.
type Placed struct {
	Config   string
	Zone     string
	Record   string
	RecordID string
}

// Check tells whether the caller may present the request, without writing
// anything; a refusal is audited.
func (s *Service) Check(ctx context.Context, caller Caller, req Request) error {
	start := s.now()
	c, _, err := s.authorize(ctx, caller, &req, false)
	if err != nil {
		s.audit(ctx, "present", caller, req, configID(c), start, err)
	}
	return err
}

// Refused audits a request a front door refused before Present or CleanUp:
// its token unknown, wrong, revoked or expired, or over its rate limit. At
// most one entry per client ID (one for all unknown ones), or per issuer
// and failed check, every 10 seconds, so that a flood of bad requests
// cannot flood the log.
func (s *Service) Refused(ctx context.Context, action string, who Caller, req Request, err error) {
	now := s.now()
	caller, key := who, who.ClientID
	switch {
	case who.Issuer != "":
		// An issuer's tokens: limited per issuer and check failed, which
		// a forger cannot vary without end.
		check := ""
		if e := (*idtoken.Error)(nil); errors.As(err, &e) {
			check = e.Check
		}
		key = "bearer " + who.Issuer + " " + check
	case who.ClientID != "":
		// A known token's refusals are its principal's, limited by token;
		// unknown ones share one limit.
		if tok, lookErr := s.store.Token(ctx, who.ClientID); lookErr == nil {
			caller.Principal = tok.Principal
		} else {
			key = ""
		}
	}
	s.mu.Lock()
	if len(s.refused) > 1<<14 {
		clear(s.refused)
	}
	due := now.Sub(s.refused[key]) >= 10*time.Second
	if due {
		s.refused[key] = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if req.Identifier == "" {
		if name, ok := strings.CutPrefix(strings.ToLower(strings.TrimSuffix(req.Record, ".")), "_acme-challenge."); ok {
			req.Identifier = name
		}
	}
	s.audit(ctx, action, caller, req, "", now, err)
}

// Present has the config matching the identifier write the value, after
// checking that the caller may, and audits the attempt.
func (s *Service) Present(ctx context.Context, caller Caller, req Request) (Placed, error) {
	start := s.now()
	placed, err := s.present(ctx, caller, &req)
	s.audit(ctx, "present", caller, req, placed.Config, start, err)
	return placed, err
}

func (s *Service) present(ctx context.Context, caller Caller, req *Request) (Placed, error) {
	c, record, err := s.authorize(ctx, caller, req, false)
	if err != nil {
		return Placed{Config: configID(c)}, err
	}
	p := Placed{Config: c.ID, Zone: c.Zone, Record: record, RecordID: randomID()}
	// Remembered before the provider writes, so that a crash between the two
	// leaves nothing the sweep cannot find.
	r := store.HubRecord{ID: p.RecordID, Config: c.ID, Zone: c.Zone, Name: record, Value: req.Value, ClientID: caller.ClientID,
		Identifier: req.Identifier, Created: s.now()}
	if req.Expires > 0 {
		r.Expires = r.Created.Add(req.Expires)
	}
	if err := s.remember(ctx, r); err != nil {
		return p, err
	}
	_, err = c.writer.AppendRecords(ctx, c.Zone+".", []libdns.Record{txt(record, c, req.Value)})
	if err != nil {
		return p, &Error{Code: CodeProvider, Err: fmt.Errorf("provider %s of config %s: %w", c.Provider, c.ID, err)}
	}
	return p, nil
}

// WaitServed returns once every authoritative server of the zone serves
// the value placed, or the last reason it is not when ctx ends.
func (s *Service) WaitServed(ctx context.Context, p Placed, value string) (by string, err error) {
	c := s.loaded(p.Config)
	if c == nil {
		return "", &Error{Code: CodeNoConfig, Err: fmt.Errorf("config %s is gone", p.Config)}
	}
	served := func(ctx context.Context) (string, error) {
		if prop, ok := c.writer.(providers.Propagation); ok {
			return prop.Served(ctx, p.Zone, p.Record, value)
		}
		if s.dns == nil {
			return "", fmt.Errorf("config %s: provider %s cannot tell when a value is served, and the hub has no resolver", c.ID, c.Provider)
		}
		by := "every authoritative server of " + p.Zone
		if ns := c.propagation.Nameservers; len(ns) > 0 {
			by = "the name servers " + strings.Join(ns, ", ")
		}
		return by, s.dns.AllServe(ctx, c.propagation.Nameservers, p.Zone, p.Record, value)
	}
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		by, err := served(ctx)
		if err == nil {
			return by, nil
		}
		select {
		case <-ctx.Done():
			return "", &Error{Code: CodeProvider, Err: fmt.Errorf("%s is not served yet: %w", p.Record, err)}
		case <-time.After(wait):
		}
	}
}

// checkValue accepts what a TXT string holds: 1 to 255 printable ASCII characters.
func checkValue(v string) error {
	if v == "" || len(v) > 255 {
		return fmt.Errorf("value must be 1 to 255 characters, not %d", len(v))
	}
	for _, r := range v {
		if r < 0x20 || r > 0x7e {
			return errors.New("value must be printable ASCII")
		}
	}
	return nil
}

func txt(record string, c *config, value string) libdns.TXT {
	return libdns.TXT{Name: libdns.RelativeName(record+".", c.Zone+"."), TTL: time.Duration(c.TTL) * time.Second, Text: value}
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
