// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package self

import (
	"context"
	"strings"
	"testing"
)

func TestTableServesDelegatedNamesOnly(t *testing.T) {
	values := map[string][]string{"_acme-challenge.app.example.com": {"v1", "v2"}}
	table := &Table{Lookup: func(apex string) ([]string, bool) {
		v, ok := values[apex]
		return v, ok
	}}
	p := Writer{Table: table}
	tests := []struct {
		name, record, value string
		served              bool
	}{
		{"value at the delegated name", "_acme-challenge.app.example.com", "v1", true},
		{"second value", "_acme-challenge.app.example.com", "v2", true},
		{"fully qualified, upper case", "_ACME-challenge.App.Example.COM.", "v2", true},
		{"value not presented", "_acme-challenge.app.example.com", "v3", false},
		{"name not delegated", "_acme-challenge.other.example.com", "v1", false},
		{"not a challenge name", "app.example.com", "v1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := table.Serves(tt.record, tt.value); got != tt.served {
				t.Errorf("Serves(%q, %q) = %v, want %v", tt.record, tt.value, got, tt.served)
			}
			by, err := p.Served(context.Background(), "example.com", tt.record, tt.value)
			if err == nil && !strings.Contains(by, "the hub's DNS") {
				t.Errorf("served by %q", by)
			}
			if (err == nil) != tt.served {
				t.Errorf("Served(%q, %q) = %v, want served %v", tt.record, tt.value, err, tt.served)
			}
			if err != nil && !strings.Contains(err.Error(), tt.record) {
				t.Errorf("error %q does not name the record %s", err, tt.record)
			}
		})
	}
	if _, ok := table.Delegated("app.example.com"); ok {
		t.Error("a name without _acme-challenge. is answered as delegated")
	}
}
