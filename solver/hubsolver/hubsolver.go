// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package hubsolver is the cert-manager webhook solver "hub": it forwards
// each challenge to an acmehub managed-challenge hub, with an API token
// from a Secret in the challenge's namespace or the webhook's own
// ServiceAccount token (which the hub trusts through its cluster's
// issuer), through the hub's Certify API (requestbegin, then requeststatus until the value is served; the
// synchronous request where a hub has no requestbegin; cleanup).
package hubsolver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"k8s.io/client-go/rest"

	"github.com/acmehub/acmehub/hub/certifyapi"
	"github.com/acmehub/acmehub/solver"
)

// Name is the solverName Issuers use.
const Name = "hub"

// Config is the Issuer's webhook config block.
type Config struct {
	// URL is the hub's base URL, e.g. https://hub.example.org.
	URL string `json:"url"`
	// CredentialsSecretRef names the Secret, in the challenge's resource
	// namespace, holding an API token; or
	CredentialsSecretRef *CredentialsRef `json:"credentialsSecretRef,omitempty"`
	// ServiceAccountToken shows the hub the webhook's ServiceAccount
	// token, which the chart projects for the hub's audience: no secret
	// of the hub's is kept in the cluster.
	ServiceAccountToken *TokenConfig `json:"serviceAccountToken,omitempty"`
	// CABundle, PEM (base64 in JSON), verifies the hub's certificate
	// instead of the system's roots.
	CABundle []byte `json:"caBundle,omitempty"`
}

// TokenConfig is the ServiceAccount token a hub is shown.
type TokenConfig struct {
	// Audience the token must be for; "": the url.
	Audience string `json:"audience,omitempty"`
}

// CredentialsRef is where the token's client ID and secret are.
type CredentialsRef struct {
	Name            string `json:"name"`
	ClientIDKey     string `json:"clientIDKey,omitempty"`
	ClientSecretKey string `json:"clientSecretKey,omitempty"`
}

// Default keys of the credentials Secret.
const (
	DefaultClientIDKey     = "clientID"
	DefaultClientSecretKey = "clientSecret"
)

// ParseConfig decodes and checks an Issuer's config block.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("decoding the webhook config: %w", err)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return c, fmt.Errorf("the webhook config's url %q must be the hub's https:// URL", c.URL)
	}
	c.URL = strings.TrimSuffix(c.URL, "/")
	switch ref := c.CredentialsSecretRef; {
	case ref != nil && c.ServiceAccountToken != nil:
		return c, errors.New("the webhook config names both credentialsSecretRef and serviceAccountToken: give one")
	case c.ServiceAccountToken != nil:
		if c.ServiceAccountToken.Audience == "" {
			c.ServiceAccountToken.Audience = c.URL
		}
	case ref == nil:
		return c, errors.New("the webhook config needs serviceAccountToken: {} (the webhook's ServiceAccount token, bound at the hub) or credentialsSecretRef (an API token)")
	case ref.Name == "":
		return c, errors.New("the webhook config has no credentialsSecretRef.name")
	default:
		if ref.ClientIDKey == "" {
			ref.ClientIDKey = DefaultClientIDKey
		}
		if ref.ClientSecretKey == "" {
			ref.ClientSecretKey = DefaultClientSecretKey
		}
	}
	if len(c.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.CABundle) {
		return c, errors.New("the webhook config's caBundle holds no PEM certificate")
	}
	return c, nil
}

// Options configure the solver.
type Options struct {
	// Timeout bounds one Present, the wait for the value included (default 50 s,
	// under the 60 s cert-manager's request to the webhook may take).
	Timeout time.Duration
	// TokenPath is the webhook's projected ServiceAccount token (default
	// solver.DefaultTokenPath).
	TokenPath string
	// TokenURLs are hubs the token may be shown besides those its
	// audiences name. It is never sent elsewhere: an Issuer naming
	// another url would otherwise be handed the webhook's identity.
	TokenURLs []string
	Log       *slog.Logger
}

// Solver implements cert-manager's webhook.Solver.
type Solver struct {
	opts    Options
	log     *slog.Logger
	cluster solver.Cluster
	clients sync.Map // CA bundle digest → *http.Client
}

// New returns the solver.
func New(opts Options) *Solver {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 50 * time.Second
	}
	if opts.TokenPath == "" {
		opts.TokenPath = solver.DefaultTokenPath
	}
	return &Solver{opts: opts, log: opts.Log.With("solver", Name)}
}

// Name is the solverName.
func (s *Solver) Name() string { return Name }

// Initialize connects to the cluster. It may be called more than once.
func (s *Solver) Initialize(cfg *rest.Config, stop <-chan struct{}) error {
	_, err := s.cluster.Connect(cfg, stop)
	return err
}

// target is a challenge's hub and its body.
type target struct {
	cfg    Config
	client *http.Client
	body   certifyapi.Request
	bearer string // the ServiceAccount token, else the body carries an API token
}

