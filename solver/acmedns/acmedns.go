// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package acmedns is the cert-manager webhook solver "acme-dns". Its Issuer
// config mirrors cert-manager's built-in acmeDNS block (host,
// accountSecretRef): the account Secret holds acme-dns registrations by
// domain, and the challenge's value is written to the account's subdomain,
// either through acme-dns's HTTP API at host, or, when host is omitted, into
// the acmehub server embedded in the webhook process.
package acmedns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/acmedns/client"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/solver"
)

// Name is the solverName Issuers use.
const Name = "acme-dns"

// DefaultKey is the Secret key read when accountSecretRef has none.
const DefaultKey = "acmedns.json"

// Config is the Issuer's webhook config block.
type Config struct {
	// Host is the acme-dns (or acmehub server) API, e.g. https://acme-dns.example.org.
	// Empty: the server embedded in the webhook.
	Host string `json:"host,omitempty"`
	// AccountSecretRef names the Secret, in the challenge's resource
	// namespace, holding the account file.
	AccountSecretRef SecretKeyRef `json:"accountSecretRef"`
	// DelegationCheck overrides the webhook's default: off, warn or enforce.
	DelegationCheck string `json:"delegationCheck,omitempty"`
}

// SecretKeyRef is a key of a Secret in the challenge's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"`
}

// ParseConfig decodes and checks an Issuer's config block.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 {
		return c, errors.New("the webhook config is empty: it needs accountSecretRef")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("decoding the webhook config: %w", err)
	}
	if c.AccountSecretRef.Name == "" {
		return c, errors.New("the webhook config has no accountSecretRef.name")
	}
	if c.AccountSecretRef.Key == "" {
		c.AccountSecretRef.Key = DefaultKey
	}
	if c.DelegationCheck != "" {
		if _, err := solver.ParseDelegationMode(c.DelegationCheck); err != nil {
			return c, fmt.Errorf("the webhook config: %w", err)
		}
	}
	return c, nil
}

// Options configure the solver.
type Options struct {
	// Embedded is the account service of the acmehub server running in this
	// process, for Issuers without host; nil when none runs.
	Embedded *accounts.Service
	// DelegationCheck is the mode for Issuers that do not choose one.
	DelegationCheck solver.DelegationMode
	// Resolver answers the delegation check.
	Resolver dnsclient.Resolver
	// LiveExpiry is how long a value presented to a plain acme-dns counts as
	// live when it is never cleaned up; 0 means accounts.DefaultPresentExpiry.
	LiveExpiry time.Duration
	// SlotWait is how long a Present to a plain acme-dns account that holds
	// as many live values as it keeps waits for a CleanUp to free one,
	// behind the Presents that came first, before it fails for cert-manager
	// to retry; 0 means DefaultSlotWait, a negative value refuses at once.
	SlotWait time.Duration
	// Registerer receives the solver's metrics; nil registers none.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Solver implements cert-manager's webhook.Solver.
type Solver struct {
	opts    Options
	log     *slog.Logger
	remote  *client.Client
	live    *liveValues
	cluster solver.Cluster
	// events is replaced by every Initialize, as the cluster is.
	mu     sync.RWMutex
	events challengeEvents
}

// DefaultSlotWait bounds a Present's wait for a free slot: well below the
// minute kube-apiserver gives a request (--request-timeout), so that the
// refusal, not a timeout, reaches cert-manager.
const DefaultSlotWait = 20 * time.Second

// New returns the solver.
func New(opts Options) *Solver {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.DelegationCheck == "" {
		opts.DelegationCheck = solver.DelegationWarn
	}
	if opts.LiveExpiry <= 0 {
		opts.LiveExpiry = accounts.DefaultPresentExpiry
	}
	if opts.SlotWait == 0 {
		opts.SlotWait = DefaultSlotWait
	}
	s := &Solver{
		opts: opts, log: opts.Log.With("solver", Name), remote: client.New(),
		live: newLiveValues(opts.LiveExpiry, opts.SlotWait, newLiveMetrics(opts.Registerer)),
	}
	s.live.nudge = s.nudge
	return s
}

// nudge tells the Challenge of value and dnsName, refused for want of a
// slot and backing off in cert-manager, that a slot is free.
func (s *Solver) nudge(value, dnsName string) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	s.mu.RLock()
	events := s.events
	s.mu.RUnlock()
	if err := events.nudge(ctx, value, dnsName); err != nil {
		s.log.Warn("could not tell a waiting challenge that a slot is free; cert-manager retries it after its back-off",
			"dnsName", dnsName, "err", err.Error())
		return
	}
	s.log.Info("told a waiting challenge that a slot is free", "dnsName", dnsName)
}

// Name is the solverName.
func (s *Solver) Name() string { return Name }

// Initialize connects to the cluster. It may be called more than once.
func (s *Solver) Initialize(cfg *rest.Config, stop <-chan struct{}) error {
	kube, err := s.cluster.Connect(cfg, stop)
	if err != nil {
		return err
	}
	cm, err := cmclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("cert-manager client: %w", err)
	}
	s.mu.Lock()
	s.events = challengeEvents{cm: cm, kube: kube}
	s.mu.Unlock()
	return nil
}

