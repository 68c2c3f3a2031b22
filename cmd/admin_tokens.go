// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
)

func newAdminTokens(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "API tokens: a client ID and a secret shown once"}
	secret := func(t managed.NewToken, err error) (result, error) {
		return result{Value: map[string]string{"clientID": t.ClientID, "secret": t.Secret},
			Text: fmt.Sprintf("Client ID: %s\nSecret:    %s\n(the secret is shown this once)", t.ClientID, t.Secret)}, err
	}
	var o managed.TokenOptions
	var ttl config.Duration
	create := f.command("create", "Create a token for a principal and print its client ID and secret", cobra.NoArgs,
		func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
			o.TTL = ttl.Duration
			return secret(svc.CreateToken(ctx, actor(), o))
		})
	create.Flags().StringVar(&o.Principal, "principal", "", "principal ID (required)")
	mustRequire(create, "principal")
	create.Flags().StringVar(&o.Title, "title", "", "title")
	create.Flags().StringSliceVar(&o.Scopes, "scope", []string{managed.RoleConsumer}, "role the token carries (repeat)")
	create.Flags().StringSliceVar(&o.Domains, "domain", nil, "Domain Match Rule narrowing the names it may answer for (repeat)")
	create.Flags().Var(&ttl, "ttl", "expire after this long (e.g. 90d or 2160h); 0s: never")
	var principal string
	list := f.command("list", "List tokens (never their secrets)", cobra.NoArgs, func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
		ts, err := svc.Tokens(ctx, principal)
		type shown struct {
			ClientID, Principal, Title string
			Scopes, Domains            []string
			Created, Expires, LastUsed time.Time
			Revoked                    time.Time
		}
		r := result{Value: []shown{}, Header: "CLIENT ID\tPRINCIPAL\tTITLE\tSCOPES\tDOMAINS\tEXPIRES\tLAST USED\tREVOKED"}
		for _, t := range ts {
			r.Rows = append(r.Rows, []string{t.ClientID, t.Principal, t.Title, strings.Join(t.Scopes, ","), strings.Join(t.Domains, " "),
				when(t.Expires), when(t.LastUsed), when(t.Revoked)})
			r.Value = append(r.Value.([]shown), shown{t.ClientID, t.Principal, t.Title, t.Scopes, t.Domains, t.Created, t.Expires, t.LastUsed, t.Revoked})
		}
		return r, err
	})
	list.Flags().StringVar(&principal, "principal", "", "only this principal's")
	revoke := f.command("revoke CLIENT_ID", "Revoke a token at once", cobra.ExactArgs(1), func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
		err := svc.RevokeToken(ctx, actor(), arg)
		return result{Value: map[string]any{"clientID": arg, "revoked": true}, Text: "token " + arg + " revoked"}, err
	})
	rotate := f.command("rotate CLIENT_ID", "Give a token a new secret; the old one stops working at once", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			return secret(svc.RotateToken(ctx, actor(), arg))
		})
	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}
