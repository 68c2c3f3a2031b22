// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/hub/config"
)

// TestLogConfigVariants: every [logconfig] acme-dns accepts — each level,
// stdout or a file, JSON or text — logs what its level lets through, in
// its format, where it says.
func TestLogConfigVariants(t *testing.T) {
	levels := map[string][]string{ // level → the messages that show
		"debug": {"d", "i", "w", "e"}, "info": {"i", "w", "e"}, "warning": {"w", "e"}, "error": {"e"},
	}
	for level, shown := range levels {
		for _, typ := range []string{"stdout", "file"} {
			for _, format := range []string{"json", "text"} {
				t.Run(level+" "+typ+" "+format, func(t *testing.T) {
					file := filepath.Join(t.TempDir(), "acme-dns.log")
					var stdout bytes.Buffer
					log, closeLog, err := newLogger(config.Log{Level: level, Type: typ, File: file, Format: format}, &stdout)
					if err != nil {
						t.Fatal(err)
					}
					log.Debug("d")
					log.Info("i")
					log.Warn("w")
					log.Error("e")
					closeLog()
					out, other := stdout.String(), ""
					if typ == "file" {
						b, err := os.ReadFile(file)
						if err != nil {
							t.Fatal(err)
						}
						out, other = string(b), stdout.String()
					}
					if other != "" {
						t.Errorf("logged to stdout as well as the file: %q", other)
					}
					lines := strings.Split(strings.TrimSpace(out), "\n")
					if len(lines) != len(shown) {
						t.Fatalf("%d lines, want %d (%v):\n%s", len(lines), len(shown), shown, out)
					}
					for i, line := range lines {
						var msg string
						if format == "json" {
							var v struct{ Msg string }
							if err := json.Unmarshal([]byte(line), &v); err != nil {
								t.Errorf("not JSON: %q", line)
							}
							msg = v.Msg
						} else if _, after, ok := strings.Cut(line, " msg="); ok {
							msg = after
						}
						if msg != shown[i] {
							t.Errorf("line %q: message %q, want %q", line, msg, shown[i])
						}
					}
				})
			}
		}
	}
}
