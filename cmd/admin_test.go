// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAdminTables: a table's cells stay on one line and at most maxCell
// characters wide, so one long value does not widen every row; -o json
// keeps every value whole.
func TestAdminTables(t *testing.T) {
	long := strings.Repeat("refused.", 40) + "example.com" // 331 characters
	r := result{
		Value:  []map[string]string{{"identifier": long}},
		Header: "ACTION\tIDENTIFIER\tRESULT",
		Rows: [][]string{
			{"refused", long, "failed: no managed challenge config matches"},
			{"present", "www.example.com", "ok"},
			{"refused", "tab\there\nnewline", "ok"},
			{"present", strings.Repeat("é", 70), "ok"},
		},
	}
	var out bytes.Buffer
	if err := (&adminFlags{output: "table"}).print(&out, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+len(r.Rows) {
		t.Fatalf("%d lines for %d rows:\n%s", len(lines), len(r.Rows), out.String())
	}
	for _, line := range lines {
		if n := utf8.RuneCountInString(line); n > 3*maxCell {
			t.Errorf("a line of %d characters: %s", n, line)
		}
	}
	for _, tc := range []struct{ line, want string }{
		{lines[1], strings.Repeat("refused.", 7) + "ref…"},
		{lines[2], "www.example.com"},
		{lines[3], "tab here newline"},
		{lines[4], strings.Repeat("é", maxCell-1) + "…"},
	} {
		if !strings.Contains(tc.line, tc.want) {
			t.Errorf("line %q lacks %q", tc.line, tc.want)
		}
	}

	out.Reset()
	if err := (&adminFlags{output: "json"}).print(&out, r); err != nil {
		t.Fatal(err)
	}
	var back []map[string]string
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back) != 1 || back[0]["identifier"] != long {
		t.Errorf("-o json: %v\n%s", err, out.String())
	}
}
