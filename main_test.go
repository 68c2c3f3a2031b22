package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// binary is the acmehub command built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "acmehub-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "acmehub")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building acmehub:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port free for both UDP and TCP.
func freePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// process is a running acmehub binary whose output is kept.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	output strings.Builder
	done   chan struct{}
	dns    string
	api    string
}

func start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{t: t, cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.output.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("acmehub %s output:\n%s", strings.Join(args, " "), p.log())
		}
	})
	return p
}

// startServer runs acmehub server on fresh loopback ports and waits until it serves.
func startServer(t *testing.T, args ...string) *process {
	t.Helper()
	dnsAddr, apiAddr := freePort(t), freePort(t)
	p := start(t, append([]string{"server", "--dns-listen", dnsAddr, "--api-listen", apiAddr}, args...)...)
	p.dns, p.api = dnsAddr, "http://"+apiAddr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(p.api + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("acmehub exited: %s\n%s", p.cmd.ProcessState, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("acmehub did not become healthy:\n%s", p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		p.t.Fatalf("acmehub still running after %v:\n%s", limit, p.log())
		return -1
	}
}

type account struct {
	Username, Password, Subdomain, FullDomain string
}

func (p *process) register(t *testing.T) account {
	t.Helper()
	resp, err := http.Post(p.api+"/register", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a account
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	return a
}

func (p *process) update(a account, value string) (int, error) {
	req, _ := http.NewRequest("POST", p.api+"/update", strings.NewReader(fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, a.Subdomain, value)))
	req.Header.Set("X-Api-User", a.Username)
	req.Header.Set("X-Api-Key", a.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (p *process) txt(t *testing.T, name string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(m, p.dns)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		out = append(out, rr.(*dns.TXT).Txt...)
	}
	return out
}

func value(i int) string { return fmt.Sprintf("%043d", i) }

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "acmehub ") {
		t.Errorf("version: %q, %v", out, err)
	}
}

// TestAcmeDNSConfigAndDatabase starts the binary on acme-dns's sample
// config.cfg and a database acme-dns wrote, addresses moved to loopback test
// ports by flags.
func TestAcmeDNSConfigAndDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "acme-dns.db")
	data, err := os.ReadFile("testdata/acme-dns-v2.db")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(db, data, 0o600)
	cfg, _ := filepath.Abs("testdata/acme-dns.cfg")
	p := startServer(t, "-c", cfg, "--db-connection", db)
	var f struct {
		Accounts []struct {
			Username, Password, Subdomain, FullDomain string
			Values                                    []string `json:"txt_values_served"`
		}
	}
	raw, _ := os.ReadFile("testdata/acme-dns-v2.accounts.json")
	json.Unmarshal(raw, &f)
	first := f.Accounts[0]
	got := p.txt(t, first.FullDomain)
	slices.Sort(got)
	if !slices.Equal(got, first.Values) {
		t.Errorf("values %q, acme-dns served %q", got, first.Values)
	}
	a := account{Username: first.Username, Password: first.Password, Subdomain: first.Subdomain}
	if code, err := p.update(a, value(1)); err != nil || code != 200 {
		t.Errorf("update with acme-dns's credentials: %d %v", code, err)
	}
	if strings.Contains(p.log(), "unknown key") {
		t.Errorf("acme-dns's own keys reported unknown:\n%s", p.log())
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.cfg")
	os.WriteFile(cfg, []byte("[general]\ndomain = \"auth.example.org\"\nflavour = \"vanilla\"\n[database]\nconnection = \"db\"\n"), 0o600)
	p := startServer(t, "-c", cfg)
	if !strings.Contains(p.log(), `unknown key \"general.flavour\" ignored`) {
		t.Errorf("no warning for the unknown key:\n%s", p.log())
	}
}

func TestInvalidConfiguration(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.cfg")
	os.WriteFile(cfg, []byte("[general]\ndomain = \"auth.example.org\"\nprotocol = \"sctp\"\n[api]\ntls = \"letsencrypt\"\n"), 0o600)
	p := start(t, "server", "-c", cfg)
	if code := p.wait(5 * time.Second); code == 0 {
		t.Error("exit code 0 on an invalid configuration")
	}
	for _, want := range []string{cfg, `protocol "sctp"`, `tls = "letsencrypt" is not supported`} {
		if !strings.Contains(p.log(), want) {
			t.Errorf("output lacks %q:\n%s", want, p.log())
		}
	}
}

func TestBusyPortExits(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	begin := time.Now()
	p := start(t, "server", "--dns-listen", busy.LocalAddr().String(), "--api-listen", freePort(t),
		"--db-connection", filepath.Join(t.TempDir(), "db"))
	if code := p.wait(5 * time.Second); code == 0 {
		t.Error("exit code 0 with the DNS port busy")
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("took %v to give up on a busy port", d)
	}
	if !strings.Contains(p.log(), busy.LocalAddr().String()) || !strings.Contains(p.log(), "address already in use") {
		t.Errorf("the error does not name the busy address:\n%s", p.log())
	}
}

func TestGracefulShutdown(t *testing.T) {
	p := startServer(t, "--db-connection", filepath.Join(t.TempDir(), "db"))
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(hubShutdownBound); code != 0 {
		t.Errorf("exit code %d after SIGTERM:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), "stopped") {
		t.Errorf("no orderly stop logged:\n%s", p.log())
	}
}

const hubShutdownBound = 15 * time.Second

// TestAcknowledgedWritesSurviveACrash kills the server with SIGKILL while
// clients write, and checks that every write it acknowledged is there after a
// restart.
func TestAcknowledgedWritesSurviveACrash(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acmehub.db")
	p := startServer(t, "--db-connection", db)
	const clients = 4
	accts := make([]account, clients)
	for i := range accts {
		accts[i] = p.register(t)
	}
	acked := make([]int, clients) // the last value index acknowledged per client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := 1; ctx.Err() == nil; i++ {
				code, err := p.update(accts[c], value(c*1000000+i))
				if err != nil || code != 200 {
					return
				}
				acked[c] = i
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	p.cmd.Process.Kill()
	wg.Wait()

	q := startServer(t, "--db-connection", db)
	for c, a := range accts {
		if acked[c] == 0 {
			t.Fatalf("client %d got no write acknowledged before the crash", c)
		}
		got := q.txt(t, a.FullDomain)
		if !slices.Contains(got, value(c*1000000+acked[c])) {
			t.Errorf("client %d: acknowledged value %d lost in the crash; served %q", c, acked[c], got)
		}
	}
}
