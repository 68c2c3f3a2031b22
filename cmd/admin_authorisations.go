// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/managed"
)

func newAdminAuthorisations(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "authorisations", Short: "acmeproxy authorisations: a name and a secret that may answer for it"}
	var suffix bool
	create := f.command("create NAME", "Authorise a name and print its secret (shown this once)", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			who := actor()
			a, err := svc.CreateAuthorisation(ctx, who, arg, suffix, who.Principal)
			return result{Value: map[string]any{"authorisation": a.Name, "secret": a.Secret, "suffixMatch": a.SuffixMatch},
				Text: fmt.Sprintf("Authorisation: %s (suffix match %v)\nSecret:        %s\n(the secret is shown this once)", a.Name, a.SuffixMatch, a.Secret)}, err
		})
	create.Flags().BoolVar(&suffix, "suffix-match", false, "the names below NAME too")
	list := f.command("list", "List authorisations", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		as, err := svc.Authorisations(ctx)
		r := result{Value: as, Header: "NAME\tSUFFIX MATCH\tCREATED BY\tCREATED AT\tCLIENT ID"}
		for _, a := range as {
			r.Rows = append(r.Rows, []string{a.Name, fmt.Sprint(a.SuffixMatch), a.CreatedBy, when(a.Created), a.ClientID})
		}
		return r, err
	})
	del := f.command("delete NAME", "Delete an authorisation; its secret stops working at once", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			err := svc.DeleteAuthorisation(ctx, actor(), arg)
			return result{Value: map[string]any{"authorisation": arg, "deleted": true}, Text: "authorisation " + arg + " deleted"}, err
		})
	cmd.AddCommand(create, list, del)
	return cmd
}
