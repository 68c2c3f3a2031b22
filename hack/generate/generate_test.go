// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/tls"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/internal/testutil"
)

// root is the module's root, two folders up.
var root, _ = filepath.Abs(filepath.Join("..", ".."))

// TestGeneratedIsFresh: the import lines, the documentation's tables and
// the chart's enum are what go generate writes from the folders and the
// registries today.
func TestGeneratedIsFresh(t *testing.T) {
	if err := run(options{root: root, check: true}); err != nil {
		t.Fatal(err)
	}
}

const throwawayProvider = `package throwaway

import (
	"context"

	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

func init() {
	providers.Register(providers.Provider{
		Name:        "throwaway",
		Description: "nothing anywhere, for a test",
		Credentials: []providers.Field{{Name: "api_token", Help: "any", Secret: true, Required: true}},
		New: func(providers.Env, store.ChallengeConfig, []byte) (providers.Writer, error) { return writer{}, nil },
	})
}

type writer struct{}

func (writer) AppendRecords(_ context.Context, _ string, r []libdns.Record) ([]libdns.Record, error) { return r, nil }
func (writer) DeleteRecords(_ context.Context, _ string, r []libdns.Record) ([]libdns.Record, error) { return r, nil }
`

const throwawayDoor = `package throwaway

import (
	"net/http"

	"github.com/acmehub/acmehub/hub/config"
	"github.com/acmehub/acmehub/hub/managed/doors"
)

func init() {
	doors.Register(doors.Protocol{
		Name:        "throwaway",
		Description: "nobody, for a test",
		Mount: func(_ *doors.Door, _ config.Hub, mux *http.ServeMux) (string, func(), error) {
			mux.HandleFunc("GET /throwaway/ping", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("pong")) })
			return "/throwaway", nil, nil
		},
	})
}
`

// TestThrowawayExtensions: a provider and a front door added as a folder
// each (through go build's overlay, so the tree stays as it is) need
// nothing but go generate's lines: the provider appears in the chart's
// schema, the documentation, acmehub admin providers and the console's
// form; the door in the documentation, and the server serves it.
func TestThrowawayExtensions(t *testing.T) {
	dir := t.TempDir()
	overlay := filepath.Join(dir, "overlay.json")
	files := map[string]string{
		"hub/managed/providers/throwaway/throwaway.go": throwawayProvider,
		"hub/managed/doors/throwaway/throwaway.go":     throwawayDoor,
	}
	replace := map[string]string{}
	for rel, text := range files {
		path := filepath.Join(dir, "src", strings.ReplaceAll(rel, "/", "_"))
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		replace[filepath.Join(root, rel)] = path
	}
	data, _ := json.Marshal(struct{ Replace map[string]string }{replace})
	if err := os.WriteFile(overlay, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	goCmd(t, "run", "-overlay", overlay, "./hack/generate", "-overlay", overlay, "-out", out)

	// The only lines added to the tree's files are the generated ones.
	imports := added(t, Imports, out)
	want := []string{"\t_ \"github.com/acmehub/acmehub/hub/managed/doors/throwaway\"", "\t_ \"github.com/acmehub/acmehub/hub/managed/providers/throwaway\""}
	if slices.Sort(imports); !slices.Equal(imports, want) {
		t.Errorf("%s gained %q, want the folders' two import lines", Imports, imports)
	}
	rows := []string{"| `throwaway` | `api_token` (secret) | nothing anywhere, for a test |", "| `throwaway` | nobody, for a test |"}
	if doc := added(t, Docs, out); !slices.Equal(doc, rows) {
		t.Errorf("%s gained %q, want a row in each table: %q", Docs, doc, rows)
	}
	names := append(providers.Names(), "throwaway")
	slices.Sort(names)
	var enum []string
	for _, l := range added(t, Schema, out) {
		enum = append(enum, strings.Trim(l, ` ",`))
	}
	if !slices.Contains(enum, "throwaway") || slices.ContainsFunc(enum, func(n string) bool { return !slices.Contains(names, n) }) {
		t.Errorf("%s gained the lines %q, want the provider in the enum of providers", Schema, enum)
	}

	bin := filepath.Join(dir, "acmehub")
	goCmd(t, "build", "-overlay", overlay, "-o", bin, ".")
	h := testutil.NewHubSetup(t, testutil.HubOptions{Binary: bin, TLS: true})
	if list := h.MustAdmin("providers", "-o", "json"); !strings.Contains(list, `"throwaway"`) {
		t.Errorf("admin providers does not list the provider:\n%s", list)
	}
	p := h.Server()
	if !strings.Contains(p.Output(), `"/throwaway"`) {
		t.Errorf("the start-up log's doors lack /throwaway:\n%s", p.Output())
	}
	c := consoleClient(t)
	base := "https://" + p.Hub
	if body := fetch(t, c, base+"/throwaway/ping", nil); body != "pong" {
		t.Errorf("GET /throwaway/ping: %q, want pong", body)
	}
	clientID, secret := h.TokenFor("managed-challenge-admin")
	fetch(t, c, base+"/console/signin", url.Values{"csrf": {csrf(t, c, base+"/console/signin")}, "client_id": {clientID}, "secret": {secret}})
	if form := fetch(t, c, base+"/console/configs/new", nil); !strings.Contains(form, `value="throwaway"`) {
		t.Errorf("the console's config form does not offer the provider:\n%s", form)
	}
}

func goCmd(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// added returns the lines of out's rel that the tree's rel lacks.
func added(t *testing.T, rel, out string) []string {
	t.Helper()
	was, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	now, err := os.ReadFile(filepath.Join(out, rel))
	if err != nil {
		t.Fatalf("generate wrote no %s: %v", rel, err)
	}
	old := strings.Split(string(was), "\n")
	var lines []string
	for _, l := range strings.Split(string(now), "\n") {
		if i := slices.Index(old, l); i >= 0 {
			old = slices.Delete(old, i, i+1)
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

func consoleClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// fetch GETs url, or POSTs form to it, and returns the body.
func fetch(t *testing.T, c *http.Client, u string, form url.Values) string {
	t.Helper()
	var (
		resp *http.Response
		err  error
	)
	if form != nil {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d\n%s", u, resp.StatusCode, body)
	}
	return string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(fetch(t, c, u, nil))
	if m == nil {
		t.Fatalf("no CSRF token on %s", u)
	}
	return html.UnescapeString(m[1])
}
