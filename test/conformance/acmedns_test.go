// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build conformance

// cert-manager's DNS01 webhook conformance suite, in strict mode, on a real
// control plane (etcd, kube-apiserver, kubectl: $TEST_ASSET_*, built by
// `make test-assets`). The suite's package panics on import without those
// binaries, hence the build tag: `make test-conformance` runs it.
package conformance_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	acmetest "github.com/cert-manager/cert-manager/test/acme"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/solver"
	"github.com/acmehub/acmehub/solver/acmedns"
)

const (
	manifests = "../../testdata/conformance"
	zone      = "auth.example.org."
	// The account of testdata/conformance/account-secret.yaml, which lives in
	// the acme-dns database testdata/acme-dns-v2.db.
	fulldomain = "c5daca05-0c55-497b-b4e2-694c51a204db.auth.example.org."
	// An ACME key authorisation digest; the suite's second key is its own.
	challengeKey = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycHk"
)

// delegated is a challenge name kept in the zone as a CNAME to the account,
// as a customer zone delegates _acme-challenge.<name>: the suite checks the
// record there, not at the account's fulldomain.
const delegated = "_acme-challenge.app.auth.example.org."

func options(dnsServer, resolvedFQDN string) []acmetest.Option {
	return []acmetest.Option{
		acmetest.SetResolvedZone(zone),
		acmetest.SetResolvedFQDN(resolvedFQDN),
		acmetest.SetManifestPath(manifests),
		acmetest.SetDNSServer(dnsServer),
		acmetest.SetUseAuthoritative(false),
		acmetest.SetDNSChallengeKey(challengeKey),
		acmetest.SetStrict(true),
		acmetest.SetPollInterval(250 * time.Millisecond),
		acmetest.SetPropagationLimit(30 * time.Second),
	}
}

// TestConformanceEmbedded runs the suite against the acmehub server embedded
// in the solver's process, on a copy of a database acme-dns wrote: once
// with the record checked at the account's fulldomain, once at a challenge
// name that reaches it through a CNAME (ResolvedFQDN is not the fulldomain).
func TestConformanceEmbedded(t *testing.T) {
	for name, resolved := range map[string]string{"at the fulldomain": fulldomain, "through a CNAME": delegated} {
		t.Run(name, func(t *testing.T) { conformanceEmbedded(t, resolved) })
	}
}

func conformanceEmbedded(t *testing.T, resolvedFQDN string) {
	cfg := config.Default()
	cfg.General.Records = append(cfg.General.Records, delegated+" CNAME "+fulldomain)
	cfg.General.Listen, cfg.API.Port = "127.0.0.1:0", "0"
	cfg.Database.Connection = testutil.CopyFile(t, "../../testdata/acme-dns-v2.db")
	cfg.AcmeHub.TXTFormat = config.TXTFormatAny // the suite presents "anothertestingkey"
	cfg.Finish()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var udp string
	for _, a := range srv.DNSAddrs() {
		if a.Network() == "udp" {
			udp = a.String()
		}
	}
	s := acmedns.New(acmedns.Options{Embedded: srv.Accounts(), DelegationCheck: solver.DelegationOff})
	acmetest.NewFixture(s, options(udp, resolvedFQDN)...).RunConformance(t)
}

// TestConformanceRemote runs the suite against an `acmehub server` process,
// reached through acme-dns's HTTP API and acmehub's /delete.
func TestConformanceRemote(t *testing.T) {
	db := testutil.CopyFile(t, "../../testdata/acme-dns-v2.db")
	cfg, err := filepath.Abs("../../testdata/conformance-server.cfg")
	if err != nil {
		t.Fatal(err)
	}
	p := testutil.StartServer(t, "-c", cfg, "--db-connection", db)

	// config.json with host pointed at the server this test started.
	raw, err := os.ReadFile(filepath.Join(manifests, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var solverConfig map[string]any
	if err := json.Unmarshal(raw, &solverConfig); err != nil {
		t.Fatal(err)
	}
	solverConfig["host"] = p.API

	s := acmedns.New(acmedns.Options{DelegationCheck: solver.DelegationOff})
	opts := append(options(p.DNSUDP, fulldomain), acmetest.SetConfig(solverConfig))
	acmetest.NewFixture(s, opts...).RunConformance(t)
}
