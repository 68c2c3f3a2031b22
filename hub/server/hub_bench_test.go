// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acmehub/acmehub/hub/config"
)

// BenchmarkHTTPReqPairs: present and cleanup pairs through the httpreq
// front door, 16 clients at once, the self provider, durable writes
// (SQLite, synchronous=FULL), no rate limit. Reports pairs/s.
func BenchmarkHTTPReqPairs(b *testing.B) {
	srv, tok := startManaged(b, func(c *config.Config) { c.Hub.RequestsPerMinute = 0 })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(action, value string) error {
		body, _ := json.Marshal(map[string]string{"fqdn": "_acme-challenge.www.example.com.", "value": value})
		req, _ := http.NewRequest(http.MethodPost, hubURL(srv, "/httpreq/"+action), bytes.NewReader(body))
		req.SetBasicAuth(tok.ClientID, tok.Secret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body) // read to the end, so the connection is kept
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d", action, resp.StatusCode)
		}
		return nil
	}
	var n atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := n.Add(1); i <= int64(b.N); i = n.Add(1) {
				v := fmt.Sprintf("bench-%02d-%09d-%s", c, i, "xxxxxxxxxxxxxxxxxxxx")
				if err := post("present", v); err != nil {
					b.Error(err)
					return
				}
				if err := post("cleanup", v); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
}

// BenchmarkAuthenticate: checking a token's client ID and secret (a read
// of the token and a keyed hash; no bcrypt).
func BenchmarkAuthenticate(b *testing.B) {
	srv, tok := startManaged(b, nil)
	svc, ctx := srv.Managed(), context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, tok.ClientID, tok.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestBeginToSucceeded: from Certify's requestbegin to its
// operation's status succeeded, with the self provider, no rate limit.
func BenchmarkRequestBeginToSucceeded(b *testing.B) {
	srv, tok := startManaged(b, func(c *config.Config) { c.Hub.RequestsPerMinute = 0 })
	base := hubURL(srv, "/api/v1/managedchallenge")
	client := &http.Client{}
	i := 0
	for b.Loop() {
		i++
		body := certifyRequest(tok, fmt.Sprintf("h%d.example.com", i), "")
		raw, _ := json.Marshal(body)
		resp, err := client.Post(base+"/requestbegin", "application/json", bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		var op struct{ ID, Status string }
		json.NewDecoder(resp.Body).Decode(&op)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("requestbegin: %d", resp.StatusCode)
		}
		for op.Status != "succeeded" {
			if op.Status == "failed" {
				b.Fatalf("operation failed")
			}
			r, err := client.Get(base + "/requeststatus/" + op.ID)
			if err != nil {
				b.Fatal(err)
			}
			json.NewDecoder(r.Body).Decode(&op)
			r.Body.Close()
			if r.StatusCode != http.StatusOK {
				b.Fatalf("requeststatus: %d", r.StatusCode)
			}
		}
	}
}
