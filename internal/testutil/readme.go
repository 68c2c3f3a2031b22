// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadmeHelmInstall is the first `helm install` command of README.md, as
// the words a shell would pass (continued lines joined, quotes removed).
func ReadmeHelmInstall(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmd string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cmd == "" && !strings.HasPrefix(line, "helm install ") {
			continue
		}
		cmd += " " + strings.TrimSuffix(line, "\\")
		if !strings.HasSuffix(line, "\\") {
			break
		}
	}
	words := ShellWords(cmd)
	if len(words) < 4 {
		t.Fatalf("README.md has no `helm install <release> <chart>` command")
	}
	return words
}

// ShellWords splits a command line as a shell does, for its quotes.
func ShellWords(line string) []string {
	var (
		words []string
		word  strings.Builder
		quote rune
		in    bool
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, word.String())
	}
	return words
}
