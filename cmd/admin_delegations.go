// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

func newAdminDelegations(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "delegations", Short: "CNAMEs the hub writes from _acme-challenge.<name> to acme-dns accounts"}
	var target string
	create := f.command("create IDENTIFIER", "Have the config's provider write _acme-challenge.IDENTIFIER as a CNAME to --target",
		cobra.ExactArgs(1), func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			d, err := svc.Delegate(ctx, actor(), arg, target)
			return result{Value: d, Text: "_acme-challenge." + d.Identifier + " CNAME " + d.Target + " (config " + d.Config + ")"}, err
		})
	create.Flags().StringVar(&target, "target", "", "the acme-dns account's fulldomain (required)")
	mustRequire(create, "target")
	list := f.command("list", "List delegations", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		ds, err := svc.Delegations(ctx, actor())
		r := result{Value: nonNilDelegations(ds), Header: "IDENTIFIER\tTARGET\tCONFIG\tOWNER\tCREATED"}
		for _, d := range ds {
			r.Rows = append(r.Rows, []string{d.Identifier, d.Target, d.Config, d.Owner, when(d.Created)})
		}
		return r, err
	})
	del := f.command("delete IDENTIFIER", "Remove the CNAME of a delegation and forget it", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			d, err := svc.Undelegate(ctx, actor(), arg)
			return result{Value: d, Text: "_acme-challenge." + d.Identifier + " CNAME " + d.Target + " removed"}, err
		})
	cmd.AddCommand(create, list, del)
	return cmd
}

func nonNilDelegations(ds []store.Delegation) []store.Delegation {
	if ds == nil {
		return []store.Delegation{}
	}
	return ds
}
