package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/managed/providers/self"
	"github.com/acmehub/acmehub/hub/store"
)

// adminFlags locate the hub's database and keys.
type adminFlags struct {
	server   serverFlags
	keysFile string
	output   string
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
	fs := cmd.PersistentFlags()
	fs.StringVarP(&f.server.config, "config", "c", "", "the server's config.cfg")
	fs.StringVar(&f.server.dbEngine, "db-engine", "", "sqlite or postgres ([database] engine)")
	fs.StringVar(&f.server.dbConnection, "db-connection", "", "SQLite file or postgres:// URL ([database] connection)")
	fs.StringVar(&f.keysFile, "keys-file", "", "the hub's keys ([hub] keys_file)")
	fs.StringVarP(&f.output, "output", "o", "table", "table or json")
	cmd.AddCommand(newAdminKeygen(), newAdminPrincipals(&f), newAdminTokens(&f), newAdminConfigs(&f), newAdminAuthorisations(&f), newAdminAudit(&f), newAdminRecords(&f))
	return cmd
}

// open reads the configuration and opens the hub's service on its database.
func (f *adminFlags) open(cmd *cobra.Command) (*managed.Service, func(), error) {
	cfg := config.Default()
	if f.server.config != "" {
		var err error
		if cfg, _, err = config.Load(f.server.config); err != nil {
			return nil, nil, err
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
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return hub.OpenManaged(cmd.Context(), cfg, log)
}

// actor is who the audit log says made a change from the command line.
func actor() managed.Caller {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return managed.Caller{Principal: "cli:" + name}
}

// run opens the service, calls fn with the command's argument (if it
// takes one) and closes the service.
func (f *adminFlags) run(fn func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if f.output != "table" && f.output != "json" {
			return fmt.Errorf("--output %q: must be table or json", f.output)
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
		return fn(cmd.Context(), svc, cmd.OutOrStdout(), arg)
	}
}

// print writes rows as a table (header first) or v as JSON.
func (f *adminFlags) print(out io.Writer, v any, header string, rows [][]string) error {
	if f.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newAdminKeygen() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Print a new key line for [hub] keys_file (put the newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = time.Now().UTC().Format("20060102")
			}
			fmt.Fprintln(cmd.OutOrStdout(), managed.NewKeyLine(id))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key ID (default: today's date)")
	return cmd
}

func newAdminPrincipals(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "principals", Short: "Users and applications that tokens act for"}
	var p store.Principal
	create := &cobra.Command{
		Use:   "create",
		Short: "Add a principal and print its ID",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			created, err := svc.CreatePrincipal(ctx, actor(), p)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, created.ID)
			return nil
		}),
	}
	create.Flags().StringVar(&p.Kind, "kind", managed.KindApplication, "application or user")
	create.Flags().StringVar(&p.Title, "title", "", "title (required)")
	create.Flags().StringVar(&p.Description, "description", "", "description")
	create.Flags().StringSliceVar(&p.Roles, "role", nil, "role to assign: "+strings.Join(managed.Roles, ", ")+" (repeat)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List principals and their roles",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			ps, err := svc.Principals(ctx)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, p := range ps {
				rows = append(rows, []string{p.ID, p.Kind, p.Title, strings.Join(p.Roles, ","), when(p.Created)})
			}
			return f.print(out, ps, "ID\tKIND\tTITLE\tROLES\tCREATED", rows)
		}),
	}
	var roles []string
	setRoles := &cobra.Command{
		Use:   "roles PRINCIPAL",
		Short: "Replace a principal's roles",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			return svc.SetRoles(ctx, actor(), arg, roles)
		}),
	}
	setRoles.Flags().StringSliceVar(&roles, "role", nil, "role (repeat; none removes every role)")
	cmd.AddCommand(create, list, setRoles)
	return cmd
}

