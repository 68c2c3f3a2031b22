// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
)

func newAdminPrincipals(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "principals", Short: "Users and applications that tokens act for"}
	var p store.Principal
	create := f.command("create", "Add a principal and print its ID", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		created, err := svc.CreatePrincipal(ctx, actor(), p)
		return result{Value: created, Text: created.ID}, err
	})
	create.Flags().StringVar(&p.Kind, "kind", managed.KindApplication, "application or user")
	create.Flags().StringVar(&p.Title, "title", "", "title (required)")
	mustRequire(create, "title")
	create.Flags().StringVar(&p.Description, "description", "", "description")
	create.Flags().StringSliceVar(&p.Roles, "role", nil, "role to assign: "+strings.Join(managed.Roles, ", ")+" (repeat)")
	list := f.command("list", "List principals and their roles", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		ps, err := svc.Principals(ctx)
		r := result{Value: ps, Header: "ID\tKIND\tTITLE\tROLES\tCREATED"}
		for _, p := range ps {
			r.Rows = append(r.Rows, []string{p.ID, p.Kind, p.Title, strings.Join(p.Roles, ","), when(p.Created)})
		}
		return r, err
	})
	var roles []string
	setRoles := f.command("roles PRINCIPAL", "Replace a principal's roles", cobra.ExactArgs(1), func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
		err := svc.SetRoles(ctx, actor(), arg, roles)
		return result{Value: map[string]any{"principal": arg, "roles": nonNil(roles)}, Text: "principal " + arg + ": roles " + strings.Join(roles, ", ")}, err
	})
	setRoles.Flags().StringSliceVar(&roles, "role", nil, "role (repeat; none removes every role)")
	cmd.AddCommand(create, list, setRoles)
	return cmd
}

// nonNil is list, or an empty list for JSON.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
