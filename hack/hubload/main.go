// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command hubload measures the managed-challenge hub as its clients use
// it: that many httpreq clients present and clean up values over HTTPS
// keep-alive, as fast as answers come back, each at a name of its own,
// while one Certify client times requestbegin → succeeded. The httpreq
// clients write their requests straight to their TLS connection, so that
// the load generator, on the same machine, takes little of the CPU it
// measures the server by. It prints pairs
// per second, the server's CPU time a pair (with -pid) and the operation's
// latency percentiles, from its dateCreated to its dateCompleted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acmehub/acmehub/hub/certifyapi"
)

// options are the flags of a run.
type options struct {
	hub, ca, token, label, zone string
	clients, pid                int
	duration                    time.Duration
}

// token is what acmehub admin tokens create -o json prints.
type token struct{ ClientID, Secret string }

func main() {
	var o options
	flag.StringVar(&o.hub, "hub", "https://127.0.0.1:8443", "the hub's base URL")
	flag.StringVar(&o.ca, "ca", "", "PEM certificate the hub's certificate must chain to")
	flag.StringVar(&o.token, "token", "", "JSON file with the consumer token's ClientID and Secret")
	flag.StringVar(&o.label, "label", "hub", "what the figures are of, in the report")
	flag.StringVar(&o.zone, "zone", "example.com", "the zone of a config of provider self")
	flag.IntVar(&o.clients, "clients", 16, "httpreq clients presenting and cleaning up at once")
	flag.IntVar(&o.pid, "pid", 0, "the server's process ID, to report its CPU time a pair")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to load")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// load is one run's client and counters.
type load struct {
	o      options
	tok    token
	client *http.Client
	pairs  atomic.Int64
	failed atomic.Int64
	errMu  sync.Mutex
	errs   map[string]int
}

func run(o options) error {
	l := &load{o: o, errs: map[string]int{}}
	raw, err := os.ReadFile(o.token)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &l.tok); err != nil || l.tok.Secret == "" {
		return fmt.Errorf("token file %s: want acmehub admin tokens create -o json (%v)", o.token, err)
	}
	if l.client, err = newClient(o.ca, 1); err != nil {
		return err
	}
	conns := make([]*rawConn, o.clients)
	for c := range conns { // one pair each first: connections open, names known
		if conns[c], err = l.dial(); err != nil {
			return err
		}
		defer conns[c].conn.Close() //nolint:errcheck // the load is over
		if err := l.pair(conns[c], c, 0); err != nil {
			return fmt.Errorf("first pair: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	cpu0, own0 := cpuSeconds(o.pid), cpuSeconds(os.Getpid())
	start := time.Now()
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for i := 1; ctx.Err() == nil; i++ {
				if err := l.pair(conns[c], c, i); err != nil {
					l.fail(err)
					return // the connection is in an unknown state
				}
			}
		})
	}
	var latencies []time.Duration
	wg.Go(func() { latencies = l.probe(ctx) })
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cpu, own := cpuSeconds(o.pid)-cpu0, cpuSeconds(os.Getpid())-own0
	l.report(elapsed, cpu, own, latencies)
	return nil
}

func (l *load) report(elapsed, cpu, own float64, latencies []time.Duration) {
	pairs := l.pairs.Load()
	line := fmt.Sprintf("%s: %.0f pairs/s (%d httpreq clients over HTTPS keep-alive, provider self)", l.o.label, float64(pairs)/elapsed, l.o.clients)
	if l.o.pid > 0 && pairs > 0 {
		line += fmt.Sprintf(", server CPU %.3f ms a pair (clients' %.3f ms)", cpu/float64(pairs)*1000, own/float64(pairs)*1000)
	}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		line += fmt.Sprintf("; requestbegin→succeeded p50 %s, p99 %s (%d operations)",
			pct(latencies, 0.50), pct(latencies, 0.99), len(latencies))
	}
	fmt.Printf("%s, %d failures\n", line, l.failed.Load())
	for e, n := range l.errs {
		fmt.Printf("  %dx %s\n", n, e)
	}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))].Round(10 * time.Microsecond)
}

func (l *load) fail(err error) {
	l.failed.Add(1)
	l.errMu.Lock()
	l.errs[err.Error()]++
	l.errMu.Unlock()
}