func (s *Solver) target(ctx context.Context, ch *whapi.ChallengeRequest) (target, error) {
	cfg, err := solver.DecodeConfig(ch, ParseConfig)
	if err != nil {
		return target{}, err
	}
	t := target{cfg: cfg, client: s.client(cfg.CABundle), body: certifyapi.Request{
		ChallengeType: "dns-01",
		Identifier:    strings.TrimPrefix(strings.TrimSuffix(ch.DNSName, "."), "*."),
		ResponseKey:   strings.TrimSuffix(ch.ResolvedFQDN, "."),
		ResponseValue: ch.Key,
	}}
	if cfg.ServiceAccountToken != nil {
		t.bearer, err = s.token(cfg)
		return t, err
	}
	ref := cfg.CredentialsSecretRef
	id, err := s.cluster.Secret(ctx, ch, ref.Name, ref.ClientIDKey)
	if err != nil {
		return target{}, err
	}
	secret, err := s.cluster.Secret(ctx, ch, ref.Name, ref.ClientSecretKey)
	if err != nil {
		return target{}, err
	}
	t.body.AuthKey, t.body.AuthSecret = strings.TrimSpace(string(id)), strings.TrimSpace(string(secret))
	return t, nil
}

// token is the webhook's ServiceAccount token for cfg's hub, which it may
// be shown only when one of its audiences, or the webhook's own list,
// names that hub.
func (s *Solver) token(cfg Config) (string, error) {
	token, audiences, err := solver.ProjectedToken{Path: s.opts.TokenPath}.Read(cfg.ServiceAccountToken.Audience, time.Now())
	if err != nil {
		return "", err
	}
	trim := func(u string) string { return strings.TrimSuffix(u, "/") }
	if !slices.ContainsFunc(audiences, func(a string) bool { return trim(a) == cfg.URL }) &&
		!slices.ContainsFunc(s.opts.TokenURLs, func(u string) bool { return trim(u) == cfg.URL }) {
		return "", fmt.Errorf("the webhook's ServiceAccount token is shown only to the hub it is for (%s), not to %s: "+
			"set url to it, or list this URL in the webhook's --hub-token-url", strings.Join(audiences, ", "), cfg.URL)
	}
	return token, nil
}

func (s *Solver) client(caBundle []byte) *http.Client {
	key := sha256.Sum256(caBundle)
	if c, ok := s.clients.Load(key); ok {
		return c.(*http.Client)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(caBundle) > 0 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caBundle)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	s.clients.Store(key, c)
	return c
}

// Present has the hub write the value and returns once the hub says every
// authoritative server serves it.
func (s *Solver) Present(ch *whapi.ChallengeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	t, err := s.target(ctx, ch)
	if err != nil {
		return err
	}
	var op certifyapi.Operation
	status, err := t.post(ctx, "requestbegin", &op)
	switch {
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented:
		// A hub without operations: the synchronous call.
		if _, err := t.post(ctx, "request", nil); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := t.wait(ctx, op); err != nil {
			return err
		}
	}
	s.log.Info("presented", "dnsName", ch.DNSName, "record", t.body.ResponseKey, "hub", t.cfg.URL)
	return nil
}

// CleanUp has the hub remove the value; cleaning up twice is fine.
func (s *Solver) CleanUp(ch *whapi.ChallengeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t, err := s.target(ctx, ch)
	if err != nil {
		return err
	}
	if _, err := t.post(ctx, "cleanup", nil); err != nil {
		return err
	}
	s.log.Info("cleaned up", "dnsName", ch.DNSName, "record", t.body.ResponseKey, "hub", t.cfg.URL)
	return nil
}

// post sends the body to call and decodes a 2xx answer into out; other
// answers are errors carrying the hub's RFC 7807 detail.
func (t target) post(ctx context.Context, call string, out any) (int, error) {
	raw, _ := json.Marshal(t.body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.URL+certifyapi.Base+"/"+call, bytes.NewReader(raw))
	if err != nil {
		return 0, fmt.Errorf("hub %s: %w", t.cfg.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if t.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+t.bearer)
	}
	return t.do(req, call, out)
}

func (t target) do(req *http.Request, call string, out any) (int, error) {
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("hub %s: %s: %w", t.cfg.URL, call, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		detail := strings.TrimSpace(string(body))
		var p struct{ Detail string }
		if json.Unmarshal(body, &p) == nil && p.Detail != "" {
			detail = p.Detail
		}
		return resp.StatusCode, fmt.Errorf("hub %s refused %s of %s: %d: %s", t.cfg.URL, call, t.body.ResponseKey, resp.StatusCode, detail)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("hub %s: %s: not an answer of the Certify API: %w", t.cfg.URL, call, err)
		}
	}
	return resp.StatusCode, nil
}

// wait polls the operation, without credentials, until it ends.
func (t target) wait(ctx context.Context, op certifyapi.Operation) error {
	for delay := 25 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		switch op.Status {
		case certifyapi.Succeeded:
			return nil
		case certifyapi.Failed:
			message := "no reason given"
			if op.Result != nil {
				message = op.Result.Message
			}
			return fmt.Errorf("hub %s could not present %s: %s", t.cfg.URL, t.body.ResponseKey, message)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hub %s: %s not served in time (operation %s): %w", t.cfg.URL, t.body.ResponseKey, op.Status, ctx.Err())
		case <-time.After(delay):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.cfg.URL+certifyapi.Base+"/requeststatus/"+url.PathEscape(op.ID), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		if _, err := t.do(req, "requeststatus", &op); err != nil {
			return err
		}
	}
}
