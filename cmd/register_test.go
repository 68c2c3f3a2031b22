package cmd

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/acmehub/acmehub/hub"
	"github.com/acmehub/acmehub/hub/config"
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
	cfg := config.Default()
	cfg.General.Listen, cfg.API.Port = "127.0.0.1:0", "0"
	cfg.Database.Connection = filepath.Join(t.TempDir(), "db")
	cfg.Finish()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := hub.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	r := &registration.Registrar{Kube: fake.NewClientset()}
	rc := registration.Config{API: "http://" + srv.APIAddr().String(), Client: "shop", FQDNs: []string{"shop.example.com"}, Namespace: "certs"}
	for i, want := range []string{"Registered a new account", "is up to date"} {
		var out bytes.Buffer
		if err := runRegister(context.Background(), &out, r, rc, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "shop.example.com  _acme-challenge.shop.example.com. CNAME ") {
			t.Errorf("run %d printed:\n%s", i+1, out.String())
		}
	}
}
