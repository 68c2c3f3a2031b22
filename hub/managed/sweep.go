// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/store"
)

// Sweep removes the records created more than olderThan ago that nobody
// cleaned up, through their config's provider; a failed removal is retried
// later, with back-off. Each removal, failed or not, is audited. Of several
// processes sharing a PostgreSQL database one sweeps at a time; Sweep
// reports whether this one did, and how many records it removed.
func (s *Service) Sweep(ctx context.Context, olderThan time.Duration) (ran bool, removed int, err error) {
	ran, err = s.store.Exclusively(ctx, "acmehub-sweep", func(ctx context.Context) error {
		now := s.now()
		due, err := s.store.DueRecords(ctx, now, now.Add(-olderThan))
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range due {
			if r.NextAttempt.After(now) {
				continue
			}
			ok, err := s.sweepOne(ctx, r, due)
			if ok {
				removed++
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	return ran, removed, err
}

// sweepOne removes one record that is due. The provider removes the value
// unless a record of the same value at the same name that is not due still
// needs it.
func (s *Service) sweepOne(ctx context.Context, r store.HubRecord, due []store.HubRecord) (bool, error) {
	start := s.now()
	req := Request{Identifier: r.Identifier, Record: r.Name, Value: r.Value, Via: "sweep"}
	caller := Caller{ClientID: r.ClientID}
	c := s.loaded(r.Config)
	var err error
	needed := false
	if c != nil {
		var same []store.HubRecord
		if same, err = s.store.RecordsAt(ctx, r.Name); err != nil {
			return false, err
		}
		for _, o := range same {
			needed = needed || o.Config == r.Config && o.Value == r.Value && !slices.ContainsFunc(due, func(d store.HubRecord) bool { return d.ID == o.ID })
		}
	}
	switch {
	case c == nil:
		err = fmt.Errorf("config %s is gone: the value at %s cannot be removed through it; remove it by hand", r.Config, r.Name)
	case !needed:
		_, err = c.writer.DeleteRecords(ctx, c.Zone+".", []libdns.Record{txt(r.Name, c, r.Value)})
	}
	if err != nil {
		next := start.Add(min(time.Minute<<min(r.Attempts, 10), 6*time.Hour))
		if rerr := s.store.RetryRecord(ctx, r.ID, next); rerr != nil {
			err = errors.Join(err, rerr)
		}
		what := fmt.Sprintf("sweeping %s at %s (attempt %d)", r.ID, r.Name, r.Attempts+1)
		if c != nil {
			what += fmt.Sprintf(" through provider %s of config %s", c.Provider, c.ID)
		}
		err = &Error{Code: CodeProvider, Err: fmt.Errorf("%s: %w", what, err)}
		s.audit(ctx, "sweep", caller, req, r.Config, start, err)
		return false, err
	}
	if err = s.forget(ctx, []store.HubRecord{r}, s.entry("sweep", caller, req, r.Config, start, nil)); err != nil {
		s.audit(ctx, "sweep", caller, req, r.Config, start, err)
		return false, err
	}
	return true, nil
}
