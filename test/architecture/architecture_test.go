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

// floors place each package, by path: a path's own entry, else the
// entry "<prefix>/*" or "<prefix>" of its longest prefix. A package may
// import only packages on lower floors. A new package must be given its
// floor here, deliberately, except below an extension point (a provider,
// a front door), whose "/*" entry places every folder added there.
var floors = map[string]int{
	// Leaves: what several parts share, importing no package of acmehub.
	"hub/config": 0, "hub/store": 0, "hub/dnsclient": 0, "hub/clientip": 0, "hub/ratelimit": 0, "hub/idtoken": 0,
	"hub/certifyapi": 0, "hub/acmedns/client": 0, "hub/dnssec": 0, "hub/apicert": 0,
	// The cores: acme-dns's accounts and DNS answers; the providers'
	// contract and registry.
	"hub/dnsserver": 1, "hub/acmedns/accounts": 1, "hub/managed/providers": 1,
	// The hub's rules, the acme-dns API, and every provider.
	"hub/managed": 2, "hub/acmedns": 2, "hub/managed/providers/*": 2,
	// What the hub's front doors share, and their registry.
	"hub/managed/doors": 3,
	// The front doors and the console.
	"hub/managed/doors/*": 4, "hub/managed/console": 4,
	// The server's assembly, and the solvers beside it.
	"hub/server": 5, "solver": 2, "solver/acmedns": 5, "solver/hubsolver": 5, "solver/acmedns/registration": 5,
	// Command wiring, and the binary.
	"cmd": 6, "": 7,
	// Tools, and the helpers of tests.
	"hack": 7, "internal/testutil": 8, "test": 10,
	// The fakes of the providers' APIs, which serve DNS through the helpers,
	// and a provider's Writer driven as the hub does.
	"internal/testutil/fakes": 9, "internal/testutil/providertest": 9,
	// The helpers' own leaf: the programs tests start, which the other
	// helpers look up.
	"internal/testutil/testdeps": 7,
	// The tools' own leaf: DNS load, which hack/dnsflood and the flood
	// test share.
	"hack/dnsload": 6,
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
	if f, ok := floors[path]; ok {
		return f
	}
	for p := path; ; {
		i := strings.LastIndex(p, "/")
		if i < 0 {
			t.Fatalf("package %s has no floor: give it one in floors, and in docs/architecture.md", path)
		}
		p = p[:i]
		if f, ok := floors[p+"/*"]; ok {
			return f
		}
		if f, ok := floors[p]; ok {
			return f
		}
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
