// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command etcd is etcd's server, built from the Go module proxy so tests can
// run a real control plane without downloading release binaries.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
