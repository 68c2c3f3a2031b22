// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/acmehub/acmehub/hub"
	"github.com/acmehub/acmehub/hub/config"
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
}

func (f *serverFlags) register(fs *pflag.FlagSet, prefix string) {
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
// applies the flags given and validates the result.
func (f *serverFlags) load(fs *pflag.FlagSet, prefix string) (config.Config, []string, error) {
	cfg := config.Default()
	var warnings []string
	if f.config != "" {
		var err error
		if cfg, warnings, err = config.Load(f.config); err != nil {
			return cfg, nil, err
		}
	}
	set := func(name string, dst *string, value string) {
		if fs.Changed(prefix + name) {
			*dst = value
		}
	}
	if f.config == "" && fs.Changed(prefix+"domain") {
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
	if fs.Changed(prefix + "api-listen") {
		host, port, err := net.SplitHostPort(f.apiListen)
		if err != nil {
			return cfg, nil, fmt.Errorf("--%sapi-listen %q: %w", prefix, f.apiListen, err)
		}
		cfg.API.IP, cfg.API.Port = host, config.Port(port)
	}
	cfg.Finish()
	if err := cfg.Validate(); err != nil {
		name := "built-in default configuration"
		if f.config != "" {
			name = f.config
		}
		return cfg, nil, fmt.Errorf("invalid configuration (%s):\n%w", name, err)
	}
	return cfg, warnings, nil
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
			cfg, warnings, err := f.load(cmd.Flags(), "")
			if err != nil {
				return err
			}
			log, closeLog, err := newLogger(cfg.Log, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer closeLog()
			for _, w := range warnings {
				log.Warn(w)
			}
			srv, err := hub.New(cmd.Context(), cfg, log)
			if err != nil {
				log.Error("cannot start", "err", err)
				return exitError{code: 1}
			}
			if err := srv.Run(cmd.Context()); err != nil {
				log.Error("server stopped with an error", "err", err)
				return exitError{code: 1}
			}
			return nil
		},
	}
	f.register(cmd.Flags(), "")
	return cmd
}
