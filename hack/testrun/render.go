// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one line of go test -json (cmd/test2json's TestEvent).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail
}

// counts are a stage's tests, subtests included.
type counts struct {
	passed, failed, skipped int
	// failures and skips name each, with a skip's reason.
	failures, skips []string
}

// renderer prints a go test -json stream as go test prints its text: a
// line a package and a failed test's output; with verbose, every line as
// it comes. It counts the tests.
type renderer struct {
	out     io.Writer
	verbose bool
	counts  counts
	// pending holds each running test's output until it ends: printed if
	// it fails, or if its package ends without a word from it (a crash or
	// a timeout); a skipped test's reason is read from it.
	pending map[string][]string
}

func newRenderer(out io.Writer, verbose bool) *renderer {
	return &renderer{out: out, verbose: verbose, pending: map[string][]string{}}
}

// read renders the stream to its end. A line that is not an event (the go
// command's own messages) is printed as it is.
func (r *renderer) read(stream io.Reader) {
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(r.out, sc.Text())
			continue
		}
		r.event(e)
	}
}

func (r *renderer) event(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.out, e.Output)
	case e.Action == "build-fail":
		r.counts.failed++
		r.counts.failures = append(r.counts.failures, shortPackage(e.ImportPath)+": build failed")
	case e.Test == "" && e.Action == "output":
		if r.verbose || e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
			fmt.Fprint(r.out, e.Output)
		}
	case e.Test == "" && e.Action == "fail":
		// The package ended badly: whatever its tests said that no end
		// of theirs printed is the story.
		for k, lines := range r.pending {
			if strings.HasPrefix(k, e.Package+" ") {
				r.flush(lines)
				delete(r.pending, k)
			}
		}
	case e.Test == "":
	case e.Action == "output":
		if r.verbose {
			fmt.Fprint(r.out, e.Output)
		}
		r.pending[key] = append(r.pending[key], e.Output)
	case e.Action == "pass":
		r.counts.passed++
		delete(r.pending, key)
	case e.Action == "skip":
		r.counts.skipped++
		r.counts.skips = append(r.counts.skips, fmt.Sprintf("%s %s: %s", shortPackage(e.Package), e.Test, skipReason(r.pending[key])))
		delete(r.pending, key)
	case e.Action == "fail":
		r.counts.failed++
		r.counts.failures = append(r.counts.failures, shortPackage(e.Package)+" "+e.Test)
		r.flush(r.pending[key])
		delete(r.pending, key)
	}
}

// finish prints what no event ended: the stream stopped short.
func (r *renderer) finish() {
	for k, lines := range r.pending {
		r.flush(lines)
		delete(r.pending, k)
	}
}

// flush prints a test's held output, unless verbose printed it already.
func (r *renderer) flush(lines []string) {
	if !r.verbose {
		fmt.Fprint(r.out, strings.Join(lines, ""))
	}
}

// skipReason is the last thing a skipped test said before its SKIP line.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--- SKIP") && !strings.HasPrefix(l, "=== ") {
			return l
		}
	}
	return "no reason given"
}

func shortPackage(p string) string {
	return strings.TrimPrefix(p, "github.com/acmehub/acmehub/")
}
