// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command coredns is CoreDNS with the plugins a test cluster's DNS needs
// (kubernetes, forward, errors, health, ready, cache), for the one-node
// cluster of `make test-cluster`.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	// In the order of CoreDNS's plugin.cfg.
	dnsserver.Directives = []string{"ready", "health", "errors", "cache", "kubernetes", "forward"}
}

func main() { coremain.Run() }
