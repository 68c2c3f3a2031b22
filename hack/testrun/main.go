// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command testrun runs acmehub's tests, as `make test` does: it starts a
// throwaway PostgreSQL for the run unless $ACMEHUB_TEST_POSTGRES names a
// server, builds the test binaries that the stages need (concurrently, and
// only when their sources changed), runs each stage even after one failed,
// and ends with a summary: every stage's time and its tests passed, failed
// and skipped, what was opted out ($ACMEHUB_TEST_SKIP), and a closing line
// of totals. Ctrl-C stops the running stage and then the PostgreSQL, and
// removes its cluster.
//
//	go run ./hack/testrun                         every stage
//	go run ./hack/testrun e2e chart               some stages
//	go run ./hack/testrun -- go test ./hub/store/ any command, with the PostgreSQL
//
// The programs the tests start (hack/test-deps.txt) are checked, and
// installed, by hack/test-deps.sh before this runs.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// stage is one step of the run.
type stage struct {
	name string
	// assets are the make targets the stage needs built first.
	assets []string
	// args is the command after `go test -json -count=1`, or, for a stage
	// that is not go test, the whole command.
	args   []string
	goTest bool
	// verbose prints every test's output as it comes, not only a failed
	// test's: the end-to-end stages' figures are worth reading.
	verbose bool
	// alongside names a stage this one runs beside, when both are run:
	// both spend most of their time waiting (for cert-manager, for pods),
	// not computing. Its output is printed when that stage's ends.
	alongside string
}

var stages = []stage{
	// golangci-lint with .golangci.yml (gofmt, goimports, vet, staticcheck,
	// errcheck, gosec, revive, funlen, goheader), and vet of the tools'
	// modules: zero findings.
	{name: "lint", assets: []string{"_bin/golangci-lint"}, args: []string{"make", "--no-print-directory", "lint"}},
	// Unit and integration tests with the race detector: the real binary's
	// in test/binary, the import floors in test/architecture, the fuzz
	// targets' seed corpora.
	{name: "unit", assets: []string{"test-assets"}, goTest: true, args: []string{"-race", "-timeout", "30m", "./..."}},
	// cert-manager's DNS01 webhook conformance suite, strict, for the
	// embedded and the remote backend.
	{name: "conformance", assets: []string{"test-assets"}, goTest: true, verbose: true,
		args: []string{"-timeout", "20m", "-tags", "conformance", "./test/conformance/"}},
	// The webhook binary behind a real kube-apiserver's aggregation layer,
	// cert-manager's controller issuing Certificates from pebble through
	// it, lego through the hub, and the hub's console in headless Chromium
	// (screenshots in _artifacts/console).
	{name: "e2e", assets: []string{"test-assets"}, goTest: true, verbose: true,
		args: []string{"-timeout", "30m", "-tags", "e2e", "./test/e2e/"}},
	// The Helm chart: lint, render, a server-side dry-run apply of every
	// object with cert-manager's CRDs, its RBAC, and every pod it renders
	// started.
	{name: "chart", assets: []string{"test-assets"}, goTest: true,
		args: []string{"-timeout", "10m", "-tags", "chart", "./test/chart/"}},
	// The README's install on a one-node cluster run here (kubelet,
	// containerd, runc, kube-proxy, CoreDNS), day one and day two.
	{name: "cluster", assets: []string{"test-assets"}, goTest: true, verbose: true, alongside: "e2e",
		args: []string{"-timeout", "20m", "-tags", "cluster", "./test/cluster/"}},
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var command []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, command = args[:i], args[i+1:]
	}
	selected, err := selectStages(args)
	if err != nil || (command != nil && len(args) > 0) || (command != nil && len(command) == 0) {
		if err == nil {
			err = errors.New("give stages or -- and a command, not both")
		}
		fmt.Fprintf(os.Stderr, "testrun: %v\nusage: testrun [%s ...] | testrun -- COMMAND [ARG ...]\n", err, strings.Join(stageNames(), " "))
		return 2
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	r := &runner{stop: make(chan struct{}), interrupted: new(atomic.Bool), out: os.Stdout}
	go func() {
		sig := <-signals
		r.interrupted.Store(true)
		fmt.Fprintf(os.Stderr, "\ntestrun: %v: stopping\n", sig)
		close(r.stop)
	}()

	pg, err := preparePostgres()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
		return 1
	}
	defer pg.stop()
	if pg.url != "" {
		if err := os.Setenv(postgresEnv, pg.url); err != nil {
			fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
			return 1
		}
	}

	if command != nil {
		code, err := r.exec(command, nil)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
			return 1
		case r.interrupted.Load():
			return 130
		}
		return code
	}

	var results []result
	start := time.Now()
	if assets := neededAssets(selected); len(assets) > 0 {
		build := stage{name: "build", args: append([]string{"make", "-j3", "--no-print-directory"}, assets...)}
		results = append(results, r.runStage(build))
	}
	for _, s := range selected {
		if r.interrupted.Load() {
			break
		}
		if s.alongside != "" && slices.ContainsFunc(selected, func(o stage) bool { return o.name == s.alongside }) {
			continue // run beside its partner
		}
		results = append(results, r.runBeside(s, selected)...)
	}
	pg.stop()
	return summarize(r.out, results, time.Since(start), pg, r.interrupted.Load())
}

