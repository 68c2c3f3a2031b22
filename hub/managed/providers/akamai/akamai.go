// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package akamai writes TXT records in an Akamai Edge DNS zone through
// Akamai's own client (edgegrid-golang's dns package, the one cert-manager
// uses), signed with EdgeGrid API credentials. Edge DNS keeps all TXT
// values of a name in one record set: a value is added to the set and
// removed from it, the others kept.
//
// cert-manager's Akamai solver is not used as it stands: it takes every
// error of the API's read as "no record set" (so a cleanup refused for
// its credentials reports success and leaves the value behind), and it
// finds the zone through recursive DNS where the config already names it.
//
// Edge DNS has no conditional write. A change is read, made, and read
// back; when another writer (another replica) changed the set in between
// and the value is not as it should be, the change is made again.
package akamai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	edgedns "github.com/akamai/AkamaiOPEN-edgegrid-golang/v13/pkg/dns"
	"github.com/akamai/AkamaiOPEN-edgegrid-golang/v13/pkg/edgegrid"
	"github.com/akamai/AkamaiOPEN-edgegrid-golang/v13/pkg/session"
	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "akamai"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "TXT values added to and removed from a record set of an Akamai Edge DNS zone",
		Credentials: []providers.Field{
			{Name: "host", Help: "the API client's host, e.g. akab-….luna.akamaiapis.net (host in .edgerc)", Required: true},
			{Name: "client_token", Help: "the API client's client_token", Required: true},
			{Name: "client_secret", Help: "the API client's client_secret", Secret: true, Required: true},
			{Name: "access_token", Help: "the API client's access_token", Secret: true, Required: true},
			{Name: "account_switch_key", Help: "the account to act in, for a client that manages several"},
			{Name: "zone", Help: "the Edge DNS zone, when it is a parent of the config's zone; empty: the config's zone"},
		},
		New: func(_ providers.Env, _ store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(credentials)
		},
	})
}

// Credentials are a config's credentials for Edge DNS: an EdgeGrid API
// client (as in .edgerc) with read-write access to the zone.
type Credentials struct {
	Host             string `json:"host"`
	ClientToken      string `json:"client_token"`
	ClientSecret     string `json:"client_secret"`
	AccessToken      string `json:"access_token"`
	AccountSwitchKey string `json:"account_switch_key,omitempty"`
	Zone             string `json:"zone,omitempty"`
}

// attempts bounds how often a change is made again when another writer
// changed the record set between its read and its write.
const attempts = 5

// Writer writes TXT records in an Edge DNS zone.
type Writer struct {
	zone string // from the credentials, or empty: the config's zone

	// mu makes this process's changes one at a time: each is a read and a
	// write of a whole record set (the client is not safe for concurrent
	// use either).
	mu  sync.Mutex
	api edgedns.DNS
}

