// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hack/dnsload"
	"github.com/acmehub/acmehub/internal/testutil"
)

// TestDNSUnderFlood: the signed server, loopback not exempt from its
// rate limit, under the floods of port 53 on the Internet, while five
// CAs (each from its own /24) ask an account's TXT with DO, as a
// validating resolver does. The figures at full speed and at length are
// `make bench`'s (hack/dnsflood); here each flood lasts two seconds.
func TestDNSUnderFlood(t *testing.T) {
	p, _ := testutil.StartSignedServer(t, 1, "13", "[acmehub]", "rate_limit_exempt = []")
	srv := server{p}
	a := srv.register(t)
	if code, err := srv.update(a, "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"); code != 200 || err != nil {
		t.Fatalf("update: %d %v", code, err)
	}
	ca := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(a.FullDomain+".", dns.TypeTXT)
		m.SetEdns0(1232, true)
		return m
	}
	during := func(t *testing.T, flooders []string, perSecond int, flood func(int) *dns.Msg) (dnsload.FloodResult, dnsload.ProbeResult) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		f, probe, err := dnsload.Contest{Target: p.DNSUDP, Flooders: flooders, FloodRate: perSecond, Flood: flood,
			CAs: dnsload.Sources(200, 5), CARate: 50, CA: ca}.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("flood: %s; the CAs: %s", f, probe)
		if probe.Fraction() < 0.999 {
			t.Errorf("the CAs got %s, want at least 99.9%% answered", probe)
		}
		return f, probe
	}

	t.Run("ANY with DO from one source", func(t *testing.T) {
		flood, _ := during(t, dnsload.Sources(1, 1), 20000, dnsload.ANYWithDO("auth.example.org"))
		if flood.Amplification() > 1 {
			t.Errorf("the flooding source got back %.2f bytes for each byte it sent, want at most 1", flood.Amplification())
		}
	})
	t.Run("random names below the zone from 50 sources", func(t *testing.T) {
		during(t, dnsload.Sources(10, 50), 400, dnsload.RandomNames("auth.example.org"))
		for _, action := range []string{"dropped", "slipped"} {
			if n := metricValue(t, p.API, `acmehub_dns_rate_limited_total{action="`+action+`",class="errors"}`); n < 1000 {
				t.Errorf("%v NXDOMAIN answers %s, want most of the flood's", n, action)
			}
		}
	})
	t.Run("1,000 idle TCP connections from one prefix", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if open := dnsload.IdleTCP(ctx, "127.7.0.1", p.DNSTCP, 1000); open != 64 {
			t.Errorf("%d idle connections held, want tcp_connections_per_prefix's 64", open)
		}
		c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
		c.Dialer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.8.0.1")}, Timeout: 2 * time.Second}
		if r, _, err := c.Exchange(ca(), p.DNSTCP); err != nil || len(r.Answer) == 0 {
			t.Errorf("a client from another prefix: %v %v", r, err)
		}
	})
}

// metricValue reads one sample of the server's /metrics, 0 when absent.
func metricValue(t *testing.T, api, sample string) float64 {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}