func newAdminTokens(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "API tokens: a client ID and a secret shown once"}
	var o managed.TokenOptions
	printSecret := func(out io.Writer, t managed.NewToken) error {
		if f.output == "json" {
			return f.print(out, map[string]string{"clientID": t.ClientID, "secret": t.Secret}, "", nil)
		}
		fmt.Fprintf(out, "Client ID: %s\nSecret:    %s\n(the secret is shown this once)\n", t.ClientID, t.Secret)
		return nil
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token for a principal and print its client ID and secret",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			t, err := svc.CreateToken(ctx, actor(), o)
			if err != nil {
				return err
			}
			return printSecret(out, t)
		}),
	}
	create.Flags().StringVar(&o.Principal, "principal", "", "principal ID (required)")
	create.Flags().StringVar(&o.Title, "title", "", "title")
	create.Flags().StringSliceVar(&o.Scopes, "scope", []string{managed.RoleConsumer}, "role the token carries (repeat)")
	create.Flags().StringSliceVar(&o.Domains, "domain", nil, "Domain Match Rule narrowing the names it may answer for (repeat)")
	create.Flags().DurationVar(&o.TTL, "ttl", 0, "expire after this long (e.g. 2160h); 0: never")
	var principal string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			ts, err := svc.Tokens(ctx, principal)
			if err != nil {
				return err
			}
			var rows [][]string
			type shown struct {
				ClientID, Principal, Title string
				Scopes, Domains            []string
				Created, Expires, LastUsed time.Time
				Revoked                    time.Time
			}
			var js []shown
			for _, t := range ts {
				rows = append(rows, []string{t.ClientID, t.Principal, t.Title, strings.Join(t.Scopes, ","), strings.Join(t.Domains, " "),
					when(t.Expires), when(t.LastUsed), when(t.Revoked)})
				js = append(js, shown{t.ClientID, t.Principal, t.Title, t.Scopes, t.Domains, t.Created, t.Expires, t.LastUsed, t.Revoked})
			}
			return f.print(out, js, "CLIENT ID\tPRINCIPAL\tTITLE\tSCOPES\tDOMAINS\tEXPIRES\tLAST USED\tREVOKED", rows)
		}),
	}
	list.Flags().StringVar(&principal, "principal", "", "only this principal's")
	revoke := &cobra.Command{
		Use:   "revoke CLIENT_ID",
		Short: "Revoke a token at once",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			return svc.RevokeToken(ctx, actor(), arg)
		}),
	}
	rotate := &cobra.Command{
		Use:   "rotate CLIENT_ID",
		Short: "Give a token a new secret; the old one stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			t, err := svc.RotateToken(ctx, actor(), arg)
			if err != nil {
				return err
			}
			return printSecret(out, t)
		}),
	}
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
	put := &cobra.Command{
		Use:   "put",
		Short: "Create or replace a config (its credentials are sealed before they are stored)",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			if credsFile != "" {
				data, err := os.ReadFile(credsFile)
				if err != nil {
					return fmt.Errorf("--credentials-file: %w", err)
				}
				in.Credentials = data
			}
			in.Propagation = managed.PropagationSettings{Nameservers: nameservers}.String()
			c, err := svc.PutConfig(ctx, actor(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "config %s: %s in zone %s for %s\n", c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " "))
			return nil
		}),
	}
	pf := put.Flags()
	pf.StringVar(&in.ID, "id", "", "config ID (required)")
	pf.StringVar(&in.Title, "title", "", "title")
	pf.StringVar(&in.Provider, "provider", self.Name, "DNS provider: "+strings.Join(providers.Names(), ", "))
	pf.StringVar(&in.Zone, "zone", "", "the zone the provider writes in (required)")
	pf.StringSliceVar(&in.Rules, "rule", nil, "Domain Match Rule: example.com, *.example.com, .example.com, !name (repeat)")
	pf.IntVar(&in.TTL, "ttl", 60, "TTL of the records, seconds")
	pf.BoolVar(&in.AllowCNAME, "allow-cname", false, "accept the target of _acme-challenge.<name>'s CNAME as the record")
	pf.StringVar(&credsFile, "credentials-file", "", "the provider's credentials, a JSON object: "+providers.CredentialsHelp())
	pf.StringSliceVar(&nameservers, "nameserver", nil, "host:port of a name server that must serve a value before it counts as presented "+
		"(repeat; default: the zone's NS records)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List configs (never their credentials)",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			cs := svc.Configs()
			var rows [][]string
			for i, c := range cs {
				rows = append(rows, []string{c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " "), fmt.Sprint(c.TTL), fmt.Sprint(c.AllowCNAME), c.Title})
				cs[i].Credentials = nil
			}
			return f.print(out, cs, "ID\tPROVIDER\tZONE\tRULES\tTTL\tCNAME\tTITLE", rows)
		}),
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a config",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			return svc.DeleteConfig(ctx, actor(), arg)
		}),
	}
	test := &cobra.Command{
		Use:   "test ID",
		Short: "Check a config's provider credentials against its zone",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			if err := svc.TestConfig(ctx, actor(), arg); err != nil {
				return err
			}
			fmt.Fprintf(out, "config %s: the provider accepts its credentials\n", arg)
			return nil
		}),
	}
	cmd.AddCommand(put, list, del, test)
	return cmd
}