// New makes a provider from a config's credentials (JSON, see Credentials).
func New(raw []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(raw, &c, `{"host", "client_token", "client_secret", "access_token", "account_switch_key", "zone"}`); err != nil {
		return nil, err
	}
	c.Host = strings.TrimSuffix(strings.TrimPrefix(c.Host, "https://"), "/")
	var missing []string
	for _, f := range []struct{ name, value string }{{"host", c.Host}, {"client_token", c.ClientToken}, {"client_secret", c.ClientSecret}, {"access_token", c.AccessToken}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("credentials: %s required", strings.Join(missing, ", "))
	}
	if strings.ContainsAny(c.Host, "/ ") {
		return nil, fmt.Errorf("credentials: host %q is a host name, as in .edgerc (akab-….luna.akamaiapis.net)", c.Host)
	}
	signer, err := edgegrid.New(func(cfg *edgegrid.Config) {
		cfg.Host, cfg.ClientToken, cfg.ClientSecret, cfg.AccessToken = c.Host, c.ClientToken, c.ClientSecret, c.AccessToken
		cfg.AccountKey = c.AccountSwitchKey
		cfg.MaxBody = 131072
	})
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	// A client of its own: the session sets the client's redirect policy.
	s, err := session.New(session.WithSigner(signer), session.WithClient(&http.Client{Timeout: 30 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return &Writer{zone: strings.ToLower(strings.TrimSuffix(c.Zone, ".")), api: edgedns.Client(s)}, nil
}

// AppendRecords adds each TXT value to its name's record set.
func (p *Writer) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return providers.AppendToSets(ctx, p, zone, recs)
}

// DeleteRecords removes each TXT value from its name's record set; the
// others stay. A value already gone is no error.
func (p *Writer) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return providers.DeleteFromSets(ctx, p, zone, recs)
}

// Test checks the credentials against the zone: they may read it.
func (p *Writer) Test(ctx context.Context, zone string) error {
	z := p.edgeZone(zone)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.api.GetZone(ctx, edgedns.GetZoneRequest{Zone: z}); err != nil {
		return providers.Explain("reading zone "+z, err)
	}
	return nil
}

// edgeZone is the Edge DNS zone that holds the config's zone.
func (p *Writer) edgeZone(zone string) string {
	if p.zone != "" {
		return p.zone
	}
	return strings.ToLower(strings.TrimSuffix(zone, "."))
}

// name is rr's name, fully qualified, without the trailing dot.
func (p *Writer) name(zone string, rr libdns.RR) string {
	return strings.ToLower(strings.TrimSuffix(libdns.AbsoluteName(rr.Name, zone), "."))
}

// ChangeSet sets the values of rr's name to edit(the values there now), and
// reads them back: made again while another writer's change lost this one.
func (p *Writer) ChangeSet(ctx context.Context, zone string, rr libdns.RR, edit func([]string) []string) error {
	z, name := p.edgeZone(zone), p.name(zone, rr)
	if name != z && !strings.HasSuffix(name, "."+z) {
		return fmt.Errorf("%s is not in zone %s", name, z)
	}
	ttl := max(int(rr.TTL.Seconds()), 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	for attempt := 1; ; attempt++ {
		values, err := p.txt(ctx, z, name)
		if err != nil {
			return err
		}
		next := edit(slices.Clone(values))
		if slices.Equal(next, values) {
			return nil
		}
		err = p.write(ctx, z, name, ttl, values, next)
		// Another writer created the set first (409), or removed it (404
		// to a replacement or deletion; to a creation it means no zone).
		var apiErr *edgedns.Error
		raced := errors.As(err, &apiErr) && (len(values) == 0 && apiErr.StatusCode == http.StatusConflict ||
			len(values) > 0 && apiErr.StatusCode == http.StatusNotFound)
		if err != nil && !raced {
			return err
		}
		if !raced {
			now, err := p.txt(ctx, z, name)
			if err != nil {
				return err
			}
			if slices.Equal(edit(slices.Clone(now)), now) {
				return nil
			}
		}
		if attempt == attempts {
			return fmt.Errorf("the record set kept changing under another writer (%d attempts)", attempts)
		}
	}
}

// write replaces the record set at name, which held values, with next:
// created, replaced or deleted.
func (p *Writer) write(ctx context.Context, zone, name string, ttl int, values, next []string) error {
	if len(next) == 0 {
		return p.api.DeleteRecord(ctx, edgedns.DeleteRecordRequest{Zone: zone, Name: name, RecordType: "TXT"})
	}
	body := &edgedns.RecordBody{Name: name, RecordType: "TXT", TTL: &ttl}
	for _, v := range next {
		body.Target = append(body.Target, providers.QuoteTXT(v))
	}
	if len(values) == 0 {
		return p.api.CreateRecord(ctx, edgedns.CreateRecordRequest{Zone: zone, Record: body})
	}
	return p.api.UpdateRecord(ctx, edgedns.UpdateRecordRequest{Zone: zone, Record: body})
}

// txt are the values of the TXT record set at name; none when it has none.
func (p *Writer) txt(ctx context.Context, zone, name string) ([]string, error) {
	rec, err := p.api.GetRecord(ctx, edgedns.GetRecordRequest{Zone: zone, Name: name, RecordType: "TXT"})
	var apiErr *edgedns.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	values := make([]string, len(rec.Target))
	for i, t := range rec.Target {
		values[i] = providers.UnquoteTXT(t)
	}
	return values, nil
}

// cnameTTL is the TTL of the CNAMEs the hub writes: they stay for years.
const cnameTTL = 3600

// CNAME returns the target of the CNAME record set at name.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	z, fqdn := p.edgeZone(zone), p.name(zone, libdns.RR{Name: name})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cname(ctx, z, fqdn)
}

func (p *Writer) cname(ctx context.Context, zone, fqdn string) (string, error) {
	rec, err := p.api.GetRecord(ctx, edgedns.GetRecordRequest{Zone: zone, Name: fqdn, RecordType: "CNAME"})
	var apiErr *edgedns.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", providers.Explain("reading the CNAME at "+fqdn, err)
	}
	if len(rec.Target) != 1 {
		return "", nil
	}
	return strings.ToLower(strings.TrimSuffix(rec.Target[0], ".")), nil
}

// SetCNAME creates the CNAME record set unless the name holds one already
// (the same: nothing to do) or TXT values; Edge DNS refuses a CNAME beside
// any other set, which is reported as the name taken.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	z, fqdn := p.edgeZone(zone), p.name(zone, libdns.RR{Name: name})
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	p.mu.Lock()
	defer p.mu.Unlock()
	held, err := p.cname(ctx, z, fqdn)
	switch {
	case err != nil:
		return err
	case held == target:
		return nil
	case held != "":
		return fmt.Errorf("%s: %w: a CNAME to %s", fqdn, providers.ErrNameTaken, held)
	}
	if values, err := p.txt(ctx, z, fqdn); err != nil {
		return providers.Explain("reading the TXT values at "+fqdn, err)
	} else if len(values) > 0 {
		return fmt.Errorf("%s: %w: a TXT record set", fqdn, providers.ErrNameTaken)
	}
	ttl := cnameTTL
	err = p.api.CreateRecord(ctx, edgedns.CreateRecordRequest{Zone: z, Record: &edgedns.RecordBody{Name: fqdn, RecordType: "CNAME", TTL: &ttl,
		Target: []string{target + "."}}})
	var apiErr *edgedns.Error
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusConflict) {
		return fmt.Errorf("%s: %w: %s", fqdn, providers.ErrNameTaken, apiErr.Detail)
	}
	if err != nil {
		return providers.Explain("creating the CNAME "+fqdn, err)
	}
	return nil
}

// DeleteCNAME deletes the CNAME record set at name when it points at
// target.
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	z, fqdn := p.edgeZone(zone), p.name(zone, libdns.RR{Name: name})
	p.mu.Lock()
	defer p.mu.Unlock()
	held, err := p.cname(ctx, z, fqdn)
	if err != nil || held != strings.ToLower(strings.TrimSuffix(target, ".")) {
		return err
	}
	if err := p.api.DeleteRecord(ctx, edgedns.DeleteRecordRequest{Zone: z, Name: fqdn, RecordType: "CNAME"}); err != nil {
		return providers.Explain("deleting the CNAME "+fqdn, err)
	}
	return nil
}
