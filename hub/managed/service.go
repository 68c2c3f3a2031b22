// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Code classifies a refusal, for the front doors to answer with.
type Code int

// Refusals a client can act on.
const (
	CodeInvalid          Code = iota + 1 // a malformed request
	CodeUnauthenticated                  // unknown, wrong, revoked or expired token
	CodeForbidden                        // the token lacks the role, or its domains exclude the name
	CodeNoConfig                         // no config matches the identifier
	CodeRecordNotAllowed                 // the record name is not the identifier's
	CodeProvider                         // the DNS provider failed
	CodeBusy                             // the token's rate limit
)

// Error is a refusal with the cause a user can act on.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func invalid(err error) error { return &Error{Code: CodeInvalid, Err: err} }

// DNS is what the hub asks of DNS; hub/dnsclient's Resolver answers it.
type DNS interface {
	// CNAMETarget returns the name at the end of name's CNAME chain, or name.
	CNAMETarget(ctx context.Context, name string) (string, error)
	// AllServe checks once that every one of servers (the zone's
	// authoritative servers when empty) serves value at name.
	AllServe(ctx context.Context, servers []string, zone, name, value string) error
}

// Options configure a Service.
type Options struct {
	Store     store.Managed
	Keys      *Keyring
	Providers map[string]providers.Factory
	// DNS follows CNAMEs for configs that allow CNAME targets and tells when
	// a value is served; nil refuses such record names, and waits only on
	// providers that know themselves (Propagation).
	DNS DNS
	Now func() time.Time
	Log *slog.Logger
}

// Service decides who may present which value where, has the provider
// write it, and remembers and audits every change.
type Service struct {
	store     store.Managed
	keys      *Keyring
	providers map[string]providers.Factory
	dns       DNS
	records   *records
	now       func() time.Time
	log       *slog.Logger

	mu      sync.Mutex
	configs []*config
	touched map[string]time.Time
	refused map[string]time.Time // last audited refusal before Present, by client ID
	writes  sync.WaitGroup       // last-use updates under way
}

// Close waits for the writes the Service started on its own.
func (s *Service) Close() { s.writes.Wait() }

// config is a loaded challenge config: its rules parsed, its provider made.
type config struct {
	store.ChallengeConfig
	rules       Rules
	propagation providers.PropagationSettings
	writer      providers.Writer
}

// New makes a Service and loads the configs.
func New(ctx context.Context, o Options) (*Service, error) {
	s := &Service{store: o.Store, keys: o.Keys, providers: o.Providers, dns: o.DNS, now: o.Now, log: o.Log,
		touched: map[string]time.Time{}, refused: map[string]time.Time{}}
	s.records = newRecords(func(ctx context.Context, name string) ([]store.HubRecord, error) {
		if name == "" {
			return o.Store.Records(ctx)
		}
		return o.Store.RecordsAt(ctx, name)
	})
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	if err := s.records.reload(ctx, ""); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the configs again. A config whose rules or credentials are
// broken, or two configs with the same rule (neither would be the most
// specific), fail the load with every problem named.
func (s *Service) Reload(ctx context.Context) error {
	stored, err := s.store.Configs(ctx)
	if err != nil {
		return err
	}
	var (
		loaded []*config
		errs   []error
		owner  = map[string]string{} // allowing rule → config ID
		old    = map[string]*config{}
	)
	for _, c := range s.snapshot() {
		old[c.ID] = c
	}
	for _, c := range stored {
		lc := old[c.ID]
		if lc == nil || !lc.Updated.Equal(c.Updated) {
			// New or changed: its provider is made again.
			if lc, err = s.load(c); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		for _, r := range lc.rules {
			if r.Deny {
				continue
			}
			if other, dup := owner[r.String()]; dup {
				errs = append(errs, fmt.Errorf("configs %s and %s both have the rule %s: for its names neither is the most specific", other, c.ID, r))
			}
			owner[r.String()] = c.ID
		}
		loaded = append(loaded, lc)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("managed challenge configs: %w", err)
	}
	s.mu.Lock()
	s.configs = loaded
	s.mu.Unlock()
	return nil
}

func (s *Service) load(c store.ChallengeConfig) (*config, error) {
	rules, err := ParseRules(c.Rules)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", c.ID, err)
	}
	propagation, err := providers.ParsePropagation(c.Propagation)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", c.ID, err)
	}
	factory, ok := s.providers[c.Provider]
	if !ok {
		return nil, fmt.Errorf("config %s: unknown provider %q", c.ID, c.Provider)
	}
	var creds []byte
	if len(c.Credentials) > 0 {
		if creds, err = s.keys.Open(c.Credentials, c.KeyID, c.ID); err != nil {
			return nil, fmt.Errorf("config %s: credentials: %w", c.ID, err)
		}
	}
	p, err := factory(c, creds)
	if err != nil {
		return nil, fmt.Errorf("config %s: provider %s: %w", c.ID, c.Provider, err)
	}
	return &config{ChallengeConfig: c, rules: rules, propagation: propagation, writer: p}, nil
}

