// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command acmehub answers ACME dns-01 challenges for a whole organisation:
// an acme-dns-compatible server (acmehub server) and, built on it, a
// cert-manager webhook solver.
package main

import (
	"os"

	"github.com/acmehub/acmehub/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
