// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// DNS over UDP. Each socket is read by udpReaders goroutines, each
// through a descriptor of its own, in batches (recvmmsg where the
// platform has it). A reader answers what the fast
// path answers at once, its answers written in batches too (sendmmsg),
// judges the questions of client prefixes past their rate limit
// (prejudge.go), and hands every other question to a fixed set of workers through a bounded
// queue; a question that finds the queue full is dropped and counted. So
// a flood of questions the general path must answer costs the reader a
// copy each at most, and the accounts' TXT questions a CA asks are read
// and answered however many of the others wait.

const (
	udpBatch = 32 // packets read, and answers written, at once
	// udpReaders read each socket, each through a descriptor of its own,
	// so that a flood arriving on one socket is read on two cores.
	udpReaders = 2
	// udpReadSize is the longest question read; a longer one is dropped
	// unanswered (a query needs a few hundred bytes).
	udpReadSize = 4096
	udpQueue    = 1024 // questions waiting for a worker, per server
	// udpReadBuffer is the socket's receive buffer asked of the kernel
	// (which grants at most net.core.rmem_max): a few milliseconds of a
	// flood, so that a reader kept from its core that long loses nothing.
	udpReadBuffer = 4 << 20
)

// udpOOBSize holds the control message that names the address a packet
// was sent to, IPv4's or IPv6's.
var udpOOBSize = max(len(ipv4.NewControlMessage(ipv4.FlagDst|ipv4.FlagInterface)),
	len(ipv6.NewControlMessage(ipv6.FlagDst|ipv6.FlagInterface)))

// batchConn reads and writes packets in batches: ipv4.PacketConn and
// ipv6.PacketConn, whose Message types are one.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// udpSocket is one descriptor of a UDP socket, served by a reader.
type udpSocket struct {
	h     *Handler
	conn  *net.UDPConn
	batch batchConn
	// anyAddr: bound to every address of the host, the socket answers
	// each question from the address it was sent to, which the kernel
	// reports with the packet.
	anyAddr bool
	work    chan<- udpQuestion
}

// udpQuestion is a question the general path answers.
type udpQuestion struct {
	sock   *udpSocket
	buf    *[]byte // pkt's storage, from udpBuffers
	pkt    []byte
	client netip.AddrPort
	dst    netip.Addr // the address asked, on a socket bound to every address
}

var udpBuffers = sync.Pool{New: func() any { b := make([]byte, udpReadSize); return &b }}

func newUDPSocket(conn *net.UDPConn, h *Handler, work chan<- udpQuestion) *udpSocket {
	s := &udpSocket{h: h, conn: conn, work: work}
	_ = conn.SetReadBuffer(udpReadBuffer)
	local := conn.LocalAddr().(*net.UDPAddr)
	s.anyAddr = local.IP.IsUnspecified()
	if local.IP.To4() != nil {
		p := ipv4.NewPacketConn(conn)
		if s.anyAddr {
			_ = p.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
		}
		s.batch = p
	} else {
		p := ipv6.NewPacketConn(conn)
		if s.anyAddr {
			// A dual-stack socket gets IPv4 packets too: ask for both.
			_ = p.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
			_ = ipv4.NewPacketConn(conn).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
		}
		s.batch = p
	}
	return s
}

// dupUDP is a second descriptor of conn's socket.
func dupUDP(conn *net.UDPConn) (*net.UDPConn, error) {
	f, err := conn.File()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// serve reads the socket until it is closed.
func (s *udpSocket) serve() error {
	in := make([]ipv4.Message, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpReadSize)}
		if s.anyAddr {
			in[i].OOB = make([]byte, udpOOBSize)
		}
	}
	out := make([]ipv4.Message, udpBatch)
	answers := make([][]byte, udpBatch)
	for i := range out {
		answers[i] = make([]byte, maxUDPSize)
		out[i].Buffers = [][]byte{nil}
	}
	lowered := make([]byte, 0, 256)
	for {
		n, err := s.batch.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return nil // Shutdown's deadline
			}
			s.h.log.Debug("reading DNS over UDP", "err", err)
			continue
		}
		w := 0
		for i := range in[:n] {
			m := &in[i]
			a, ok := m.Addr.(*net.UDPAddr)
			if !ok || m.Flags&syscall.MSG_TRUNC != 0 {
				continue
			}
			client, pkt := a.AddrPort(), m.Buffers[0][:m.N]
			var dst netip.Addr
			if s.anyAddr {
				dst = dstFromOOB(m.OOB[:m.NN])
			}
			size, answered := s.h.serveFast(pkt, answers[w], &lowered, client)
			if !answered {
				size, answered = s.h.prejudge(pkt, answers[w], &lowered, client)
			}
			switch {
			case !answered:
				s.pass(pkt, client, dst)
			case size > 0:
				out[w].Buffers[0], out[w].Addr, out[w].OOB = answers[w][:size], a, sourceOOB(dst)
				w++
			}
		}
		s.write(out[:w])
	}
}

