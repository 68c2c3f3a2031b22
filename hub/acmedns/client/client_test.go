// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRegisterRetriesBusy: /register answered 503 busy and 429 is asked
// again after the server's Retry-After, RegisterAttempts times at most.
func TestRegisterRetriesBusy(t *testing.T) {
	var calls, busyFor atomic.Int32
	busyFor.Store(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, busy := calls.Add(1), busyFor.Load()
		switch {
		case n <= busy && n%2 == 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case n <= busy:
			w.WriteHeader(http.StatusTooManyRequests) // no Retry-After: one second
		default:
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"username":"u"}`))
		}
	}))
	defer srv.Close()
	start := time.Now()
	status, answer, err := New().Register(context.Background(), srv.URL, nil, "", "")
	if err != nil || status != http.StatusCreated || answer != `{"username":"u"}` || calls.Load() != 3 {
		t.Fatalf("Register = %d %q %v after %d calls", status, answer, err, calls.Load())
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("retried after %v, before the two Retry-After seconds", waited)
	}

	calls.Store(0)
	busyFor.Store(100)
	status, _, err = New().Register(context.Background(), srv.URL, nil, "", "")
	if err != nil || status != http.StatusServiceUnavailable || calls.Load() != RegisterAttempts {
		t.Errorf("a server busy for good: %d %v after %d calls, want %d calls", status, err, calls.Load(), RegisterAttempts)
	}
}
