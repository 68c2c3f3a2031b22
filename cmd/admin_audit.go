// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

func newAdminAudit(f *adminFlags) *cobra.Command {
	var (
		q            store.AuditQuery
		since, until string
		failed       bool
	)
	cmd := f.command("audit", "List the audit log, newest first", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		var err error
		if q.Since, err = parseWhen(since); err != nil {
			return result{}, fmt.Errorf("--since %q: %w", since, err)
		}
		if q.Until, err = parseWhen(until); err != nil {
			return result{}, fmt.Errorf("--until %q: %w", until, err)
		}
		if failed {
			q.Result = store.ResultFailed
		}
		entries, err := svc.AuditLog(ctx, q)
		r := result{Value: entries, Header: "TIME\tACTION\tPRINCIPAL\tCREDENTIAL\tADDRESS\tIDENTIFIER\tRECORD\tCONFIG\tRESULT\tDETAIL"}
		for _, e := range entries {
			r.Rows = append(r.Rows, []string{when(e.At), e.Action, e.Principal, managed.Credential(e), e.Address, e.Identifier, e.Record, e.Config, e.Result, e.Detail})
		}
		return r, err
	})
	fs := cmd.Flags()
	fs.StringVar(&since, "since", "", "from this time: a duration ago (90m, 24h, 7d), a date (2026-12-01) or RFC 3339")
	fs.StringVar(&until, "until", "", "before this time: a duration ago, a date or RFC 3339")
	fs.StringVar(&q.Principal, "principal", "", "only this principal's")
	fs.StringVar(&q.Identifier, "identifier", "", "only this identifier's")
	fs.BoolVar(&failed, "failed", false, "only failures and refusals")
	fs.IntVar(&q.Limit, "limit", 100, "at most this many")
	return cmd
}

// parseWhen reads a duration before now, a date (UTC) or an RFC 3339 time.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := config.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("neither a duration ago (90m, 24h, 7d), a date (2026-12-01) nor an RFC 3339 time (2026-12-01T15:04:05Z)")
}

func newAdminRecords(f *adminFlags) *cobra.Command {
	return f.command("records", "List the records the hub created and has not removed", cobra.NoArgs,
		func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
			recs, err := svc.Records(ctx)
			r := result{Value: recs, Header: "ID\tCONFIG\tNAME\tVALUE HASH\tCLIENT ID\tCREATED\tFAILED REMOVALS"}
			for _, rec := range recs {
				r.Rows = append(r.Rows, []string{rec.ID, rec.Config, rec.Name, managed.ValueHash(rec.Value), rec.ClientID, when(rec.Created), fmt.Sprint(rec.Attempts)})
			}
			return r, err
		})
}
