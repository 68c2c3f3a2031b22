// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package accounts

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/google/uuid"

	"github.com/acmehub/acmehub/hub/store"
)

// BenchmarkIndexMemory reports the heap one account costs in the index, with
// one TXT value each, as the server holds them after loading.
func BenchmarkIndexMemory(b *testing.B) {
	const n = 100_000
	subs := make([]string, n)
	values := make([]string, n)
	for i := range subs {
		subs[i] = uuid.NewString()
		values[i] = fmt.Sprintf("%043d", i)
	}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := NewIndex()
		snap := x.BeginSnapshot(n)
		for i, sub := range subs {
			// As the store hands them over: fresh strings per account.
			snap.Add(string([]byte(sub)), store.TXTSet{Values: []string{string([]byte(values[i]))}, Version: 1})
		}
		x.Replace(snap)
		snap = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/account")
		runtime.KeepAlive(x)
	}
}
