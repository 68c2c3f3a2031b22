// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/component-base/logs"
	"k8s.io/component-base/metrics/legacyregistry"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/solver"
	"github.com/acmehub/acmehub/solver/acmedns"
	"github.com/acmehub/acmehub/solver/hubsolver"
)

// GroupNameEnv names the API group the webhook serves.
const GroupNameEnv = "GROUP_NAME"

// webhookFlags are acmehub's own flags of `acmehub webhook`; every other flag
// belongs to the Kubernetes extension apiserver (--secure-port, --tls-cert-file…).
type webhookFlags struct {
	server          serverFlags
	embedded        bool
	delegationCheck string
	resolvers       []string
	metricsListen   string
	hub             hubsolver.Options
}

func (f *webhookFlags) flagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("acmehub webhook", pflag.ContinueOnError)
	fs.BoolVar(&f.embedded, "server", false, "run an acmehub server embedded (implied by any --server-* flag); its zone comes from --server-config or --server-domain")
	f.server.register(fs, "server-")
	fs.StringVar(&f.delegationCheck, "delegation-check", "warn", "check that _acme-challenge.<name> is a CNAME to the account before presenting: off, warn or enforce (an Issuer's delegationCheck overrides it)")
	fs.StringSliceVar(&f.resolvers, "resolvers", nil, "recursive resolvers (host:port) for the delegation check; default: /etc/resolv.conf")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "also serve the webhook's /metrics over plain HTTP on this address (host:port), for scrapers without a token; the secure port serves them too")
	fs.StringVar(&f.hub.TokenPath, "hub-token-file", solver.DefaultTokenPath, "the projected ServiceAccount token the hub solver shows with serviceAccountToken")
	fs.StringSliceVar(&f.hub.TokenURLs, "hub-token-url", nil, "a hub URL that token may be shown to besides the hubs its audiences name (repeat)")
	return fs
}

func newWebhookCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "webhook [acmehub flags] [apiserver flags]",
		Short: "Run the cert-manager DNS01 webhook solver (an extension apiserver)",
		Long: `Run the cert-manager DNS01 webhook solver: an extension apiserver serving the
solvers "acme-dns" and "hub" in the API group $GROUP_NAME.

acmehub's own flags are listed first; every other flag is the extension
apiserver's (--secure-port, --tls-cert-file, --tls-private-key-file,
--kubeconfig, -v, …), listed after them. Without --tls-cert-file or
--cert-dir its certificate is self-signed and kept in memory.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			var f webhookFlags
			fs := f.flagSet()
			ours, rest := splitArgs(fs, args)
			if err := fs.Parse(ours); err != nil {
				return err
			}
			if hasHelp(rest) || hasHelp(ours) {
				fmt.Fprintf(cmd.OutOrStdout(), "Usage:\n  acmehub %s\n\n%s\n\nacmehub flags:\n%s\nextension apiserver flags:\n%s",
					cmd.Use, cmd.Long, fs.FlagUsages(), newApiserverCommand("", nil).Flags().FlagUsages())
				return nil
			}
			return runWebhook(cmd.Context(), cmd.ErrOrStderr(), fs, &f, rest)
		},
	}
}

func runWebhook(ctx context.Context, stderr io.Writer, fs *pflag.FlagSet, f *webhookFlags, apiserverArgs []string) error {
	groupName := os.Getenv(GroupNameEnv)
	if groupName == "" && !hasHelp(apiserverArgs) {
		return fmt.Errorf("$%s is not set: it must be the API group Issuers name as groupName (e.g. acme.example.org)", GroupNameEnv)
	}
	mode, resolver, err := f.delegation()
	if err != nil {
		return err
	}
	embedded, cfg, log, closeLog, err := f.embeddedServer(fs, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	var srv *server.Server
	if embedded {
		if srv, err = server.New(ctx, cfg, log.With("component", "server")); err != nil {
			return fmt.Errorf("embedded acmehub server: %w", err)
		}
	}
	if f.metricsListen != "" {
		stop, err := serveMetrics(f.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer stop()
		log.Info("serving webhook metrics", "addr", f.metricsListen)
	}
	f.hub.Log = log
	apiserver, embeddedRun := webhookServers(groupName, apiserverArgs, srv, mode, resolver, f.hub)
	if err := runTogether(ctx, apiserver, embeddedRun); err != nil {
		log.Error("webhook stopped", "err", err)
		return exitError{code: 1}
	}
	return nil
}

// delegation is the default of the pre-flight CNAME check and the
// resolvers it asks. Issuers may turn the check on even when it is off by
// default, so the resolvers are always looked up; only a default that
// needs them fails without.
func (f *webhookFlags) delegation() (solver.DelegationMode, dnsclient.Resolver, error) {
	mode, err := solver.ParseDelegationMode(f.delegationCheck)
	if err != nil {
		return mode, dnsclient.Resolver{}, fmt.Errorf("--delegation-check: %w", err)
	}
	resolver := dnsclient.Resolver{Servers: f.resolvers}
	if len(resolver.Servers) == 0 {
		if resolver, err = dnsclient.System(); err != nil && mode != solver.DelegationOff {
			return mode, resolver, fmt.Errorf("delegation check: %w (give --resolvers)", err)
		}
	}
	return mode, resolver, nil
}

// embeddedServer says whether the webhook runs an embedded server, reads
// its configuration, and makes the logger: the server's settings when
// there is one, JSON otherwise.
func (f *webhookFlags) embeddedServer(fs *pflag.FlagSet, stderr io.Writer) (bool, config.Config, *slog.Logger, func(), error) {
	embedded := f.embedded || f.server.config != "" || changedWithPrefix(fs, "server-")
	if embedded && f.server.config == "" && !fs.Changed("server-domain") {
		return false, config.Config{}, nil, nil, errors.New("the embedded acmehub server needs its zone: give --server-config (an acme-dns config.cfg) " +
			"or --server-domain (the zone delegated to it, e.g. acme.example.org)")
	}
	logCfg := config.Default().Log
	logCfg.Format = "json"
	var (
		cfg     config.Config
		notices []config.Notice
		err     error
	)
	if embedded {
		if cfg, notices, err = f.server.load(fs, "server-"); err != nil {
			return false, cfg, nil, nil, err
		}
		logCfg = cfg.Log
	}
	log, closeLog, err := newLogger(logCfg, stderr)
	if err != nil {
		return false, cfg, nil, nil, err
	}
	for _, n := range notices {
		log.Warn(n.Text, "key", n.Key)
	}
	return embedded, cfg, log, closeLog, nil
}

// webhookServers makes the two solvers and returns the extension
// apiserver serving them, and the embedded server's Run (nil without one).
func webhookServers(groupName string, apiserverArgs []string, srv *server.Server, mode solver.DelegationMode, resolver dnsclient.Resolver,
	hub hubsolver.Options) (apiserver, embedded func(context.Context) error) {
	log := hub.Log
	var (
		svc   *accounts.Service
		ready func(context.Context) error
	)
	if srv != nil {
		svc, ready, embedded = srv.Accounts(), srv.Accounts().Ping, srv.Run
	}
	s := acmedns.New(acmedns.Options{
		Embedded:        svc,
		DelegationCheck: mode,
		Resolver:        resolver,
		// Served with the extension apiserver's own metrics, on its secure port.
		Registerer: legacyregistry.Registerer(),
		Log:        log,
	})
	hs := hubsolver.New(hub)
	log.Info("starting cert-manager webhook", "group", groupName, "solvers", []string{s.Name(), hs.Name()}, "embedded_server", srv != nil)
	apiserver = func(ctx context.Context) error {
		// What cert-manager's RunWebhookServer does, without its process-wide
		// exit handler: that would os.Exit past the embedded server's shutdown.
		logs.InitLogs()
		defer logs.FlushLogs()
		ctrl.SetLogger(logf.Log)
		cmd := newApiserverCommand(groupName, ready, s, hs)
		cmd.SetArgs(apiserverArgs)
		cmd.SilenceUsage = true
		return cmd.ExecuteContext(logf.NewContext(ctx, logf.Log, "acmehub-webhook"))
	}
	return apiserver, embedded
}

// serveMetrics serves the extension apiserver's registry, which holds the
// solver's metrics and the apiserver's own (apiserver_request_total counts
// Presents and CleanUps by result), on addr without authentication.
func serveMetrics(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(legacyregistry.DefaultGatherer, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)                   //nolint:errcheck // ends with ErrServerClosed when stop closes it
	return func() { srv.Close() }, nil //nolint:errcheck // at exit: nothing left to serve
}

// errEmbeddedStopped ends the webhook when its embedded server stops on its
// own: the webhook must not serve challenges nobody answers.
var errEmbeddedStopped = errors.New("the embedded acmehub server stopped")

// runTogether runs the extension apiserver and, when not nil, the embedded
// server until ctx ends (SIGTERM) or either stops. Whichever way it ends, the
// embedded server's listeners and database are closed before it returns. It
// returns an error when either stopped with one, or when the embedded server
// stopped while the webhook was still meant to run.
func runTogether(ctx context.Context, apiserver, embedded func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	embeddedDone := make(chan error, 1)
	if embedded != nil {
		go func() {
			err := embedded(ctx)
			if ctx.Err() == nil {
				err = errors.Join(errEmbeddedStopped, err)
				cancel(err) // the apiserver shuts down
			}
			embeddedDone <- err
		}()
	} else {
		embeddedDone <- nil
	}
	err := apiserver(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	cancel(nil)
	return errors.Join(err, <-embeddedDone)
}

// splitArgs separates the flags fs defines from the others, keeping order.
func splitArgs(fs *pflag.FlagSet, args []string) (ours, rest []string) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, _, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		flag := fs.Lookup(name)
		if !strings.HasPrefix(arg, "--") || flag == nil {
			rest = append(rest, arg)
			continue
		}
		ours = append(ours, arg)
		if !hasValue && flag.NoOptDefVal == "" && i+1 < len(args) {
			i++
			ours = append(ours, args[i])
		}
	}
	return ours, rest
}

func hasHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

func changedWithPrefix(fs *pflag.FlagSet, prefix string) bool {
	changed := false
	fs.Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, prefix) {
			changed = true
		}
	})
	return changed
}
