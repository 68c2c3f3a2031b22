// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/server"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/solver/acmedns/registration"
)

// schemaFile holds the JSON Schema of every -o json output.
var schemaFile = filepath.Join("..", "docs", "schemas", "cli.schema.json")

// TestJSONOutputsMatchTheirSchemas runs every command that prints JSON on
// a fresh hub database, in-process, and validates each output against its
// schema in docs/schemas/cli.schema.json; every output schema there is
// used by a command.
func TestJSONOutputsMatchTheirSchemas(t *testing.T) {
	schemas := compileSchemas(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "hub.keys")
	run(t, "admin", "keygen", "--out", keys)
	admin := func(def string, args ...string) map[string]any {
		t.Helper()
		out := run(t, append([]string{"admin", "--db-connection", filepath.Join(dir, "hub.db"), "--keys-file", keys, "-o", "json"}, args...)...)
		return validate(t, schemas, def, strings.Join(args, " "), out)
	}
	principal := admin("principal", "principals", "create", "--title", "ci <team>", "--role", "managed-challenge-consumer")["id"].(string)
	admin("principals", "principals", "list")
	admin("principalRoles", "principals", "roles", principal, "--role", "managed-challenge-consumer")
	clientID := admin("tokenSecret", "tokens", "create", "--principal", principal, "--domain", "*.example.com", "--ttl", "90d")["clientID"].(string)
	admin("tokenSecret", "tokens", "rotate", clientID)
	admin("tokens", "tokens", "list")
	admin("tokenRevoked", "tokens", "revoke", clientID)
	admin("config", "configs", "put", "--id", "c1", "--zone", "example.com", "--rule", ".example.com", "--nameserver", "127.0.0.1:53")
	admin("configs", "configs", "list")
	consumer := admin("tokenSecret", "tokens", "create", "--principal", principal)
	present(t, dir, keys, consumer["clientID"].(string), consumer["secret"].(string))
	admin("configTested", "configs", "test", "c1")
	admin("providers", "providers")
	admin("authorisationSecret", "authorisations", "create", "www.example.com")
	admin("authorisations", "authorisations", "list")
	admin("authorisationDeleted", "authorisations", "delete", "www.example.com")
	bind := testutil.StartBIND(t, "example.net", "_acme-challenge.app.example.net")
	creds, _ := json.Marshal(map[string]string{"nameserver": bind.Addr, "tsig_key_name": bind.KeyName, "tsig_secret": bind.Secret})
	os.WriteFile(filepath.Join(dir, "bind.json"), creds, 0o600)
	admin("config", "configs", "put", "--id", "bind", "--provider", "rfc2136", "--zone", "example.net", "--rule", ".example.net",
		"--credentials-file", filepath.Join(dir, "bind.json"))
	admin("delegation", "delegations", "create", "app.example.net", "--target", "d420c923.auth.example.org")
	admin("delegations", "delegations", "list")
	admin("delegation", "delegations", "delete", "app.example.net")
	os.WriteFile(filepath.Join(dir, "jwks.json"), []byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"k1",`+
		`"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`), 0o600)
	admin("issuer", "issuers", "add", "cluster-b", "--url", "https://kubernetes.default.svc.cluster.local", "--jwks-file",
		filepath.Join(dir, "jwks.json"), "--audience", "https://hub.example.com")
	admin("issuers", "issuers", "list")
	bindingID := admin("binding", "bindings", "add", "--issuer", "cluster-b", "--principal", principal, "--service-account", "acmehub/acmehub-webhook")["id"].(string)
	admin("bindings", "bindings", "list")
	admin("bindingRemoved", "bindings", "remove", bindingID)
	admin("issuerRemoved", "issuers", "remove", "cluster-b")
	admin("audit", "audit", "--since", "1h")
	admin("records", "records")
	admin("configDeleted", "configs", "delete", "c1")

	username := register(t, dir)
	admin("accounts", "accounts", "list", "--unused-for", "0s")
	admin("account", "accounts", "show", username)
	admin("accountPassword", "accounts", "rotate", username)
	admin("accountAllowFrom", "accounts", "allowfrom", username, "192.0.2.0/24")
	admin("accountDeregistered", "accounts", "deregister", username)
	if out := run(t, "admin", "--db-connection", filepath.Join(dir, "hub.db"), "--keys-file", keys, "audit"); !strings.Contains(out, "rotate the password of account "+username) ||
		!strings.Contains(out, "deregister account "+username) {
		t.Errorf("the accounts' changes are not audited:\n%s", out)
	}

	key := strings.TrimSpace(run(t, "dnssec", "keygen", "--dir", dir, "auth.example.org"))
	dnssec := func(def string, args ...string) {
		t.Helper()
		out := run(t, append(append([]string{"dnssec"}, args...), "--db-connection", filepath.Join(dir, "hub.db"), "--keys-file", keys, "-o", "json")...)
		validate(t, schemas, def, strings.Join(args, " "), out)
	}
	dnssec("dnssecKeys", "import", key)
	dnssec("dnssecKeys", "keys")
	dnssec("dnssecRemoved", "remove", filepath.Base(key))

	var out bytes.Buffer
	findings := []registration.Finding{{Secret: "team-a/app", FQDN: "app.example.com", Account: "x.auth.example.org", Credentials: "ok",
		Propagation: "ok", Delegation: "missing", TXTLimit: 2, Problems: []string{"_acme-challenge.app.example.com is not a CNAME"}}}
	if err := printFindings(&out, output{format: "json"}, findings); err != nil {
		t.Fatal(err)
	}
	validate(t, schemas, "findings", "check", out.String())

	for def := range schemas.defs {
		if !slices.Contains(schemas.used, def) {
			t.Errorf("no command's output (or no element of one) was validated against $defs/%s", def)
		}
	}
}

// register registers an acme-dns account in the database and gives it a
// value; it returns its username.
func register(t *testing.T, dir string) string {
	t.Helper()
	cfg := config.Default()
	cfg.Database.Connection = filepath.Join(dir, "hub.db")
	cfg.Finish()
	ctx := context.Background()
	svc, _, closeSvc, err := server.OpenAccounts(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeSvc()
	reg, err := svc.Register(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddTXT(ctx, reg.Subdomain, strings.Repeat("v", 43)); err != nil {
		t.Fatal(err)
	}
	return reg.Username
}

// present has the hub place a value, so that records and the audit log
// hold one.
func present(t *testing.T, dir, keys, clientID, secret string) {
	t.Helper()
	cfg := config.Default()
	cfg.Database.Connection, cfg.Hub.KeysFile = filepath.Join(dir, "hub.db"), keys
	cfg.Finish()
	ctx := context.Background()
	svc, closeSvc, err := server.OpenManaged(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeSvc()
	caller, err := svc.Authenticate(ctx, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Present(ctx, caller, managed.Request{Identifier: "www.example.com", Value: strings.Repeat("v", 43), Via: "httpreq"}); err != nil {
		t.Fatal(err)
	}
}

type compiled struct {
	s    *jsonschema.Compiler
	defs map[string]*jsonschema.Schema
	// items names the $defs of a list's elements, by the list's.
	items map[string]string
	used  []string
}

func compileSchemas(t *testing.T) *compiled {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	c := &compiled{s: jsonschema.NewCompiler(), defs: map[string]*jsonschema.Schema{}, items: map[string]string{}}
	c.s.AssertFormat()
	if err := c.s.AddResource("cli.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	for def, body := range doc.(map[string]any)["$defs"].(map[string]any) {
		if def == "time" || def == "duration" {
			continue
		}
		if items, ok := body.(map[string]any)["items"].(map[string]any); ok {
			c.items[def] = strings.TrimPrefix(items["$ref"].(string), "#/$defs/")
		}
		if c.defs[def], err = c.s.Compile("cli.schema.json#/$defs/" + def); err != nil {
			t.Fatalf("$defs/%s: %v", def, err)
		}
	}
	return c
}

// validate checks a command's output against $defs/def and returns it
// decoded when it is an object.
func validate(t *testing.T, c *compiled, def, what, out string) map[string]any {
	t.Helper()
	s := c.defs[def]
	if s == nil {
		t.Fatalf("%s: no $defs/%s in %s", what, def, schemaFile)
	}
	c.used = append(c.used, def)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, out)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s: its output does not match $defs/%s: %v\n%s", what, def, err, out)
	}
	if strings.Contains(out, `\u003c`) {
		t.Errorf("%s: HTML-escaped output:\n%s", what, out)
	}
	if list, ok := v.([]any); ok && len(list) > 0 {
		c.used = append(c.used, c.items[def])
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	return m
}

// run runs acmehub in-process with args and returns its output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	root := newRoot()
	var out, errs bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errs)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("acmehub %s: %v\n%s", strings.Join(args, " "), err, errs.String())
	}
	return out.String()
}
