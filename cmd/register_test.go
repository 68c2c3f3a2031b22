// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/acmehub/acmehub/internal/testutil/hubtest"
	"github.com/acmehub/acmehub/solver/acmedns/registration"
)

// TestRegisterFromEnvironment: a Job sets every input through the
// environment; flags given on the command line win.
func TestRegisterFromEnvironment(t *testing.T) {
	var f registerFlags
	fs := pflag.NewFlagSet("register", pflag.ContinueOnError)
	f.register(fs)
	t.Setenv("ACMEHUB_API", "https://acme-dns.example.org")
	t.Setenv("ACMEHUB_CLIENT", "from-env")
	t.Setenv("ACMEHUB_FQDNS", "a.example.com,*.a.example.com")
	t.Setenv("ACMEHUB_NAMESPACE", "certs")
	t.Setenv("ACMEHUB_BASIC_AUTH_USER", "reg")
	t.Setenv(basicAuthPasswordEnv, "pw")
	if err := fs.Parse([]string{"--client", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if err := fromEnv(fs, registerEnv); err != nil {
		t.Fatal(err)
	}
	if err := f.complete(); err != nil {
		t.Fatal(err)
	}
	c := f.cfg
	if c.API != "https://acme-dns.example.org" || c.Client != "from-flag" || len(c.FQDNs) != 2 || c.Namespace != "certs" ||
		c.BasicAuthUser != "reg" || c.BasicAuthPassword != "pw" || c.Key != "acmedns.json" {
		t.Errorf("config = %+v", c)
	}
}

// TestRunRegister prints what was done and the records to create.
func TestRunRegister(t *testing.T) {
	srv := hubtest.Start(t, nil)
	r := &registration.Registrar{Kube: fake.NewClientset(), Log: slog.New(slog.DiscardHandler)}
	rc := registration.Config{API: "http://" + srv.APIAddr().String(), Client: "shop", FQDNs: []string{"shop.example.com"}, Namespace: "certs"}
	for i, want := range []string{"Registered a new account", "is up to date"} {
		var out bytes.Buffer
		if err := runRegister(context.Background(), &out, r, rc); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "shop.example.com  _acme-challenge.shop.example.com. CNAME ") {
			t.Errorf("run %d printed:\n%s", i+1, out.String())
		}
	}
}
