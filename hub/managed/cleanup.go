// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/store"
)

// CleanUp removes the value this token presented at the record (every
// value it presented there, when req.Value is empty); values others
// presented there stay.
func (s *Service) CleanUp(ctx context.Context, caller Caller, req Request) error {
	start := s.now()
	c, done, err := s.cleanUp(ctx, caller, &req)
	e := s.entry("cleanup", caller, req, configID(c), start, err)
	if len(done) == 0 {
		s.writeAudit(ctx, e)
		return err
	}
	// The records whose values are gone are forgotten with the entry.
	if ferr := s.forget(ctx, done, e); ferr != nil {
		err = errors.Join(err, ferr)
		s.writeAudit(ctx, s.entry("cleanup", caller, req, configID(c), start, err))
	}
	return err
}

// cleanUp removes the values and returns the records whose values are
// gone, for CleanUp to forget, also when a later removal failed.
func (s *Service) cleanUp(ctx context.Context, caller Caller, req *Request) (*config, []store.HubRecord, error) {
	c, record, err := s.authorize(ctx, caller, req, true)
	if err != nil {
		return c, nil, err
	}
	records := s.records.at(record)
	if !slices.ContainsFunc(records, func(r store.HubRecord) bool { return r.Config == c.ID && r.ClientID == caller.ClientID }) {
		// Presented through another process a moment ago, perhaps, and not
		// yet announced here: the database knows.
		if records, err = s.store.RecordsAt(ctx, record); err != nil {
			return c, nil, err
		}
	}
	mine := map[string][]store.HubRecord{} // by value
	others := map[string]bool{}
	for _, r := range records {
		if r.Config != c.ID || req.Value != "" && r.Value != req.Value {
			continue
		}
		if r.ClientID == caller.ClientID {
			mine[r.Value] = append(mine[r.Value], r)
		} else {
			others[r.Value] = true
		}
	}
	// cert-manager cleans up twice: a value gone already is no error.
	var done []store.HubRecord
	for value, recs := range mine {
		if !others[value] {
			if _, err := c.writer.DeleteRecords(ctx, c.Zone+".", []libdns.Record{txt(record, c, value)}); err != nil {
				return c, done, &Error{Code: CodeProvider, Err: fmt.Errorf("provider %s of config %s: %w", c.Provider, c.ID, err)}
			}
		}
		done = append(done, recs...)
	}
	return c, done, nil
}

// remember stores a record before its provider writes it.
func (s *Service) remember(ctx context.Context, r store.HubRecord) error {
	if err := s.store.AddRecord(ctx, r); err != nil {
		return err
	}
	s.records.change(r, false)
	return nil
}

// forget drops the records whose values their provider removed, and
// appends e to the audit log, in one write.
func (s *Service) forget(ctx context.Context, records []store.HubRecord, e store.AuditEntry) error {
	ids := make([]string, len(records))
	for i, r := range records {
		ids[i] = r.ID
	}
	if err := s.store.RemoveRecords(context.WithoutCancel(ctx), ids, e); err != nil {
		return err
	}
	for _, r := range records {
		s.records.change(r, true)
	}
	return nil
}