// selectStages returns the stages named, in the run's order, or every
// stage.
func selectStages(names []string) ([]stage, error) {
	if len(names) == 0 {
		return stages, nil
	}
	var selected []stage
	for _, s := range stages {
		if slices.Contains(names, s.name) {
			selected = append(selected, s)
		}
	}
	for _, n := range names {
		if !slices.Contains(stageNames(), n) {
			return nil, fmt.Errorf("no stage %q", n)
		}
	}
	return selected, nil
}

func stageNames() []string {
	var names []string
	for _, s := range stages {
		names = append(names, s.name)
	}
	return names
}

// neededAssets is every make target the stages need, once.
func neededAssets(selected []stage) []string {
	var assets []string
	for _, s := range selected {
		for _, a := range s.assets {
			if !slices.Contains(assets, a) {
				assets = append(assets, a)
			}
		}
	}
	return assets
}

// runner runs commands in process groups of their own, so that an
// interrupt reaches the whole command (go test, its test binaries and the
// servers they started) through this process, which then cleans up.
type runner struct {
	// stop is closed at the first signal: every running stage is stopped.
	stop        chan struct{}
	interrupted *atomic.Bool
	out         io.Writer
}

// runBeside runs s, and beside it the selected stages that run alongside
// it, whose output is held and printed after s's.
func (r *runner) runBeside(s stage, selected []stage) []result {
	type held struct {
		out  *bytes.Buffer
		done chan result
	}
	var partners []held
	for _, p := range selected {
		if p.alongside != s.name {
			continue
		}
		h := held{out: new(bytes.Buffer), done: make(chan result, 1)}
		sub := *r
		sub.out = h.out
		fmt.Fprintf(r.out, "\n==> %s: started beside %s, its output follows %s's\n", p.name, s.name, s.name)
		go func() { h.done <- sub.runStage(p) }()
		partners = append(partners, h)
	}
	results := []result{r.runStage(s)}
	for _, h := range partners {
		res := <-h.done
		if _, err := r.out.Write(h.out.Bytes()); err != nil {
			fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
		}
		results = append(results, res)
	}
	return results
}

// result is one stage's outcome.
type result struct {
	name    string
	elapsed time.Duration
	ok      bool
	counted bool // a go test stage: the counts below mean something
	counts  counts
}

func (r *runner) runStage(s stage) result {
	fmt.Fprintf(r.out, "\n==> %s\n", s.name)
	start := time.Now()
	res := result{name: s.name}
	if !s.goTest {
		code, err := r.exec(resolveMake(s.args), nil)
		if err != nil {
			fmt.Fprintf(r.out, "%s: %v\n", s.name, err)
		}
		res.ok = code == 0 && err == nil
	} else {
		rd := newRenderer(r.out, s.verbose)
		args := append([]string{goCommand(), "test", "-json", "-count=1"}, s.args...)
		code, err := r.exec(args, rd)
		if err != nil {
			fmt.Fprintf(r.out, "%s: %v\n", s.name, err)
		}
		rd.finish()
		res.counted, res.counts = true, rd.counts
		// go test's exit status alone decides: a package that failed to
		// build, or exited after its tests passed, fails the stage.
		res.ok = code == 0 && err == nil
		if !res.ok && res.counts.failed == 0 {
			res.counts.failed = 1
			res.counts.failures = append(res.counts.failures, s.name+": go test exited with status "+fmt.Sprint(code))
		}
	}
	res.elapsed = time.Since(start)
	return res
}

// exec runs args, with its standard output through json (a go test -json
// stream) or straight to the terminal, and returns its exit code.
func (r *runner) exec(args []string, json *renderer) (int, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stream io.ReadCloser
	if json == nil {
		cmd.Stdout = r.out
	} else {
		var err error
		if stream, err = cmd.StdoutPipe(); err != nil {
			return -1, err
		}
	}
	if err := cmd.Start(); err != nil {
		return -1, err
	}
	rendered := make(chan struct{})
	go func() {
		defer close(rendered)
		if json != nil {
			json.read(stream)
		}
	}()
	exited := make(chan struct{})
	go func() {
		<-rendered     // Wait closes the pipe: read it to the end first
		_ = cmd.Wait() // the exit code is read from ProcessState
		close(exited)
	}()
	select {
	case <-exited:
	case <-r.stop:
		signalGroup(cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			signalGroup(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	return cmd.ProcessState.ExitCode(), nil
}

// signalGroup signals the process group that leader leads; one already
// gone is no error.
func signalGroup(leader int, sig syscall.Signal) {
	if err := syscall.Kill(-leader, sig); err != nil && err != syscall.ESRCH {
		fmt.Fprintf(os.Stderr, "testrun: signalling process group %d: %v\n", leader, err)
	}
}

func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// resolveMake replaces "make" by the make that started this run ($MAKE).
func resolveMake(args []string) []string {
	if args[0] == "make" {
		if m := os.Getenv("MAKE"); m != "" {
			return append([]string{m}, args[1:]...)
		}
	}
	return args
}