// ConfigFor returns the most specific config whose rules allow identifier.
func (s *Service) ConfigFor(identifier string) (store.ChallengeConfig, bool) {
	c, ok := s.configFor(identifier)
	if !ok {
		return store.ChallengeConfig{}, false
	}
	return c.ChallengeConfig, true
}

func (s *Service) configFor(identifier string) (*config, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		best     *config
		bestRule Rule
	)
	for _, c := range s.configs {
		r, ok := c.rules.Allows(identifier)
		if ok && (best == nil || more(r, bestRule)) {
			best, bestRule = c, r
		}
	}
	return best, best != nil
}

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
// most one entry per client ID (one for all unknown ones) every 10
// seconds, so that a flood of bad requests cannot flood the log.
func (s *Service) Refused(ctx context.Context, action, clientID string, req Request, err error) {
	now := s.now()
	// A known token's refusals are its principal's, limited by token;
	// unknown ones share one limit.
	caller, key := Caller{ClientID: clientID}, clientID
	if tok, lookErr := s.store.Token(ctx, clientID); lookErr == nil {
		caller.Principal = tok.Principal
	} else {
		key = ""
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

// CleanUp removes the value this token presented at the record (every
// value it presented there, when req.Value is empty); values others
// presented there stay.
func (s *Service) CleanUp(ctx context.Context, caller Caller, req Request) error {
	start := s.now()
	c, done, err := s.cleanUp(ctx, caller, &req)
	e := s.entry("cleanup", caller, req, configID(c), start, err)
	if len(done) == 0 {
		s.writeAudit(ctx, e)
		return err
	}
	// The records whose values are gone are forgotten with the entry.
	if ferr := s.forget(ctx, done, e); ferr != nil {
		err = errors.Join(err, ferr)
		s.writeAudit(ctx, s.entry("cleanup", caller, req, configID(c), start, err))
	}
	return err
}

// cleanUp removes the values and returns the records whose values are
// gone, for CleanUp to forget, also when a later removal failed.
func (s *Service) cleanUp(ctx context.Context, caller Caller, req *Request) (*config, []store.HubRecord, error) {
	c, record, err := s.authorize(ctx, caller, req, true)
	if err != nil {
		return c, nil, err
	}
	records := s.records.at(record)
	if !slices.ContainsFunc(records, func(r store.HubRecord) bool { return r.Config == c.ID && r.ClientID == caller.ClientID }) {
		// Presented through another process a moment ago, perhaps, and not
		// yet announced here: the database knows.
		if records, err = s.store.RecordsAt(ctx, record); err != nil {
			return c, nil, err
		}
	}
	mine := map[string][]store.HubRecord{} // by value
	others := map[string]bool{}
	for _, r := range records {
		if r.Config != c.ID || req.Value != "" && r.Value != req.Value {
			continue
		}
		if r.ClientID == caller.ClientID {
			mine[r.Value] = append(mine[r.Value], r)
		} else {
			others[r.Value] = true
		}
	}
	// cert-manager cleans up twice: a value gone already is no error.
	var done []store.HubRecord
	for value, recs := range mine {
		if !others[value] {
			if _, err := c.writer.DeleteRecords(ctx, c.Zone+".", []libdns.Record{txt(record, c, value)}); err != nil {
				return c, done, &Error{Code: CodeProvider, Err: fmt.Errorf("provider %s of config %s: %w", c.Provider, c.ID, err)}
			}
		}
		done = append(done, recs...)
	}
	return c, done, nil
}

// remember stores a record before its provider writes it.
func (s *Service) remember(ctx context.Context, r store.HubRecord) error {
	if err := s.store.AddRecord(ctx, r); err != nil {
		return err
	}
	s.records.change(r, false)
	return nil
}

// forget drops the records whose values their provider removed, and
// appends e to the audit log, in one write.
func (s *Service) forget(ctx context.Context, records []store.HubRecord, e store.AuditEntry) error {
	ids := make([]string, len(records))
	for i, r := range records {
		ids[i] = r.ID
	}
	if err := s.store.RemoveRecords(context.WithoutCancel(ctx), ids, e); err != nil {
		return err
	}
	for _, r := range records {
		s.records.change(r, true)
	}
	return nil
}

// authorize checks that the caller may answer for the request's identifier
// at its record, and returns the config and the record's name. A cleanup
// may leave the value out.
func (s *Service) authorize(ctx context.Context, caller Caller, req *Request, cleanup bool) (*config, string, error) {
	if !caller.Can(RoleConsumer) {
		return nil, "", &Error{Code: CodeForbidden, Err: fmt.Errorf("API token %s does not carry the %s role", caller.ClientID, RoleConsumer)}
	}
	if err := checkValue(req.Value); err != nil && (req.Value != "" || !cleanup) {
		return nil, "", invalid(err)
	}
	record := ""
	if req.Record != "" {
		r, err := RecordName(req.Record)
		if err != nil {
			return nil, "", invalid(fmt.Errorf("record name: %w", err))
		}
		record = r
	}
	if req.Identifier == "" {
		name, ok := strings.CutPrefix(record, "_acme-challenge.")
		if !ok {
			return nil, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is not _acme-challenge.<name>, and the request names no identifier "+
				"(a client that followed a CNAME must name the identifier: lego's httpreq does with HTTPREQ_MODE=RAW, "+
				"or sends _acme-challenge.<name> with LEGO_DISABLE_CNAME_SUPPORT=true, and the hub follows the CNAME)", record)}
		}
		req.Identifier = name
	}
	id, err := Identifier(req.Identifier)
	if err != nil {
		return nil, "", invalid(fmt.Errorf("identifier: %w", err))
	}
	req.Identifier = id
	if caller.Domains != nil {
		if _, ok := caller.Domains.Allows(id); !ok {
			return nil, "", &Error{Code: CodeForbidden, Err: fmt.Errorf("API token %s may not answer for %s (its domains: %s)",
				caller.ClientID, id, strings.Join(caller.Domains.Strings(), ", "))}
		}
	}
	c, ok := s.configFor(id)
	if !ok {
		return nil, "", &Error{Code: CodeNoConfig, Err: fmt.Errorf("no managed challenge config matches %s", id)}
	}
	want := ChallengeName(id)
	if f, ok := c.writer.(providers.FixedRecord); ok {
		fixed := f.Record()
		if record != "" && record != want && record != fixed {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is neither %s nor %s, where config %s writes", record, want, fixed, c.ID)}
		}
		req.Record = fixed
		return c, fixed, nil
	}
	cnames := c.AllowCNAME && s.dns != nil
	switch {
	case record == "" && cnames:
		// The client leaves the record to the hub: where the CNAME leads.
		target, err := s.dns.CNAMETarget(ctx, want)
		if err != nil {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("following %s: %w", want, err)}
		}
		if record, err = RecordName(target); err != nil {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("%s is a CNAME to %q: %w", want, target, err)}
		}
	case record == "" || record == want:
		record = want
	case cnames:
		target, err := s.dns.CNAMETarget(ctx, want)
		if err != nil {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s: following %s: %w", record, want, err)}
		}
		if t, _ := RecordName(target); t != record {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is neither %s nor the target of its CNAME (%s)", record, want, target)}
		}
	default:
		return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is not %s, and config %s does not allow CNAME targets", record, want, c.ID)}
	}
	if record != c.Zone && !strings.HasSuffix(record, "."+c.Zone) {
		return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is outside zone %s of config %s", record, c.Zone, c.ID)}
	}
	req.Record = record
	return c, record, nil
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

func configID(c *config) string {
	if c == nil {
		return ""
	}
	return c.ID
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ValueHash identifies a value in the audit log without revealing it.
func ValueHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// audit appends the outcome of a request to the audit log.
func (s *Service) audit(ctx context.Context, action string, caller Caller, req Request, configID string, start time.Time, err error) {
	s.writeAudit(ctx, s.entry(action, caller, req, configID, start, err))
}

// entry is the audit entry of a request's outcome.
func (s *Service) entry(action string, caller Caller, req Request, configID string, start time.Time, err error) store.AuditEntry {
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
		var e *Error
		if errors.As(err, &e) && e.Code != CodeProvider {
			result = "refused: " + err.Error()
		}
	}
	e := store.AuditEntry{At: start, Action: action, Principal: caller.Principal, ClientID: caller.ClientID, Address: req.Address,
		Identifier: req.Identifier, Record: req.Record, Config: configID, Result: result, Detail: req.Via, Duration: s.now().Sub(start)}
	if req.Value != "" {
		e.ValueHash = ValueHash(req.Value)
	}
	return e
}

func (s *Service) writeAudit(ctx context.Context, e store.AuditEntry) {
	if err := s.store.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("writing the audit log", "action", e.Action, "err", err)
	}
}
