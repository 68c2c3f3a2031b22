// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/acmehub/acmehub/hub/idtoken"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

func (e *Error) Unwrap() error { return e.Err }

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
	// HubURL is where clients reach the hub: the audience issuers' tokens
	// must name unless an issuer says otherwise.
	HubURL string
	// Issuers are trusted issuers of the configuration file, beside the
	// database's.
	Issuers []store.Issuer
	Now     func() time.Time
	Log     *slog.Logger
}

// Service decides who may present which value where, has the provider
// write it, and remembers and audits every change.
type Service struct {
	store     store.Managed
	keys      *Keyring
	providers map[string]providers.Factory
	dns       DNS
	hubURL    string
	issuers   []store.Issuer // the configuration's
	keySets   *idtoken.KeySets
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
	s := &Service{store: o.Store, keys: o.Keys, providers: o.Providers, dns: o.DNS, hubURL: o.HubURL, keySets: idtoken.NewKeySets(),
		now: o.Now, log: o.Log, touched: map[string]time.Time{}, refused: map[string]time.Time{}}
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
	for _, i := range o.Issuers {
		checked, err := s.checkIssuer(i)
		if err != nil {
			return nil, fmt.Errorf("[[hub.issuers]] %s: %w", i.ID, err)
		}
		checked.Config = true
		s.issuers = append(s.issuers, checked)
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
