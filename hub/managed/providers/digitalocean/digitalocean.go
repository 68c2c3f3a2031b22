// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package digitalocean is DigitalOcean's DNS as a hub provider, through
// github.com/libdns/digitalocean: one TXT record appended per value;
// removal by value (the zone listed page by page, and the TXT records of
// that name and value deleted by their IDs). The API client (godo) retries
// calls answered 429 or 5xx up to 4 times, with back-off from 1 s to 30 s
// that honours Retry-After, and goes through HTTPS_PROXY when it is set.
// Whether a value is served is asked of DigitalOcean's name servers
// through DNS.
package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/digitalocean/godo"
	"github.com/libdns/digitalocean"
	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "digitalocean"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "a TXT record per value in a DigitalOcean domain, through its API",
		Credentials: []providers.Field{{Name: "api_token", Help: "a personal access token with write access to the zone's domain", Secret: true, Required: true}},
		New: func(_ providers.Env, _ store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(credentials)
		},
	})
}

// MinTTL is the smallest TTL DigitalOcean accepts.
const MinTTL = 30 * time.Second

// Credentials are a config's credentials for DigitalOcean: a personal
// access token with write access to the zone's domain.
type Credentials struct {
	APIToken string `json:"api_token"`
}

// Writer writes TXT records in a DigitalOcean domain.
type Writer struct {
	api *digitalocean.Provider
}

// New makes a provider from a config's credentials (JSON, see Credentials).
func New(credentials []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(credentials, &c, `{"api_token": "…"}`); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.APIToken) == "" {
		return nil, errors.New(`credentials: api_token is empty`)
	}
	return &Writer{api: &digitalocean.Provider{APIToken: c.APIToken}}, nil
}

// AppendRecords creates one record for each TXT record given; TTLs below
// DigitalOcean's minimum are raised to it.
func (p *Writer) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	var out []libdns.Record
	for _, r := range recs {
		rr := r.RR()
		rr.TTL = max(rr.TTL, MinTTL)
		var created []libdns.Record
		err := p.do("creating "+describe(rr, zone), func() (err error) {
			created, err = p.api.AppendRecords(ctx, zone, []libdns.Record{rr})
			return err
		})
		if err != nil {
			return out, err
		}
		out = append(out, created...)
	}
	return out, nil
}

// DeleteRecords removes the TXT records of each name and value given, by
// their IDs; records already gone are no error.
func (p *Writer) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	existing, err := p.GetRecords(ctx, zone)
	if err != nil {
		return nil, err
	}
	var deleted []libdns.Record
	for _, r := range recs {
		want := r.RR()
		for _, e := range existing {
			rr := e.RR()
			if !strings.EqualFold(rr.Type, want.Type) || !sameName(rr.Name, want.Name) || rr.Data != want.Data {
				continue
			}
			err := p.do("deleting "+describe(rr, zone), func() error {
				_, err := p.api.DeleteRecords(ctx, zone, []libdns.Record{e})
				var gone *godo.ErrorResponse
				if errors.As(err, &gone) && gone.Response != nil && gone.Response.StatusCode == http.StatusNotFound {
					return nil
				}
				return err
			})
			if err != nil {
				return deleted, err
			}
			deleted = append(deleted, e)
		}
	}
	return deleted, nil
}

// GetRecords lists every record of the zone, every page.
func (p *Writer) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	var recs []libdns.Record
	err := p.do("listing the records of "+strings.TrimSuffix(zone, "."), func() (err error) {
		recs, err = p.api.GetRecords(ctx, zone)
		return err
	})
	return recs, err
}

// Test checks the token against the zone: it may list its records.
func (p *Writer) Test(ctx context.Context, zone string) error {
	_, err := p.GetRecords(ctx, zone)
	return err
}

// sameName compares relative names; DigitalOcean writes the apex as "@".
func sameName(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSuffix(s, "."))
		if s == "" {
			return "@"
		}
		return s
	}
	return norm(a) == norm(b)
}

func describe(rr libdns.RR, zone string) string {
	return fmt.Sprintf("%s record %s", rr.Type, strings.TrimSuffix(libdns.AbsoluteName(rr.Name, zone), "."))
}

// do runs call and names what it attempted in its error.
func (p *Writer) do(what string, call func() error) error {
	if err := call(); err != nil {
		return fmt.Errorf("DigitalOcean: %s: %w", what, explain(err))
	}
	return nil
}

// explain keeps DigitalOcean's own message and status in the error.
func explain(err error) error {
	var e *godo.ErrorResponse
	if errors.As(err, &e) && e.Response != nil {
		attempts := ""
		if e.Attempts > 1 {
			attempts = fmt.Sprintf(" (after %d attempts)", e.Attempts)
		}
		return fmt.Errorf("%d %s%s: %s", e.Response.StatusCode, http.StatusText(e.Response.StatusCode), attempts, e.Message)
	}
	return err
}

// cnameTTL is the TTL of the CNAMEs the hub writes: they stay for years.
const cnameTTL = time.Hour

// CNAME returns the target of the CNAME at name, from the zone's records.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	recs, err := p.GetRecords(ctx, zone)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if rr := r.RR(); rr.Type == "CNAME" && sameName(rr.Name, name) {
			return strings.ToLower(strings.TrimSuffix(rr.Data, ".")), nil
		}
	}
	return "", nil
}

// SetCNAME adds the CNAME unless a record holds the name: DigitalOcean
// itself refuses a CNAME beside other records, and this reads them first
// to say which.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	recs, err := p.GetRecords(ctx, zone)
	if err != nil {
		return err
	}
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	for _, r := range recs {
		rr := r.RR()
		if !sameName(rr.Name, name) {
			continue
		}
		if rr.Type == "CNAME" && strings.EqualFold(strings.TrimSuffix(rr.Data, "."), target) {
			return nil
		}
		return fmt.Errorf("%s: %w: a %s record (%s)", strings.TrimSuffix(libdns.AbsoluteName(name, zone), "."), providers.ErrNameTaken, rr.Type, rr.Data)
	}
	rec := libdns.CNAME{Name: name, Target: target + ".", TTL: cnameTTL}
	return p.do("creating "+describe(rec.RR(), zone), func() error {
		_, err := p.api.AppendRecords(ctx, zone, []libdns.Record{rec})
		return err
	})
}

// DeleteCNAME removes the CNAME at name that points at target.
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.CNAME{Name: name, Target: strings.TrimSuffix(target, ".") + "."}})
	return err
}
