// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package acmedns writes a hub config's values into one account of an
// acme-dns-compatible server (acmehub or acme-dns), so that a hub can front
// an existing acme-dns deployment: the names of the config keep their
// _acme-challenge CNAMEs to the account's fulldomain, and the hub holds the
// account's credentials instead of every client.
//
// Against acmehub a value is held (POST /present) until its cleanup (POST
// /delete). A plain acme-dns has neither: a value is written with /update,
// the account keeps its two newest values, and cleanup leaves the value
// until newer ones replace it.
package acmedns

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/acmedns/client"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "acme-dns"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "one account of an acme-dns or acmehub server, whose fulldomain the names' _acme-challenge CNAMEs point at",
		Credentials: []providers.Field{
			{Name: "server_url", Help: "the acme-dns API, e.g. https://acme-dns.example.org", Required: true},
			{Name: "username", Help: "the account's username", Required: true},
			{Name: "password", Help: "the account's password", Secret: true, Required: true},
			{Name: "fulldomain", Help: "the account's fulldomain", Required: true},
			{Name: "subdomain", Help: "the account's subdomain", Required: true},
			{Name: "allowfrom", Help: "the account's allowfrom, as /register gave it", List: true},
		},
		New: func(env providers.Env, cfg store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			p, err := providers.ParsePropagation(cfg.Propagation)
			if err != nil {
				return nil, err
			}
			return New(credentials, env.Resolver, p.Nameservers)
		},
	})
}

// Credentials are an acme-dns account as acme-dns's /register answers it
// (the format of cert-manager's acmedns.json entries), with its server.
type Credentials struct {
	ServerURL  string   `json:"server_url"`
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	FullDomain string   `json:"fulldomain"`
	SubDomain  string   `json:"subdomain"`
	AllowFrom  []string `json:"allowfrom,omitempty"`
}

// Writer writes TXT values into the account.
type Writer struct {
	creds       Credentials
	api         *client.Client
	dns         dnsclient.Resolver
	nameservers []string
}

// New makes a provider from a config's credentials (JSON, see
// Credentials). resolver finds the name servers of the account's zone, or
// nameservers (host:port) are asked instead.
func New(credentials []byte, resolver dnsclient.Resolver, nameservers []string) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(credentials, &c, `{"server_url", "username", "password", "fulldomain", "subdomain"}`); err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"server_url", c.ServerURL}, {"username", c.Username},
		{"password", c.Password}, {"fulldomain", c.FullDomain}, {"subdomain", c.SubDomain}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("credentials: %s missing", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(c.ServerURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("credentials: server_url %q is not an http(s) URL", c.ServerURL)
	}
	c.FullDomain = dnsclient.Normalize(c.FullDomain)
	return &Writer{creds: c, api: client.New(), dns: resolver, nameservers: nameservers}, nil
}

// Record is where every value is written: the account's fulldomain,
// whatever name a request gives.
func (p *Writer) Record() string { return p.creds.FullDomain }

func (p *Writer) account() client.Account {
	return client.Account{Username: p.creds.Username, Password: p.creds.Password, Subdomain: p.creds.SubDomain}
}

// AppendRecords writes each TXT value into the account.
func (p *Writer) AppendRecords(ctx context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	for _, r := range recs {
		if err := p.present(ctx, r.RR().Data); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (p *Writer) present(ctx context.Context, value string) error {
	status, answer, err := p.api.TXT(ctx, p.creds.ServerURL, "/present", p.account(), value)
	if err == nil && client.NotFound(status) {
		status, answer, err = p.api.TXT(ctx, p.creds.ServerURL, "/update", p.account(), value)
	}
	return p.explain("writing", status, answer, err)
}

// DeleteRecords removes each TXT value from the account (a plain acme-dns
// cannot: the value stays until newer ones replace it).
func (p *Writer) DeleteRecords(ctx context.Context, _ string, recs []libdns.Record) ([]libdns.Record, error) {
	for _, r := range recs {
		status, answer, err := p.api.TXT(ctx, p.creds.ServerURL, "/delete", p.account(), r.RR().Data)
		if err == nil && client.NotFound(status) {
			continue
		}
		if err := p.explain("deleting a value of", status, answer, err); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// Served reports whether the authoritative servers of the account's zone
// serve value at its fulldomain.
func (p *Writer) Served(ctx context.Context, _, _, value string) (string, error) {
	_, zone, _ := strings.Cut(p.creds.FullDomain, ".")
	by := "every authoritative server of " + zone
	if len(p.nameservers) > 0 {
		by = "the name servers " + strings.Join(p.nameservers, ", ")
	}
	return by, p.dns.AllServe(ctx, p.nameservers, zone, p.creds.FullDomain, value)
}

// ErrUncheckable says that a plain acme-dns offers no way to check an
// account's credentials without replacing one of its values.
var ErrUncheckable = errors.New("a plain acme-dns cannot check the credentials without replacing one of the account's two values")

// Test checks the credentials with a probe value held and deleted (on
// acmehub); a plain acme-dns answers ErrUncheckable.
func (p *Writer) Test(ctx context.Context, _ string) error {
	b := make([]byte, 32)
	rand.Read(b)
	probe := base64.RawURLEncoding.EncodeToString(b)
	status, answer, err := p.api.TXT(ctx, p.creds.ServerURL, "/present", p.account(), probe)
	if err == nil && client.NotFound(status) {
		return fmt.Errorf("%s at %s: %w", p.creds.FullDomain, p.creds.ServerURL, ErrUncheckable)
	}
	if err := p.explain("writing a probe to", status, answer, err); err != nil {
		return err
	}
	status, answer, err = p.api.TXT(ctx, p.creds.ServerURL, "/delete", p.account(), probe)
	return p.explain("deleting the probe of", status, answer, err)
}

func (p *Writer) explain(what string, status int, answer string, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("acme-dns at %s: %s %s: %w", p.creds.ServerURL, what, p.creds.FullDomain, err)
	case status/100 == 2:
		return nil
	case status == http.StatusUnauthorized:
		return fmt.Errorf("acme-dns at %s refuses the credentials of account %s (%s): %d %s", p.creds.ServerURL, p.creds.Username, p.creds.FullDomain, status, answer)
	}
	return fmt.Errorf("acme-dns at %s: %s %s: %d %s", p.creds.ServerURL, what, p.creds.FullDomain, status, answer)
}