// requestTimeout bounds one Present or CleanUp.
const requestTimeout = 30 * time.Second

// Present writes the challenge's value to its account, where no value
// presented later evicts it before its CleanUp. Presenting a value already
// held changes nothing. An account that cannot hold one more value (a plain
// acme-dns keeps two) refuses it with an error, and cert-manager retries.
func (s *Solver) Present(ch *whapi.ChallengeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	t, err := s.target(ctx, ch)
	if err != nil {
		return err
	}
	if err := s.checkDelegation(ctx, ch, t); err != nil {
		return err
	}
	s.warnInsecureHost(ctx, ch, t)
	if err := t.backend.present(ctx, t.account, ch.Key, ch.DNSName); err != nil {
		var busy *AccountBusyError
		if errors.As(err, &busy) {
			viaParent := solver.Candidates(ch.DNSName)[0] != strings.TrimPrefix(t.found, "*.")
			if names := t.accounts.NamesOf(t.account.Username); len(names) > 1 || viaParent {
				s.log.Warn("one account serves several names but the server holds only a few values at once: "+
					"challenges wait for each other; give each name its own account, or use an acmehub server",
					"fulldomain", t.account.FullDomain, "limit", busy.Limit, "names", names, "found_under", t.found)
			}
		}
		return err
	}
	s.log.Info("presented", "dnsName", ch.DNSName, "account", t.found, "fulldomain", t.account.FullDomain, "backend", t.backend.name())
	return nil
}

// CleanUp removes exactly the challenge's value from its account, leaving
// others (a wildcard and its apex share an account). Cleaning up twice is fine.
func (s *Solver) CleanUp(ch *whapi.ChallengeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	t, err := s.target(ctx, ch)
	if err != nil {
		return err
	}
	if err := t.backend.cleanUp(ctx, t.account, ch.Key); err != nil {
		return err
	}
	s.log.Info("cleaned up", "dnsName", ch.DNSName, "account", t.found, "fulldomain", t.account.FullDomain, "backend", t.backend.name())
	return nil
}

// target is where a challenge goes.
type target struct {
	cfg      Config
	accounts solver.Accounts
	account  solver.Account
	found    string // the name the account was found under
	backend  backend
}

func (s *Solver) target(ctx context.Context, ch *whapi.ChallengeRequest) (target, error) {
	cfg, err := solver.DecodeConfig(ch, ParseConfig)
	if err != nil {
		return target{}, err
	}
	ref := cfg.AccountSecretRef
	data, err := s.cluster.Secret(ctx, ch, ref.Name, ref.Key)
	if err != nil {
		return target{}, err
	}
	accts, err := solver.ParseAccounts(data)
	if err != nil {
		return target{}, fmt.Errorf("secret %s/%s key %s: %w", ch.ResourceNamespace, ref.Name, ref.Key, err)
	}
	acct, found, err := accts.Lookup(ch.DNSName)
	if err != nil {
		return target{}, fmt.Errorf("secret %s/%s key %s: %w", ch.ResourceNamespace, ref.Name, ref.Key, err)
	}
	t := target{cfg: cfg, accounts: accts, account: acct, found: found}
	switch {
	case cfg.Host != "":
		t.backend = remoteBackend{client: s.remote, host: cfg.Host, live: s.live, log: s.log}
	case s.opts.Embedded != nil:
		t.backend = embeddedBackend{svc: s.opts.Embedded, metrics: s.live.metrics}
	default:
		return target{}, errors.New("the webhook config has no host and this webhook runs no embedded acmehub server " +
			"(set host, or start the webhook with --server-config)")
	}
	return t, nil
}

// warnInsecureHost warns, in the log and with an Event on the Challenge,
// when the account's credentials go in clear to another machine.
func (s *Solver) warnInsecureHost(ctx context.Context, ch *whapi.ChallengeRequest, t target) {
	u, err := url.Parse(t.cfg.Host)
	if err != nil || u.Scheme != "http" || isLoopback(u.Hostname()) {
		return
	}
	msg := fmt.Sprintf("the acme-dns host %s is plain http: the credentials of account %s cross the network in clear; use https", t.cfg.Host, t.account.FullDomain)
	s.log.Warn(msg, "dnsName", ch.DNSName)
	s.mu.RLock()
	events := s.events
	s.mu.RUnlock()
	if err := events.warn(ctx, ch, "InsecureAcmeDNSHost", msg); err != nil {
		s.log.Debug("no event recorded", "err", err)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (s *Solver) checkDelegation(ctx context.Context, ch *whapi.ChallengeRequest, t target) error {
	mode := s.opts.DelegationCheck
	if t.cfg.DelegationCheck != "" {
		mode, _ = solver.ParseDelegationMode(t.cfg.DelegationCheck)
	}
	if mode == solver.DelegationOff {
		return nil
	}
	err := solver.CheckDelegation(ctx, s.opts.Resolver, ch.DNSName, t.account.FullDomain)
	if err == nil {
		return nil
	}
	if mode == solver.DelegationEnforce {
		return err
	}
	s.log.Warn("challenge name not delegated to its account; validation will fail until it is", "dnsName", ch.DNSName, "err", err.Error())
	return nil
}
