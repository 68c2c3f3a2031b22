// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/server"
)

// serverFlags are the command-line settings of an embedded or standalone
// acmehub server; each, when given, overrides the configuration file.
type serverFlags struct {
	config       string
	listen       string
	protocol     string
	domain       string
	apiListen    string
	dbEngine     string
	dbConnection string
	logLevel     string
	logFormat    string
	metrics      string
	// strict refuses keys of the file that no acme-dns release nor
	// acmehub knows; checkConfig only validates and prints the result.
	strict      bool
	checkConfig bool
	// validate checks the configuration; nil: all of it, as the server
	// needs it.
	validate func(*config.Config) error
	// owned are the flags (without prefix) these settings were registered
	// as: a command's own flag of the same name (admin tokens create
	// --domain) is not the server's.
	owned map[string]bool
}

// own records that name (without prefix) is one of these settings' flags.
func (f *serverFlags) own(names ...string) {
	if f.owned == nil {
		f.owned = map[string]bool{}
	}
	for _, n := range names {
		f.owned[n] = true
	}
}

func (f *serverFlags) register(fs *pflag.FlagSet, prefix string) {
	f.own("config", "log-level", "log-format", "dns-listen", "dns-protocol", "domain", "api-listen", "db-engine", "db-connection", "metrics-listen")
	if prefix == "" {
		fs.StringVarP(&f.config, "config", "c", "", "acme-dns configuration file (config.cfg)")
	} else {
		fs.StringVar(&f.config, prefix+"config", "", "acme-dns configuration file (config.cfg) of the embedded server")
	}
	fs.StringVar(&f.logLevel, prefix+"log-level", "", "error, warning, info or debug ([logconfig] loglevel)")
	fs.StringVar(&f.logFormat, prefix+"log-format", "", "json or text ([logconfig] logformat)")
	fs.StringVar(&f.listen, prefix+"dns-listen", "", "DNS address host:port ([general] listen)")
	fs.StringVar(&f.protocol, prefix+"dns-protocol", "", "DNS protocols: both, both4, both6, udp, tcp… ([general] protocol)")
	fs.StringVar(&f.domain, prefix+"domain", "", "zone served ([general] domain)")
	fs.StringVar(&f.apiListen, prefix+"api-listen", "", "HTTP API address ip:port ([api] ip and port)")
	fs.StringVar(&f.dbEngine, prefix+"db-engine", "", "sqlite or postgres ([database] engine)")
	fs.StringVar(&f.dbConnection, prefix+"db-connection", "", "SQLite file or postgres:// URL ([database] connection)")
	fs.StringVar(&f.metrics, prefix+"metrics-listen", "", "serve /metrics on this address instead of the API's ([acmehub] metrics_listen)")
}

// load reads the configuration file, or the built-in default without one,
// applies the flags given and validates the result. It returns the keys of
// the file that acmehub does not use, to be logged; with --strict, an
// unknown one is an error.
func (f *serverFlags) load(fs *pflag.FlagSet, prefix string) (config.Config, []config.Notice, error) {
	cfg := config.Default()
	var notices []config.Notice
	if f.config != "" {
		var err error
		if cfg, notices, err = config.Load(f.config); err != nil {
			return cfg, nil, err
		}
	}
	changed := func(name string) bool { return f.owned[name] && fs.Changed(prefix+name) }
	set := func(name string, dst *string, value string) {
		if changed(name) {
			*dst = value
		}
	}
	if f.config == "" && changed("domain") {
		// The built-in default's name server and records are the demo zone's.
		d := strings.TrimSuffix(f.domain, ".")
		cfg.General.NSName, cfg.General.NSAdmin, cfg.General.Records = d, "hostmaster."+d, nil
	}
	set("dns-listen", &cfg.General.Listen, f.listen)
	set("dns-protocol", &cfg.General.Protocol, f.protocol)
	set("domain", &cfg.General.Domain, f.domain)
	set("db-engine", &cfg.Database.Engine, f.dbEngine)
	set("db-connection", &cfg.Database.Connection, f.dbConnection)
	set("metrics-listen", &cfg.AcmeHub.MetricsListen, f.metrics)
	set("log-level", &cfg.Log.Level, f.logLevel)
	set("log-format", &cfg.Log.Format, f.logFormat)
	if changed("api-listen") {
		host, port, err := net.SplitHostPort(f.apiListen)
		if err != nil {
			return cfg, nil, fmt.Errorf("--%sapi-listen %q: %w", prefix, f.apiListen, err)
		}
		cfg.API.IP, cfg.API.Port = host, config.Port(port)
	}
	cfg.Finish()
	name := "built-in default configuration"
	if f.config != "" {
		name = f.config
	}
	for flag := range flagKeys {
		if changed(flag) {
			name = "the flags over the " + name
			break
		}
	}
	validate := (*config.Config).Validate
	if f.validate != nil {
		validate = f.validate
	}
	if err := validate(&cfg); err != nil {
		return cfg, nil, fmt.Errorf("invalid configuration (%s):\n%s%s", name, f.namingFlags(fs, prefix, err), config.Explain(notices))
	}
	if f.strict || f.checkConfig {
		if unknown := config.Explain(notices); unknown != "" {
			return cfg, nil, fmt.Errorf("configuration %s has keys acmehub does not know (refused with --strict and --check-config):%s",
				name, strings.TrimPrefix(unknown, "\nkeys acmehub does not know, which may explain it:"))
		}
	}
	return cfg, notices, nil
}

