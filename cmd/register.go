// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/acmehub/acmehub/solver"
	"github.com/acmehub/acmehub/solver/acmedns/registration"
)

// registerEnv maps each flag of `acmehub register` to the environment
// variable that sets it when the flag is not given, so a Job can be templated.
var registerEnv = map[string]string{
	"api":                      "ACMEHUB_API",
	"client":                   "ACMEHUB_CLIENT",
	"fqdn":                     "ACMEHUB_FQDNS",
	"allowfrom":                "ACMEHUB_ALLOWFROM",
	"basic-auth-user":          "ACMEHUB_BASIC_AUTH_USER",
	"basic-auth-password-file": "ACMEHUB_BASIC_AUTH_PASSWORD_FILE",
	"namespace":                "ACMEHUB_NAMESPACE",
	"secret-name":              "ACMEHUB_SECRET_NAME",
	"secret-key":               "ACMEHUB_SECRET_KEY",
	"wait":                     "ACMEHUB_WAIT",
	"hub":                      "ACMEHUB_HUB",
	"hub-client-id":            "ACMEHUB_HUB_CLIENT_ID",
	"hub-secret-file":          "ACMEHUB_HUB_SECRET_FILE",
	"hub-token-file":           "ACMEHUB_HUB_TOKEN_FILE",
}

const hubTokenFileUsage = "instead of a hub token: the pod's projected ServiceAccount token, bound at the hub (the chart mounts it at " +
	solver.DefaultTokenPath + ")"

// hubSecretEnv holds the hub token's secret when no file is given.
const hubSecretEnv = "ACMEHUB_HUB_SECRET"

// basicAuthPasswordEnv holds the registration password when no file is given.
const basicAuthPasswordEnv = "ACMEHUB_BASIC_AUTH_PASSWORD"

// inClusterNamespace is where a pod finds its own namespace.
const inClusterNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

type registerFlags struct {
	cfg          registration.Config
	passwordFile string
	kubeconfig   string
	hub          registration.Hub
	hubSecret    string // the file holding the hub token's secret
	remove       bool
}

func (f *registerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.API, "api", "", "acme-dns or acmehub server API, e.g. https://acme-dns.example.org")
	fs.StringVar(&f.cfg.Client, "client", "", "client name; the Secret is acme-dns-<client>-client unless --secret-name says otherwise")
	fs.StringSliceVar(&f.cfg.FQDNs, "fqdn", nil, "a name the client's certificates cover (repeat, or separate with commas)")
	fs.StringSliceVar(&f.cfg.AllowFrom, "allowfrom", nil, "CIDRs the account's updates may come from (repeat, or separate with commas)")
	fs.StringVar(&f.cfg.BasicAuthUser, "basic-auth-user", "", "user for /register's HTTP basic auth")
	fs.StringVar(&f.passwordFile, "basic-auth-password-file", "", "file holding its password (or $"+basicAuthPasswordEnv+")")
	fs.StringVar(&f.cfg.Namespace, "namespace", "", "namespace of the Secret (default: the pod's own)")
	fs.StringVar(&f.cfg.SecretName, "secret-name", "", "Secret name (default acme-dns-<client>-client)")
	fs.StringVar(&f.cfg.Key, "secret-key", "acmedns.json", "Secret key of the account file")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the pod's service account)")
	fs.DurationVar(&f.cfg.Wait, "wait", 0, "wait this long for the API to answer GET /health first (a server starting beside the Job)")
	fs.StringVar(&f.hub.URL, "hub", "", "a managed-challenge hub that writes the names' CNAMEs, e.g. https://hub.example.org:8443")
	fs.StringVar(&f.hub.ClientID, "hub-client-id", "", "the client ID of a hub token with the managed-challenge-delegate role")
	fs.StringVar(&f.hubSecret, "hub-secret-file", "", "file holding that token's secret (or $"+hubSecretEnv+")")
	fs.StringVar(&f.hub.TokenFile, "hub-token-file", "", hubTokenFileUsage)
	fs.BoolVar(&f.remove, "remove", false, "the client goes: have the hub remove the CNAMEs of every name its Secret holds (the Secret stays)")
}

// fromEnv sets each flag not given from its environment variable.
func fromEnv(fs *pflag.FlagSet, env map[string]string) error {
	for name, variable := range env {
		value, ok := os.LookupEnv(variable)
		if !ok || fs.Changed(name) {
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("$%s: %w", variable, err)
		}
	}
	return nil
}

