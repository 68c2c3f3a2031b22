// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command bare is the reference point of the DNS benchmark: a miekg/dns
// responder that answers TXT questions from one map, with no logging, no
// metrics and no zone logic. acmehub's server is measured against it in the
// same run, on the same machine.
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"strings"

	"github.com/miekg/dns"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:5454", "UDP address")
	names := flag.String("names", "", "file of names to answer, one per line")
	flag.Parse()

	values := map[string][]string{}
	if *names != "" {
		data, err := os.ReadFile(*names)
		if err != nil {
			log.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if name := strings.Fields(line); len(name) > 0 {
				values[dns.CanonicalName(name[0])] = []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}
			}
		}
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if len(r.Question) == 1 {
			q := r.Question[0]
			for _, v := range values[strings.ToLower(q.Name)] {
				m.Answer = append(m.Answer, &dns.TXT{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1},
					Txt: []string{v},
				})
			}
		}
		w.WriteMsg(m)
	})}
	log.Fatal(srv.ActivateAndServe())
}
