// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

var ctx = context.Background()

// zone is a fake DNS provider: the TXT values of each record, and the
// credentials it was made with.
type zone struct {
	mu          sync.Mutex
	values      map[string][]string // absolute name → values
	credentials []byte
	fail        error // of AppendRecords
	failDelete  error
	cnames      map[string]string // absolute name → target
}

func (z *zone) CNAME(_ context.Context, zoneName, name string) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.cnames[strings.TrimSuffix(libdns.AbsoluteName(name, zoneName), ".")], nil
}

func (z *zone) SetCNAME(_ context.Context, zoneName, name, target string) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	abs := strings.TrimSuffix(libdns.AbsoluteName(name, zoneName), ".")
	switch held := z.cnames[abs]; {
	case held == target:
		return nil
	case held != "" || len(z.values[abs]) > 0:
		return fmt.Errorf("%s: %w", abs, providers.ErrNameTaken)
	}
	if z.cnames == nil {
		z.cnames = map[string]string{}
	}
	z.cnames[abs] = target
	return nil
}

func (z *zone) DeleteCNAME(_ context.Context, zoneName, name, target string) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	abs := strings.TrimSuffix(libdns.AbsoluteName(name, zoneName), ".")
	if z.cnames[abs] == target {
		delete(z.cnames, abs)
	}
	return nil
}

func (z *zone) AppendRecords(_ context.Context, zoneName string, recs []libdns.Record) ([]libdns.Record, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.fail != nil {
		return nil, z.fail
	}
	for _, r := range recs {
		rr := r.RR()
		name := strings.TrimSuffix(libdns.AbsoluteName(rr.Name, zoneName), ".")
		z.values[name] = append(z.values[name], rr.Data)
	}
	return recs, nil
}

func (z *zone) DeleteRecords(_ context.Context, zoneName string, recs []libdns.Record) ([]libdns.Record, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.failDelete != nil {
		return nil, z.failDelete
	}
	for _, r := range recs {
		rr := r.RR()
		name := strings.TrimSuffix(libdns.AbsoluteName(rr.Name, zoneName), ".")
		z.values[name] = slices.DeleteFunc(z.values[name], func(v string) bool { return v == rr.Data })
	}
	return recs, nil
}

func (z *zone) txt(name string) []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.values[name])
}

type cnames map[string]string

func (c cnames) CNAMETarget(_ context.Context, name string) (string, error) {
	if t, ok := c[name]; ok {
		return t, nil
	}
	return name, nil
}

// AllServe: the fake provider's zone is served as soon as it is written.
func (c cnames) AllServe(context.Context, []string, string, string, string) error { return nil }

type fixture struct {
	svc   *managed.Service
	store store.Store
	zones map[string]*zone // by config ID
	now   time.Time
	admin managed.Caller
	// keyLine is the service's only key.
	keyLine string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, zones: map[string]*zone{}, now: time.Unix(1_800_000_000, 0), admin: managed.Caller{Principal: "root"},
		keyLine: managed.NewKeyLine("k1")}
	f.svc = f.open(t, f.keyLine)
	return f
}

