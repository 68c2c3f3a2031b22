// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// CurrentFake is the fake API the test under way talks to, for a package
// whose process's requests go to one proxy (MainBehindProxy).
type CurrentFake struct {
	mu sync.Mutex
	h  http.Handler
}

// Set makes h the fake that answers from now on.
func (c *CurrentFake) Set(h http.Handler) {
	c.mu.Lock()
	c.h = h
	c.mu.Unlock()
}

// ServeHTTP answers with the current fake.
func (c *CurrentFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	h := c.h
	c.mu.Unlock()
	h.ServeHTTP(w, r)
}

// MainBehindProxy runs a package's tests with the process's requests for
// hosts sent to h (see ProxyHTTPS): for client libraries that have the
// API's address built in but go through HTTPS_PROXY. adjust, when not nil,
// changes the environment first (AWSEnv). It returns m.Run's code.
func MainBehindProxy(m *testing.M, h http.Handler, adjust func([]string) []string, hosts ...string) int {
	dir, err := os.MkdirTemp("", "acmehub-api-proxy")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	env, stop, err := ProxyHTTPS(h, dir, hosts...)
	if err != nil {
		panic(err)
	}
	defer stop()
	if adjust != nil {
		env = adjust(env)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	return m.Run()
}

// proxyEnv is the environment that sends a child process's requests for
// hosts to h (see ProxyHTTPS), until the test ends.
func proxyEnv(t testing.TB, h http.Handler, hosts ...string) []string {
	t.Helper()
	env, stop, err := ProxyHTTPS(h, t.TempDir(), hosts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return env
}

// callLog keeps the calls a fake API answered, for a test to compare with
// the calls the real API takes.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) record(call string) {
	l.mu.Lock()
	l.calls = append(l.calls, call)
	l.mu.Unlock()
}

// Calls are the calls answered so far.
func (l *callLog) Calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// Took checks that the fake answered every call in want, among others.
func (l *callLog) Took(t testing.TB, want ...string) {
	t.Helper()
	calls := l.Calls()
	for _, w := range want {
		if !slices.Contains(calls, w) {
			t.Errorf("no call %s among %q", w, calls)
		}
	}
}

// writeJSON answers status with body in JSON.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if body != nil {
		json.NewEncoder(w).Encode(body)
	}
}
