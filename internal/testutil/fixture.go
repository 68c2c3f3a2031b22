// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// Root is the repository's root directory: where go.mod is, above the
// test's working directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Testdata is the path of name in the repository's testdata directory.
func Testdata(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Root(t), "testdata", name)
}

// Fixture reads testdata/name, a text/template, filled with data.
func Fixture(t testing.TB, name string, data any) string {
	t.Helper()
	text, err := os.ReadFile(Testdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	return b.String()
}
