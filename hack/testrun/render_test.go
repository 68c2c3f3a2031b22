// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRender: go test -json is printed as go test prints text — a line a
// package, a failed test's output, nothing of a passed one's — and counted.
func TestRender(t *testing.T) {
	stream := strings.Join([]string{
		`go: downloading example.org/m v1.0.0`,
		`{"Action":"start","Package":"github.com/acmehub/acmehub/a"}`,
		`{"Action":"run","Package":"github.com/acmehub/acmehub/a","Test":"TestPass"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Test":"TestPass","Output":"=== RUN   TestPass\n"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Test":"TestPass","Output":"    a_test.go:9: quiet when passing\n"}`,
		`{"Action":"pass","Package":"github.com/acmehub/acmehub/a","Test":"TestPass"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Test":"TestFail/sub","Output":"    a_test.go:12: loud when failing\n"}`,
		`{"Action":"fail","Package":"github.com/acmehub/acmehub/a","Test":"TestFail/sub"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Test":"TestFail","Output":"--- FAIL: TestFail (0.00s)\n"}`,
		`{"Action":"fail","Package":"github.com/acmehub/acmehub/a","Test":"TestFail"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Test":"TestSkip","Output":"    pgtest.go:37: needs PostgreSQL: opted out\n"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}`,
		`{"Action":"skip","Package":"github.com/acmehub/acmehub/a","Test":"TestSkip"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Output":"PASS\n"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/a","Output":"FAIL\tgithub.com/acmehub/acmehub/a\t0.1s\n"}`,
		`{"Action":"fail","Package":"github.com/acmehub/acmehub/a"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/b","Test":"TestCrash","Output":"panic: test timed out after 1s\n"}`,
		`{"Action":"output","Package":"github.com/acmehub/acmehub/b","Output":"FAIL\tgithub.com/acmehub/acmehub/b\t1.0s\n"}`,
		`{"Action":"fail","Package":"github.com/acmehub/acmehub/b"}`,
		`{"ImportPath":"github.com/acmehub/acmehub/c","Action":"build-output","Output":"c/c.go:3:1: syntax error\n"}`,
		`{"ImportPath":"github.com/acmehub/acmehub/c","Action":"build-fail"}`,
	}, "\n") + "\n"

	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		r := newRenderer(&out, verbose)
		r.read(strings.NewReader(stream))
		r.finish()
		got := out.String()
		for _, want := range []string{"go: downloading example.org/m", "loud when failing", "--- FAIL: TestFail",
			"FAIL\tgithub.com/acmehub/acmehub/a", "panic: test timed out", "c/c.go:3:1: syntax error"} {
			if !strings.Contains(got, want) {
				t.Errorf("verbose=%v: no %q in:\n%s", verbose, want, got)
			}
		}
		if strings.Contains(got, "quiet when passing") != verbose {
			t.Errorf("verbose=%v: a passed test's output shown=%v:\n%s", verbose, !verbose, got)
		}
		c := r.counts
		if c.passed != 1 || c.failed != 3 || c.skipped != 1 {
			t.Errorf("verbose=%v: counted %d passed, %d failed, %d skipped; want 1, 3 (two tests and a build), 1", verbose, c.passed, c.failed, c.skipped)
		}
		if len(c.skips) != 1 || !strings.Contains(c.skips[0], "a TestSkip: pgtest.go:37: needs PostgreSQL: opted out") {
			t.Errorf("skips %q", c.skips)
		}
		if want := []string{"a TestFail/sub", "a TestFail", "c: build failed"}; strings.Join(c.failures, "|") != strings.Join(want, "|") {
			t.Errorf("failures %q, want %q", c.failures, want)
		}
	}
}
