// Command loadgen measures POST /update: it registers one account per client,
// then has every client update its account as fast as answers come back, and
// prints requests per second and latency percentiles.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"sync"
	"time"
)

type account struct {
	Username, Password, Subdomain string
}

func main() {
	api := flag.String("api", "http://127.0.0.1:8080", "acmehub or acme-dns API")
	clients := flag.Int("clients", 8, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to load")
	flag.Parse()

	accts := make([]account, *clients)
	for i := range accts {
		resp, err := http.Post(*api+"/register", "application/json", nil)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.NewDecoder(resp.Body).Decode(&accts[i]); err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	transport := &http.Transport{MaxIdleConnsPerHost: *clients}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

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
			for i := 0; time.Now().Before(deadline); i++ {
				body := fmt.Sprintf(`{"subdomain":%q,"txt":"%043d"}`, accts[c].Subdomain, c*100000000+i)
				req, _ := http.NewRequest("POST", *api+"/update", bytes.NewBufferString(body))
				req.Header.Set("X-Api-User", accts[c].Username)
				req.Header.Set("X-Api-Key", accts[c].Password)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
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
}
