// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"

	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// TestRealClientsThroughTheLimit: with loopback's prefix past its rate
// limit, the clients a CA uses still get their answers. Those that return
// the server's cookie are not limited at all: BIND's dig given the
// cookie, and named as a validating resolver, which learns the cookie
// itself (answered BADCOOKIE once, with the cookie, if its first question
// comes while the prefix owes). Unbound (Debian 12's 1.17 sends no
// cookies) is limited like any other client, and gets every answer
// through the truncated ones it is slipped, over TCP.
func TestRealClientsThroughTheLimit(t *testing.T) {
	queries := filepath.Join(t.TempDir(), "queries.jsonl")
	p, ds := testutil.StartSignedServer(t, 1, "13", "[acmehub]", "rate_limit_exempt = []", "rate_limit_responses = 2",
		"rate_limit_errors = 2", fmt.Sprintf("query_log = %q", queries))
	srv := server{p}
	l := &limitedServer{p: p, queries: queries}
	for range 12 {
		a := srv.register(t)
		if code, err := srv.update(a, limitedValue); code != 200 || err != nil {
			t.Fatalf("update: %d %v", code, err)
		}
		l.names = append(l.names, strings.ToLower(a.FullDomain)+".")
	}
	t.Run("dig with the server's cookie", l.dig)
	t.Run("named, a validating resolver that sends cookies", func(t *testing.T) {
		l.owe(t)
		from := l.logLines(t)
		l.resolve(t, testutil.StartBINDResolver(t, ds[0], map[string]string{"auth.example.org": p.DNSUDP}))
		if asked, limited := l.logged(t, from); asked < len(l.names) || limited > 1 {
			t.Errorf("the server logged %d questions of named's for the %d names, %d of them limited; want at most its first", asked, len(l.names), limited)
		}
	})
	t.Run("Unbound, a validating resolver without cookies", func(t *testing.T) {
		parent := testutil.StartSignedParent(t, "example.org", "auth IN NS ns.auth", "ns.auth IN A 127.0.0.1", ds[0])
		resolver := testutil.StartUnbound(t, parent.TrustAnchor, map[string]string{"example.org": parent.Addr, "auth.example.org": p.DNSUDP})
		l.owe(t)
		from := l.logLines(t)
		l.resolve(t, resolver)
		if _, limited := l.logged(t, from); limited == 0 {
			t.Error("none of Unbound's questions limited: the test proves nothing of the truncated answers")
		}
	})
}

const limitedValue = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

// limitedServer is a signed server with a tight rate limit, its query
// log, and the names of its accounts, each holding limitedValue.
type limitedServer struct {
	p       *testutil.Process
	queries string
	names   []string
}

// owe puts loopback's prefix past its limit, and proves that it is.
func (l *limitedServer) owe(t *testing.T) {
	t.Helper()
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	answered := 0
	for range 10 {
		m := new(dns.Msg)
		m.SetQuestion(l.names[0], dns.TypeTXT)
		if r, _, err := c.Exchange(m, l.p.DNSUDP); err == nil && !r.Truncated {
			answered++
		}
	}
	if answered == 10 {
		t.Fatal("10 questions at once, none limited: the limit is off")
	}
}

// logEntries are the query log's lines.
func (l *limitedServer) logEntries(t *testing.T) []struct{ Name, Limited string } {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // the last lines written
	f, err := os.Open(l.queries)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []struct{ Name, Limited string }
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ Name, Limited string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("query log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// logLines is the query log's length.
func (l *limitedServer) logLines(t *testing.T) int { return len(l.logEntries(t)) }

// logged counts the questions for the accounts' names logged after line
// from, and those of them limited.
func (l *limitedServer) logged(t *testing.T, from int) (asked, limited int) {
	t.Helper()
	for _, e := range l.logEntries(t)[from:] {
		if slices.Contains(l.names, strings.ToLower(e.Name)) {
			asked++
			if e.Limited != "" {
				limited++
			}
		}
	}
	return asked, limited
}

// dig learns the server's cookie, then, with the prefix past its limit,
// asks every name with it in one run: each answered, none limited.
func (l *limitedServer) dig(t *testing.T) {
	dig := testdeps.Program(t, "dig")
	host, port, _ := net.SplitHostPort(l.p.DNSUDP)
	run := func(args ...string) string {
		out, err := exec.Command(dig, append([]string{"@" + host, "-p", port, "+norec", "+tries=1", "+timeout=2", "+ignore"}, args...)...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "timed out") {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cookie := regexp.MustCompile(`COOKIE: ([0-9a-f]{32,80})`)
	var full string
	for try := 0; full == "" && try < 5; try++ { // answered, or BADCOOKIE: either carries it
		if m := cookie.FindStringSubmatch(run("+cookie", l.names[0], "TXT")); m != nil {
			full = m[1]
		}
	}
	if full == "" {
		t.Fatal("no server cookie in five answers")
	}
	l.owe(t)
	from := l.logLines(t)
	args := []string{"+cookie=" + full}
	for _, n := range l.names {
		args = append(args, n, "TXT")
	}
	out := run(args...)
	if got := strings.Count(out, "status: NOERROR"); got != len(l.names) || strings.Contains(out, " tc") ||
		strings.Count(out, limitedValue) != len(l.names) || strings.Count(out, "(good)") != len(l.names) {
		t.Errorf("%d of %d answered (want each NOERROR, not truncated, with its value and the cookie good):\n%s", got, len(l.names), out)
	}
	if asked, limited := l.logged(t, from); asked != len(l.names) || limited != 0 {
		t.Errorf("the server logged %d of dig's %d questions, %d of them limited; want none", asked, len(l.names), limited)
	}
}

// resolve asks resolver for every name's TXT with DO, over TCP: each
// answered, validated, with its value.
func (l *limitedServer) resolve(t *testing.T, resolver string) {
	t.Helper()
	for _, n := range l.names {
		m := new(dns.Msg)
		m.SetQuestion(n, dns.TypeTXT)
		m.SetEdns0(1232, true)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 10 * time.Second}).Exchange(m, resolver)
		if err != nil || r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || len(txtOf(r)) != 1 || txtOf(r)[0] != limitedValue {
			t.Fatalf("%s TXT through the resolver: %v %v", n, r, err)
		}
	}
}