// required names register's flags that are missing, before anything is
// tried.
func (f *registerFlags) required() error {
	var missing []string
	need := map[string]bool{"api": f.cfg.API == "", "client": f.cfg.Client == "", "fqdn": len(f.cfg.FQDNs) == 0}
	if f.remove {
		need = map[string]bool{"client": f.cfg.Client == "", "hub": f.hub.URL == ""}
	}
	for name, empty := range need {
		if empty {
			missing = append(missing, "--"+name+" (or $"+registerEnv[name]+")")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("missing %s", strings.Join(missing, ", "))
}

// complete reads the password and the namespace from where they live.
func (f *registerFlags) complete() error {
	if f.passwordFile != "" {
		data, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return fmt.Errorf("--basic-auth-password-file: %w", err)
		}
		f.cfg.BasicAuthPassword = strings.TrimRight(string(data), "\r\n")
	} else {
		f.cfg.BasicAuthPassword = os.Getenv(basicAuthPasswordEnv)
	}
	if f.hub.URL != "" && f.hub.TokenFile != "" {
		if f.hub.ClientID != "" || f.hubSecret != "" {
			return errors.New("--hub-token-file and --hub-client-id/--hub-secret-file both name the hub's credentials: give one")
		}
		f.cfg.Hub = &f.hub
	} else if f.hub.URL != "" {
		f.hub.Secret = os.Getenv(hubSecretEnv)
		if f.hubSecret != "" {
			data, err := os.ReadFile(f.hubSecret)
			if err != nil {
				return fmt.Errorf("--hub-secret-file: %w", err)
			}
			f.hub.Secret = strings.TrimSpace(string(data))
		}
		if f.hub.ClientID == "" || f.hub.Secret == "" {
			return fmt.Errorf("--hub needs credentials: --hub-token-file (or $%s), or a hub token: --hub-client-id (or $%s) and --hub-secret-file (or $%s)",
				registerEnv["hub-token-file"], registerEnv["hub-client-id"], hubSecretEnv)
		}
		f.cfg.Hub = &f.hub
	}
	if f.cfg.Namespace == "" {
		data, err := os.ReadFile(inClusterNamespace)
		if err != nil {
			return errors.New("no --namespace (or $ACMEHUB_NAMESPACE), and not running in a pod")
		}
		f.cfg.Namespace = strings.TrimSpace(string(data))
	}
	return nil
}

// registrar connects to the cluster; it logs, as text, to stderr.
func (f *registerFlags) registrar(stderr io.Writer) (*registration.Registrar, error) {
	kube, err := kubeClient(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	return &registration.Registrar{Kube: kube, Log: slog.New(slog.NewTextHandler(stderr, nil))}, nil
}

// kubeClient connects with --kubeconfig or $KUBECONFIG when given, else as
// the pod's service account, else with ~/.kube/config.
func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var (
		cfg *rest.Config
		err error
	)
	if kubeconfig == "" && os.Getenv("KUBECONFIG") == "" {
		cfg, err = rest.InClusterConfig()
	}
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = kubeconfig
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w (outside a cluster, give --kubeconfig)", err)
	}
	return kubernetes.NewForConfig(cfg)
}

func newRegisterCommand() *cobra.Command {
	var f registerFlags
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a client's acme-dns account and keep it in a Kubernetes Secret",
		Long: `Register a client's acme-dns account and keep it in a Kubernetes Secret, in the
self-registration format cert-manager's acmeDNS solver and acmehub webhook read
(key acmedns.json: each FQDN mapped to the account /register gave).

The Secret is read first: a client that has an account keeps it, and names it
lacks are added to that account; only a client without one is registered. A
second run with the same input changes nothing. It prints the CNAME each name
needs and records an Event on the Secret. Every flag may come from the
environment variable named in its help, for a Job.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := fromEnv(cmd.Flags(), registerEnv); err != nil {
				return err
			}
			if err := f.required(); err != nil {
				return err
			}
			if err := f.complete(); err != nil {
				return err
			}
			r, err := f.registrar(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if f.remove {
				names, err := r.Remove(cmd.Context(), f.cfg)
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "The hub removed the CNAMEs of the names of client %s: %s\n", f.cfg.Client, cmp.Or(strings.Join(names, ", "), "none"))
				}
				return err
			}
			return runRegister(cmd.Context(), cmd.OutOrStdout(), r, f.cfg)
		},
	}
	f.register(cmd.Flags())
	for name, variable := range registerEnv {
		fl := cmd.Flags().Lookup(name)
		fl.Usage += " [$" + variable + "]"
	}
	return cmd
}

// runRegister registers and prints what was done and the CNAMEs to create.
func runRegister(ctx context.Context, out io.Writer, r *registration.Registrar, cfg registration.Config) error {
	res, err := r.Register(ctx, cfg)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		r.Log.Warn(w)
	}
	switch {
	case res.Replaced != "":
		fmt.Fprintf(out, "The server at %s no longer takes the account %s of client %s (its database was lost, or the account deregistered).\n"+
			"Registered a new account: every CNAME to %s must change.\n", cfg.API, res.Replaced, cfg.Client, res.Replaced)
	case res.Registered:
		fmt.Fprintf(out, "Registered a new account with %s for client %s.\n", cfg.API, cfg.Client)
	case res.Changed:
		fmt.Fprintf(out, "Added names to the account of client %s.\n", cfg.Client)
	default:
		fmt.Fprintf(out, "The account of client %s is up to date.\n", cfg.Client)
	}
	if len(res.Delegated) > 0 {
		fmt.Fprintln(out, "The hub wrote these records in the zones of the names:")
	} else {
		fmt.Fprintln(out, "Create these records in the zones of the names:")
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FQDN\tRECORD")
	for _, row := range res.Rows {
		fmt.Fprintf(tw, "%s\t%s\n", row.FQDN, row)
	}
	return tw.Flush()
}
