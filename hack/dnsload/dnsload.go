// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnsload sends DNS traffic from chosen loopback sources, as a
// flood and as a CA's steady questions, and measures what comes back:
// for the flood tests and for `make bench`. 127.0.0.0/8 is all loopback,
// so 127.1.0.1, 127.2.0.1, … are sources in distinct /24 prefixes.
package dnsload

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// FloodResult is what a flood sent and got back.
type FloodResult struct {
	Sent, Received           int64 // packets
	SentBytes, ReceivedBytes int64
}

// Amplification is the bytes received for each byte sent.
func (r FloodResult) Amplification() float64 {
	if r.SentBytes == 0 {
		return 0
	}
	return float64(r.ReceivedBytes) / float64(r.SentBytes)
}

func (r FloodResult) String() string {
	return fmt.Sprintf("%d packets (%d bytes) sent, %d (%d bytes) back: amplification %.3f",
		r.Sent, r.SentBytes, r.Received, r.ReceivedBytes, r.Amplification())
}

// Flood sends the questions question(i) makes from each source to target
// until ctx ends, without waiting for answers, at most perSecond a source
// (0: as fast as it can), and counts what comes back.
//
// As fast as it can, its goroutines are held to the first CPU (pin): they
// stand for packets arriving from a network, which cost the server its
// reception of them, not the cores it answers on. Each then holds a
// thread of its own, and gets a P of its own for the flood's length, so
// that the goroutines of the same process that measure (Probe) never wait
// behind them. At a set rate they take what that rate costs, where the
// scheduler puts them.
func Flood(ctx context.Context, sources []string, target string, perSecond int, question func(i int) *dns.Msg) (FloodResult, error) {
	hold := func() {}
	if perSecond == 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 2*len(sources)))
		hold = pin
	}
	var res FloodResult
	var wg sync.WaitGroup
	errs := make(chan error, len(sources))
	for _, src := range sources {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
		if err != nil {
			return res, fmt.Errorf("flood source %s: %w", src, err)
		}
		raddr, err := net.ResolveUDPAddr("udp", target)
		if err != nil {
			_ = conn.Close()
			return res, err
		}
		if err := conn.SetReadBuffer(4 << 20); err != nil {
			_ = conn.Close()
			return res, fmt.Errorf("flood source %s: %w", src, err)
		}
		wg.Go(func() { // the answers
			hold()
			buf := make([]byte, 65535)
			for {
				n, err := conn.Read(buf)
				if err != nil {
					return
				}
				atomic.AddInt64(&res.Received, 1)
				atomic.AddInt64(&res.ReceivedBytes, int64(n))
			}
		})
		wg.Go(func() {
			hold()
			defer func() { _ = conn.Close() }()
			var packets [][]byte
			for i := range 256 {
				m := question(i)
				m.Id = uint16(i)
				b, err := m.Pack()
				if err != nil {
					errs <- err
					return
				}
				packets = append(packets, b)
			}
			var every time.Duration
			if perSecond > 0 {
				every = time.Second / time.Duration(perSecond)
			}
			next := time.Now()
			for i := 0; ctx.Err() == nil; i++ {
				b := packets[i%len(packets)]
				if _, err := conn.WriteToUDP(b, raddr); err == nil {
					atomic.AddInt64(&res.Sent, 1)
					atomic.AddInt64(&res.SentBytes, int64(len(b)))
				}
				if every > 0 {
					next = next.Add(every)
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
				}
			}
			time.Sleep(200 * time.Millisecond) // the last answers
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return res, err
	default:
	}
	return res, nil
}

// ProbeResult is what steady questions got.
type ProbeResult struct {
	Asked, Answered int
	Latencies       []time.Duration // of the answered, sorted
}

// Fraction is the share of questions answered.
func (r ProbeResult) Fraction() float64 {
	if r.Asked == 0 {
		return 0
	}
	return float64(r.Answered) / float64(r.Asked)
}

// Percentile is the latency below which p (0 to 1) of the answers came.
func (r ProbeResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(p*float64(len(r.Latencies))))]
}

func (r ProbeResult) String() string {
	return fmt.Sprintf("%d of %d answered (%.3f%%), p50 %s, p99 %s", r.Answered, r.Asked, 100*r.Fraction(),
		r.Percentile(0.5).Round(10*time.Microsecond), r.Percentile(0.99).Round(10*time.Microsecond))
}