// flagKeys are the settings each flag sets, as validation names them.
var flagKeys = map[string][]string{
	"dns-listen": {"[general] listen"}, "dns-protocol": {"[general] protocol"}, "domain": {"[general] domain"},
	"api-listen": {"[api] ip", "[api] port"}, "db-engine": {"[database] engine"}, "db-connection": {"[database] connection"},
	"metrics-listen": {"[acmehub] metrics_listen"}, "log-level": {"[logconfig] loglevel"}, "log-format": {"[logconfig] logformat"},
	"keys-file": {"[hub] keys_file"},
}

// namingFlags is err's text with each setting a flag gave named by the
// flag the user typed: "--dns-listen ([general] listen) ...".
func (f *serverFlags) namingFlags(fs *pflag.FlagSet, prefix string, err error) string {
	var pairs []string
	for flag, keys := range flagKeys {
		if f.owned[flag] && fs.Changed(prefix+flag) {
			for _, k := range keys {
				pairs = append(pairs, k, "--"+prefix+flag+" ("+k+")")
			}
		}
	}
	return strings.NewReplacer(pairs...).Replace(err.Error())
}

func newServerCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the authoritative DNS server and acme-dns-compatible HTTP API",
		Long: `Run the authoritative DNS server and the acme-dns-compatible HTTP API.

acmehub server reads acme-dns's own config.cfg (-c) and database unchanged.
Without -c it runs on a built-in default: SQLite under ./data, DNS on
127.0.0.1:5353 (UDP and TCP), API on 127.0.0.1:8080.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, notices, err := f.load(cmd.Flags(), "")
			if err != nil {
				return err
			}
			if f.checkConfig {
				return printConfig(cmd.OutOrStdout(), cfg, notices)
			}
			log, closeLog, err := newLogger(cfg.Log, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer closeLog()
			for _, n := range notices {
				log.Warn(n.Text, "key", n.Key)
			}
			srv, err := server.New(cmd.Context(), cfg, log)
			if err != nil {
				log.Error("cannot start", "err", err)
				return exitError{code: 1}
			}
			if cfg.ACMETLS() != "" {
				defer renewOnHangup(cmd.Context(), srv, log)()
			}
			if err := srv.Run(cmd.Context()); err != nil {
				log.Error("server stopped with an error", "err", err)
				return exitError{code: 1}
			}
			return nil
		},
	}
	f.register(cmd.Flags(), "")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "refuse a configuration file with keys that neither acme-dns nor acmehub knows")
	cmd.Flags().BoolVar(&f.checkConfig, "check-config", false,
		"validate the configuration (strictly), print it as the server would run it, secrets masked, and exit: 1 on any problem")
	return cmd
}

// renewOnHangup renews the API's certificate on each SIGHUP, until the
// returned function is called.
func renewOnHangup(ctx context.Context, srv *server.Server, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: renewing the API's certificate now")
				if err := srv.RenewCertificate(ctx); err != nil {
					log.Error("renewing the API's certificate; the one served stays", "err", err)
				} else {
					log.Info("the API's certificate renewed and served")
				}
			}
		}
	}()
	return func() { signal.Stop(hup); cancel() }
}

// printConfig writes the effective configuration as TOML, secrets masked,
// after the keys the file has that acmehub ignores.
func printConfig(w io.Writer, cfg config.Config, notices []config.Notice) error {
	for _, n := range notices {
		fmt.Fprintf(w, "# %s\n", n.Text)
	}
	enc := toml.NewEncoder(w)
	enc.Indent = ""
	return enc.Encode(cfg.Masked())
}