// write sends the answers, in as few calls as the kernel takes them.
func (s *udpSocket) write(ms []ipv4.Message) {
	for len(ms) > 0 {
		n, err := s.batch.WriteBatch(ms, 0)
		if err != nil {
			// The first answer could not be sent (a client gone, say):
			// the others still are.
			s.h.log.Debug("writing DNS answer", "remote", ms[0].Addr, "err", err)
			n = 1
		}
		ms = ms[n:]
	}
}

// pass queues a question for the workers, or drops it when they are
// behind by a full queue.
func (s *udpSocket) pass(pkt []byte, client netip.AddrPort, dst netip.Addr) {
	buf := udpBuffers.Get().(*[]byte)
	q := udpQuestion{sock: s, buf: buf, pkt: append((*buf)[:0], pkt...), client: client, dst: dst}
	select {
	case s.work <- q:
	default:
		udpBuffers.Put(buf)
		s.h.metrics.overloaded()
	}
}

// udpWorker answers queued questions until done is closed.
func udpWorker(work <-chan udpQuestion, done <-chan struct{}) {
	for {
		select {
		case q := <-work:
			q.answer()
		case <-done:
			return
		}
	}
}

// answer answers q through the handler. A message whose header cannot
// be read, or that is a response, is ignored; one that does not unpack
// gets FORMERR, within the client's rate limit.
func (q udpQuestion) answer() {
	defer udpBuffers.Put(q.buf)
	w := &udpWriter{q: q}
	req := new(dns.Msg)
	if err := req.Unpack(q.pkt); err != nil {
		if len(q.pkt) < 12 || req.Response {
			return
		}
		q.sock.h.formatError(w, req)
		return
	}
	if req.Response {
		return
	}
	q.sock.h.ServeDNS(w, req)
}

// udpWriter is the dns.ResponseWriter of a question over UDP.
type udpWriter struct{ q udpQuestion }

func (w *udpWriter) LocalAddr() net.Addr {
	if w.q.dst.IsValid() {
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(w.q.dst, w.q.sock.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()))
	}
	return w.q.sock.conn.LocalAddr()
}
func (w *udpWriter) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(w.q.client) }
func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *udpWriter) Write(b []byte) (int, error) {
	n, _, err := w.q.sock.conn.WriteMsgUDPAddrPort(b, sourceOOB(w.q.dst), w.q.client)
	return n, err
}
func (w *udpWriter) Close() error        { return nil }
func (w *udpWriter) TsigStatus() error   { return nil }
func (w *udpWriter) TsigTimersOnly(bool) {}
func (w *udpWriter) Hijack()             {}

// dstFromOOB is the address a packet was sent to, from its control
// message; the zero Addr when it names none.
func dstFromOOB(oob []byte) netip.Addr {
	cm6 := new(ipv6.ControlMessage)
	if cm6.Parse(oob) == nil && cm6.Dst != nil {
		a, _ := netip.AddrFromSlice(cm6.Dst)
		return a.Unmap()
	}
	cm4 := new(ipv4.ControlMessage)
	if cm4.Parse(oob) == nil && cm4.Dst != nil {
		a, _ := netip.AddrFromSlice(cm4.Dst)
		return a.Unmap()
	}
	return netip.Addr{}
}

// sourceOOB is the control message that sends an answer from src; none
// for the zero Addr.
func sourceOOB(src netip.Addr) []byte {
	switch {
	case !src.IsValid():
		return nil
	case src.Is4():
		return (&ipv4.ControlMessage{Src: src.AsSlice()}).Marshal()
	default:
		return (&ipv6.ControlMessage{Src: src.AsSlice()}).Marshal()
	}
}
