// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package binary_test

import (
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acmehub/acmehub/internal/testutil"
)

// server is a running `acmehub server` with clients for its API and DNS.
type server struct{ *testutil.Process }

func startServer(t *testing.T, args ...string) server {
	t.Helper()
	return server{testutil.StartServer(t, args...)}
}

type account struct {
	Username, Password, Subdomain, FullDomain string
}

func (p server) register(t *testing.T) account {
	t.Helper()
	resp, err := http.Post(p.API+"/register", "", nil)
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

func (p server) update(a account, value string) (int, error) {
	req, _ := http.NewRequest("POST", p.API+"/update", strings.NewReader(fmt.Sprintf(`{"subdomain":%q,"txt":%q}`, a.Subdomain, value)))
	req.Header.Set("X-Api-User", a.Username)
	req.Header.Set("X-Api-Key", a.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (p server) txt(t *testing.T, name string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	r, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(m, p.DNSUDP)
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
	out, err := exec.Command(testutil.Binary(t), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "acmehub ") {
		t.Errorf("version: %q, %v", out, err)
	}
}

// TestAcmeDNSConfigAndDatabase starts the binary on acme-dns's sample
// config.cfg and a database acme-dns wrote, addresses moved to loopback test
// ports by flags.
func TestAcmeDNSConfigAndDatabase(t *testing.T) {
	db := testutil.CopyFile(t, testutil.Testdata(t, "acme-dns-v2.db"))
	cfg := testutil.Testdata(t, "acme-dns.cfg")
	p := startServer(t, "-c", cfg, "--db-connection", db)
	var f struct {
		Accounts []struct {
			Username, Password, Subdomain, FullDomain string
			Values                                    []string `json:"txt_values_served"`
		}
	}
	raw, _ := os.ReadFile(testutil.Testdata(t, "acme-dns-v2.accounts.json"))
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
	if strings.Contains(p.Output(), "unknown key") {
		t.Errorf("acme-dns's own keys reported unknown:\n%s", p.Output())
	}

	// acme-dns kept no times: its accounts count as unused, except the one
	// just given a value.
	admin := testutil.Start(t, nil, "admin", "-c", cfg, "--db-connection", db, "accounts", "list", "--unused-for", "90d", "-o", "json")
	if code := admin.Wait(20 * time.Second); code != 0 {
		t.Fatalf("admin accounts list: exit %d", code)
	}
	var unused []struct {
		Username          string
		Created, LastUsed *string
	}
	if err := json.Unmarshal([]byte(admin.Output()), &unused); err != nil || len(unused) != len(f.Accounts)-1 {
		t.Fatalf("accounts unused for 90 days: %v\n%s", err, admin.Output())
	}
	for _, u := range unused {
		if u.Username == first.Username || u.Created != nil || u.LastUsed != nil {
			t.Errorf("unused: %+v, want acme-dns's other accounts with times unknown", u)
		}
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	cfg := testutil.CopyFile(t, testutil.Testdata(t, "configs/unknown-key.cfg"))
	p := startServer(t, "-c", cfg)
	if !strings.Contains(p.Output(), `unknown key flavour in [general], ignored`) {
		t.Errorf("no warning for the unknown key:\n%s", p.Output())
	}
}

// TestConfigMisreadingsRefused: a number where a duration goes, a misspelt
// section, a misspelt key that leaves a required one unset: the server
// refuses to start, naming the key and the remedy.
func TestConfigMisreadingsRefused(t *testing.T) {
	const db = "[database]\nengine = \"sqlite\"\nconnection = \"acme-dns.db\"\n"
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"resync_interval = 300", "[general]\ndomain = \"auth.example.org\"\n" + db + "[acmehub]\nresync_interval = 300\n",
			[]string{`"acmehub.resync_interval"`, `300 has no unit`, `"300s"`}},
		{"[databse]", "[general]\ndomain = \"auth.example.org\"\n[databse]\nengine = \"sqlite\"\nconnection = \"acme-dns.db\"\n",
			[]string{"unknown section [databse]: did you mean [database]?"}},
		{"domian =", "[general]\ndomian = \"auth.example.org\"\n" + db,
			[]string{"[general] domain is required", "unknown key domian in [general], ignored: did you mean domain?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.cfg")
			if err := os.WriteFile(cfg, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, "server", "-c", cfg)
			if code := p.Wait(10 * time.Second); code == 0 {
				t.Fatalf("exit code 0:\n%s", p.Output())
			}
			for _, w := range append(tc.want, cfg) {
				if !strings.Contains(p.Output(), w) {
					t.Errorf("output lacks %q:\n%s", w, p.Output())
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "acme-dns.db")); err == nil {
				t.Error("a database was created although the configuration was refused")
			}
		})
	}
}

// TestCheckConfig: --check-config prints the configuration the server
// would run, secrets masked, and exits 0; an unknown key makes it (and
// --strict) exit 1.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.cfg")
	os.WriteFile(good, []byte("[general]\ndomain = \"auth.example.org\"\n[database]\nengine = \"postgres\"\n"+
		"connection = \"postgres://acmedns:s3cret@db.example.org/acmedns\"\n[api]\napi_domain = \"auth.example.org\"\n"+
		"[acmehub]\nregistration_user = \"ops\"\nregistration_password = \"hunter2\"\npresent_expiry = \"2d\"\n"), 0o600)
	p := testutil.Start(t, nil, "server", "--check-config", "-c", good)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.Output())
	}
	out := p.Output()
	for _, want := range []string{`domain = "auth.example.org"`, `connection = "postgres://acmedns:********@db.example.org/acmedns"`,
		`registration_password = "********"`, `present_expiry = "48h0m0s"`, "# config " + good + ": [api] api_domain is ignored"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"s3cret", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("the secret %q is printed:\n%s", secret, out)
		}
	}

	bad := filepath.Join(dir, "bad.cfg")
	os.WriteFile(bad, []byte("[general]\ndomain = \"auth.example.org\"\nnsnmae = \"ns1.auth.example.org\"\n[database]\nconnection = \"x.db\"\n"), 0o600)
	for _, flag := range []string{"--check-config", "--strict"} {
		p := testutil.StartCmd(t, &exec.Cmd{Dir: dir}, "server", flag, "-c", bad, "--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0")
		if code := p.Wait(10 * time.Second); code != 1 {
			t.Errorf("%s: exit code %d, want 1:\n%s", flag, code, p.Output())
		}
		if !strings.Contains(p.Output(), "unknown key nsnmae in [general], ignored: did you mean nsname?") {
			t.Errorf("%s: the unknown key is not named:\n%s", flag, p.Output())
		}
	}
}

