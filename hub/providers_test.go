// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package hub_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// TestProvidersInTheChart: the chart's values schema offers hub.configs
// exactly the providers the server offers.
func TestProvidersInTheChart(t *testing.T) {
	path := filepath.Join("..", "deploy", "charts", "acmehub", "values.schema.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Hub struct {
				Properties struct {
					Configs struct {
						Items struct {
							Properties struct {
								Provider struct {
									Enum []string `json:"enum"`
								} `json:"provider"`
							} `json:"properties"`
						} `json:"items"`
					} `json:"configs"`
				} `json:"properties"`
			} `json:"hub"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties.Hub.Properties.Configs.Items.Properties.Provider.Enum; !slices.Equal(got, providers.Names()) {
		t.Errorf("%s offers hub.configs the providers %q, the server %q", path, got, providers.Names())
	}
}
