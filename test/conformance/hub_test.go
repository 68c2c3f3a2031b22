// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build conformance

// cert-manager's DNS01 webhook conformance suite, strict, for the "hub"
// solver: a hub with the self provider answers the suite's challenges. Needs
// the control plane of `make test-assets`; `make test-conformance` runs it.
package conformance_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/managed/providers/self"

	acmetest "github.com/cert-manager/cert-manager/test/acme"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/store"
	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/solver/hubsolver"
)

func TestConformanceHub(t *testing.T) {
	srv := hubtest.StartHub(t, nil)
	tok := hubtest.Token(t, srv.Managed(), managed.RoleConsumer)
	// The suite validates example.com.
	if _, err := srv.Managed().PutConfig(context.Background(), managed.Caller{Principal: "test"}, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{
		ID: "suite", Provider: self.Name, Zone: "example.com", Rules: []string{"example.com"}}}); err != nil {
		t.Fatal(err)
	}
	// The token's Secret, which the suite applies to each of its namespaces.
	manifests := t.TempDir()
	secret := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: hub-token\ntype: Opaque\nstringData:\n  clientID: %q\n  clientSecret: %q\n", tok.ClientID, tok.Secret)
	if err := os.WriteFile(filepath.Join(manifests, "hub-token.yaml"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	var udp string
	for _, a := range srv.DNSAddrs() {
		if a.Network() == "udp" {
			udp = a.String()
		}
	}
	fixture := acmetest.NewFixture(hubsolver.New(hubsolver.Options{}),
		acmetest.SetResolvedZone("example.com."),
		acmetest.SetResolvedFQDN("_acme-challenge.example.com."),
		acmetest.SetManifestPath(manifests),
		acmetest.SetConfig(map[string]any{"url": "http://" + srv.HubAddr().String(), "credentialsSecretRef": map[string]string{"name": "hub-token"}}),
		acmetest.SetDNSServer(udp),
		acmetest.SetUseAuthoritative(false),
		acmetest.SetStrict(true),
		acmetest.SetPollInterval(250*time.Millisecond),
		acmetest.SetPropagationLimit(30*time.Second),
	)
	fixture.RunConformance(t)
}