func TestInvalidConfiguration(t *testing.T) {
	cfg := testutil.CopyFile(t, testutil.Testdata(t, "configs/invalid.cfg"))
	p := testutil.Start(t, nil, "server", "-c", cfg)
	if code := p.Wait(5 * time.Second); code == 0 {
		t.Error("exit code 0 on an invalid configuration")
	}
	for _, want := range []string{cfg, `protocol "sctp"`, `[api] tls "autocert": must be none, cert, letsencrypt or letsencryptstaging`} {
		if !strings.Contains(p.Output(), want) {
			t.Errorf("output lacks %q:\n%s", want, p.Output())
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
	p := testutil.Start(t, nil, "server", "--dns-listen", busy.LocalAddr().String(), "--api-listen", "127.0.0.1:0",
		"--db-connection", filepath.Join(t.TempDir(), "db"))
	if code := p.Wait(5 * time.Second); code == 0 {
		t.Error("exit code 0 with the DNS port busy")
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("took %v to give up on a busy port", d)
	}
	if !strings.Contains(p.Output(), busy.LocalAddr().String()) || !strings.Contains(p.Output(), "address already in use") {
		t.Errorf("the error does not name the busy address:\n%s", p.Output())
	}
}

// TestDomainWithoutConfig: --domain alone serves that zone, its own name
// server, not the demo zone's records.
func TestDomainWithoutConfig(t *testing.T) {
	p := startServer(t, "--domain", "acme.example.net", "--db-connection", filepath.Join(t.TempDir(), "db"))
	m := new(dns.Msg)
	m.SetQuestion("acme.example.net.", dns.TypeSOA)
	r, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(m, p.DNSUDP)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Ns != "acme.example.net." || r.Answer[0].(*dns.SOA).Mbox != "hostmaster.acme.example.net." {
		t.Errorf("SOA = %v", r.Answer)
	}
	m.SetQuestion("auth.example.org.", dns.TypeA)
	if r, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(m, p.DNSUDP); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("the demo zone is still served: %v, %v", r, err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	p := startServer(t, "--db-connection", filepath.Join(t.TempDir(), "db"))
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if code := p.Wait(hubShutdownBound); code != 0 {
		t.Errorf("exit code %d after SIGTERM:\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), `"msg":"stopped"`) {
		t.Errorf("no orderly stop logged:\n%s", p.Output())
	}
}

const hubShutdownBound = 15 * time.Second

// TestAcknowledgedWritesSurviveACrash kills the server with SIGKILL while
// clients write, and checks that every write it acknowledged is there after a
// restart. A kill keeps the page cache, so the test also checks that the
// server committed with fsync (WAL, synchronous=FULL): what survives a power
// cut, not only a crash.
func TestAcknowledgedWritesSurviveACrash(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acmehub.db")
	p := startServer(t, "--db-connection", db)
	var open struct {
		JournalMode string `json:"journal_mode"`
		Synchronous string `json:"synchronous"`
	}
	for _, line := range strings.Split(p.Output(), "\n") {
		if strings.Contains(line, `"msg":"sqlite database open"`) {
			json.Unmarshal([]byte(line), &open)
		}
	}
	if open.JournalMode != "wal" || open.Synchronous != "full" {
		t.Fatalf("the server's database runs journal_mode=%q synchronous=%q, want wal and full:\n%s", open.JournalMode, open.Synchronous, p.Output())
	}

	const clients = 4
	accts := make([]account, clients)
	for i := range accts {
		accts[i] = p.register(t)
	}
	var acked [clients]atomic.Int64 // the last value index acknowledged per client
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := int64(1); ctx.Err() == nil; i++ {
				code, err := p.update(accts[c], value(c*1000000+int(i)))
				if err != nil || code != 200 {
					return
				}
				acked[c].Store(i)
			}
		})
	}
	// Kill it mid-stream, once every client has had writes acknowledged.
	for c := range clients {
		for acked[c].Load() < 20 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	p.Cmd.Process.Kill()
	wg.Wait()

	q := startServer(t, "--db-connection", db)
	for c, a := range accts {
		n := acked[c].Load()
		if n < 20 {
			t.Fatalf("client %d got %d writes acknowledged before the crash", c, n)
		}
		got := q.txt(t, a.FullDomain)
		if !slices.Contains(got, value(c*1000000+int(n))) {
			t.Errorf("client %d: acknowledged value %d lost in the crash; served %q", c, n, got)
		}
	}
}

func TestWebhookNeedsGroupName(t *testing.T) {
	p := testutil.StartCmd(t, &exec.Cmd{Dir: t.TempDir(), Env: []string{"GROUP_NAME="}}, "webhook", "--secure-port", "0")
	if code := p.Wait(10 * time.Second); code == 0 {
		t.Error("exit code 0 without GROUP_NAME")
	}
	if !strings.Contains(p.Output(), "$GROUP_NAME is not set") {
		t.Errorf("no clear error:\n%s", p.Output())
	}
}

func TestWebhookRefusesBadServerConfig(t *testing.T) {
	p := testutil.StartCmd(t, &exec.Cmd{Dir: t.TempDir(), Env: []string{"GROUP_NAME=acme.example.org"}},
		"webhook", "--server-domain", "acme.example.org", "--server-dns-protocol", "sctp", "--delegation-check", "off")
	if code := p.Wait(10 * time.Second); code == 0 {
		t.Error("exit code 0 with an invalid embedded server configuration")
	}
	if !strings.Contains(p.Output(), `--server-dns-protocol ([general] protocol) "sctp"`) {
		t.Errorf("the error does not name the flag typed:\n%s", p.Output())
	}
}

func TestWebhookEmbeddedServerNeedsAZone(t *testing.T) {
	p := testutil.StartCmd(t, &exec.Cmd{Dir: t.TempDir(), Env: []string{"GROUP_NAME=acme.example.org"}},
		"webhook", "--server", "--delegation-check", "off")
	if code := p.Wait(10 * time.Second); code == 0 {
		t.Error("exit code 0 for an embedded server without a zone")
	}
	if !strings.Contains(p.Output(), "needs its zone: give --server-config") {
		t.Errorf("no clear error:\n%s", p.Output())
	}
	if strings.Contains(p.Output(), "acmehub server ready") {
		t.Error("the demo zone was served")
	}
}

// TestWebhookClosesEmbeddedServer: when the extension apiserver cannot run
// (here: no cluster to reach), the webhook exits non-zero, and only after
// its embedded server has closed its listeners and database.
func TestWebhookClosesEmbeddedServer(t *testing.T) {
	dir := t.TempDir()
	p := testutil.StartCmd(t, &exec.Cmd{Dir: dir, Env: []string{"GROUP_NAME=acme.example.org", "KUBERNETES_SERVICE_HOST=", "KUBECONFIG="}},
		"webhook", "--server-domain", "acme.example.org", "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(dir, "db"), "--server-log-format", "json", "--delegation-check", "off",
		"--secure-port", "0", "--kubeconfig", filepath.Join(dir, "missing.kubeconfig"))
	if code := p.Wait(30 * time.Second); code == 0 {
		t.Fatalf("exit code 0 although the apiserver could not run:\n%s", p.Output())
	}
	out := p.Output()
	stopped, failed := strings.Index(out, `"msg":"stopped"`), strings.Index(out, `"msg":"webhook stopped"`)
	if stopped < 0 || failed < stopped {
		t.Errorf("the embedded server was not closed before the webhook ended:\n%s", out)
	}
}

func TestWebhookEmbeddedServerWarnsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	cfg := testutil.CopyFile(t, testutil.Testdata(t, "configs/unknown-key.cfg"))
	p := testutil.StartCmd(t, &exec.Cmd{Dir: dir, Env: []string{"GROUP_NAME=acme.example.org"}},
		"webhook", "--server-config", cfg, "--server-dns-listen", "127.0.0.1:0", "--server-api-listen", "127.0.0.1:0",
		"--server-db-connection", filepath.Join(dir, "db"), "--delegation-check", "off", "--secure-port", "0")
	if err := p.WaitReady(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Output(), `unknown key flavour in [general], ignored`) {
		t.Errorf("no warning for the embedded server's unknown key:\n%s", p.Output())
	}
}

// TestSecondServerOnOneSQLiteFileRefused: two real server processes on one
// SQLite file: the second refuses to start, naming the file, the first
// process and PostgreSQL; the admin commands keep working beside the
// first; once the first stops, a server starts on the file again.
func TestSecondServerOnOneSQLiteFileRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "acme-dns.db")
	first := startServer(t, "--db-connection", db)
	a := first.register(t)

	second := testutil.Start(t, nil, "server", "--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0", "--db-connection", db)
	if code := second.Wait(15 * time.Second); code == 0 {
		t.Fatalf("a second server started on %s:\n%s", db, second.Output())
	}
	for _, want := range []string{db, fmt.Sprintf("pid %d on host", first.Cmd.Process.Pid), "PostgreSQL"} {
		if !strings.Contains(second.Output(), want) {
			t.Errorf("the refusal does not say %q:\n%s", want, second.Output())
		}
	}
	keys, err := exec.Command(testutil.Binary(t), "admin", "keygen", "--id", "k1").Output()
	if err != nil {
		t.Fatal(err)
	}
	keysList := exec.Command(testutil.Binary(t), "dnssec", "keys", "--db-connection", db)
	keysList.Env = append(os.Environ(), "ACMEHUB_HUB_KEYS="+string(keys))
	if out, err := keysList.CombinedOutput(); err != nil {
		t.Errorf("acmehub dnssec keys beside the server: %v\n%s", err, out)
	}
	if code, err := first.update(a, value(1)); err != nil || code != 200 {
		t.Errorf("the first server, after the second was refused: update %d %v", code, err)
	}

	first.Cmd.Process.Signal(os.Interrupt)
	if code := first.Wait(15 * time.Second); code != 0 {
		t.Fatalf("the first server exited %d:\n%s", code, first.Output())
	}
	third := startServer(t, "--db-connection", db)
	if code, err := third.update(a, value(2)); err != nil || code != 200 {
		t.Errorf("a server started after the first stopped: update %d %v", code, err)
	}
}

// TestRelativePathsNamed: run from elsewhere, a command whose configuration
// names a file by a relative path says which absolute path it tried, and
// from which working directory (relative paths keep acme-dns's meaning).
func TestRelativePathsNamed(t *testing.T) {
	etc, elsewhere := t.TempDir(), t.TempDir()
	cfg := filepath.Join(etc, "config.cfg")
	os.WriteFile(cfg, []byte("[general]\ndomain = \"auth.example.org\"\n[database]\nconnection = \"acme-dns.db\"\n"+
		"[hub]\nenabled = true\nkeys_file = \"hub.keys\"\ntls = \"none\"\n"), 0o600)
	p := testutil.StartCmd(t, &exec.Cmd{Dir: elsewhere}, "admin", "-c", cfg, "principals", "list")
	if code := p.Wait(10 * time.Second); code == 0 {
		t.Fatalf("exit code 0 without the keys file:\n%s", p.Output())
	}
	want := fmt.Sprintf("[hub] keys_file hub.keys (%s: relative to the working directory %s)", filepath.Join(elsewhere, "hub.keys"), elsewhere)
	if !strings.Contains(p.Output(), want) {
		t.Errorf("output lacks %q:\n%s", want, p.Output())
	}
}
