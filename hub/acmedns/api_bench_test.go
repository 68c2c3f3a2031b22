// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/acmedns/accounts"
)

// BenchmarkUpdateAmongWrongKeys is the lockout scenario over HTTP: from one
// address, 64 clients send wrong keys for an account while 4 clients send
// its right key (verified once before) with /update. It reports the valid
// calls' p50 and p99 (goal: under 50 ms) and fails on any valid call not
// answered 200.
func BenchmarkUpdateAmongWrongKeys(b *testing.B) {
	svc := accounts.New(memStore(b), accounts.Options{Domain: "auth.example.org", MaxTXTLimit: 10, CredentialCacheSize: 100})
	reg, err := svc.Register(context.Background(), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(New(svc, Options{FailedAuthPerMinute: 120, FailedAuthPerAddressPerMinute: 1200}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second}
	update := func(key string) (int, time.Duration) {
		body := `{"subdomain":"` + reg.Subdomain + `","txt":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}`
		req, _ := http.NewRequest("POST", srv.URL+"/update", strings.NewReader(body))
		req.Header.Set("X-Api-User", reg.Username)
		req.Header.Set("X-Api-Key", key)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, time.Since(start)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if code, _ := update(reg.Password); code != 200 {
		b.Fatalf("the first valid call: %d", code)
	}
	stop := make(chan struct{})
	var attackers sync.WaitGroup
	for range 64 {
		attackers.Go(func() {
			wrong := accounts.NewPassword()
			for {
				select {
				case <-stop:
					return
				default:
					update(wrong)
				}
			}
		})
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		valid     sync.WaitGroup
	)
	b.ResetTimer()
	for w := range 4 {
		valid.Go(func() {
			for i := w; i < b.N; i += 4 {
				code, d := update(reg.Password)
				if code != 200 {
					b.Errorf("a valid call among wrong keys: %d", code)
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		})
	}
	valid.Wait()
	b.StopTimer()
	close(stop)
	attackers.Wait()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		b.ReportMetric(float64(latencies[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[n*99/100].Microseconds())/1000, "p99-ms")
	}
}
