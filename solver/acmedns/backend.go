// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/acmedns/client"
	"github.com/acmehub/acmehub/solver"
)

// backend writes values to acme-dns accounts. A value presented is held
// until its cleanUp: no value presented after it may evict it.
type backend interface {
	name() string
	present(ctx context.Context, a solver.Account, value, dnsName string) error
	cleanUp(ctx context.Context, a solver.Account, value string) error
}

// embeddedBackend writes into the acmehub server of this process, with the
// same credential check as its HTTP API.
type embeddedBackend struct {
	svc     *accounts.Service
	metrics *liveMetrics
}

func (embeddedBackend) name() string { return "embedded" }

func (b embeddedBackend) authenticate(ctx context.Context, a solver.Account) error {
	acct, err := b.svc.Authenticate(ctx, a.Username, a.Password, nil)
	if errors.Is(err, accounts.ErrForbidden) {
		return fmt.Errorf("the embedded acmehub server refuses the credentials of account %s (%s): "+
			"is the account registered with this server?", a.Username, a.FullDomain)
	}
	if err != nil {
		return fmt.Errorf("embedded acmehub server: %w", err)
	}
	if acct.Subdomain != a.SubDomain {
		return fmt.Errorf("account %s owns subdomain %s, not %s", a.Username, acct.Subdomain, a.SubDomain)
	}
	return nil
}

func (b embeddedBackend) present(ctx context.Context, a solver.Account, value, _ string) error {
	if err := b.authenticate(ctx, a); err != nil {
		return err
	}
	return b.explain(b.svc.Present(ctx, a.SubDomain, value), a, value)
}

func (b embeddedBackend) cleanUp(ctx context.Context, a solver.Account, value string) error {
	if err := b.authenticate(ctx, a); err != nil {
		return err
	}
	return b.explain(b.svc.DeleteTXT(ctx, a.SubDomain, value), a, value)
}

func (b embeddedBackend) explain(err error, a solver.Account, value string) error {
	var limit *accounts.HoldLimitError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, accounts.ErrBadTXT):
		return fmt.Errorf("the embedded acmehub server refuses the value %q for %s: not an ACME key authorisation digest", value, a.FullDomain)
	case errors.As(err, &limit):
		b.metrics.refused(a.FullDomain)
		return fmt.Errorf("account %s already holds %d live challenge values, its limit ([acmehub] present_limit); this challenge will be retried", a.FullDomain, limit.Limit)
	default:
		return fmt.Errorf("writing %s in the embedded acmehub server: %w", a.FullDomain, err)
	}
}

func credentials(a solver.Account) client.Account {
	return client.Account{Username: a.Username, Password: a.Password, Subdomain: a.SubDomain}
}

// remoteBackend writes through the HTTP API of an acmehub server (POST
// /present and /delete) or of a plain acme-dns (POST /update only).
type remoteBackend struct {
	client *client.Client
	host   string
	live   *liveValues
	log    *slog.Logger
}

func (remoteBackend) name() string { return "remote" }

func (b remoteBackend) present(ctx context.Context, a solver.Account, value, dnsName string) error {
	status, answer, err := b.client.TXT(ctx, b.host, "/present", credentials(a), value)
	switch {
	case err != nil:
		return err
	case status/100 == 2:
		return nil
	case status == http.StatusTooManyRequests:
		b.live.metrics.refused(a.FullDomain)
		return fmt.Errorf("account %s already holds its limit of live challenge values at %s; this challenge will be retried (%d %s)",
			a.FullDomain, b.host, status, answer)
	case !client.NotFound(status):
		return fmt.Errorf("acmehub at %s refused to present the value of %s (account %s): %d %s", b.host, a.FullDomain, a.Username, status, answer)
	}
	return b.update(ctx, a, value, dnsName)
}

// update presents value to a plain acme-dns, which keeps two values per
// account and overwrites the oldest for a third: a value is only written
// when that cannot evict a live one.
func (b remoteBackend) update(ctx context.Context, a solver.Account, value, dnsName string) error {
	return b.live.present(ctx, b.host+"\x00"+a.Username, a.FullDomain, value, dnsName, plainLimit, func() (bool, error) {
		status, answer, err := b.client.TXT(ctx, b.host, "/update", credentials(a), value)
		if err != nil {
			return true, err // it may have arrived
		}
		if status/100 != 2 {
			return false, fmt.Errorf("acme-dns at %s refused the update of %s (account %s): %d %s", b.host, a.FullDomain, a.Username, status, answer)
		}
		return true, nil
	})
}

// cleanUp uses acmehub's POST /delete. A plain acme-dns has no such endpoint
// (404): the value stays until newer ones push it out, as with cert-manager's
// own acmeDNS solver, but it no longer counts as live.
func (b remoteBackend) cleanUp(ctx context.Context, a solver.Account, value string) error {
	status, answer, err := b.client.TXT(ctx, b.host, "/delete", credentials(a), value)
	if err != nil {
		return err
	}
	switch {
	case status/100 == 2:
		return nil
	case client.NotFound(status):
		b.live.release(b.host+"\x00"+a.Username, a.FullDomain, value)
		b.log.Info("the acme-dns server cannot delete values; the value stays until newer ones replace it",
			"host", b.host, "fulldomain", a.FullDomain)
		return nil
	default:
		return fmt.Errorf("acme-dns at %s refused to delete the value of %s (account %s): %d %s", b.host, a.FullDomain, a.Username, status, answer)
	}
}