// Probe asks question, perSecond times a second from each source, until
// ctx ends: each question once, over UDP, waiting up to timeout for a
// complete answer (a truncated one counts as not answered: a CA would
// have to ask again over TCP). An answer's latency runs from just before
// its question is written to the answer's arrival as the kernel stamped
// it, so that the time this process waits for a core to read it (which a
// flood on the same machine lengthens) is not counted as the server's.
func Probe(ctx context.Context, sources []string, target string, perSecond int, timeout time.Duration, question func() *dns.Msg) ProbeResult {
	var (
		mu  sync.Mutex
		res ProbeResult
		wg  sync.WaitGroup
	)
	every := time.Second / time.Duration(perSecond)
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return res
	}
	for _, src := range sources {
		wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			var inflight sync.WaitGroup
			defer inflight.Wait()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				inflight.Go(func() {
					d, ok := exchange(question(), &net.UDPAddr{IP: net.ParseIP(src)}, raddr, timeout)
					mu.Lock()
					defer mu.Unlock()
					res.Asked++
					if ok {
						res.Answered++
						res.Latencies = append(res.Latencies, d)
					}
				})
			}
		})
	}
	wg.Wait()
	slices.Sort(res.Latencies)
	return res
}

// exchange asks q from src and reports how long its complete answer took
// to arrive, and whether one did within timeout.
func exchange(q *dns.Msg, src, target *net.UDPAddr, timeout time.Duration) (time.Duration, bool) {
	q.Id = dns.Id()
	b, err := q.Pack()
	if err != nil {
		return 0, false
	}
	conn, err := net.DialUDP("udp", src, target)
	if err != nil {
		return 0, false
	}
	defer func() { _ = conn.Close() }()
	stampArrivals(conn)
	start := time.Now()
	_ = conn.SetDeadline(start.Add(timeout))
	if _, err := conn.Write(b); err != nil {
		return 0, false
	}
	buf, oob := make([]byte, 65535), make([]byte, 128)
	for {
		n, oobn, _, _, err := conn.ReadMsgUDP(buf, oob)
		if err != nil {
			return 0, false
		}
		at := arrival(oob[:oobn])
		if at.IsZero() {
			at = time.Now()
		}
		r := new(dns.Msg)
		if r.Unpack(buf[:n]) != nil || r.Id != q.Id {
			continue // not the answer to this question
		}
		return at.Sub(start), !r.Truncated && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
	}
}

// Contest is a flood and the CAs' steady questions at once.
type Contest struct {
	Target string
	// Flooders send Flood's questions, FloodRate a second each (0: as fast
	// as they can).
	Flooders  []string
	FloodRate int
	Flood     func(int) *dns.Msg
	// CAs ask CA's question CARate times a second each, waiting a second
	// at most for each answer.
	CAs    []string
	CARate int
	CA     func() *dns.Msg
}

// Run runs the contest until ctx ends.
func (c Contest) Run(ctx context.Context) (FloodResult, ProbeResult, error) {
	type flooded struct {
		r   FloodResult
		err error
	}
	done := make(chan flooded, 1)
	go func() {
		r, err := Flood(ctx, c.Flooders, c.Target, c.FloodRate, c.Flood)
		done <- flooded{r, err}
	}()
	probe := Probe(ctx, c.CAs, c.Target, c.CARate, time.Second, c.CA)
	f := <-done
	return f.r, probe, f.err
}

// IdleTCP opens n connections to target from source and holds them
// without asking anything until ctx ends; it returns how many the server
// accepted and kept open after a moment.
func IdleTCP(ctx context.Context, source, target string, n int) (open int) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: time.Second}
	var conns []net.Conn
	for range n {
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			continue
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				open++ // still open, waiting
			}
		}
	}
	go func() {
		<-ctx.Done()
		for _, c := range conns {
			c.Close()
		}
	}()
	return open
}

// Sources are n loopback sources in distinct /24 prefixes, from 127.<first>.0.1.
func Sources(first, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("127.%d.%d.1", (first+i)%256, (first+i)/256))
	}
	return out
}

// ANYWithDO is the amplifier's question: ANY at zone with DO and a
// buffer of 4,096 bytes.
func ANYWithDO(zone string) func(int) *dns.Msg {
	return func(int) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(zone), dns.TypeANY)
		m.SetEdns0(4096, true)
		return m
	}
}

// RandomNames is a water-torture flood: TXT at names below zone that do
// not exist.
func RandomNames(zone string) func(int) *dns.Msg {
	return func(i int) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("r%x-%d.%s", time.Now().UnixNano(), i, dns.Fqdn(zone)), dns.TypeTXT)
		return m
	}
}
