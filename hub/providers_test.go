// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package hub_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	_ "github.com/acmehub/acmehub/hub" // the providers the server offers
	"github.com/acmehub/acmehub/hub/managed/providers"
)

var update = flag.Bool("update", false, "rewrite the generated parts of the documentation")

// TestProvidersDocumented: docs/hub.md's table of providers is the
// registry's, as the server offers them.
func TestProvidersDocumented(t *testing.T) {
	path := filepath.Join("..", "docs", "hub.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)(<!-- providers: [^\n]*-->\n).*?(<!-- end providers -->)`)
	if !block.Match(doc) {
		t.Fatalf("%s has no providers block", path)
	}
	want := block.ReplaceAllFunc(doc, func(m []byte) []byte {
		sub := block.FindSubmatch(m)
		return append(append(append([]byte{}, sub[1]...), providers.Markdown()...), sub[2]...)
	})
	if string(want) == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's table of providers is not the registry's: run go test ./hub -run TestProvidersDocumented -update", path)
}
