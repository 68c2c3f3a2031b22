// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestSplitArgs(t *testing.T) {
	var f webhookFlags
	fs := f.flagSet()
	tests := []struct {
		args, ours, rest []string
	}{
		{
			args: []string{"--secure-port=8443", "--server-config", "/etc/acmehub/config.cfg", "-v", "2", "--tls-cert-file", "/tls/tls.crt"},
			ours: []string{"--server-config", "/etc/acmehub/config.cfg"},
			rest: []string{"--secure-port=8443", "-v", "2", "--tls-cert-file", "/tls/tls.crt"},
		},
		{
			args: []string{"--server", "--delegation-check=enforce", "--resolvers", "10.0.0.10:53", "--kubeconfig", "k"},
			ours: []string{"--server", "--delegation-check=enforce", "--resolvers", "10.0.0.10:53"},
			rest: []string{"--kubeconfig", "k"},
		},
		{args: []string{"--help"}, rest: []string{"--help"}},
	}
	for _, tt := range tests {
		ours, rest := splitArgs(fs, tt.args)
		if !slices.Equal(ours, tt.ours) || !slices.Equal(rest, tt.rest) {
			t.Errorf("splitArgs(%q) = %q, %q; want %q, %q", tt.args, ours, rest, tt.ours, tt.rest)
		}
	}
	ours, _ := splitArgs(fs, tests[1].args)
	if err := fs.Parse(ours); err != nil || !f.embedded || f.delegationCheck != "enforce" || !slices.Equal(f.resolvers, []string{"10.0.0.10:53"}) {
		t.Errorf("parsed %+v, %v", f, err)
	}
}

// TestRunTogether: the webhook never outlives its embedded server, and the
// embedded server is closed before the webhook returns, however it ends.
func TestRunTogether(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		apiserver func(ctx context.Context) error
		embedded  func(ctx context.Context, closed *atomic.Bool) error
		signal    bool // the process is asked to stop (SIGTERM)
		want      error
	}{
		{"SIGTERM: both stop cleanly",
			func(ctx context.Context) error { <-ctx.Done(); return nil },
			func(ctx context.Context, closed *atomic.Bool) error { <-ctx.Done(); closed.Store(true); return nil },
			true, nil},
		{"the embedded server fails: the webhook stops with an error",
			func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			func(ctx context.Context, closed *atomic.Bool) error { closed.Store(true); return boom },
			false, errEmbeddedStopped},
		{"the embedded server returns early without an error: still an error",
			func(ctx context.Context) error { <-ctx.Done(); return nil },
			func(ctx context.Context, closed *atomic.Bool) error { closed.Store(true); return nil },
			false, errEmbeddedStopped},
		{"the apiserver fails: the embedded server is closed first",
			func(ctx context.Context) error { return boom },
			func(ctx context.Context, closed *atomic.Bool) error {
				<-ctx.Done()
				time.Sleep(10 * time.Millisecond) // a shutdown that takes a moment
				closed.Store(true)
				return nil
			},
			false, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var closed atomic.Bool
			if tt.signal {
				time.AfterFunc(10*time.Millisecond, cancel)
			}
			err := runTogether(ctx, tt.apiserver, func(ctx context.Context) error { return tt.embedded(ctx, &closed) })
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("runTogether = %v, want %v", err, tt.want)
			}
			if !closed.Load() {
				t.Error("returned before the embedded server was closed")
			}
		})
	}
	if err := runTogether(context.Background(), func(context.Context) error { return nil }, nil); err != nil {
		t.Errorf("without an embedded server: %v", err)
	}
}
