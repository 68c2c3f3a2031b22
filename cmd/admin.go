// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/managed/providers/self"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/hub/store"
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
		newAdminAuthorisations(&f), newAdminAudit(&f), newAdminRecords(&f))
	return cmd
}

// register adds the flags that locate the database and the hub's keys.
func (f *adminFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.server.config, "config", "c", "", "the server's config.cfg")
	fs.StringVar(&f.server.dbEngine, "db-engine", "", "sqlite or postgres ([database] engine)")
	fs.StringVar(&f.server.dbConnection, "db-connection", "", "SQLite file or postgres:// URL ([database] connection)")
	fs.StringVar(&f.keysFile, "keys-file", "", "the hub's keys ([hub] keys_file)")
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
		return nil, nil, errors.New(namingFlags(cmd.Flags(), "", err))
	}
	return svc, closeSvc, nil
}

// config reads the server's configuration with the flags applied.
func (f *adminFlags) config(cmd *cobra.Command) (config.Config, error) {
	cfg := config.Default()
	if f.server.config == "" && !cmd.Flags().Changed("db-connection") {
		return cfg, errors.New("which hub? give the server's configuration, -c /etc/acme-dns/config.cfg, " +
			"or its database and keys: --db-connection (a SQLite file or postgres:// URL) and --keys-file")
	}
	if f.server.config != "" {
		var err error
		if cfg, _, err = config.Load(f.server.config); err != nil {
			return cfg, err
		}
	}
	fs := cmd.Flags()
	if fs.Changed("db-engine") {
		cfg.Database.Engine = f.server.dbEngine
	}
	if fs.Changed("db-connection") {
		cfg.Database.Connection = f.server.dbConnection
	}
	if f.keysFile != "" {
		cfg.Hub.KeysFile = f.keysFile
	}
	cfg.Finish()
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

func newAdminKeygen() *cobra.Command {
	var id, out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a new key for [hub] keys_file: printed, or written first into --out (the newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = time.Now().UTC().Format("20060102")
			}
			line := managed.NewKeyLine(id)
			if out == "" {
				fmt.Fprintln(cmd.OutOrStdout(), line)
				return nil
			}
			if err := prependKey(out, line); err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s written first in %s (mode 0600)\n", id, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key ID (default: today's date)")
	cmd.Flags().StringVar(&out, "out", "", "write the key into this file, readable by its owner alone, before the keys it holds")
	return cmd
}

