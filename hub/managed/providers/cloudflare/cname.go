// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/managed/providers"
)

// The CNAMEs of delegations, through Cloudflare's API (v4) directly:
// cert-manager's client writes TXT records only.

// API is the base of Cloudflare's API.
const API = "https://api.cloudflare.com/client/v4"

// cnameTTL is the TTL of the CNAMEs the hub writes: they stay for years.
const cnameTTL = 3600

type record struct {
	ID      string `json:"id,omitempty"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl,omitempty"`
	Proxied *bool  `json:"proxied,omitempty"`
}

// CNAME returns the target of the CNAME at name.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	_, recs, err := p.recordsAt(ctx, zone, name)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if r.Type == "CNAME" {
			return strings.ToLower(strings.TrimSuffix(r.Content, ".")), nil
		}
	}
	return "", nil
}

// SetCNAME creates the CNAME (not proxied) unless a record holds the name.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	zoneID, recs, err := p.recordsAt(ctx, zone, name)
	if err != nil {
		return err
	}
	fqdn := fqdnOf(zone, name)
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	if len(recs) > 0 {
		// A CNAME shares its name with no other record: the first says it all.
		if r := recs[0]; r.Type == "CNAME" && strings.EqualFold(strings.TrimSuffix(r.Content, "."), target) {
			return nil
		}
		return fmt.Errorf("%s: %w: a %s record (%s)", fqdn, providers.ErrNameTaken, recs[0].Type, recs[0].Content)
	}
	proxied := false
	body, _ := json.Marshal(record{Type: "CNAME", Name: fqdn, Content: target, TTL: cnameTTL, Proxied: &proxied})
	return p.call(ctx, http.MethodPost, "/zones/"+zoneID+"/dns_records", body, nil, "creating the CNAME "+fqdn)
}

// DeleteCNAME deletes the CNAME at name when it points at target.
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	zoneID, recs, err := p.recordsAt(ctx, zone, name)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Type == "CNAME" && strings.EqualFold(strings.TrimSuffix(r.Content, "."), strings.TrimSuffix(target, ".")) {
			return p.call(ctx, http.MethodDelete, "/zones/"+zoneID+"/dns_records/"+r.ID, nil, nil, "deleting the CNAME "+r.Name)
		}
	}
	return nil
}

// recordsAt returns the zone's ID and every record at name.
func (p *Writer) recordsAt(ctx context.Context, zone, name string) (string, []record, error) {
	var zones []struct{ ID, Name string }
	z := strings.TrimSuffix(strings.ToLower(zone), ".")
	if err := p.call(ctx, http.MethodGet, "/zones?name="+url.QueryEscape(z), nil, &zones, "finding zone "+z); err != nil {
		return "", nil, err
	}
	if len(zones) != 1 {
		return "", nil, fmt.Errorf("cloudflare: no zone %s for these credentials", z)
	}
	var recs []record
	fqdn := fqdnOf(zone, name)
	err := p.call(ctx, http.MethodGet, "/zones/"+zones[0].ID+"/dns_records?per_page=100&name="+url.QueryEscape(fqdn), nil, &recs,
		"listing the records at "+fqdn)
	return zones[0].ID, recs, err
}

// call makes one API call with the config's credentials and decodes the
// envelope's result into out; Cloudflare's errors are kept.
func (p *Writer) call(ctx context.Context, method, path string, body []byte, out any, what string) error {
	req, err := http.NewRequestWithContext(ctx, method, API+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.c.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+p.c.APIToken)
	} else {
		req.Header.Set("X-Auth-Key", p.c.APIKey)
		req.Header.Set("X-Auth-Email", p.c.Email)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cloudflare: %s: %w", what, err)
	}
	defer resp.Body.Close()
	var envelope struct {
		Success bool
		Errors  []struct {
			Code    int
			Message string
		}
		Result json.RawMessage
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &envelope); err != nil {
		return fmt.Errorf("cloudflare: %s: %d, not JSON: %s", what, resp.StatusCode, raw)
	}
	if !envelope.Success {
		var msgs []string
		for _, e := range envelope.Errors {
			msgs = append(msgs, fmt.Sprintf("%d: %s", e.Code, e.Message))
		}
		return fmt.Errorf("cloudflare: %s: %d %s", what, resp.StatusCode, strings.Join(msgs, "; "))
	}
	if out != nil {
		return json.Unmarshal(envelope.Result, out)
	}
	return nil
}

func fqdnOf(zone, name string) string {
	z := strings.TrimSuffix(strings.ToLower(zone), ".")
	if name == "" || name == "@" {
		return z
	}
	return strings.ToLower(name) + "." + z
}
