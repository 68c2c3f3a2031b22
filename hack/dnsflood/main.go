// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command dnsflood measures a DNS server under the floods of port 53 on
// the Internet, from loopback sources in distinct /24 prefixes, while
// five CAs ask an account's TXT with DO, and prints the figures:
//
//   - ANY with DO from one source as fast as it can send: the share of the
//     CAs' questions answered, their p99, and the bytes the flooding source
//     got back for each byte it sent;
//   - random names below the zone from 50 sources as fast as they can;
//   - 1,000 idle TCP connections from one prefix, then the time a client
//     from another prefix waits for its answer over TCP.
//
// The server must not exempt loopback from its rate limit.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hack/dnsload"
)

func main() {
	udp := flag.String("udp", "127.0.0.1:15353", "the server's DNS over UDP")
	tcp := flag.String("tcp", "127.0.0.1:15353", "the server's DNS over TCP")
	name := flag.String("name", "", "an account's fully qualified name holding a value")
	zone := flag.String("zone", "auth.example.org.", "the zone")
	duration := flag.Duration("duration", 10*time.Second, "how long each flood lasts")
	caRate := flag.Int("ca-rate", 200, "questions a second from each of the five CAs")
	floodRate := flag.Int("flood-rate", 0, "questions a second the flood sends in all (0: as fast as it can)")
	only := flag.String("only", "", "run one flood only: any, random or tcp")
	flag.Parse()
	if *name == "" {
		fmt.Fprintln(os.Stderr, "dnsflood: -name is required")
		os.Exit(2)
	}
	ca := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(*name), dns.TypeTXT)
		m.SetEdns0(1232, true)
		return m
	}
	during := func(kind, label string, flooders []string, question func(int) *dns.Msg) {
		if *only != "" && *only != kind {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), *duration)
		defer cancel()
		flood, probe, err := dnsload.Contest{Target: *udp, Flooders: flooders, FloodRate: *floodRate / len(flooders), Flood: question,
			CAs: dnsload.Sources(200, 5), CARate: *caRate, CA: ca}.Run(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dnsflood:", err)
			os.Exit(1)
		}
		fmt.Printf("flood, %s: %.0f questions/s sent, amplification %.3f (%d bytes back for %d); CAs (5 × %d/s): %s\n",
			label, float64(flood.Sent)/duration.Seconds(), flood.Amplification(), flood.ReceivedBytes, flood.SentBytes,
			*caRate, probe)
	}
	during("any", "ANY+DO from one source", dnsload.Sources(1, 1), dnsload.ANYWithDO(*zone))
	during("random", "random names from 50 sources", dnsload.Sources(10, 50), dnsload.RandomNames(*zone))
	if *only != "" && *only != "tcp" {
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	open := dnsload.IdleTCP(ctx, "127.7.0.1", *tcp, 1000)
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second,
		Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.8.0.1")}, Timeout: 5 * time.Second}}
	start := time.Now()
	r, _, err := c.Exchange(ca(), *tcp)
	took := time.Since(start)
	cancel()
	if err != nil || len(r.Answer) == 0 {
		fmt.Printf("idle TCP: %d of 1,000 idle connections held; a client from another prefix NOT answered: %v\n", open, err)
		os.Exit(1)
	}
	fmt.Printf("idle TCP: %d of 1,000 idle connections from one prefix held; a client from another prefix answered in %s\n",
		open, took.Round(10*time.Microsecond))
}
