// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed_test

import (
	"testing"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

// TestDelegations: a token with the delegate role and domains covering a
// name has the config's provider write its CNAME, once (asking again is
// no change), audited; another target, a name holding values, a token
// without the role and one whose domains exclude the name are refused and
// nothing is written; removal, by its owner only, deletes exactly that
// CNAME.
func TestDelegations(t *testing.T) {
	f := newFixture(t)
	f.config(t, "team", "example.com", false, ".example.com")
	delegate := []string{managed.RoleDelegate}
	_, caller := f.token(t, delegate, delegate, ".team.example.com")
	const target = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org"
	z := f.zones["team"]

	for range 2 {
		d, err := f.svc.Delegate(ctx, caller, "App.Team.example.com.", target+".")
		if err != nil || d.Identifier != "app.team.example.com" || d.Target != target || d.Config != "team" || d.Owner != caller.Principal {
			t.Fatalf("Delegate = %+v, %v", d, err)
		}
	}
	if got := z.cnames["_acme-challenge.app.team.example.com"]; got != target {
		t.Errorf("the provider holds %q, want the CNAME to %s", got, target)
	}

	z.values["_acme-challenge.busy.team.example.com"] = []string{"a value"}
	_, consumerOnly := f.token(t, consumer, consumer, ".team.example.com")
	_, elsewhere := f.token(t, delegate, delegate, ".other.example.com")
	for _, tc := range []struct {
		name       string
		caller     managed.Caller
		identifier string
		target     string
		code       managed.Code
	}{
		{"another target", caller, "app.team.example.com", "other.auth.example.org", managed.CodeConflict},
		{"a name holding values", caller, "busy.team.example.com", target, managed.CodeConflict},
		{"a token without the role", consumerOnly, "www.team.example.com", target, managed.CodeForbidden},
		{"a name outside the token's domains", elsewhere, "www.team.example.com", target, managed.CodeForbidden},
		{"no config", f.admin, "www.example.net", target, managed.CodeNoConfig},
		{"a target that is no name", caller, "www.team.example.com", "not a name", managed.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.Delegate(ctx, tc.caller, tc.identifier, tc.target); code(err) != tc.code {
				t.Errorf("Delegate: %v, want code %d", err, tc.code)
			}
		})
	}
	if len(z.cnames) != 1 {
		t.Errorf("refused delegations wrote %v", z.cnames)
	}
	if list, err := f.svc.Delegations(ctx, elsewhere); err != nil || len(list) != 0 {
		t.Errorf("a token sees delegations outside its domains: %+v, %v", list, err)
	}
	if list, err := f.svc.Delegations(ctx, f.admin); err != nil || len(list) != 1 {
		t.Errorf("Delegations = %+v, %v", list, err)
	}
	_, another := f.token(t, delegate, delegate, ".team.example.com")
	if _, err := f.svc.Undelegate(ctx, another, "app.team.example.com"); code(err) != managed.CodeForbidden {
		t.Errorf("another principal's removal: %v, want refused", err)
	}
	if _, err := f.svc.Undelegate(ctx, caller, "app.team.example.com"); err != nil {
		t.Fatal(err)
	}
	if len(z.cnames) != 0 {
		t.Errorf("after the removal the provider holds %v", z.cnames)
	}
	entries, _ := f.svc.AuditLog(ctx, store.AuditQuery{Identifier: "app.team.example.com"})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Detail)
	}
	if len(entries) < 4 || entries[0].Action != "undelegate" || entries[len(entries)-1].Detail != "CNAME to "+target {
		t.Errorf("audit of app.team.example.com, newest first: %q", actions)
	}
}
