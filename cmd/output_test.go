// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestTables: a table's cells stay on one line; on a terminal at most
// maxCell characters wide, so one long value does not widen every row;
// through a pipe (and with --wide) every value whole.
func TestTables(t *testing.T) {
	long := strings.Repeat("refused.", 40) + "example.com" // 331 characters
	header := "ACTION\tIDENTIFIER\tRESULT"
	rows := [][]string{
		{"refused", long, "failed: no managed challenge config matches"},
		{"present", "www.example.com", "ok"},
		{"refused", "tab\there\nnewline", "ok"},
		{"present", strings.Repeat("é", 70), "ok"},
	}
	for _, tc := range []struct {
		name  string
		cut   bool
		wants []string
	}{
		{"terminal", true, []string{strings.Repeat("refused.", 7) + "ref…", "www.example.com", "tab here newline", strings.Repeat("é", maxCell-1) + "…"}},
		{"pipe", false, []string{long + "  failed", "www.example.com", "tab here newline", strings.Repeat("é", 70)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeTable(&out, header, rows, tc.cut); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 1+len(rows) {
				t.Fatalf("%d lines for %d rows:\n%s", len(lines), len(rows), out.String())
			}
			for i, want := range tc.wants {
				if !strings.Contains(lines[i+1], want) {
					t.Errorf("line %q lacks %q", lines[i+1], want)
				}
				if n := utf8.RuneCountInString(lines[i+1]); tc.cut && n > 3*maxCell {
					t.Errorf("a line of %d characters on a terminal: %s", n, lines[i+1])
				}
			}
		})
	}
	var out bytes.Buffer
	if err := (output{format: "table"}).print(&out, result{Header: header, Rows: rows}); err != nil || !strings.Contains(out.String(), long) {
		t.Errorf("a table written to a pipe cuts a cell: %v\n%s", err, out.String())
	}
}

// TestJSONConvention: keys in lowerCamelCase in the fields' order, times
// in RFC 3339 or null, durations with their unit, lists never null, no
// HTML escaping, json tags honoured.
func TestJSONConvention(t *testing.T) {
	type entry struct {
		ID         int64
		ClientID   string
		TTL        int
		AllowCNAME bool
		DNSName    string
		At         time.Time
		Revoked    time.Time
		Took       time.Duration
		Scopes     []string
		Secret     []byte `json:"-"`
		Note       string `json:"note,omitempty"`
	}
	at := time.Date(2026, 12, 1, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	var out bytes.Buffer
	if err := writeJSON(&out, []entry{{ID: 7, ClientID: "c", TTL: 60, AllowCNAME: true, DNSName: "<name>.example.com", At: at, Took: 1500 * time.Millisecond,
		Secret: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "id": 7,
    "clientID": "c",
    "ttl": 60,
    "allowCNAME": true,
    "dnsName": "<name>.example.com",
    "at": "2026-12-01T14:04:05Z",
    "revoked": null,
    "took": "1.5s",
    "scopes": []
  }
]
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := writeJSON(&out, []entry(nil)); err != nil || out.String() != "[]\n" {
		t.Errorf("no entries: %q %v, want []", out.String(), err)
	}
}
