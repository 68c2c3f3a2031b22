// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// build compiles this command into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testrun")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCtrlCLeavesNoPostgres: interrupted as a terminal interrupts (SIGINT
// to the whole foreground process group) while a command uses the
// throwaway PostgreSQL, the run stops the command, then the server, and
// removes its cluster.
func TestCtrlCLeavesNoPostgres(t *testing.T) {
	testdeps.Program(t, "initdb")
	bin := build(t)
	tmp := openTempDir(t) // the server's directory is made here, used by nobody when root
	urlFile := filepath.Join(tmp, "url")
	cmd := exec.Command(bin, "--", "sh", "-c", `echo "$ACMEHUB_TEST_POSTGRES" > `+urlFile+`; exec sleep 120`)
	cmd.Env = append(filterEnv(os.Environ(), "ACMEHUB_TEST_POSTGRES", "TMPDIR"), "TMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var url string
	for deadline := time.Now().Add(60 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(urlFile)
		url = strings.TrimSpace(string(b))
	}
	if url == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the command never saw $ACMEHUB_TEST_POSTGRES:\n%s", out.String())
	}
	addr := regexp.MustCompile(`@(127\.0\.0\.1:\d+)/`).FindStringSubmatch(url)
	if addr == nil {
		t.Fatalf("$ACMEHUB_TEST_POSTGRES=%s: no loopback address", url)
	}
	if c, err := net.Dial("tcp", addr[1]); err != nil {
		t.Fatalf("the throwaway PostgreSQL does not answer at %s: %v", addr[1], err)
	} else {
		c.Close()
	}
	clusters, _ := filepath.Glob(filepath.Join(tmp, "acmehub-test-postgres-*"))
	if len(clusters) != 1 {
		t.Fatalf("want one cluster directory in %s, have %v", tmp, clusters)
	}

	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // Ctrl-C
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("still running 60 s after Ctrl-C:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d after Ctrl-C, want 130", code)
	}
	if _, err := os.Stat(clusters[0]); !os.IsNotExist(err) {
		t.Errorf("the cluster %s is still there (%v)", clusters[0], err)
	}
	if c, err := net.Dial("tcp", addr[1]); err == nil {
		c.Close()
		t.Errorf("something still listens on %s", addr[1])
	}
	if pids := processesMentioning(t, clusters[0]); len(pids) > 0 {
		t.Errorf("processes still run on %s: %v", clusters[0], pids)
	}
}

// openTempDir is a temporary directory that any user may use (t.TempDir's
// parent is root's alone when root), removed when t ends.
func openTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "acmehub-testrun-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func filterEnv(env []string, names ...string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			kept = append(kept, kv)
		}
	}
	return kept
}

// processesMentioning lists the processes whose command line holds s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return pids
}

// TestMissingProgramsNamed: hack/test-deps.sh, without root, names the
// missing programs, their packages and the command, and fails within
// seconds; a missing program whose tests are opted out is not needed.
func TestMissingProgramsNamed(t *testing.T) {
	list := filepath.Join(openTempDir(t), "deps.txt") // read by nobody when root
	os.WriteFile(list, []byte("# a test's list\nsh  dash  -\nacmehub-no-such-daemon  acmehub-nosuchd  nosuchd\n/acmehub/no/such/file  acmehub-nosuchfile  -\n"), 0o644)
	script, err := filepath.Abs("../test-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, skip string
		want       []string
	}{
		{"everything needed", "", []string{"acmehub-no-such-daemon /acmehub/no/such/file",
			"apt-get install -y --no-install-recommends acmehub-nosuchd acmehub-nosuchfile", "ACMEHUB_TEST_SKIP=nosuchd"}},
		{"the daemon opted out", "nosuchd", []string{"missing /acmehub/no/such/file:", "--no-install-recommends acmehub-nosuchfile'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(script, list)
			cmd.Env = append(filterEnv(os.Environ(), "ACMEHUB_TEST_SKIP"), "ACMEHUB_TEST_SKIP="+tc.skip)
			if os.Geteuid() == 0 { // as root it would install: be nobody
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			if err == nil {
				t.Fatalf("exit 0 with programs missing:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 {
				t.Errorf("want one line, got:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			if tc.skip != "" && strings.Contains(string(out), "no-such-daemon") {
				t.Errorf("an opted-out program named:\n%s", out)
			}
		})
	}
	t.Run("everything opted out or present", func(t *testing.T) {
		ok := filepath.Join(t.TempDir(), "deps.txt")
		os.WriteFile(ok, []byte("sh dash -\nacmehub-no-such-daemon acmehub-nosuchd nosuchd\n"), 0o644)
		cmd := exec.Command(script, ok)
		cmd.Env = append(filterEnv(os.Environ(), "ACMEHUB_TEST_SKIP"), "ACMEHUB_TEST_SKIP=other,nosuchd")
		if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
			t.Errorf("%v:\n%s", err, out)
		}
	})
}

// TestTheListIsWhatTheTestsUse: every line of hack/test-deps.txt is well
// formed, and every program a test asks testdeps for is on it.
func TestTheListIsWhatTheTestsUse(t *testing.T) {
	f, err := os.Open("../test-deps.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if fields := strings.Fields(line); len(fields) != 3 {
			t.Errorf("%q: want a program, its package and its opt-out name", line)
		} else {
			listed[fields[0]] = true
		}
	}
	out, err := exec.Command("git", "grep", "--untracked", "-h", "-o", `testdeps.Program(t, "[^"]*")`, "--", "../../*.go").Output()
	if err != nil {
		t.Fatalf("git grep: %v", err)
	}
	asked := regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(string(out), -1)
	if len(asked) == 0 {
		t.Fatal("no test asks testdeps for a program: the search is wrong")
	}
	for _, m := range asked {
		if !listed[m[1]] {
			t.Errorf("tests need %s, which hack/test-deps.txt does not list", m[1])
		}
	}
}

// TestStagesAlongside: a stage that runs alongside another runs at the same
// time, and its output comes whole after the other's; a stage alone (its
// partner not selected) runs as any other.
func TestStagesAlongside(t *testing.T) {
	var out bytes.Buffer
	r := &runner{stop: make(chan struct{}), interrupted: new(atomic.Bool), out: &out}
	first := stage{name: "first", args: []string{"sh", "-c", "sleep 1; echo first-out"}}
	beside := stage{name: "beside", alongside: "first", args: []string{"sh", "-c", "echo beside-out; sleep 1; echo beside-end"}}
	start := time.Now()
	results := r.runBeside(first, []stage{first, beside})
	if took := time.Since(start); took > 1900*time.Millisecond {
		t.Errorf("two stages of a second each took %v: not run at once", took)
	}
	if len(results) != 2 || results[0].name != "first" || results[1].name != "beside" || !results[0].ok || !results[1].ok {
		t.Errorf("results %+v", results)
	}
	text := out.String()
	if i, j := strings.Index(text, "first-out"), strings.Index(text, "beside-out"); i < 0 || j < i || !strings.Contains(text, "beside-out\nbeside-end") {
		t.Errorf("the partner's output is not held until the stage's ends:\n%s", text)
	}

	out.Reset()
	if results := r.runBeside(beside, []stage{beside}); len(results) != 1 || !results[0].ok || !strings.Contains(out.String(), "beside-end") {
		t.Errorf("alone: %+v\n%s", results, out.String())
	}
}
