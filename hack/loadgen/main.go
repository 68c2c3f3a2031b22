// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command loadgen measures POST /update: it registers one account per client,
// then has every client update its account as fast as answers come back, and
// prints requests per second and latency percentiles. With -attackers, that
// many more clients, each from its own loopback address (127.1.x.y), send
// wrong credentials meanwhile as fast as they are answered.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

type account struct {
	Username, Password, Subdomain string
}

// register registers n accounts with the API.
func register(api string, n int) []account {
	accts := make([]account, n)
	for i := range accts {
		resp, err := http.Post(api+"/register", "application/json", nil)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.NewDecoder(resp.Body).Decode(&accts[i]); err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	return accts
}

func main() {
	api := flag.String("api", "http://127.0.0.1:8080", "acmehub or acme-dns API")
	clients := flag.Int("clients", 8, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to load")
	attackers := flag.Int("attackers", 0, "clients sending wrong credentials, each from its own loopback address")
	flag.Parse()

	accts := register(*api, *clients)
	transport := &http.Transport{MaxIdleConnsPerHost: *clients}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	update := func(a account, value string) (int, error) {
		body := fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, a.Subdomain, value)
		req, _ := http.NewRequest("POST", *api+"/update", bytes.NewBufferString(body))
		req.Header.Set("X-Api-User", a.Username)
		req.Header.Set("X-Api-Key", a.Password)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Each client once before measuring, as a client renewing regularly is
	// known to the server.
	for c, a := range accts {
		if code, err := update(a, fmt.Sprintf("%043d", c)); err != nil || code != 200 {
			log.Fatalf("first update: %d %v", code, err)
		}
	}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(*duration)
	begin := time.Now()
	for c := range *clients {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for i := 1; time.Now().Before(deadline); i++ {
				start := time.Now()
				if code, err := update(accts[c], fmt.Sprintf("%043d", c*100000000+i)); err != nil || code != 200 {
					bad++
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			failures += bad
			mu.Unlock()
		})
	}
	attacks := attack(*api, *attackers, deadline)
	wg.Wait()
	elapsed := time.Since(begin)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(float64(len(latencies)-1)*p)]
	}
	fmt.Printf("update: %d clients, %.1f s: %d ok, %d failed, %.0f requests/s, p50 %v, p99 %v\n",
		*clients, elapsed.Seconds(), len(latencies), failures, float64(len(latencies))/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	if *attackers > 0 {
		codes := attacks()
		fmt.Printf("meanwhile %d attackers with wrong credentials got:", *attackers)
		for _, c := range slices.Sorted(maps.Keys(codes)) {
			fmt.Printf(" %d×%d", codes[c], c)
		}
		fmt.Println()
	}
}

// attack starts n clients sending wrong credentials until deadline, each
// from 127.1.x.y; the function it returns waits for them and counts the
// answers by status (0: no answer).
func attack(api string, n int, deadline time.Time) func() map[int]int {
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
	)
	for i := range n {
		local := &net.TCPAddr{IP: net.IPv4(127, 1, byte(i/250), byte(i%250+1))}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: local}).DialContext, MaxIdleConnsPerHost: 1,
		}}
		wg.Go(func() {
			mine := map[int]int{}
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("POST", api+"/update", bytes.NewBufferString(`{"subdomain":"x","txt":"y"}`))
				req.Header.Set("X-Api-User", fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
				req.Header.Set("X-Api-Key", fmt.Sprintf("%040d", i))
				resp, err := client.Do(req)
				if err != nil {
					mine[0]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine[resp.StatusCode]++
			}
			mu.Lock()
			for c, k := range mine {
				codes[c] += k
			}
			mu.Unlock()
		})
	}
	return func() map[int]int { wg.Wait(); return codes }
}