// prependKey writes line before the keys file's lines, atomically, with
// mode 0600: the newest key seals, the older ones still open.
func prependKey(path, line string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename there is nothing left to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(line + "\n" + string(old)); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

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

func newAdminConfigs(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "configs", Short: "Managed challenge configs: provider, zone, Domain Match Rules"}
	var (
		in          managed.ConfigInput
		credsFile   string
		nameservers []string
	)
	put := f.command("put", "Create or replace a config (its credentials are sealed before they are stored)", cobra.NoArgs,
		func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
			if credsFile != "" {
				data, err := os.ReadFile(credsFile)
				if err != nil {
					return result{}, fmt.Errorf("--credentials-file: %w", err)
				}
				in.Credentials = data
			}
			in.Propagation = providers.PropagationSettings{Nameservers: nameservers}.String()
			c, err := svc.PutConfig(ctx, actor(), in)
			return result{Value: viewConfig(c), Text: fmt.Sprintf("config %s: %s in zone %s for %s", c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " "))}, err
		})
	pf := put.Flags()
	pf.StringVar(&in.ID, "id", "", "config ID (required)")
	pf.StringVar(&in.Title, "title", "", "title")
	pf.StringVar(&in.Provider, "provider", self.Name, "DNS provider: "+strings.Join(providers.Names(), ", "))
	pf.StringVar(&in.Zone, "zone", "", "the zone the provider writes in (required)")
	mustRequire(put, "id", "zone")
	pf.StringSliceVar(&in.Rules, "rule", nil, "Domain Match Rule: example.com, *.example.com, .example.com, !name (repeat)")
	pf.IntVar(&in.TTL, "ttl", 60, "TTL of the records, seconds")
	pf.BoolVar(&in.AllowCNAME, "allow-cname", false, "accept the target of _acme-challenge.<name>'s CNAME as the record")
	pf.StringVar(&credsFile, "credentials-file", "", "the provider's credentials, a JSON object: "+providers.CredentialsHelp())
	pf.StringSliceVar(&nameservers, "nameserver", nil, "host:port of a name server that must serve a value before it counts as presented "+
		"(repeat; default: the zone's NS records)")
	list := f.command("list", "List configs (never their credentials)", cobra.NoArgs, func(_ context.Context, svc *managed.Service, _ string) (result, error) {
		r := result{Value: []configView{}, Header: "ID\tPROVIDER\tZONE\tRULES\tTTL\tCNAME\tTITLE"}
		for _, c := range svc.Configs() {
			r.Rows = append(r.Rows, []string{c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " "), fmt.Sprint(c.TTL), fmt.Sprint(c.AllowCNAME), c.Title})
			r.Value = append(r.Value.([]configView), viewConfig(c))
		}
		return r, nil
	})
	del := f.command("delete ID", "Delete a config", cobra.ExactArgs(1), func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
		err := svc.DeleteConfig(ctx, actor(), arg)
		return result{Value: map[string]any{"id": arg, "deleted": true}, Text: "config " + arg + " deleted"}, err
	})
	test := f.command("test ID", "Check a config's provider credentials against its zone", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			err := svc.TestConfig(ctx, actor(), arg)
			return result{Value: map[string]any{"id": arg, "ok": true}, Text: "config " + arg + ": the provider accepts its credentials"}, err
		})
	cmd.AddCommand(put, list, del, test)
	return cmd
}

// configView is a config as the commands print it: never its
// credentials, only whether it has some and which key sealed them.
type configView struct {
	ID, Title, ChallengeType, Provider string
	HasCredentials                     bool
	SealedWith                         string
	Zone                               string
	Rules                              []string
	TTL                                int
	Nameservers                        []string
	AllowCNAME                         bool
	Created, Updated                   time.Time
}

func viewConfig(c store.ChallengeConfig) configView {
	p, _ := providers.ParsePropagation(c.Propagation)
	return configView{ID: c.ID, Title: c.Title, ChallengeType: c.ChallengeType, Provider: c.Provider, HasCredentials: len(c.Credentials) > 0,
		SealedWith: c.KeyID, Zone: c.Zone, Rules: c.Rules, TTL: c.TTL, Nameservers: p.Nameservers, AllowCNAME: c.AllowCNAME,
		Created: c.Created, Updated: c.Updated}
}

func newAdminProviders(f *adminFlags) *cobra.Command {
	return &cobra.Command{Use: "providers", Short: "List the DNS providers configs may use, with their credentials", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type shown struct {
				Name, Description string
				Credentials       []providers.Field
			}
			r := result{Value: []shown{}, Header: "PROVIDER\tCREDENTIALS\tWRITES"}
			for _, p := range providers.All() {
				r.Value = append(r.Value.([]shown), shown{p.Name, p.Description, p.Credentials})
				var fields []string
				for _, fl := range p.Credentials {
					fields = append(fields, fl.Name)
				}
				r.Rows = append(r.Rows, []string{p.Name, cmp.Or(strings.Join(fields, ", "), "-"), p.Description})
			}
			return f.output.print(cmd.OutOrStdout(), r)
		}}
}

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
		r := result{Value: entries, Header: "TIME\tACTION\tPRINCIPAL\tCLIENT ID\tADDRESS\tIDENTIFIER\tRECORD\tCONFIG\tRESULT\tDETAIL"}
		for _, e := range entries {
			r.Rows = append(r.Rows, []string{when(e.At), e.Action, e.Principal, e.ClientID, e.Address, e.Identifier, e.Record, e.Config, e.Result, e.Detail})
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

// mustRequire marks flags of cmd required: cobra names the missing ones
// before the command runs.
func mustRequire(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err) // a flag that is not defined: a mistake in this file
		}
	}
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
