// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"errors"
	"log/slog"
	"os/user"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
)

// adminFlags locate the hub's database and keys.
type adminFlags struct {
	server   serverFlags
	keysFile string
	output   output
}

func newAdminCommand() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage the managed-challenge hub: principals, tokens, configs, the audit log",
		Long: `Manage the managed-challenge hub on its database: the file or PostgreSQL
database of the server's config.cfg (-c), or --db-engine and --db-connection.
Provider credentials are sealed and token secrets hashed with the hub's keys
([hub] keys_file, $ACMEHUB_HUB_KEYS, or --keys-file). Every change is audited.
A running server applies config changes within 5 seconds; token changes at once.`,
	}
	f.register(cmd.PersistentFlags())
	cmd.AddCommand(newAdminKeygen(), newAdminPrincipals(&f), newAdminTokens(&f), newAdminConfigs(&f), newAdminProviders(&f),
		newAdminAuthorisations(&f), newAdminAudit(&f), newAdminRecords(&f), newAdminAccounts(&f), newAdminDelegations(&f), newAdminIssuers(&f), newAdminBindings(&f))
	return cmd
}

// register adds the flags that locate the database and the hub's keys.
func (f *adminFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.server.config, "config", "c", "", "the server's config.cfg")
	fs.StringVar(&f.server.dbEngine, "db-engine", "", "sqlite or postgres ([database] engine)")
	fs.StringVar(&f.server.dbConnection, "db-connection", "", "SQLite file or postgres:// URL ([database] connection)")
	fs.StringVar(&f.keysFile, "keys-file", "", "the hub's keys ([hub] keys_file)")
	f.server.own("config", "db-engine", "db-connection", "keys-file")
	f.server.validate = (*config.Config).ValidateDatabase
	f.output.register(fs)
}

// open reads the configuration and opens the hub's service on its database.
func (f *adminFlags) open(cmd *cobra.Command) (*managed.Service, func(), error) {
	cfg, err := f.config(cmd)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, closeSvc, err := server.OpenManaged(cmd.Context(), cfg, log)
	if err != nil {
		return nil, nil, errors.New(f.server.namingFlags(cmd.Flags(), "", err))
	}
	return svc, closeSvc, nil
}

// config reads the server's configuration as acmehub server does (the
// file or the built-in default, the flags over it) with its [database]
// validated (the rest may hold what only the server's process is given),
// and the keys file the flag names.
func (f *adminFlags) config(cmd *cobra.Command) (config.Config, error) {
	if f.server.config == "" && !cmd.Flags().Changed("db-connection") {
		return config.Config{}, errors.New("which hub? give the server's configuration, -c /etc/acme-dns/config.cfg, " +
			"or its database and keys: --db-connection (a SQLite file or postgres:// URL) and --keys-file")
	}
	cfg, _, err := f.server.load(cmd.Flags(), "")
	if err != nil {
		return cfg, err
	}
	if f.keysFile != "" {
		cfg.Hub.KeysFile = f.keysFile
	}
	return cfg, nil
}

// actor is who the audit log says made a change from the command line.
func actor() managed.Caller {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return managed.Caller{Principal: "cli:" + name}
}

// adminFunc does one admin command's work with the command's argument, if
// it takes one.
type adminFunc func(ctx context.Context, svc *managed.Service, arg string) (result, error)

// command is an admin subcommand: it opens the hub's service, runs do and
// prints its result.
func (f *adminFlags) command(use, short string, args cobra.PositionalArgs, do adminFunc) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		if err := f.output.check(); err != nil {
			return err
		}
		svc, closeSvc, err := f.open(cmd)
		if err != nil {
			return err
		}
		defer closeSvc()
		arg := ""
		if len(args) > 0 {
			arg = args[0]
		}
		r, err := do(cmd.Context(), svc, arg)
		if err != nil {
			return err
		}
		return f.output.print(cmd.OutOrStdout(), r)
	}}
}

// mustRequire marks flags of cmd required: cobra names the missing ones
// before the command runs.
func mustRequire(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err) // a flag that is not defined: a mistake in this file
		}
	}
}
