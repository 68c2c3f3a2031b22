// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts DNS questions. A nil *Metrics counts nothing.
type Metrics struct {
	questions *prometheus.CounterVec
	duration  prometheus.Histogram
	tcpRefuse *prometheus.CounterVec
	tcpConns  prometheus.Gauge
	shed      prometheus.Counter
	limited   [2]map[string]prometheus.Counter // per class, per action
	counters  sync.Map                         // counterKey -> prometheus.Counter, saving label lookups per answer
}

// NewMetrics registers the DNS metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		questions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acmehub_dns_questions_total",
			Help: "DNS questions answered, by question type and response code.",
		}, []string{"qtype", "rcode"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "acmehub_dns_answer_duration_seconds",
			Help:    "Time from a parsed DNS question to its answer being written.",
			Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2},
		}),
		tcpRefuse: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acmehub_dns_tcp_refused_total",
			Help: "TCP connections closed as they were accepted, by the limit they were past ([acmehub] tcp_connections, tcp_connections_per_prefix).",
		}, []string{"limit"}),
		tcpConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "acmehub_dns_tcp_connections",
			Help: "TCP connections open.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acmehub_dns_udp_shed_total",
			Help: "UDP questions dropped unanswered because the workers that answer everything but accounts' TXT were a full queue behind.",
		}),
	}
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "acmehub_dns_rate_limited_total",
		Help: "UDP answers past a client prefix's rate limit, by class (responses: answers with data; errors: NXDOMAIN, NODATA and errors) and what became of them (dropped; slipped: sent truncated; logged: sent, in log-only mode).",
	}, []string{"class", "action"})
	for c, class := range classNames {
		m.limited[c] = map[string]prometheus.Counter{}
		for _, action := range []string{"dropped", "slipped", "logged"} {
			m.limited[c][action] = limited.WithLabelValues(class, action)
		}
	}
	reg.MustRegister(m.questions, m.duration, m.tcpRefuse, m.tcpConns, m.shed, limited)
	return m
}

// rateLimited counts an answer of class past its limit, and its fate.
func (m *Metrics) rateLimited(class answerClass, action string) {
	if m != nil {
		m.limited[class][action].Inc()
	}
}

// overloaded counts a question dropped for a full queue.
func (m *Metrics) overloaded() {
	if m != nil {
		m.shed.Inc()
	}
}

// tcpRefused counts a connection refused past limit.
func (m *Metrics) tcpRefused(limit string) {
	if m != nil {
		m.tcpRefuse.WithLabelValues(limit).Inc()
	}
}

// tcpOpen counts connections opened (1) and closed (-1).
func (m *Metrics) tcpOpen(delta float64) {
	if m != nil {
		m.tcpConns.Add(delta)
	}
}

// countedTypes are the question types counted under their own name; others
// count as "other", so that a client cannot create label values at will.
var countedTypes = map[uint16]bool{
	dns.TypeA: true, dns.TypeAAAA: true, dns.TypeTXT: true, dns.TypeSOA: true, dns.TypeNS: true,
	dns.TypeCNAME: true, dns.TypeMX: true, dns.TypeCAA: true, dns.TypeANY: true, dns.TypeAXFR: true,
	dns.TypeIXFR: true, dns.TypeSRV: true, dns.TypePTR: true, dns.TypeHTTPS: true, dns.TypeDS: true,
	dns.TypeDNSKEY: true,
}

type counterKey struct {
	qtype uint16
	rcode int
	none  bool // no question
}

// observe counts the answer reply to r, which took d.
func (m *Metrics) observe(r, reply *dns.Msg, d time.Duration) {
	var qtype uint16
	if len(r.Question) > 0 {
		qtype = r.Question[0].Qtype
	}
	m.count(qtype, reply.Rcode, len(r.Question) == 0, d)
}

// count counts an answer with rcode to a question of qtype (none: a
// message without a question), which took d.
func (m *Metrics) count(qtype uint16, rcode int, none bool, d time.Duration) {
	if m == nil {
		return
	}
	key := counterKey{qtype: qtype, rcode: rcode, none: none}
	c, ok := m.counters.Load(key)
	if !ok {
		label := "none"
		if !none {
			label = "other"
			if countedTypes[qtype] {
				label = dns.TypeToString[qtype]
			}
		}
		c, _ = m.counters.LoadOrStore(key, m.questions.WithLabelValues(label, dns.RcodeToString[rcode]))
	}
	c.(prometheus.Counter).Inc()
	m.duration.Observe(d.Seconds())
}