// pair presents a value at client c's name and cleans it up, on conn.
func (l *load) pair(conn *rawConn, c, i int) error {
	body := fmt.Sprintf(`{"fqdn":"_acme-challenge.load-%d.%s.","value":"%043d"}`, c, l.o.zone, c*1_000_000_000+i)
	for _, action := range []string{"present", "cleanup"} {
		if err := conn.post("/httpreq/"+action, body); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
	}
	l.pairs.Add(1)
	return nil
}

// rawConn is one keep-alive HTTPS connection to the hub on which requests
// are written by hand and answers read with net/http's parser.
type rawConn struct {
	host, auth string
	conn       *tls.Conn
	r          *bufio.Reader
	w          *bufio.Writer
}

func (l *load) dial() (*rawConn, error) {
	u, err := url.Parse(l.o.hub)
	if err != nil {
		return nil, err
	}
	cfg := l.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.ServerName = u.Hostname()
	c, err := tls.Dial("tcp", u.Host, cfg)
	if err != nil {
		return nil, err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(l.tok.ClientID + ":" + l.tok.Secret))
	return &rawConn{host: u.Host, auth: auth, conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}, nil
}

func (c *rawConn) post(path, body string) error {
	fmt.Fprintf(c.w, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, c.host, c.auth, len(body), body)
	if err := c.w.Flush(); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

// do sends req and decodes a 2xx answer into out (when not nil).
func (l *load) do(req *http.Request, out any) (int, error) {
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(body, out)
	}
	return resp.StatusCode, nil
}

// probe runs Certify operations one after another until ctx ends and
// returns how long each took the hub, from dateCreated to dateCompleted.
func (l *load) probe(ctx context.Context) []time.Duration {
	var out []time.Duration
	for i := 0; ctx.Err() == nil; i++ {
		d, err := l.operation(fmt.Sprintf("probe-%d.%s", i, l.o.zone), fmt.Sprintf("%043d", i))
		if err != nil {
			l.fail(fmt.Errorf("certify: %w", err))
			continue
		}
		out = append(out, d)
	}
	return out
}

func (l *load) operation(identifier, value string) (time.Duration, error) {
	body, _ := json.Marshal(certifyapi.Request{ChallengeType: "dns-01", Identifier: identifier, ResponseKey: "_acme-challenge." + identifier,
		ResponseValue: value, AuthKey: l.tok.ClientID, AuthSecret: l.tok.Secret})
	base := l.o.hub + certifyapi.Base
	req, _ := http.NewRequest(http.MethodPost, base+"/requestbegin", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	var op certifyapi.Operation
	if _, err := l.do(req, &op); err != nil {
		return 0, fmt.Errorf("requestbegin: %w", err)
	}
	for op.Status != certifyapi.Succeeded {
		if op.Status == certifyapi.Failed {
			return 0, fmt.Errorf("operation failed: %+v", op.Result)
		}
		time.Sleep(2 * time.Millisecond)
		req, _ := http.NewRequest(http.MethodGet, base+"/requeststatus/"+op.ID, nil)
		if _, err := l.do(req, &op); err != nil {
			return 0, fmt.Errorf("requeststatus: %w", err)
		}
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/cleanup", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	var res certifyapi.Result
	if _, err := l.do(req, &res); err != nil || !res.IsSuccess {
		return 0, fmt.Errorf("cleanup: %v %+v", err, res)
	}
	if op.DateCompleted == nil {
		return 0, fmt.Errorf("operation %s succeeded without dateCompleted", op.ID)
	}
	return op.DateCompleted.Sub(op.DateCreated), nil
}

// newClient makes an HTTP client keeping a connection for each of conns
// clients, trusting the certificate in ca (when set).
func newClient(ca string, conns int) (*http.Client, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, ForceAttemptHTTP2: false,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", ca)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// cpuSeconds is the user and system CPU time process pid has used (0
// without pid), from /proc/<pid>/stat.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the command name, which ends with the last ')': state is
	// the first, utime the 12th and stime the 13th.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	var utime, stime float64
	if _, err := fmt.Sscan(fields[11], &utime); err != nil {
		log.Fatalf("utime in /proc/%d/stat: %v", pid, err)
	}
	if _, err := fmt.Sscan(fields[12], &stime); err != nil {
		log.Fatalf("stime in /proc/%d/stat: %v", pid, err)
	}
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times on Linux.
const clockTicks = 100
