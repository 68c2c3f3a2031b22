// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Delegations: the hub writes _acme-challenge.<identifier> as a CNAME to an
// acme-dns account's fulldomain, through the provider of the config whose
// rules allow the identifier, for a caller whose domains allow it too. A
// delegation is kept until it is removed; the sweep never touches it.

// Delegate makes the challenge name of identifier a CNAME to target and
// remembers it. Asking again for the same target changes nothing; a name
// another record holds is refused (CodeConflict) and nothing is written.
func (s *Service) Delegate(ctx context.Context, caller Caller, identifier, target string) (store.Delegation, error) {
	start := s.now()
	d, err := s.delegate(ctx, caller, identifier, target)
	s.audit(ctx, "delegate", caller, delegationRequest(caller, d), d.Config, start, err)
	return d, err
}

func (s *Service) delegate(ctx context.Context, caller Caller, identifier, target string) (store.Delegation, error) {
	c, w, id, err := s.delegation(caller, identifier)
	d := store.Delegation{Identifier: id, Target: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(target), ".")), Owner: owner(caller)}
	if err != nil {
		return d, err
	}
	d.Config, d.Zone, d.Created = c.ID, c.Zone, s.now()
	if _, err := NormalizeName(d.Target); err != nil || !strings.Contains(d.Target, ".") {
		return d, invalid(fmt.Errorf("target %q is not a domain name (an acme-dns account's fulldomain)", target))
	}
	if old, err := s.store.Delegation(ctx, id); err == nil {
		if old.Target != d.Target {
			return old, &Error{Code: CodeConflict, Err: fmt.Errorf("%s is delegated to %s already (by %s): remove that delegation first",
				ChallengeName(id), old.Target, old.Owner)}
		}
		d = old
	} else if !errors.Is(err, store.ErrNotFound) {
		return d, err
	}
	if err := w.SetCNAME(ctx, c.Zone+".", relative(ChallengeName(id), c.Zone), d.Target); err != nil {
		code := CodeProvider
		if errors.Is(err, providers.ErrNameTaken) {
			code = CodeConflict
		}
		return d, &Error{Code: code, Err: fmt.Errorf("provider %s of config %s: %w", c.Provider, c.ID, err)}
	}
	if err := s.store.CreateDelegation(ctx, d); err != nil && !errors.Is(err, store.ErrExists) {
		return d, err
	}
	return d, nil
}

// Undelegate removes the CNAME of identifier's delegation, if it still
// points where the hub wrote it, and forgets the delegation.
func (s *Service) Undelegate(ctx context.Context, caller Caller, identifier string) (store.Delegation, error) {
	start := s.now()
	d, err := s.undelegate(ctx, caller, identifier)
	s.audit(ctx, "undelegate", caller, delegationRequest(caller, d), d.Config, start, err)
	return d, err
}

func (s *Service) undelegate(ctx context.Context, caller Caller, identifier string) (store.Delegation, error) {
	c, w, id, err := s.delegation(caller, identifier)
	if err != nil {
		return store.Delegation{Identifier: id}, err
	}
	d, err := s.store.Delegation(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = &Error{Code: CodeNotFound, Err: fmt.Errorf("%s has no delegation", id)}
		}
		return store.Delegation{Identifier: id}, err
	}
	if caller.ClientID != "" && !caller.Can(RoleAdmin) && d.Owner != owner(caller) {
		return d, &Error{Code: CodeForbidden, Err: fmt.Errorf("the delegation of %s is %s's: only its owner or an admin removes it", id, d.Owner)}
	}
	if err := w.DeleteCNAME(ctx, c.Zone+".", relative(ChallengeName(id), c.Zone), d.Target); err != nil {
		return d, &Error{Code: CodeProvider, Err: fmt.Errorf("provider %s of config %s: %w", c.Provider, c.ID, err)}
	}
	return d, s.store.DeleteDelegation(ctx, id)
}

// Delegations lists the delegations the caller's domains allow (all for
// the command line and admins).
func (s *Service) Delegations(ctx context.Context, caller Caller) ([]store.Delegation, error) {
	all, err := s.store.Delegations(ctx)
	if err != nil || caller.Domains == nil {
		return all, err
	}
	var out []store.Delegation
	for _, d := range all {
		if _, ok := caller.Domains.Allows(d.Identifier); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// delegation checks that caller may delegate identifier and finds the
// config, with a provider that writes CNAMEs, whose rules allow it.
func (s *Service) delegation(caller Caller, identifier string) (*config, providers.CNAMEWriter, string, error) {
	id, err := Identifier(identifier)
	if err != nil {
		return nil, nil, identifier, invalid(fmt.Errorf("identifier: %w", err))
	}
	if caller.ClientID != "" && !caller.Can(RoleDelegate) && !caller.Can(RoleAdmin) {
		return nil, nil, id, &Error{Code: CodeForbidden, Err: fmt.Errorf("%s does not carry the %s role", caller.Name(), RoleDelegate)}
	}
	if caller.Domains != nil {
		if _, ok := caller.Domains.Allows(id); !ok {
			return nil, nil, id, &Error{Code: CodeForbidden, Err: fmt.Errorf("%s may not delegate %s (its domains: %s)",
				caller.Name(), id, strings.Join(caller.Domains.Strings(), ", "))}
		}
	}
	c, ok := s.configFor(id)
	if !ok {
		return nil, nil, id, &Error{Code: CodeNoConfig, Err: fmt.Errorf("no managed challenge config matches %s", id)}
	}
	w, ok := c.writer.(providers.CNAMEWriter)
	if !ok {
		return c, nil, id, &Error{Code: CodeProvider, Err: fmt.Errorf("provider %s of config %s cannot write CNAMEs", c.Provider, c.ID)}
	}
	if name := ChallengeName(id); name != c.Zone && !strings.HasSuffix(name, "."+c.Zone) {
		return c, nil, id, &Error{Code: CodeRecordNotAllowed, Err: fmt.Errorf("%s is outside zone %s of config %s", name, c.Zone, c.ID)}
	}
	return c, w, id, nil
}

// relative is name without zone, as a Writer's records are named.
func relative(name, zone string) string {
	return strings.TrimSuffix(strings.TrimSuffix(name, zone), ".")
}

// owner is who a delegation belongs to: the principal the token acts for
// (a cluster, whichever of its tokens asks), or the command line's.
func owner(c Caller) string { return c.Principal }

// delegationRequest is a delegation as the audit log records it: its
// challenge name, and the CNAME's target as the detail.
func delegationRequest(caller Caller, d store.Delegation) Request {
	req := Request{Identifier: d.Identifier, Address: caller.Address}
	if d.Identifier != "" {
		req.Record = ChallengeName(d.Identifier)
	}
	if d.Target != "" {
		req.Via = "CNAME to " + d.Target
	}
	return req
}
