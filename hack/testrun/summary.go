// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// summarize prints what ran: each stage with its time and counts, the
// PostgreSQL used, what was opted out, every skipped and failed test, and
// a closing line of totals. It returns the run's exit code.
func summarize(out io.Writer, results []result, elapsed time.Duration, pg *postgres, interrupted bool) int {
	fmt.Fprintf(out, "\n==> summary\n")
	row := "%-12s %8s  %-6s %7s %7s %7s\n"
	fmt.Fprintf(out, row, "stage", "time", "result", "passed", "failed", "skipped")
	var total counts
	ok := !interrupted
	for _, r := range results {
		verdict := "ok"
		if !r.ok {
			verdict, ok = "FAIL", false
		}
		if !r.counted {
			fmt.Fprintf(out, row, r.name, round(r.elapsed), verdict, "", "", "")
			if !r.ok {
				total.failed++
				total.failures = append(total.failures, r.name)
			}
			continue
		}
		c := r.counts
		fmt.Fprintf(out, row, r.name, round(r.elapsed), verdict, fmt.Sprint(c.passed), fmt.Sprint(c.failed), fmt.Sprint(c.skipped))
		total.passed += c.passed
		total.failed += c.failed
		total.skipped += c.skipped
		total.failures = append(total.failures, c.failures...)
		total.skips = append(total.skips, c.skips...)
	}
	verdict := "ok"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, row, "all", round(elapsed), verdict, "", "", "")

	fmt.Fprintf(out, "PostgreSQL: %s\n", pg.note)
	if names := optedOutNames(); len(names) > 0 {
		fmt.Fprintf(out, "opted out ($%s): %s\n", skipEnv, strings.Join(names, ", "))
	} else {
		fmt.Fprintf(out, "opted out ($%s): none\n", skipEnv)
	}
	list(out, "skipped", total.skips)
	list(out, "failed", total.failures)
	if interrupted {
		fmt.Fprintln(out, "interrupted: the stages after the one running were not run")
	}
	fmt.Fprintf(out, "total: %d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped)
	switch {
	case interrupted:
		return 130
	case !ok:
		return 1
	}
	return 0
}

func list(out io.Writer, what string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(out, "%s:\n", what)
	for _, it := range items {
		fmt.Fprintf(out, "  %s\n", it)
	}
}

func round(d time.Duration) time.Duration {
	return d.Round(time.Second)
}
