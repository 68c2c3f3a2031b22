// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package testutil holds what the tests share: it runs the real acmehub
// binary (built once per test process) on ephemeral loopback ports and
// reads the addresses it bound from its "ready" log line; it sets up a hub
// with acmehub admin, drives a provider's Writer as the hub does, serves
// DNS on loopback and reads the fixtures of testdata/. Its packages
// kubetest, hubtest, nodetest and pgtest start a control plane, an
// in-process server, a one-node cluster and a PostgreSQL database; fakes
// holds the fakes of the providers' APIs, and providertest drives a
// provider's Writer as the hub does.
package testutil

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binary    string
	errBuild  error
)

// Binary returns the path of the acmehub binary, building it on first use.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "acmehub-test-bin")
		if err != nil {
			errBuild = err
			return
		}
		// Readable by all: a test may run it as an unprivileged user.
		if err := os.Chmod(dir, 0o755); err != nil {
			errBuild = err
			return
		}
		binary = filepath.Join(dir, "acmehub")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/acmehub/acmehub").CombinedOutput()
		if err != nil {
			errBuild = fmt.Errorf("building acmehub: %v\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return binary
}

// Process is a running acmehub command.
type Process struct {
	t     testing.TB
	Cmd   *exec.Cmd
	mu    sync.Mutex
	out   strings.Builder
	lines chan string
	done  chan struct{}

	// Set by StartServer from the ready line.
	API    string // http://host:port
	DNSUDP string
	DNSTCP string
	Hub    string // the managed-challenge hub's host:port, when it runs
}

// Start runs acmehub with args and env (added to the test's environment),
// in a temporary working directory. It is killed when the test ends.
func Start(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	return StartCmd(t, &exec.Cmd{Dir: t.TempDir(), Env: env}, args...)
}

// StartCmd is Start with the working directory, environment (added to the
// test's) and process attributes of base, and its Path when set (another
// build of acmehub; default Binary's).
func StartCmd(t testing.TB, base *exec.Cmd, args ...string) *Process {
	t.Helper()
	return start(t, base, append(os.Environ(), base.Env...), args)
}

// StartContained is StartCmd with exactly base's environment, nothing of the
// test's: acmehub as a container runs it.
func StartContained(t testing.TB, base *exec.Cmd, args ...string) *Process {
	t.Helper()
	return start(t, base, base.Env, args)
}

func start(t testing.TB, base *exec.Cmd, env, args []string) *Process {
	t.Helper()
	bin := base.Path
	if bin == "" {
		bin = Binary(t)
	}
	p := &Process{t: t, Cmd: exec.Command(bin, args...), lines: make(chan string, 1024), done: make(chan struct{})}
	p.Cmd.Dir = base.Dir
	p.Cmd.Env = env
	p.Cmd.SysProcAttr = base.SysProcAttr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = w, w
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.Cmd.Wait()
		r.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("acmehub %s output:\n%s", strings.Join(args, " "), p.Output())
		}
	})
	return p
}

// StartServer runs `acmehub server` on ephemeral loopback ports (args may
// override them) and waits until it is ready.
func StartServer(t testing.TB, args ...string) *Process {
	t.Helper()
	base := []string{"server", "--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0", "--log-format", "json"}
	p := Start(t, nil, append(base, args...)...)
	if err := p.WaitReady(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// WaitReady waits for the server's ready line and reads its addresses.
func (p *Process) WaitReady(limit time.Duration) error {
	deadline := time.After(limit)
	for {
		select {
		case line := <-p.lines:
			var ready struct {
				Msg    string `json:"msg"`
				API    string `json:"api"`
				DNSUDP string `json:"dns_udp"`
				DNSTCP string `json:"dns_tcp"`
				Hub    string `json:"hub"`
			}
			if json.Unmarshal([]byte(line), &ready) != nil || ready.Msg != "acmehub server ready" {
				continue
			}
			p.API, p.DNSUDP, p.DNSTCP, p.Hub = "http://"+ready.API, ready.DNSUDP, ready.DNSTCP, ready.Hub
			return nil
		case <-p.done:
			return fmt.Errorf("acmehub exited before it was ready: %s\n%s", p.Cmd.ProcessState, p.Output())
		case <-deadline:
			return fmt.Errorf("acmehub not ready after %v:\n%s", limit, p.Output())
		}
	}
}

// Output is everything the process wrote so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Wait waits for the process to exit and returns its exit code.
func (p *Process) Wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		p.t.Fatalf("acmehub still running after %v:\n%s", limit, p.Output())
		return -1
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// CopyFile copies src to a new file in a test directory and returns its path:
// tests write to copies of testdata, never to it.
func CopyFile(t testing.TB, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}