func newAdminAuthorisations(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "authorisations", Short: "acmeproxy authorisations: a name and a secret that may answer for it"}
	var suffix bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Authorise a name and print its secret (shown this once)",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			who := actor()
			a, err := svc.CreateAuthorisation(ctx, who, arg, suffix, who.Principal)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.print(out, map[string]any{"authorisation": a.Name, "secret": a.Secret, "suffix_match": a.SuffixMatch}, "", nil)
			}
			fmt.Fprintf(out, "Authorisation: %s (suffix match %v)\nSecret:        %s\n(the secret is shown this once)\n", a.Name, a.SuffixMatch, a.Secret)
			return nil
		}),
	}
	create.Flags().BoolVar(&suffix, "suffix-match", false, "the names below NAME too")
	list := &cobra.Command{
		Use:   "list",
		Short: "List authorisations",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			as, err := svc.Authorisations(ctx)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, a := range as {
				rows = append(rows, []string{a.Name, fmt.Sprint(a.SuffixMatch), a.CreatedBy, when(a.Created), a.ClientID})
			}
			return f.print(out, as, "NAME\tSUFFIX MATCH\tCREATED BY\tCREATED AT\tCLIENT ID", rows)
		}),
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an authorisation; its secret stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, arg string) error {
			return svc.DeleteAuthorisation(ctx, actor(), arg)
		}),
	}
	cmd.AddCommand(create, list, del)
	return cmd
}

func newAdminAudit(f *adminFlags) *cobra.Command {
	var (
		q            store.AuditQuery
		since, until string
		failed       bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the audit log, newest first",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			var err error
			if q.Since, err = parseWhen(since); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if q.Until, err = parseWhen(until); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			if failed {
				q.Result = store.ResultFailed
			}
			entries, err := svc.AuditLog(ctx, q)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, e := range entries {
				rows = append(rows, []string{when(e.At), e.Action, e.Principal, e.ClientID, e.Address, e.Identifier, e.Record, e.Config, e.Result, e.Detail})
			}
			return f.print(out, entries, "TIME\tACTION\tPRINCIPAL\tCLIENT ID\tADDRESS\tIDENTIFIER\tRECORD\tCONFIG\tRESULT\tDETAIL", rows)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&since, "since", "", "from this time (RFC 3339, or a duration ago such as 24h)")
	fs.StringVar(&until, "until", "", "before this time (RFC 3339, or a duration ago)")
	fs.StringVar(&q.Principal, "principal", "", "only this principal's")
	fs.StringVar(&q.Identifier, "identifier", "", "only this identifier's")
	fs.BoolVar(&failed, "failed", false, "only failures and refusals")
	fs.IntVar(&q.Limit, "limit", 100, "at most this many")
	return cmd
}

// parseWhen reads a time (RFC 3339) or a duration before now.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

func newAdminRecords(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "records",
		Short: "List the records the hub created and has not removed",
		Args:  cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, svc *managed.Service, out io.Writer, _ string) error {
			recs, err := svc.Records(ctx)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, r := range recs {
				rows = append(rows, []string{r.ID, r.Config, r.Name, managed.ValueHash(r.Value), r.ClientID, when(r.Created), fmt.Sprint(r.Attempts)})
			}
			return f.print(out, recs, "ID\tCONFIG\tNAME\tVALUE HASH\tCLIENT ID\tCREATED\tFAILED REMOVALS", rows)
		}),
	}
}
