// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
)

// accountFunc does one accounts command's work with its arguments; its
// changes go to audit.
type accountFunc func(ctx context.Context, svc *accounts.Service, audit store.AuditLog, args []string) (result, error)

// record writes a change the command line made (what, with its result err)
// to the audit log, and returns err, or the audit log's failure.
func record(ctx context.Context, audit store.AuditLog, what string, err error) error {
	if aerr := audit.Audit(context.WithoutCancel(ctx), managed.AdminEntry(time.Now(), actor(), what, err)); aerr != nil && err == nil {
		return fmt.Errorf("%s, but not audited: %w", what, aerr)
	}
	return err
}

// accountsCommand is an admin accounts subcommand: it opens the accounts
// of the server's database (no hub keys needed) and prints do's result.
func (f *adminFlags) accountsCommand(use, short string, args cobra.PositionalArgs, do accountFunc) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		if err := f.output.check(); err != nil {
			return err
		}
		cfg, err := f.config(cmd)
		if err != nil {
			return err
		}
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		svc, audit, closeSvc, err := server.OpenAccounts(cmd.Context(), cfg, log)
		if err != nil {
			return err
		}
		defer closeSvc()
		r, err := do(cmd.Context(), svc, audit, args)
		if err != nil {
			return err
		}
		return f.output.print(cmd.OutOrStdout(), r)
	}}
}

// accountView is an account as the commands print it: never its password.
type accountView struct {
	Username, Subdomain string
	AllowFrom           []string
	TXTLimit            int
	// Created and LastUsed are null when not known (an account acme-dns
	// registered, or one never used).
	Created, LastUsed time.Time
	Values            int
}

func newAdminAccounts(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "acme-dns accounts: list the unused ones, rotate a password, deregister"}
	var unused config.Duration
	list := f.accountsCommand("list", "List accounts, when each was registered and last given a value", cobra.NoArgs,
		func(ctx context.Context, svc *accounts.Service, _ store.AuditLog, _ []string) (result, error) {
			all, err := svc.Accounts(ctx)
			r := result{Value: []accountView{}, Header: "USERNAME\tSUBDOMAIN\tCREATED\tLAST USED\tVALUES\tALLOWFROM"}
			for _, a := range all {
				if unused.Duration > 0 && !unusedSince(a, time.Now().Add(-unused.Duration)) {
					continue
				}
				r.Value = append(r.Value.([]accountView), accountView(a))
				r.Rows = append(r.Rows, []string{a.Username, a.Subdomain, known(a.Created), known(a.LastUsed), fmt.Sprint(a.Values),
					strings.Join(a.AllowFrom, " ")})
			}
			return r, err
		})
	list.Flags().Var(&unused, "unused-for", "only accounts given no value for this long (e.g. 90d), unknown times counting as unused")
	show := f.accountsCommand("show USERNAME", "Show one account", cobra.ExactArgs(1),
		func(ctx context.Context, svc *accounts.Service, _ store.AuditLog, args []string) (result, error) {
			arg := args[0]
			a, err := svc.Account(ctx, arg)
			if err != nil {
				return result{}, accountError(arg, err)
			}
			set, err := svc.TXT(ctx, a.Subdomain)
			v := accountView{a.Username, a.Subdomain, a.AllowFrom, a.TXTLimit, a.Created, a.LastUsed, len(set.Values)}
			return result{Value: v, Text: fmt.Sprintf("Username:  %s\nSubdomain: %s\nAllowfrom: %s\nCreated:   %s\nLast used: %s\nValues:    %d",
				v.Username, v.Subdomain, strings.Join(v.AllowFrom, " "), known(v.Created), known(v.LastUsed), v.Values)}, err
		})
	rotate := f.accountsCommand("rotate USERNAME", "Give an account a new password (shown this once); the old one stops working at once",
		cobra.ExactArgs(1), func(ctx context.Context, svc *accounts.Service, audit store.AuditLog, args []string) (result, error) {
			arg := args[0]
			password, err := svc.Rotate(ctx, arg)
			if err := record(ctx, audit, "rotate the password of account "+arg, err); err != nil {
				return result{}, accountError(arg, err)
			}
			return result{Value: map[string]string{"username": arg, "password": password},
				Text: fmt.Sprintf("Username: %s\nPassword: %s\n(the password is shown this once)", arg, password)}, nil
		})
	allow := f.accountsCommand("allowfrom USERNAME [CIDR...]", "Replace the CIDRs an account's updates may come from (none: anywhere)",
		cobra.MinimumNArgs(1), func(ctx context.Context, svc *accounts.Service, audit store.AuditLog, args []string) (result, error) {
			cidrs, err := svc.SetAllowFrom(ctx, args[0], args[1:])
			if err := record(ctx, audit, "replace the allowfrom of account "+args[0]+" with "+cmp.Or(strings.Join(args[1:], " "), "anywhere"), err); err != nil {
				return result{}, accountError(args[0], err)
			}
			return result{Value: map[string]any{"username": args[0], "allowFrom": nonNil(cidrs)},
				Text: "account " + args[0] + ": allowfrom " + cmp.Or(strings.Join(cidrs, " "), "anywhere")}, nil
		})
	dereg := f.accountsCommand("deregister USERNAME", "Delete an account and its values", cobra.ExactArgs(1),
		func(ctx context.Context, svc *accounts.Service, audit store.AuditLog, args []string) (result, error) {
			arg := args[0]
			a, err := svc.Account(ctx, arg)
			if err == nil {
				err = record(ctx, audit, "deregister account "+arg+" ("+a.Subdomain+")", svc.Deregister(ctx, arg))
			}
			if err != nil {
				return result{}, accountError(arg, err)
			}
			return result{Value: map[string]any{"username": arg, "subdomain": a.Subdomain, "deregistered": true},
				Text: "account " + arg + " (" + a.Subdomain + ") deregistered"}, nil
		})
	cmd.AddCommand(list, show, rotate, allow, dereg)
	return cmd
}

// unusedSince reports whether a was given no value since t: never used and
// registered before t, or used last before t. Times not known count as
// before.
func unusedSince(a store.AccountInfo, t time.Time) bool {
	if a.LastUsed.IsZero() {
		return a.Created.Before(t)
	}
	return a.LastUsed.Before(t)
}

func accountError(username string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("account %s: not found (acmehub admin accounts list shows them)", username)
	}
	return fmt.Errorf("account %s: %w", username, err)
}

// known is a time as a table shows it, "unknown" when not set.
func known(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return when(t)
}
