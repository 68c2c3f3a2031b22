// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package architecture_test holds the house's rules (docs/architecture.md)
// against the code: every package has a floor, imports run only down, the
// acme-dns API does not reach the managed-challenge hub, the store knows
// nothing of HTTP or DNS, and test helpers stay in tests.
package architecture_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/acmehub/acmehub"

// floors place each package, by path (a path's own entry, else its
// longest prefix): a package may import only packages on lower floors.
// A new package must be given its floor here, deliberately.
var floors = map[string]int{
	// Leaves: what several parts share, importing no package of acmehub.
	"hub/config": 0, "hub/store": 0, "hub/dnsclient": 0, "hub/clientip": 0, "hub/ratelimit": 0,
	"hub/certifyapi": 0, "hub/acmedns/client": 0, "hub/dnssec": 0, "hub/apicert": 0,
	// The cores: acme-dns's accounts and DNS answers, the hub's rules.
	"hub/dnsserver": 1, "hub/acmedns/accounts": 1, "hub/managed": 1,
	// Their HTTP faces, and what the hub's protocols and providers share.
	"hub/acmedns": 2, "hub/managed/doors": 2, "hub/managed/providers": 2,
	// The hub's protocols, its console and its providers.
	"hub/managed/doors/acmeproxy": 3, "hub/managed/doors/certify": 3, "hub/managed/doors/httpreq": 3,
	"hub/managed/console": 3, "hub/managed/providers/acmedns": 3, "hub/managed/providers/digitalocean": 3,
	"hub/managed/providers/akamai": 3, "hub/managed/providers/azuredns": 3, "hub/managed/providers/cloudflare": 3, "hub/managed/providers/clouddns": 3, "hub/managed/providers/rfc2136": 3,
	"hub/managed/providers/route53": 3,
	"hub/managed/providers/self":    3,
	// The server's assembly, and the solvers beside it.
	"hub": 4, "solver": 2, "solver/acmedns": 4, "solver/hubsolver": 4, "solver/acmedns/registration": 4,
	// Command wiring, and the binary.
	"cmd": 5, "": 6,
	// Tools, and the helpers of tests.
	"hack": 6, "internal/testutil": 7, "test": 8,
	// The helpers' own leaf: the programs tests start, which the other
	// helpers look up.
	"internal/testutil/testdeps": 6,
	// The tools' own leaf: DNS load, which hack/dnsflood and the flood
	// test share.
	"hack/dnsload": 5,
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listed is go list's account of every package, read once.
var listed = sync.OnceValues(func() ([]pkg, error) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			return pkgs, nil
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
})

func packages(t *testing.T) []pkg {
	t.Helper()
	pkgs, err := listed()
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func floor(t *testing.T, path string) int {
	t.Helper()
	for p := path; ; {
		if f, ok := floors[p]; ok {
			return f
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			t.Fatalf("package %s has no floor: give it one in floors, and in docs/architecture.md", path)
		}
		p = p[:i]
	}
}

// TestImportsRunDown: every import of a package of acmehub goes to a
// lower floor: no arrow runs up, so none runs in a circle.
func TestImportsRunDown(t *testing.T) {
	for _, p := range packages(t) {
		from, _ := rel(p.ImportPath)
		for _, imp := range p.Imports {
			to, ours := rel(imp)
			if !ours {
				continue
			}
			if floor(t, to) >= floor(t, from) {
				t.Errorf("%s (floor %d) imports %s (floor %d): an arrow that does not run down", p.ImportPath, floor(t, from), imp, floor(t, to))
			}
		}
	}
}

// TestBoundaries: what must stay apart, through every dependency.
func TestBoundaries(t *testing.T) {
	for _, p := range packages(t) {
		name, _ := rel(p.ImportPath)
		deps := p.Deps
		switch {
		case name == "hub/acmedns" || strings.HasPrefix(name, "hub/acmedns/"):
			// acme-dns's API works without the managed-challenge hub.
			if i := slices.IndexFunc(deps, func(d string) bool { return strings.HasPrefix(d, module+"/hub/managed") }); i >= 0 {
				t.Errorf("%s reaches %s: the acme-dns part must not depend on the managed-challenge hub", p.ImportPath, deps[i])
			}
		case name == "hub/store":
			// The store knows nothing of HTTP or DNS.
			for _, d := range []string{"net/http", "github.com/miekg/dns"} {
				if slices.Contains(p.Imports, d) {
					t.Errorf("%s imports %s: the store knows nothing of HTTP or DNS", p.ImportPath, d)
				}
			}
		}
		if !strings.HasPrefix(name, "internal/testutil") && !strings.HasPrefix(name, "test/") {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module+"/internal/testutil") {
					t.Errorf("%s imports %s, a helper of tests, outside its tests", p.ImportPath, imp)
				}
			}
		}
	}
}
