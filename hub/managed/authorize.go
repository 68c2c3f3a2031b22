// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"fmt"
	"strings"

	"github.com/acmehub/acmehub/hub/managed/providers"
)

// authorize checks that the caller may answer for the request's identifier
// at its record, and returns the config and the record's name. A cleanup
// may leave the value out.
func (s *Service) authorize(ctx context.Context, caller Caller, req *Request, cleanup bool) (*config, string, error) {
	if !caller.Can(RoleConsumer) {
		return nil, "", &Error{Code: CodeForbidden, Err: fmt.Errorf("%s does not carry the %s role", caller.Name(), RoleConsumer)}
	}
	if err := checkValue(req.Value); err != nil && (req.Value != "" || !cleanup) {
		return nil, "", invalid(err)
	}
	record := ""
	if req.Record != "" {
		r, err := RecordName(req.Record)
		if err != nil {
			return nil, "", invalid(fmt.Errorf("record name: %w", err))
		}
		record = r
	}
	if req.Identifier == "" {
		name, ok := strings.CutPrefix(record, "_acme-challenge.")
		if !ok {
			return nil, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is not _acme-challenge.<name>, and the request names no identifier "+
				"(a client that followed a CNAME must name the identifier: lego's httpreq does with HTTPREQ_MODE=RAW, "+
				"or sends _acme-challenge.<name> with LEGO_DISABLE_CNAME_SUPPORT=true, and the hub follows the CNAME)", record)}
		}
		req.Identifier = name
	}
	id, err := Identifier(req.Identifier)
	if err != nil {
		return nil, "", invalid(fmt.Errorf("identifier: %w", err))
	}
	req.Identifier = id
	if caller.Domains != nil {
		if _, ok := caller.Domains.Allows(id); !ok {
			return nil, "", &Error{Code: CodeForbidden, Err: fmt.Errorf("%s may not answer for %s (its domains: %s)",
				caller.Name(), id, strings.Join(caller.Domains.Strings(), ", "))}
		}
	}
	c, ok := s.configFor(id)
	if !ok {
		return nil, "", &Error{Code: CodeNoConfig, Err: fmt.Errorf("no managed challenge config matches %s", id)}
	}
	want := ChallengeName(id)
	if f, ok := c.writer.(providers.FixedRecord); ok {
		fixed := f.Record()
		if record != "" && record != want && record != fixed {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is neither %s nor %s, where config %s writes", record, want, fixed, c.ID)}
		}
		req.Record = fixed
		return c, fixed, nil
	}
	cnames := c.AllowCNAME && s.dns != nil
	switch {
	case record == "" && cnames:
		// The client leaves the record to the hub: where the CNAME leads.
		target, err := s.dns.CNAMETarget(ctx, want)
		if err != nil {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("following %s: %w", want, err)}
		}
		if record, err = RecordName(target); err != nil {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("%s is a CNAME to %q: %w", want, target, err)}
		}
	case record == "" || record == want:
		record = want
	case cnames:
		target, err := s.dns.CNAMETarget(ctx, want)
		if err != nil {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s: following %s: %w", record, want, err)}
		}
		if t, _ := RecordName(target); t != record {
			return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is neither %s nor the target of its CNAME (%s)", record, want, target)}
		}
	default:
		return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is not %s, and config %s does not allow CNAME targets", record, want, c.ID)}
	}
	if record != c.Zone && !strings.HasSuffix(record, "."+c.Zone) {
		return c, "", &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("record %s is outside zone %s of config %s", record, c.Zone, c.ID)}
	}
	req.Record = record
	return c, record, nil
}

func configID(c *config) string {
	if c == nil {
		return ""
	}
	return c.ID
}
