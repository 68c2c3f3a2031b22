// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Server serves a handler on UDP and TCP sockets.
type Server struct {
	servers []*dns.Server // TCP's
	udp     []*udpSocket
	addrs   []net.Addr
	done    chan struct{} // closed by Shutdown: the UDP workers stop
	workers sync.WaitGroup
	closing sync.Once
}

// Listen binds addr on each network ("udp", "tcp4", …). It fails at once,
// naming the address, when one cannot be bound. Port 0 picks one port
// for every network, as a client that is answered truncated over UDP
// asks again over TCP at the same port. UDP is read in batches (udp.go),
// on one socket per core where the platform lets sockets share a port
// (SO_REUSEPORT), so that no single reader is the bottleneck. TCP clients
// are held to limits.
func Listen(networks []string, addr string, h *Handler, limits TCPLimits) (*Server, error) {
	for try := 1; ; try++ {
		s, err := listen(networks, addr, h, limits)
		if !errors.Is(err, errPickedTaken) || try == 10 {
			return s, err
		}
	}
}

// errPickedTaken: the port picked for the first network is taken on another.
var errPickedTaken = errors.New("the port picked is taken on another network")

func listen(networks []string, addr string, h *Handler, limits TCPLimits) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("DNS: listening on %s: %w", addr, err)
	}
	picked := port == "0"
	// bound makes the port picked for the first network every other's.
	bound := func(a net.Addr) {
		if picked {
			_, p, _ := net.SplitHostPort(a.String())
			addr = net.JoinHostPort(host, p)
		}
	}
	taken := func(err error) error {
		if picked && len(networks) > 1 && errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %w", errPickedTaken, err)
		}
		return err
	}
	s := &Server{done: make(chan struct{})}
	work := make(chan udpQuestion, udpQueue)
	for _, network := range networks {
		switch network {
		case "udp", "udp4", "udp6":
			conns, err := listenUDP(network, addr)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("DNS: listening on %s %s: %w", network, addr, taken(err))
			}
			bound(conns[0].LocalAddr())
			for _, pc := range conns {
				s.udp = append(s.udp, newUDPSocket(pc.(*net.UDPConn), h, work))
				for range udpReaders - 1 {
					dup, err := dupUDP(pc.(*net.UDPConn))
					if err != nil {
						s.Close()
						return nil, fmt.Errorf("DNS: a second reader of %s %s: %w", network, addr, err)
					}
					s.udp = append(s.udp, newUDPSocket(dup, h, work))
				}
			}
			s.addrs = append(s.addrs, conns[0].LocalAddr())
		case "tcp", "tcp4", "tcp6":
			l, err := net.Listen(network, addr)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("DNS: listening on %s %s: %w", network, addr, taken(err))
			}
			bound(l.Addr())
			srv := &dns.Server{Handler: h, Net: network, MsgAcceptFunc: acceptQueries, Listener: newLimitListener(l, limits, h.metrics)}
			srv.ReadTimeout, srv.WriteTimeout = tcpIOTimeout, tcpIOTimeout
			if limits.IdleTimeout > 0 {
				srv.IdleTimeout = func() time.Duration { return limits.IdleTimeout }
			}
			srv.MaxTCPQueries = limits.QueriesPerConnection
			if srv.MaxTCPQueries == 0 {
				srv.MaxTCPQueries = -1 // miekg/dns: no limit
			}
			s.addrs = append(s.addrs, l.Addr())
			s.servers = append(s.servers, srv)
		default:
			s.Close()
			return nil, fmt.Errorf("DNS: unknown network %q", network)
		}
	}
	if len(s.udp) > 0 {
		// The general path is work for the cores: two workers a core
		// keep them busy while one writes; more would only wait.
		for range 2 * runtime.GOMAXPROCS(0) {
			s.workers.Go(func() { udpWorker(work, s.done) })
		}
	}
	return s, nil
}

// listenUDP binds addr: one socket, or one per core sharing the port.
// Sockets that share a port would share it with another server started
// the same way too, so the port is first bound alone: a port another
// process holds is refused as busy. Between that probe and the shared
// sockets the port is free for a moment; a socket that takes it then (an
// outgoing query's, say) costs one more try, not a refusal.
func listenUDP(network, addr string) ([]net.PacketConn, error) {
	for try := 1; ; try++ {
		conns, err := listenShared(network, addr)
		if err == nil || !errors.Is(err, errTaken) || try == 3 {
			return conns, err
		}
	}
}

// errTaken: the port was free when probed and taken before it was shared.
var errTaken = errors.New("port taken between binds")

// betweenBinds, when set, runs after the probe releases the port; tests
// take the port there.
var betweenBinds func(network, bound string)

func listenShared(network, addr string) ([]net.PacketConn, error) {
	alone, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, err
	}
	if reusePort == nil {
		return []net.PacketConn{alone}, nil
	}
	bound := alone.LocalAddr().String()
	alone.Close()
	if betweenBinds != nil {
		betweenBinds(network, bound)
	}
	lc := net.ListenConfig{Control: reusePort}
	var conns []net.PacketConn
	for len(conns) < runtime.GOMAXPROCS(0) {
		pc, err := lc.ListenPacket(context.Background(), network, bound)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("%s: %w", bound, errTaken)
			}
			return nil, err
		}
		conns = append(conns, pc)
	}
	return conns, nil
}

// acceptQueries drops responses and leaves every other judgement (opcode,
// question count) to the handler, so that it answers and counts them.
func acceptQueries(dh dns.Header) dns.MsgAcceptAction {
	if dh.Bits&(1<<15) != 0 { // QR: a response, never answered
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

// Addrs are the bound addresses, in the order of the networks given to Listen.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Serve answers until Shutdown; it returns the first serving error.
func (s *Server) Serve() error {
	errs := make(chan error, len(s.servers)+len(s.udp))
	for _, srv := range s.servers {
		go func() { errs <- srv.ActivateAndServe() }()
	}
	for _, u := range s.udp {
		go func() { errs <- u.serve() }()
	}
	var first error
	for range len(s.servers) + len(s.udp) {
		if err := <-errs; err != nil && first == nil {
			first = err
			s.Close()
		}
	}
	return first
}

// Shutdown stops listening and waits for answers under way. It may come
// before Serve has started every socket: the sockets are closed, so a Serve
// starting late returns at once.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.ShutdownContext(ctx); err != nil && !strings.Contains(err.Error(), "server not started") {
			errs = append(errs, err)
		}
	}
	s.Close()
	finished := make(chan struct{})
	go func() { s.workers.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("DNS: answers under way at shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// Close releases the sockets of a server that is not serving, and stops
// its workers.
func (s *Server) Close() {
	for _, srv := range s.servers {
		srv.Listener.Close()
	}
	for _, u := range s.udp {
		_ = u.conn.Close()
	}
	s.closing.Do(func() { close(s.done) })
}
