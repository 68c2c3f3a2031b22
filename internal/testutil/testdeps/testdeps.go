// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package testdeps finds the programs that tests start (BIND, Knot, Unbound,
// Chromium, PostgreSQL's), from the list `make test` installs from
// (hack/test-deps.txt). A test needing a program whose tests the user opted
// out of with $ACMEHUB_TEST_SKIP is skipped, saying so; a test needing a
// missing program fails, naming its package. Nothing is skipped silently.
package testdeps

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// SkipEnv is the variable naming, comma-separated, the dependencies whose
// tests are opted out (the list's third column: postgres, bind, knot,
// unbound, chromium).
const SkipEnv = "ACMEHUB_TEST_SKIP"

// ListPath is the list's path from the module's root.
const ListPath = "hack/test-deps.txt"

// Dep is one line of the list.
type Dep struct {
	Program string // a program's name, or an absolute path of a file
	Package string // the Debian package that brings it
	OptOut  string // the name that opts its tests out, or "-"
}

// Skipped reports whether the user opted out of the tests needing optOut.
func Skipped(optOut string) bool {
	return slices.ContainsFunc(strings.Split(os.Getenv(SkipEnv), ","), func(s string) bool { return strings.TrimSpace(s) == optOut })
}

// Program returns the path of program, a program of the list. It skips t
// when the user opted out of the program's tests, and fails t when the
// program is not on this machine.
func Program(t testing.TB, program string) string {
	t.Helper()
	dep, err := lookup(program)
	if err != nil {
		t.Fatal(err)
	}
	if dep.OptOut != "-" && Skipped(dep.OptOut) {
		t.Skipf("needs %s: opted out by $%s=%s", program, SkipEnv, os.Getenv(SkipEnv))
	}
	path, err := find(program)
	if err != nil {
		t.Fatalf("%s is not installed: `make test` installs it (as root), or apt-get install %s; or opt out with $%s=%s",
			program, dep.Package, SkipEnv, dep.OptOut)
	}
	return path
}

// find looks for program on $PATH and where Debian keeps what is not on
// every user's: daemons in /usr/sbin, PostgreSQL's server in a directory of
// its version.
func find(program string) (string, error) {
	if path, err := exec.LookPath(program); err == nil {
		return path, nil
	}
	dirs := []string{"/usr/sbin", "/sbin"}
	if pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(pg) > 0 {
		sort.Slice(pg, func(i, j int) bool { return versionLess(pg[i], pg[j]) })
		dirs = append(dirs, pg[len(pg)-1])
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, program)
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", exec.ErrNotFound
}

// versionLess orders PostgreSQL's directories by version: 9 before 15.
func versionLess(a, b string) bool {
	va, vb := filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b))
	if len(va) != len(vb) {
		return len(va) < len(vb)
	}
	return va < vb
}

// lookup finds program's line in the list.
func lookup(program string) (Dep, error) {
	deps, err := list()
	if err != nil {
		return Dep{}, err
	}
	for _, d := range deps {
		if d.Program == program {
			return d, nil
		}
	}
	return Dep{}, fmt.Errorf("%s is not in %s: add it, with its package, so that make test installs it", program, ListPath)
}

// list reads the list once, from the module's root above the working
// directory (a test's is its package's).
var list = sync.OnceValues(func() ([]Dep, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, errors.New("no go.mod above the working directory: cannot find " + ListPath)
		}
		dir = parent
	}
	return parse(filepath.Join(dir, ListPath))
})

// parse reads a list: a line a program, its package and its opt-out name,
// separated by blanks; # starts a comment.
func parse(path string) ([]Dep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var deps []Dep
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want a program, its package and its opt-out name, got %q", path, n, line)
		}
		deps = append(deps, Dep{Program: f[0], Package: f[1], OptOut: f[2]})
	}
	return deps, sc.Err()
}
