package solver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/hack/testenv"
)

// zoneResolver answers from a zone's records, as a recursive resolver would.
func zoneResolver(t *testing.T, records ...string) Resolver {
	t.Helper()
	var rrs []dns.RR
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	addr := testenv.DNS(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, rr := range rrs {
			if strings.EqualFold(rr.Header().Name, q.Question[0].Name) && rr.Header().Rrtype == q.Question[0].Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	return Resolver{Servers: []string{addr}, Timeout: time.Second}
}

func TestNameservers(t *testing.T) {
	r := zoneResolver(t,
		"auth.example.org. NS ns1.auth.example.org.",
		"auth.example.org. NS ns2.example.net.",
		"ns1.auth.example.org. A 192.0.2.1",
		"ns2.example.net. AAAA 2001:db8::2",
		"ns2.example.net. A 198.51.100.2",
		"x.auth.example.org. TXT \"probe\"",
	)
	ctx := context.Background()
	got, err := r.Nameservers(ctx, "auth.example.org")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"192.0.2.1:53", "198.51.100.2:53", "[2001:db8::2]:53"}; !slices.Equal(got, want) {
		t.Errorf("Nameservers = %q, want %q", got, want)
	}
	if _, err := r.Nameservers(ctx, "nothing.example.org"); err == nil || !strings.Contains(err.Error(), "none found") {
		t.Errorf("Nameservers of a zone without NS = %v", err)
	}
	values, err := r.ServedTXT(ctx, r.Servers[0], "x.auth.example.org")
	if err != nil || !slices.Equal(values, []string{"probe"}) {
		t.Errorf("ServedTXT = %q, %v", values, err)
	}
}
