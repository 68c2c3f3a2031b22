// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package cmd wires acmehub's subcommands: it parses flags and configuration,
// builds loggers and hands over to the hub and solver packages.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/acmehub/acmehub/cmd.Version=…".
var Version = "dev"

// Execute runs the command line and returns the process's exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			return exit.code
		}
		fmt.Fprintln(os.Stderr, "acmehub:", err)
		return 1
	}
	return 0
}

// exitError ends the process with code after its cause was already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "acmehub",
		Short:         "Answer ACME dns-01 challenges for a whole organisation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCommand(), newWebhookCommand(), newRegisterCommand(), newCheckCommand(), newAdminCommand(), newDNSSECCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "acmehub", Version)
		},
	}
}
