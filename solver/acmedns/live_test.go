// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acmehub/acmehub/internal/testutil"
)

// servedTXT asks the embedded server's DNS, over TCP, for name's TXT values.
func (e *env) servedTXT(t testing.TB, name string) []string {
	t.Helper()
	var addr string
	for _, a := range e.srv.DNSAddrs() {
		if a.Network() == "tcp" {
			addr = a.String()
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 3 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("DNS TXT %s: %v", name, err)
	}
	var values []string
	for _, rr := range r.Answer {
		values = append(values, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return values
}

// challenges are n challenges of app1…appN.example.com, all served by the
// account the Secret holds under the parent example.com.
func challenges(n int, cfg any) []*whapi.ChallengeRequest {
	out := make([]*whapi.ChallengeRequest, n)
	for i := range out {
		out[i] = challenge(fmt.Sprintf("app%d.example.com", i+1), fmt.Sprintf("%043d", i), cfg)
	}
	return out
}

// presentAll presents every challenge at once and returns the errors.
func presentAll(s *Solver, chs []*whapi.ChallengeRequest) []error {
	errs := make([]error, len(chs))
	var wg sync.WaitGroup
	for i, ch := range chs {
		wg.Go(func() { errs[i] = s.Present(ch) })
	}
	wg.Wait()
	return errs
}

// TestManyChallengesOneAccount: twenty certificates' challenges presented at
// once through one account, embedded and remote to an acmehub server, are all
// served together; each CleanUp removes exactly its value.
func TestManyChallengesOneAccount(t *testing.T) {
	e := newEnv(t)
	backends := map[string]map[string]any{
		"embedded": {"accountSecretRef": map[string]string{"name": "acme-dns"}},
		"remote":   {"host": e.api, "accountSecretRef": map[string]string{"name": "acme-dns"}},
	}
	for name, cfg := range backends {
		t.Run(name, func(t *testing.T) {
			s := e.solver(t, Options{Embedded: e.svc})
			chs := challenges(20, cfg)
			for _, err := range presentAll(s, chs) {
				if err != nil {
					t.Fatalf("Present: %v", err)
				}
			}
			want := make([]string, len(chs))
			for i, ch := range chs {
				want[i] = ch.Key
			}
			if got := e.servedTXT(t, e.reg.FullDomain); !testutil.SameElements(got, want) {
				t.Fatalf("DNS serves %d values after 20 concurrent presents, want all 20: %q", len(got), got)
			}
			for i, ch := range chs {
				if err := s.CleanUp(ch); err != nil {
					t.Fatal(err)
				}
				if got := e.servedTXT(t, e.reg.FullDomain); !testutil.SameElements(got, want[i+1:]) {
					t.Fatalf("after CleanUp of %s DNS serves %q, want %q", ch.DNSName, got, want[i+1:])
				}
			}
		})
	}
}

// fakeAcmeDNS behaves as acme-dns does: an account has two rows, /update
// overwrites the one with the oldest LastUpdate (whole seconds; on a tie the
// first row), and there is no /present nor /delete.
type fakeAcmeDNS struct {
	mu   sync.Mutex
	rows [2]struct {
		value string
		last  int64
	}
	updates int
}

func (f *fakeAcmeDNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/update" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.NotFound(w, r)
		return
	}
	var body struct{ Subdomain, Txt string }
	json.NewDecoder(r.Body).Decode(&body)
	time.Sleep(20 * time.Millisecond) // as slow as a bcrypt check, so presents overlap
	f.mu.Lock()
	oldest := 0
	if f.rows[1].last < f.rows[0].last {
		oldest = 1
	}
	f.rows[oldest].value, f.rows[oldest].last = body.Txt, time.Now().Unix()
	f.updates++
	f.mu.Unlock()
	fmt.Fprintf(w, `{"txt": %q}`, body.Txt)
}

func (f *fakeAcmeDNS) state() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var values []string
	for _, r := range f.rows {
		if r.value != "" {
			values = append(values, r.value)
		}
	}
	return values, f.updates
}

// TestPlainAcmeDNSNeverEvicts: against a server that keeps two values and
// cannot delete, the solver never makes it evict a live value: told not to
// wait for a slot, a third concurrent Present on one account fails at once,
// with an error naming the names it waits for, and succeeds once an
// earlier challenge is cleaned up.
func TestPlainAcmeDNSNeverEvicts(t *testing.T) {
	e := newEnv(t)
	fake := &fakeAcmeDNS{}
	acmeDNS := httptest.NewServer(fake)
	defer acmeDNS.Close()
	reg := prometheus.NewRegistry()
	s := e.solver(t, Options{Registerer: reg, SlotWait: -1})
	chs := challenges(3, map[string]any{"host": acmeDNS.URL, "accountSecretRef": map[string]string{"name": "acme-dns"}})

	errs := presentAll(s, chs)
	var refused []int
	for i, err := range errs {
		if err != nil {
			refused = append(refused, i)
		}
	}
	if len(refused) != 1 {
		t.Fatalf("Present errors = %v, want exactly one refusal", errs)
	}
	busyIdx := refused[0]
	var busy *AccountBusyError
	if !errors.As(errs[busyIdx], &busy) {
		t.Fatalf("refusal %v is not an AccountBusyError", errs[busyIdx])
	}
	var others []string
	var live []string
	for i, ch := range chs {
		if i != busyIdx {
			others = append(others, ch.DNSName)
			live = append(live, ch.Key)
		}
	}
	wantMsg := fmt.Sprintf("account %s already holds 2 live challenge values (%s); this challenge will be retried",
		e.reg.FullDomain, strings.Join(others, ", "))
	if errs[busyIdx].Error() != wantMsg {
		t.Errorf("error = %q\nwant    %q", errs[busyIdx], wantMsg)
	}
	if values, updates := fake.state(); !testutil.SameElements(values, live) || updates != 2 {
		t.Fatalf("acme-dns holds %q after %d updates, want the two presented values %q", values, updates, live)
	}
	if got := promtest.ToFloat64(s.live.metrics.busy.WithLabelValues(e.reg.FullDomain)); got != 1 {
		t.Errorf("busy refusals = %v, want 1", got)
	}
	if got := promtest.ToFloat64(s.live.metrics.live.WithLabelValues(e.reg.FullDomain)); got != 2 {
		t.Errorf("live values gauge = %v, want 2", got)
	}

	// A retry of a presented challenge writes nothing: a second /update of a
	// value acme-dns holds would overwrite its other row.
	if err := s.Present(chs[(busyIdx+1)%3]); err != nil {
		t.Fatal(err)
	}
	if _, updates := fake.state(); updates != 2 {
		t.Errorf("re-presenting a live value sent /update again (%d updates)", updates)
	}

	// Cleaning up one is not enough: the two were written in the same second,
	// so acme-dns may overwrite either row, the live one included.
	first, second := chs[(busyIdx+1)%3], chs[(busyIdx+2)%3]
	if err := s.CleanUp(first); err != nil {
		t.Fatal(err)
	}
	if err := s.Present(chs[busyIdx]); !errors.As(err, &busy) || busy.Full || !slices.Equal(busy.Names, []string{second.DNSName}) {
		t.Fatalf("Present with the oldest row still live = %v, want a refusal naming %s", err, second.DNSName)
	}
	if err := s.CleanUp(second); err != nil {
		t.Fatal(err)
	}
	if err := s.Present(chs[busyIdx]); err != nil {
		t.Fatalf("Present once both are cleaned up: %v", err)
	}
	if values, _ := fake.state(); !slices.Contains(values, chs[busyIdx].Key) {
		t.Errorf("acme-dns holds %q, want %s", values, chs[busyIdx].Key)
	}
}

// TestPlainOrder: acme-dns overwrites its oldest row, so after a cleanup a
// new value may be written only if the row it overwrites is not live.
func TestPlainOrder(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		cleanUp string // of a (older) and b (5 s newer)
		ok      bool
	}{
		{"older cleaned up: its row is overwritten", "a", true},
		{"newer cleaned up: the older live row would be overwritten", "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLiveValues(time.Hour, 0, nil)
			now := t0
			l.now = func() time.Time { return now }
			write := func() (bool, error) { return true, nil }
			for _, v := range []string{"a", "b"} {
				if err := l.present(context.Background(), "k", "acct", v, v+".example.com", 2, write); err != nil {
					t.Fatal(err)
				}
				now = now.Add(5 * time.Second)
			}
			l.release("k", "acct", tt.cleanUp)
			err := l.present(context.Background(), "k", "acct", "c", "c.example.com", 2, write)
			if (err == nil) != tt.ok {
				t.Errorf("present c = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestLiveValuesExpire: a value never cleaned up stops counting after the
// expiry, so a lost CleanUp cannot block an account for ever.
func TestLiveValuesExpire(t *testing.T) {
	l := newLiveValues(time.Hour, 0, nil)
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	writes := 0
	write := func() (bool, error) { writes++; return true, nil }
	for _, v := range []string{"a", "b"} {
		if err := l.present(context.Background(), "k", "acct", v, v+".example.com", 2, write); err != nil {
			t.Fatalf("present %s: %v", v, err)
		}
	}
	if err := l.present(context.Background(), "k", "acct", "c", "c.example.com", 2, write); err == nil {
		t.Fatal("a third value was accepted")
	}
	if err := l.present(context.Background(), "other", "acct2", "c", "c.example.com", 2, write); err != nil {
		t.Fatalf("another account is not affected: %v", err)
	}
	now = now.Add(time.Hour)
	if err := l.present(context.Background(), "k", "acct", "c", "c.example.com", 2, write); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if writes != 4 {
		t.Errorf("%d writes, want 4", writes)
	}
}

// TestPlainAcmeDNSWaitsForASlot: a Present that finds the account's two
// slots taken waits for a CleanUp instead of failing into cert-manager's
// back-off, and the waiting Presents take the freed slots in the order they
// came; one that waits past its bound fails with the account's refusal.
func TestPlainAcmeDNSWaitsForASlot(t *testing.T) {
	l := newLiveValues(time.Hour, 10*time.Second, nil)
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	write := func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(5 * time.Second) // rows a second apart or more: the oldest goes
		return true, nil
	}
	present := func(v string) error {
		return l.present(context.Background(), "k", "acct", v, v+".example.com", 2, write)
	}
	for _, v := range []string{"a", "b"} {
		if err := present(v); err != nil {
			t.Fatal(err)
		}
	}
	queued := func() int {
		a := l.account("k")
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.queue)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("still waiting for %s", what)
			}
		}
	}
	done := make(chan string, 3)
	for i, v := range []string{"c", "d", "e"} {
		go func() {
			if err := present(v); err != nil {
				t.Errorf("present %s: %v", v, err)
			}
			done <- v
		}()
		waitFor(fmt.Sprintf("%s in the queue", v), func() bool { return queued() == i+1 })
	}
	for _, step := range []struct{ release, next string }{{"a", "c"}, {"b", "d"}, {"c", "e"}} {
		select {
		case v := <-done:
			t.Fatalf("%s was presented before %s was cleaned up", v, step.release)
		case <-time.After(50 * time.Millisecond):
		}
		l.release("k", "acct", step.release)
		select {
		case v := <-done:
			if v != step.next {
				t.Fatalf("after the cleanup of %s, %s took the slot, want %s (first come, first served)", step.release, v, step.next)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("the cleanup of %s freed no slot for %s", step.release, step.next)
		}
	}

	// A bounded wait: the account stays full, the present fails with the
	// account's refusal once the bound has passed.
	l.wait = 100 * time.Millisecond
	start := time.Now()
	err := present("f")
	var busy *AccountBusyError
	if !errors.As(err, &busy) || !busy.Full || time.Since(start) < l.wait {
		t.Errorf("present on a full account = %v after %s, want AccountBusyError after %s", err, time.Since(start), l.wait)
	}
	if n := queued(); n != 0 {
		t.Errorf("%d presents left in the queue", n)
	}
}

// TestRefusedChallengeKeepsItsPlace: a challenge whose wait ran out keeps
// its place in the line while cert-manager backs off. When a slot comes
// free it is nudged, once, and the slot is held for it: a later present
// waits behind it. A nudged challenge that does not come back within
// holdFor loses its place to the next.
func TestRefusedChallengeKeepsItsPlace(t *testing.T) {
	l := newLiveValues(time.Hour, 50*time.Millisecond, nil)
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	nudged := make(chan string, 10)
	l.nudge = func(value, _ string) { nudged <- value }
	write := func() (bool, error) { advance(5 * time.Second); return true, nil }
	present := func(v string) error {
		return l.present(context.Background(), "k", "acct", v, v+".example.com", 2, write)
	}
	for _, v := range []string{"a", "b"} {
		if err := present(v); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"c", "d"} {
		if err := present(v); err == nil {
			t.Fatalf("present %s on a full account succeeded", v)
		}
	}

	l.release("k", "acct", "a")
	select {
	case v := <-nudged:
		if v != "c" {
			t.Fatalf("nudged %s, want c, the first refused", v)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the first in line was not nudged when a slot came free")
	}
	// e, new, and d, back early, wait behind c while the slot is held.
	if err := present("e"); err == nil {
		t.Fatal("a newcomer took the slot held for the nudged challenge")
	}
	if err := present("d"); err == nil {
		t.Fatal("the second in line took the slot held for the first")
	}
	if err := present("c"); err != nil {
		t.Fatalf("the nudged challenge back: %v", err)
	}
	select {
	case v := <-nudged:
		t.Fatalf("%s nudged while the account is full", v)
	default:
	}

	// d is first now; nudged when b is cleaned up, it does not come back
	// within holdFor: e takes the slot.
	l.release("k", "acct", "b")
	select {
	case v := <-nudged:
		if v != "d" {
			t.Fatalf("nudged %s, want d", v)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("d was not nudged")
	}
	if err := present("e"); err == nil {
		t.Fatal("e took the slot held for d")
	}
	advance(holdFor + time.Second)
	if err := present("e"); err != nil {
		t.Fatalf("e after d's hold ran out: %v", err)
	}
	// d lost its place.
	a := l.account("k")
	a.mu.Lock()
	n := len(a.queue)
	a.mu.Unlock()
	if n != 0 {
		t.Errorf("%d challenges left in line", n)
	}
}

// TestPlainAcmeDNSPresentWaitsForCleanUp: through the solver against a
// plain acme-dns, a third Present on one account returns once the first
// two are cleaned up, and the server then holds its value.
func TestPlainAcmeDNSPresentWaitsForCleanUp(t *testing.T) {
	e := newEnv(t)
	fake := &fakeAcmeDNS{}
	acmeDNS := httptest.NewServer(fake)
	defer acmeDNS.Close()
	s := e.solver(t, Options{SlotWait: 15 * time.Second})
	chs := challenges(3, map[string]any{"host": acmeDNS.URL, "accountSecretRef": map[string]string{"name": "acme-dns"}})
	for _, ch := range chs[:2] {
		if err := s.Present(ch); err != nil {
			t.Fatal(err)
		}
	}
	third := make(chan error, 1)
	go func() { third <- s.Present(chs[2]) }()
	select {
	case err := <-third:
		t.Fatalf("the third Present returned (%v) while two values were live", err)
	case <-time.After(200 * time.Millisecond):
	}
	for _, ch := range chs[:2] {
		if err := s.CleanUp(ch); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-third:
		if err != nil {
			t.Fatalf("the third Present after both cleanups: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the third Present still waits after both cleanups")
	}
	if values, _ := fake.state(); !slices.Contains(values, chs[2].Key) {
		t.Errorf("acme-dns holds %q, want %s", values, chs[2].Key)
	}
}

// BenchmarkConcurrentPresents: twenty challenges presented at once through
// one account, as cert-manager does for twenty certificates. Reported: the
// values the account serves over DNS once all are presented, and the time
// from the first Present to the DNS serving every value.
func BenchmarkConcurrentPresents(b *testing.B) {
	e := newEnv(b)
	for _, name := range []string{"embedded", "remote"} {
		cfg := map[string]any{"accountSecretRef": map[string]string{"name": "acme-dns"}}
		if name == "remote" {
			cfg["host"] = e.api
		}
		b.Run(name, func(b *testing.B) {
			s := e.solver(b, Options{Embedded: e.svc})
			chs := challenges(20, cfg)
			served := 0
			for b.Loop() {
				for _, err := range presentAll(s, chs) {
					if err != nil {
						b.Fatal(err)
					}
				}
				for served = len(e.servedTXT(b, e.reg.FullDomain)); served < len(chs); served = len(e.servedTXT(b, e.reg.FullDomain)) {
				}
				b.StopTimer()
				for _, ch := range chs {
					if err := s.CleanUp(ch); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(served), "values/account")
		})
	}
}
