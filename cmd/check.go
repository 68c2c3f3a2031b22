// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/solver/acmedns/registration"
)

// checkEnv maps each flag of `acmehub check` to its environment variable.
var checkEnv = map[string]string{
	"api":                      "ACMEHUB_API",
	"client":                   "ACMEHUB_CLIENT",
	"namespace":                "ACMEHUB_NAMESPACE",
	"secret-name":              "ACMEHUB_SECRET_NAME",
	"secret-key":               "ACMEHUB_SECRET_KEY",
	"resolvers":                "ACMEHUB_RESOLVERS",
	"nameservers":              "ACMEHUB_NAMESERVERS",
	"basic-auth-user":          "ACMEHUB_BASIC_AUTH_USER",
	"basic-auth-password-file": "ACMEHUB_BASIC_AUTH_PASSWORD_FILE",
	"hub":                      "ACMEHUB_HUB",
	"hub-client-id":            "ACMEHUB_HUB_CLIENT_ID",
	"hub-secret-file":          "ACMEHUB_HUB_SECRET_FILE",
	"hub-token-file":           "ACMEHUB_HUB_TOKEN_FILE",
}

// checkFlags are the flags of `acmehub check`.
type checkFlags struct {
	registerFlags // the Secret, the kube client and the registration password
	resolvers     []string
	nameservers   []string
	timeout       time.Duration
	output        output
	repair        bool
}

func newCheckCommand() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that acme-dns accounts in Kubernetes Secrets work end to end",
		Long: `Check, for every account in the Secret of one client (--client or --secret-name)
or in every Secret of the namespace labelled acmehub.io/client (as register labels them):

  1. credentials: a fresh probe value is written through the API; when the
     server refuses the credentials the client is registered anew and the
     Secret rewritten, and the new CNAMEs are reported;
  2. propagation: the zone's authoritative servers (from its NS records, or
     --nameservers) serve the probe within --timeout;
  3. delegation: _acme-challenge.<fqdn> resolves by CNAME to the account
     through the recursive resolvers;
     with --repair, a missing or wrong CNAME is written by the hub (--hub);
  4. the probe is removed (an acmehub server deletes it; on a plain acme-dns,
     which cannot delete, it stays as one of the account's two values).

An account whose entry lacks server_url (account files of older acme-dns
registration scripts) is checked against --api. On an acmehub server, an
account that keeps fewer than two values for each of its names is a problem
(acmehub register raises its limit).

It prints a table (or JSON with -o/--output json), records an Event on the
Secret for each problem and exits 1 when there is any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	f.flags(cmd.Flags())
	for name, variable := range checkEnv {
		fl := cmd.Flags().Lookup(name)
		fl.Usage += " [$" + variable + "]"
	}
	return cmd
}

func (f *checkFlags) flags(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.API, "api", "", "acme-dns or acmehub server API of accounts whose entry has no server_url (the Secret is not rewritten for it)")
	fs.StringVar(&f.cfg.Client, "client", "", "check the Secret acme-dns-<client>-client")
	fs.StringVar(&f.cfg.SecretName, "secret-name", "", "check this Secret (default: every Secret of the namespace labelled acmehub.io/client)")
	fs.StringVar(&f.cfg.Namespace, "namespace", "", "namespace of the Secrets (default: the pod's own)")
	fs.StringVar(&f.cfg.Key, "secret-key", "acmedns.json", "Secret key of the account file")
	fs.StringVar(&f.cfg.BasicAuthUser, "basic-auth-user", "", "user for /register's HTTP basic auth, when registering anew")
	fs.StringVar(&f.passwordFile, "basic-auth-password-file", "", "file holding its password (or $"+basicAuthPasswordEnv+")")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the pod's service account)")
	fs.StringSliceVar(&f.resolvers, "resolvers", nil, "recursive resolvers host:port (default: /etc/resolv.conf)")
	fs.StringSliceVar(&f.nameservers, "nameservers", nil, "the acme-dns zone's authoritative servers host:port (default: from its NS records)")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "how long the probe may take to be served")
	fs.StringVar(&f.hub.URL, "hub", "", "the managed-challenge hub that wrote the names' CNAMEs (register --hub), for --repair")
	fs.StringVar(&f.hub.ClientID, "hub-client-id", "", "the client ID of a hub token with the managed-challenge-delegate role")
	fs.StringVar(&f.hubSecret, "hub-secret-file", "", "file holding that token's secret (or $"+hubSecretEnv+")")
	fs.StringVar(&f.hub.TokenFile, "hub-token-file", "", hubTokenFileUsage)
	fs.BoolVar(&f.repair, "repair", false, "have the hub (--hub) write a CNAME that is missing or wrong")
	f.output.register(fs)
}

// run checks the accounts, prints the findings and exits 1 on a problem.
func (f *checkFlags) run(cmd *cobra.Command) error {
	if err := fromEnv(cmd.Flags(), checkEnv); err != nil {
		return err
	}
	if err := f.complete(); err != nil {
		return err
	}
	if err := f.output.check(); err != nil {
		return err
	}
	if f.repair && f.cfg.Hub == nil {
		return errors.New("--repair needs the hub that writes the CNAMEs: --hub (or $ACMEHUB_HUB) with its token")
	}
	if f.cfg.SecretName == "" && f.cfg.Client != "" {
		f.cfg.SecretName = "acme-dns-" + f.cfg.Client + "-client"
	}
	r := dnsclient.Resolver{Servers: f.resolvers, Timeout: 2 * time.Second}
	if len(r.Servers) == 0 {
		var err error
		if r, err = dnsclient.System(); err != nil {
			return fmt.Errorf("%w (give --resolvers)", err)
		}
	}
	reg, err := f.registrar(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	findings, err := reg.Check(cmd.Context(), registration.CheckConfig{
		Namespace: f.cfg.Namespace, SecretName: f.cfg.SecretName, Key: f.cfg.Key,
		Resolver: r, Nameservers: f.nameservers, Timeout: f.timeout,
		BasicAuthUser: f.cfg.BasicAuthUser, BasicAuthPassword: f.cfg.BasicAuthPassword,
		API: f.cfg.API, Hub: f.cfg.Hub, Repair: f.repair,
	})
	if err != nil {
		return err
	}
	if err := printFindings(cmd.OutOrStdout(), f.output, findings); err != nil {
		return err
	}
	for _, fd := range findings {
		if len(fd.Problems) > 0 {
			return exitError{code: 1}
		}
	}
	return nil
}

// printFindings writes the findings as a table or as JSON.
func printFindings(out io.Writer, o output, findings []registration.Finding) error {
	if o.format == "json" {
		return writeJSON(out, findings)
	}
	r := result{Header: "SECRET\tFQDN\tACCOUNT\tCREDENTIALS\tPROPAGATION\tDELEGATION\tACTION"}
	for _, f := range findings {
		r.Rows = append(r.Rows, []string{f.Secret, f.FQDN, f.Account, f.Credentials, f.Propagation, f.Delegation, f.Action})
	}
	if err := o.print(out, r); err != nil {
		return err
	}
	var problems []string
	for _, f := range findings {
		for _, p := range f.Problems {
			problems = append(problems, "  "+f.FQDN+": "+p)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(out, "\nProblems:\n%s\n", strings.Join(problems, "\n"))
	}
	return nil
}
