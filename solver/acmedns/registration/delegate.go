// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/acmehub/acmehub/hub/managed/doors/delegations"
	"github.com/acmehub/acmehub/solver"
)

// Hub is a managed-challenge hub that writes the CNAMEs of the client's
// names (its delegations door), with a token carrying the
// managed-challenge-delegate role whose domains cover them.
type Hub struct {
	// URL is the hub's base URL, e.g. https://hub.example.org:8443.
	URL string
	// ClientID and Secret are an API token's; or
	ClientID, Secret string
	// TokenFile is a projected ServiceAccount token the hub trusts through
	// the cluster's issuer, read for every request.
	TokenFile string
}

// authorize sets req's credentials: the ServiceAccount token, or the API
// token's.
func (h Hub) authorize(req *http.Request) error {
	if h.TokenFile == "" {
		req.SetBasicAuth(h.ClientID, h.Secret)
		return nil
	}
	token, _, err := solver.ProjectedToken{Path: h.TokenFile}.Read("", time.Now())
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return nil
}

// delegate asks the hub to write each row's CNAME; asking again for a
// CNAME that is there changes nothing. It returns the CNAMEs written (or
// found) and stops at the first refusal, which names the record.
func (r *Registrar) delegate(ctx context.Context, h Hub, rows []Row) ([]string, error) {
	var done []string
	for _, row := range rows {
		target := strings.TrimSuffix(row.FullDomain, ".")
		body, _ := json.Marshal(delegations.Request{Identifier: row.FQDN, Target: target})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(h.URL, "/")+delegations.Base, bytes.NewReader(body))
		if err != nil {
			return done, err
		}
		if err := h.authorize(req); err != nil {
			return done, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := r.httpClient().Do(req)
		if err != nil {
			return done, fmt.Errorf("hub %s: delegating %s: %w", h.URL, row.Record, err)
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return done, fmt.Errorf("hub %s refused to write %s: %d %s", h.URL, row, resp.StatusCode, problemDetail(answer))
		}
		done = append(done, row.String())
	}
	return done, nil
}

func (r *Registrar) httpClient() *http.Client {
	if r.HTTP != nil {
		return r.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// repair asks the hub to write the CNAME of a finding whose delegation
// check failed with drift, and says what it did.
func (r *Registrar) repair(ctx context.Context, h Hub, f Finding, acct solver.Account, drift error) Finding {
	fqdn := strings.TrimPrefix(f.FQDN, "*.")
	row := Row{FQDN: fqdn, Record: "_acme-challenge." + fqdn + ".", FullDomain: strings.TrimSuffix(acct.FullDomain, ".") + "."}
	if _, err := r.delegate(ctx, h, []Row{row}); err != nil {
		f.Delegation = drift.Error()
		f.Problems = append(slices.Clone(f.Problems), drift.Error(), "repair: "+err.Error())
		return f
	}
	f.Delegation = "repaired by the hub"
	f.Action = join(f.Action, "the hub wrote "+row.String()+" ("+drift.Error()+")")
	return f
}

// undelegate asks the hub to remove the delegations of names; a name
// without one (404) is no error.
func (r *Registrar) undelegate(ctx context.Context, h Hub, names []string) error {
	for _, name := range names {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimSuffix(h.URL, "/")+delegations.Base+"/"+url.PathEscape(name), nil)
		if err != nil {
			return err
		}
		if err := h.authorize(req); err != nil {
			return err
		}
		resp, err := r.httpClient().Do(req)
		if err != nil {
			return fmt.Errorf("hub %s: removing the delegation of %s: %w", h.URL, name, err)
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("hub %s refused to remove the CNAME of %s: %d %s", h.URL, name, resp.StatusCode, problemDetail(answer))
		}
	}
	return nil
}

// problemDetail is an RFC 7807 problem's detail, else the body.
func problemDetail(body []byte) string {
	var problem struct{ Detail string }
	if json.Unmarshal(body, &problem) != nil || problem.Detail == "" {
		return strings.TrimSpace(string(body))
	}
	return problem.Detail
}

// Remove has the hub remove the delegations of every name the client's
// Secret holds, when the client goes (the chart's uninstall); the Secret,
// and so the account, stays for an install that adopts it. It returns the
// names.
func (r *Registrar) Remove(ctx context.Context, cfg Config) ([]string, error) {
	if cfg.Hub == nil {
		return nil, errors.New("removing a client's delegations needs the hub that wrote them")
	}
	if cfg.SecretName == "" {
		cfg.SecretName = "acme-dns-" + cfg.Client + "-client"
	}
	if cfg.Key == "" {
		cfg.Key = "acmedns.json"
	}
	_, accounts, err := r.read(ctx, cfg)
	if err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(accounts))
	return names, r.undelegate(ctx, *cfg.Hub, names)
}
