// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package providers

import (
	"context"
	"fmt"
	"strings"

	"github.com/libdns/libdns"
)

// Presenter is a cert-manager DNS-01 provider (pkg/issuer/acme/dns/…): it
// adds one TXT value at a name and removes that value again.
type Presenter interface {
	Present(ctx context.Context, domain, fqdn, value string) error
	CleanUp(ctx context.Context, domain, fqdn, value string) error
}

// CertManager is a Presenter as the hub writes through providers: TXT records
// appended and deleted one value at a time, errors saying what was
// attempted and the solver's own message on one line.
type CertManager struct {
	Presenter Presenter
}

// AppendRecords presents each TXT record's value at its name.
func (c CertManager) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	for i, r := range recs {
		rr := r.RR()
		fqdn := libdns.AbsoluteName(rr.Name, zone)
		if err := c.Presenter.Present(ctx, "", fqdn, rr.Data); err != nil {
			return recs[:i], Explain("adding a TXT value at "+strings.TrimSuffix(fqdn, "."), err)
		}
	}
	return recs, nil
}

// DeleteRecords cleans up each TXT record's value at its name; the name's
// other values stay, and a value already gone is no error.
func (c CertManager) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	for i, r := range recs {
		rr := r.RR()
		fqdn := libdns.AbsoluteName(rr.Name, zone)
		if err := c.Presenter.CleanUp(ctx, "", fqdn, rr.Data); err != nil {
			return recs[:i], Explain("removing a TXT value at "+strings.TrimSuffix(fqdn, "."), err)
		}
	}
	return recs, nil
}

// Explain is err of what a provider attempted, its message on one line
// (clients show it in a 502; the hub names the provider and the config).
func Explain(what string, err error) error {
	return &oneLineError{msg: fmt.Sprintf("%s: %s", what, strings.Join(strings.Fields(err.Error()), " ")), err: err}
}

type oneLineError struct {
	msg string
	err error
}

func (e *oneLineError) Error() string { return e.msg }
func (e *oneLineError) Unwrap() error { return e.err }
