package managed

import (
	"context"
	"errors"
	"fmt"
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
		records, err := s.store.Records(ctx, now.Add(-olderThan))
		if err != nil {
			return err
		}
		all, err := s.store.Records(ctx, time.Time{})
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range records {
			if r.NextAttempt.After(now) {
				continue
			}
			ok, err := s.sweepOne(ctx, r, all, now.Add(-olderThan))
			if ok {
				removed++
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	return ran, removed, err
}

// sweepOne removes one stale record. The provider removes the value unless
// a younger record of the same value at the same name still needs it.
func (s *Service) sweepOne(ctx context.Context, r store.HubRecord, all []store.HubRecord, staleBefore time.Time) (bool, error) {
	start := s.now()
	req := Request{Record: r.Name, Value: r.Value, Via: "sweep"}
	caller := Caller{ClientID: r.ClientID}
	var c *config
	for _, lc := range s.snapshot() {
		if lc.ID == r.Config {
			c = lc
		}
	}
	needed := false
	for _, o := range all {
		needed = needed || o.ID != r.ID && o.Config == r.Config && o.Name == r.Name && o.Value == r.Value && !o.Created.Before(staleBefore)
	}
	var err error
	switch {
	case c == nil:
		err = fmt.Errorf("config %s is gone: the value at %s cannot be removed through it; remove it by hand", r.Config, r.Name)
	case !needed:
		_, err = c.provider.DeleteRecords(ctx, c.Zone+".", []libdns.Record{txt(r.Name, c, r.Value)})
	}
	if err != nil {
		next := start.Add(min(time.Minute<<min(r.Attempts, 10), 6*time.Hour))
		if rerr := s.store.RetryRecord(ctx, r.ID, next); rerr != nil {
			err = errors.Join(err, rerr)
		}
		err = &Error{Code: CodeProvider, Err: fmt.Errorf("sweeping %s at %s (attempt %d): %w", r.ID, r.Name, r.Attempts+1, err)}
		s.audit(ctx, "sweep", caller, req, r.Config, start, err)
		return false, err
	}
	err = s.store.RemoveRecord(ctx, r.ID)
	s.audit(ctx, "sweep", caller, req, r.Config, start, err)
	return err == nil, err
}
