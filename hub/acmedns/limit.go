package acmedns

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimits is a token bucket per client: an IPv4 address, or an IPv6 /64
// (one host's share of a network, which it could otherwise rotate through).
// Buckets unused for a while are forgotten; they would be full again.
type clientLimits struct {
	every time.Duration // one token per
	burst int
	mu    sync.Mutex
	m     map[netip.Prefix]*bucket
	ops   int
}

type bucket struct {
	l    *rate.Limiter
	last time.Time
}

// maxClients bounds the buckets kept; past it they are all forgotten, so an
// attacker with very many addresses costs memory, not correctness.
const maxClients = 1 << 20

// newClientLimits allows perMinute events a minute to each client, in
// bursts of as many; 0 or less means no limit (nil).
func newClientLimits(perMinute int) *clientLimits {
	if perMinute <= 0 {
		return nil
	}
	return &clientLimits{every: time.Minute / time.Duration(perMinute), burst: perMinute, m: map[netip.Prefix]*bucket{}}
}

func clientKey(ip netip.Addr) netip.Prefix {
	if ip.Is4() || !ip.IsValid() {
		return netip.PrefixFrom(ip, ip.BitLen())
	}
	p, _ := ip.Prefix(64)
	return p
}

func (c *clientLimits) bucket(ip netip.Addr, now time.Time) *bucket {
	c.ops++
	if c.ops%4096 == 0 || len(c.m) >= maxClients {
		for k, b := range c.m {
			if now.Sub(b.last) > time.Duration(c.burst)*c.every {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxClients {
			clear(c.m)
		}
	}
	k := clientKey(ip)
	b := c.m[k]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(rate.Every(c.every), c.burst)}
		c.m[k] = b
	}
	b.last = now
	return b
}

// allow takes a token for ip and reports whether there was one.
func (c *clientLimits) allow(ip netip.Addr) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	return c.bucket(ip, now).l.AllowN(now, 1)
}

// exhausted reports whether ip has no token left, taking none.
func (c *clientLimits) exhausted(ip netip.Addr) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	return c.bucket(ip, now).l.TokensAt(now) < 1
}

// retryAfter is the Retry-After value, in seconds, for a refused client.
func (c *clientLimits) retryAfter() string {
	return formatSeconds(c.every)
}

func formatSeconds(d time.Duration) string {
	return strconv.Itoa(max(int((d+time.Second-1)/time.Second), 1))
}