// open makes a service on the fixture's store with the keys of text.
func (f *fixture) open(t *testing.T, text string) *managed.Service {
	t.Helper()
	keys, err := managed.ParseKeyring(text)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := managed.New(ctx, managed.Options{
		Store: f.store.Managed(), Keys: keys,
		Providers: map[string]providers.Factory{"fake": func(c store.ChallengeConfig, creds []byte) (providers.Writer, error) {
			z := &zone{values: map[string][]string{}, credentials: creds}
			f.zones[c.ID] = z
			return z, nil
		}},
		DNS: cnames{"_acme-challenge.cname.example.com": "cname-example-com.hub.example.net."},
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func (f *fixture) config(t *testing.T, id, zoneName string, allowCNAME bool, rules ...string) {
	t.Helper()
	_, err := f.svc.PutConfig(ctx, f.admin, managed.ConfigInput{
		ChallengeConfig: store.ChallengeConfig{ID: id, Title: id, Provider: "fake", Zone: zoneName, Rules: rules, TTL: 30, AllowCNAME: allowCNAME},
		Credentials:     []byte(`{"api_token":"secret-of-` + id + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// token creates a principal with roles and a token carrying scopes.
func (f *fixture) token(t *testing.T, roles, scopes []string, domains ...string) (managed.NewToken, managed.Caller) {
	t.Helper()
	p, err := f.svc.CreatePrincipal(ctx, f.admin, store.Principal{Kind: managed.KindApplication, Title: "app", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.svc.CreateToken(ctx, f.admin, managed.TokenOptions{Principal: p.ID, Title: "t", Scopes: scopes, Domains: domains, TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := f.svc.Authenticate(ctx, tok.ClientID, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok, caller
}

var consumer = []string{managed.RoleConsumer}

func code(err error) managed.Code {
	var e *managed.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	tok, _ := f.token(t, consumer, consumer)
	if !strings.HasPrefix(tok.ClientID, "hub_") || len(tok.Secret) != 43 {
		t.Errorf("client ID %q, secret of %d characters", tok.ClientID, len(tok.Secret))
	}
	stored, _ := f.store.Managed().Token(ctx, tok.ClientID)
	if bytes.Contains(stored.SecretHash, []byte(tok.Secret)) {
		t.Error("the secret is stored")
	}
	_, errWrong := f.svc.Authenticate(ctx, tok.ClientID, tok.Secret+"x")
	_, errUnknown := f.svc.Authenticate(ctx, "hub_nobody", tok.Secret)
	if code(errWrong) != managed.CodeUnauthenticated || errWrong.Error() != errUnknown.Error() {
		t.Errorf("wrong secret: %v; unknown client ID: %v; want the same refusal", errWrong, errUnknown)
	}

	rotated, err := f.svc.RotateToken(ctx, f.admin, tok.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok.ClientID, tok.Secret); code(err) != managed.CodeUnauthenticated {
		t.Errorf("the old secret after rotation: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, tok.ClientID, rotated.Secret); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	f.now = f.now.Add(25 * time.Hour)
	if _, err := f.svc.Authenticate(ctx, tok.ClientID, rotated.Secret); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("after its expiry: %v", err)
	}
	other, _ := f.token(t, consumer, consumer)
	if err := f.svc.RevokeToken(ctx, f.admin, other.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, other.ClientID, other.Secret); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("after revocation: %v", err)
	}

	p, _ := f.svc.CreatePrincipal(ctx, f.admin, store.Principal{Kind: managed.KindUser, Title: "alice", Roles: consumer})
	if _, err := f.svc.CreateToken(ctx, f.admin, managed.TokenOptions{Principal: p.ID, Scopes: []string{managed.RoleAdmin}}); err == nil ||
		!strings.Contains(err.Error(), "does not hold role") {
		t.Errorf("a token with a role its principal lacks: %v", err)
	}
	if _, err := f.svc.CreatePrincipal(ctx, f.admin, store.Principal{Kind: "robot", Title: "x"}); code(err) != managed.CodeInvalid {
		t.Errorf("a principal of an unknown kind: %v", err)
	}
}

// TestScope: what a token may touch, and the crafted requests that try more.
func TestScope(t *testing.T) {
	f := newFixture(t)
	f.config(t, "a", "a.example", false, "a.example", ".a.example")
	f.config(t, "b", "b.example", false, "b.example", ".b.example")
	f.config(t, "cname", "hub.example.net", true, "cname.example.com")
	_, narrow := f.token(t, consumer, consumer, "*.a.example")
	_, admin := f.token(t, []string{managed.RoleAdmin, managed.RoleConsumer}, []string{managed.RoleAdmin})
	_, wide := f.token(t, consumer, consumer)
	const v = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	tests := []struct {
		name   string
		caller managed.Caller
		req    managed.Request
		want   managed.Code
	}{
		{"its own name", narrow, managed.Request{Identifier: "www.a.example", Value: v}, 0},
		{"its own name, by record only", narrow, managed.Request{Record: "_acme-challenge.www.a.example.", Value: v}, 0},
		{"its own name, in capitals", narrow, managed.Request{Record: "_ACME-CHALLENGE.WWW.A.Example", Value: v}, 0},
		{"another config's name", narrow, managed.Request{Identifier: "www.b.example", Value: v}, managed.CodeForbidden},
		{"the apex its rule leaves out", narrow, managed.Request{Identifier: "a.example", Value: v}, managed.CodeForbidden},
		{"two labels below", narrow, managed.Request{Identifier: "x.www.a.example", Value: v}, managed.CodeForbidden},
		{"its name, another's record", narrow, managed.Request{Identifier: "www.a.example", Record: "_acme-challenge.b.example", Value: v}, managed.CodeRecordNotAllowed},
		{"its name, the apex's record", narrow, managed.Request{Identifier: "www.a.example", Record: "_acme-challenge.a.example", Value: v}, managed.CodeRecordNotAllowed},
		{"a record that is no challenge", wide, managed.Request{Record: "www.a.example", Value: v}, managed.CodeRecordNotAllowed},
		{"a suffix trick", wide, managed.Request{Identifier: "evila.example", Value: v}, managed.CodeNoConfig},
		{"a look-alike", wide, managed.Request{Identifier: "www.а.example", Value: v}, managed.CodeNoConfig}, // Cyrillic а
		{"a token without the consumer role", admin, managed.Request{Identifier: "www.a.example", Value: v}, managed.CodeForbidden},
		{"the CNAME target its config allows", wide, managed.Request{Identifier: "cname.example.com", Record: "cname-example-com.hub.example.net", Value: v}, 0},
		{"another name in the CNAME zone", wide, managed.Request{Identifier: "cname.example.com", Record: "other.hub.example.net", Value: v}, managed.CodeRecordNotAllowed},
		{"a CNAME target where the config does not allow it", wide, managed.Request{Identifier: "www.a.example", Record: "x.a.example", Value: v}, managed.CodeRecordNotAllowed},
		{"a value that is no TXT string", wide, managed.Request{Identifier: "www.a.example", Value: "a\nb"}, managed.CodeInvalid},
	}
	for _, tt := range tests {
		_, err := f.svc.Present(ctx, tt.caller, tt.req)
		if code(err) != tt.want || (tt.want == 0 && err != nil) {
			t.Errorf("%s: Present = %v (code %d), want code %d", tt.name, err, code(err), tt.want)
		}
	}
	if got := f.zones["b"].txt("_acme-challenge.www.b.example"); len(got) != 0 {
		t.Errorf("a refused request wrote %q", got)
	}
	if got := f.zones["a"].txt("_acme-challenge.www.a.example"); len(got) != 3 {
		t.Errorf("values at _acme-challenge.www.a.example: %q, want the 3 presented", got)
	}
	if got := f.zones["cname"].txt("cname-example-com.hub.example.net"); !slices.Equal(got, []string{v}) {
		t.Errorf("the CNAME target holds %q", got)
	}
	// Every attempt is audited; refusals say so.
	log, _ := f.store.Managed().AuditLog(ctx, store.AuditQuery{Result: store.ResultFailed})
	if len(log) != 12 || !strings.HasPrefix(log[0].Result, "refused: ") {
		t.Errorf("%d refusals audited, want 12; newest %+v", len(log), log[0])
	}
}

func TestMostSpecificConfigAndTies(t *testing.T) {
	f := newFixture(t)
	f.config(t, "wide", "example.com", false, ".example.com", "example.com")
	f.config(t, "team", "team.example.com", false, ".team.example.com")
	f.config(t, "host", "example.com", false, "exact.team.example.com")
	for id, want := range map[string]string{"www.example.com": "wide", "example.com": "wide", "x.team.example.com": "team", "exact.team.example.com": "host"} {
		if p, err := f.svc.Present(ctx, wideCaller(t, f), managed.Request{Identifier: id, Value: "v"}); err != nil || p.Config != want {
			t.Errorf("%s: config %q, %v; want %q", id, p.Config, err, want)
		}
	}
	dup := store.ChallengeConfig{ID: "dup", Provider: "fake", Zone: "example.com", Rules: []string{".team.example.com"}}
	_, err := f.svc.PutConfig(ctx, f.admin, managed.ConfigInput{ChallengeConfig: dup})
	if code(err) != managed.CodeInvalid || !strings.Contains(err.Error(), "config team has the rule .team.example.com already") {
		t.Errorf("a config tying with another: %v", err)
	}
	if stored, _ := f.store.Managed().Configs(ctx); len(stored) != 3 {
		t.Errorf("the refused config was stored: %d configs", len(stored))
	}
	// A tie that reaches the database anyway (two replicas at once) fails
	// the load, naming both; the configs loaded before stay.
	dup.Rules, dup.TTL, dup.Updated = []string{".team.example.com"}, 60, f.now
	f.store.Managed().PutConfig(ctx, dup)
	if err := f.svc.Reload(ctx); err == nil || !strings.Contains(err.Error(), "configs dup and team both have the rule .team.example.com") {
		t.Errorf("reloading a tie: %v", err)
	}
	if len(f.svc.Configs()) != 3 {
		t.Errorf("%d configs loaded after a failed reload", len(f.svc.Configs()))
	}
}

func wideCaller(t *testing.T, f *fixture) managed.Caller {
	_, c := f.token(t, consumer, consumer)
	return c
}

func TestCleanUpRemovesOnlyItsOwnValue(t *testing.T) {
	f := newFixture(t)
	f.config(t, "self", "example.com", false, ".example.com")
	_, alice := f.token(t, consumer, consumer)
	_, bob := f.token(t, consumer, consumer)
	at := func() []string { return f.zones["self"].txt("_acme-challenge.www.example.com") }
	present := func(c managed.Caller, v string) {
		if _, err := f.svc.Present(ctx, c, managed.Request{Identifier: "www.example.com", Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	cleanup := func(c managed.Caller, v string) {
		if err := f.svc.CleanUp(ctx, c, managed.Request{Identifier: "www.example.com", Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	present(alice, "alice-value")
	present(bob, "bob-value")
	present(bob, "shared")
	present(alice, "shared")
	cleanup(alice, "bob-value") // not hers: nothing happens
	cleanup(alice, "alice-value")
	cleanup(alice, "alice-value") // twice, as cert-manager may
	if got := at(); !slices.Equal(got, []string{"bob-value", "shared", "shared"}) {
		t.Errorf("after alice's cleanup: %q", got)
	}
	cleanup(bob, "shared") // alice still has it
	if got := at(); !slices.Contains(got, "shared") {
		t.Errorf("bob's cleanup removed alice's value: %q", got)
	}
	cleanup(alice, "shared")
	cleanup(bob, "bob-value")
	if got := at(); len(got) != 0 {
		t.Errorf("after every cleanup: %q", got)
	}
	if recs, _ := f.store.Managed().Records(ctx); len(recs) != 0 {
		t.Errorf("%d records remembered after every cleanup", len(recs))
	}
}

func TestCredentialsSealedAtRest(t *testing.T) {
	f := newFixture(t)
	f.config(t, "do", "example.com", false, ".example.com")
	stored, _ := f.store.Managed().Configs(ctx)
	if len(stored) != 1 || bytes.Contains(stored[0].Credentials, []byte("secret-of-do")) || stored[0].KeyID != "k1" {
		t.Fatalf("stored config %+v", stored)
	}
	if got := string(f.zones["do"].credentials); got != `{"api_token":"secret-of-do"}` {
		t.Errorf("the provider got credentials %q", got)
	}
	// Another keyring cannot open them.
	other, _ := managed.ParseKeyring(managed.NewKeyLine("k1"))
	if _, err := other.Open(stored[0].Credentials, "k1", "do"); err == nil {
		t.Error("credentials opened with another key")
	}
	keys, _ := managed.ParseKeyring(managed.NewKeyLine("k2") + "\n" + managed.NewKeyLine("k1"))
	if _, err := keys.Open(stored[0].Credentials, "k1", "elsewhere"); err == nil {
		t.Error("credentials opened for another config")
	}
}

// TestKeyRotation: with a new key first, what the old key sealed and
// hashed still opens and verifies; putting a config again without its
// credentials seals them with the new key, so that the old key can go.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	f.config(t, "do", "example.com", false, ".example.com")
	tok, _ := f.token(t, consumer, consumer)
	both := managed.NewKeyLine("k2") + "\n" + f.keyLine
	svc := f.open(t, both)
	if _, err := svc.Authenticate(ctx, tok.ClientID, tok.Secret); err != nil {
		t.Errorf("a token hashed with the old key: %v", err)
	}
	if got := string(f.zones["do"].credentials); got != `{"api_token":"secret-of-do"}` {
		t.Errorf("credentials sealed with the old key open as %q", got)
	}
	if _, err := svc.PutConfig(ctx, f.admin, managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{ID: "do", Provider: "fake",
		Zone: "example.com", Rules: []string{".example.com", "example.com"}}}); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.store.Managed().Configs(ctx)
	if len(stored) != 1 || stored[0].KeyID != "k2" {
		t.Fatalf("after the put, sealed with %q, want k2", stored[0].KeyID)
	}
	newOnly := strings.SplitN(both, "\n", 2)[0]
	f.zones["do"] = nil
	f.open(t, newOnly)
	if got := string(f.zones["do"].credentials); got != `{"api_token":"secret-of-do"}` {
		t.Errorf("with the new key alone the credentials open as %q", got)
	}
}

func TestProviderErrorsNamed(t *testing.T) {
	f := newFixture(t)
	f.config(t, "do", "example.com", false, ".example.com")
	f.zones["do"].fail = fmt.Errorf("POST /v2/domains/example.com/records: 401 Unable to authenticate you")
	_, err := f.svc.Present(ctx, wideCaller(t, f), managed.Request{Identifier: "www.example.com", Value: "v"})
	if code(err) != managed.CodeProvider || !strings.Contains(err.Error(), "Unable to authenticate you") || !strings.Contains(err.Error(), "config do") {
		t.Errorf("Present = %v", err)
	}
	// Remembered anyway: the sweep removes whatever the provider may have written.
	if recs, _ := f.store.Managed().Records(ctx); len(recs) != 1 {
		t.Errorf("%d records remembered", len(recs))
	}
}

func TestKeyring(t *testing.T) {
	for text, want := range map[string]string{
		"":                               "no key",
		"k1":                             "want \"<id> <base64 key>\"",
		"k1 c2hvcnQ=":                    "must be 32 bytes",
		"a:b " + strings.Repeat("A", 44): "without ':'",
		managed.NewKeyLine("k") + "\n" + managed.NewKeyLine("k"): "appears twice",
	} {
		if _, err := managed.ParseKeyring(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKeyring(%q) = %v, want %q", text, err, want)
		}
	}
	k, err := managed.ParseKeyring("# hub keys\n\n" + managed.NewKeyLine("new") + "\n" + managed.NewKeyLine("old") + "\n")
	if err != nil || k.Current() != "new" {
		t.Fatalf("current key %q, %v", k.Current(), err)
	}
}

func TestSweep(t *testing.T) {
	f := newFixture(t)
	f.config(t, "z", "example.com", false, ".example.com")
	_, alice := f.token(t, consumer, consumer)
	_, bob := f.token(t, consumer, consumer)
	at := func(name string) []string { return f.zones["z"].txt("_acme-challenge." + name) }
	present := func(c managed.Caller, id, v string) {
		t.Helper()
		if _, err := f.svc.Present(ctx, c, managed.Request{Identifier: id, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	present(alice, "a.example.com", "forgotten")
	present(alice, "b.example.com", "cleaned")
	present(alice, "c.example.com", "shared")
	f.svc.CleanUp(ctx, alice, managed.Request{Identifier: "b.example.com", Value: "cleaned"})
	f.now = f.now.Add(20 * time.Minute)
	present(bob, "c.example.com", "shared") // younger: still needed
	if ran, n, err := f.svc.Sweep(ctx, 30*time.Minute); !ran || n != 0 || err != nil {
		t.Fatalf("a sweep before anything is stale: %v %d %v", ran, n, err)
	}
	f.now = f.now.Add(15 * time.Minute)
	if ran, n, err := f.svc.Sweep(ctx, 30*time.Minute); !ran || n != 2 || err != nil {
		t.Fatalf("sweep: ran %v, removed %d, %v; want 2", ran, n, err)
	}
	if got := at("a.example.com"); len(got) != 0 {
		t.Errorf("a forgotten value stays: %q", got)
	}
	if got := at("c.example.com"); !slices.Equal(got, []string{"shared", "shared"}) {
		t.Errorf("the sweep removed a value a younger record needs: %q", got)
	}
	if recs, _ := f.svc.Records(ctx); len(recs) != 1 || recs[0].ClientID != bob.ClientID {
		t.Errorf("records after the sweep: %+v", recs)
	}

	// A failed removal is retried later, with back-off, and audited.
	f.zones["z"].failDelete = errors.New("503 Service Unavailable")
	f.now = f.now.Add(time.Hour)
	if _, n, err := f.svc.Sweep(ctx, 30*time.Minute); n != 0 || err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("sweep with the provider down: %d, %v", n, err)
	}
	recs, _ := f.svc.Records(ctx)
	if len(recs) != 1 || recs[0].Attempts != 1 || !recs[0].NextAttempt.Equal(f.now.Add(time.Minute)) {
		t.Fatalf("after a failed removal: %+v", recs)
	}
	f.zones["z"].failDelete = nil
	if _, n, _ := f.svc.Sweep(ctx, 30*time.Minute); n != 0 {
		t.Error("retried before its next attempt")
	}
	f.now = f.now.Add(time.Minute)
	if _, n, err := f.svc.Sweep(ctx, 30*time.Minute); n != 1 || err != nil {
		t.Errorf("the retry: %d, %v", n, err)
	}
	log, _ := f.svc.AuditLog(ctx, store.AuditQuery{})
	var sweeps []string
	for _, e := range log {
		if e.Action == "sweep" {
			sweeps = append(sweeps, e.Result)
		}
	}
	if len(sweeps) != 4 || sweeps[0] != "ok" || !strings.HasPrefix(sweeps[1], "failed: ") {
		t.Errorf("sweeps audited, newest first: %q", sweeps)
	}
}

// TestExpiringValues: a value presented with a lifetime (acmeproxy's) is
// swept once it ends, long before cleanup_after; a cleanup without a value
// removes every value the caller presented at the name, and no other's.
func TestExpiringValues(t *testing.T) {
	f := newFixture(t)
	f.config(t, "z", "example.com", false, ".example.com")
	_, alice := f.token(t, consumer, consumer)
	_, bob := f.token(t, consumer, consumer)
	at := func() []string { v := f.zones["z"].txt("_acme-challenge.www.example.com"); slices.Sort(v); return v }
	for _, p := range []struct {
		c       managed.Caller
		v       string
		expires time.Duration
	}{{alice, "short", 5 * time.Minute}, {alice, "long", 0}, {bob, "bobs", 0}} {
		if _, err := f.svc.Present(ctx, p.c, managed.Request{Identifier: "www.example.com", Value: p.v, Expires: p.expires}); err != nil {
			t.Fatal(err)
		}
	}
	f.now = f.now.Add(6 * time.Minute)
	if _, n, err := f.svc.Sweep(ctx, 30*time.Minute); n != 1 || err != nil {
		t.Fatalf("sweep after 6 minutes: removed %d, %v; want the expired value", n, err)
	}
	if got := at(); !slices.Equal(got, []string{"bobs", "long"}) {
		t.Errorf("values after the sweep: %q", got)
	}
	if _, err := f.svc.Present(ctx, alice, managed.Request{Identifier: "www.example.com", Value: "again"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CleanUp(ctx, alice, managed.Request{Identifier: "www.example.com"}); err != nil {
		t.Fatalf("cleanup of every value: %v", err)
	}
	if got := at(); !slices.Equal(got, []string{"bobs"}) {
		t.Errorf("values after alice's cleanup of all hers: %q", got)
	}
	if err := f.svc.CleanUp(ctx, alice, managed.Request{Identifier: "www.example.com", Value: strings.Repeat("x", 300)}); code(err) != managed.CodeInvalid {
		t.Errorf("a cleanup with a value no TXT can hold: %v", err)
	}
}

// TestConsoleSessions: an admin token signs in; a consumer token cannot;
// the session ends when it expires and at once when its token is revoked
// or rotated; a session value changed by a byte is refused.
func TestConsoleSessions(t *testing.T) {
	f := newFixture(t)
	signIn := func(clientID, secret string) (managed.Caller, string, time.Time, error) {
		caller, err := f.svc.AuthenticateAdmin(ctx, clientID, secret)
		if err != nil {
			return caller, "", time.Time{}, err
		}
		value, expires, err := f.svc.OpenSession(ctx, caller)
		return caller, value, expires, err
	}
	admin := []string{managed.RoleAdmin}
	tok, _ := f.token(t, admin, admin)
	consumerTok, _ := f.token(t, consumer, consumer)
	if _, _, _, err := signIn(consumerTok.ClientID, consumerTok.Secret); code(err) != managed.CodeForbidden ||
		!strings.Contains(err.Error(), "cannot sign in to the console") {
		t.Errorf("a consumer token signs in: %v", err)
	}
	if _, _, _, err := signIn(tok.ClientID, "wrong"); code(err) != managed.CodeUnauthenticated {
		t.Errorf("a wrong secret signs in: %v", err)
	}
	caller, value, expires, err := signIn(tok.ClientID, tok.Secret)
	if err != nil || caller.ClientID != tok.ClientID || !expires.Equal(f.now.Add(managed.SessionLifetime)) {
		t.Fatalf("sign in: %+v %v %v", caller, expires, err)
	}
	if got, err := f.svc.Session(ctx, value); err != nil || got.ClientID != tok.ClientID || !got.Can(managed.RoleAdmin) {
		t.Errorf("the session: %+v %v", got, err)
	}
	for i := range value {
		forged := []byte(value)
		forged[i] ^= 1
		if _, err := f.svc.Session(ctx, string(forged)); err == nil {
			t.Fatalf("a session changed at byte %d is accepted", i)
		}
	}
	f.now = f.now.Add(managed.SessionLifetime)
	if _, err := f.svc.Session(ctx, value); !errors.Is(err, managed.ErrNoSession) {
		t.Errorf("an expired session: %v", err)
	}
	f.now = f.now.Add(-managed.SessionLifetime)
	if _, err := f.svc.RotateToken(ctx, f.admin, tok.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Session(ctx, value); !errors.Is(err, managed.ErrNoSession) {
		t.Errorf("a session of a rotated token: %v", err)
	}
	tok2, _ := f.token(t, admin, admin)
	_, value, _, _ = signIn(tok2.ClientID, tok2.Secret)
	f.svc.RevokeToken(ctx, f.admin, tok2.ClientID)
	if _, err := f.svc.Session(ctx, value); !errors.Is(err, managed.ErrNoSession) {
		t.Errorf("a session of a revoked token: %v", err)
	}
}
