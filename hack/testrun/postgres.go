// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// postgresEnv names the PostgreSQL server the tests use.
const postgresEnv = "ACMEHUB_TEST_POSTGRES"

// postgres is the run's PostgreSQL: one named by $ACMEHUB_TEST_POSTGRES,
// one this run started (dir and cmd set), or none (opted out).
type postgres struct {
	url     string
	version string
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	note    string // for the summary
}

// preparePostgres uses the server $ACMEHUB_TEST_POSTGRES names, or starts
// a throwaway one, unless the user opted out of PostgreSQL's tests.
func preparePostgres() (*postgres, error) {
	if u := os.Getenv(postgresEnv); u != "" {
		return &postgres{url: u, note: "the server $" + postgresEnv + " names"}, nil
	}
	if optedOut("postgres") {
		return &postgres{note: "none (opted out)"}, nil
	}
	var err error
	for range 3 { // a port taken between choosing and binding: another
		var pg *postgres
		if pg, err = startPostgres(); err == nil {
			return pg, nil
		}
	}
	return nil, err
}

// startPostgres initialises a cluster in a new temporary directory and
// serves it on a free loopback port, as an unprivileged user when run as
// root (PostgreSQL refuses root). The role acmehub may do anything,
// without a password, from this machine.
func startPostgres() (*postgres, error) {
	initdb, err := postgresProgram("initdb")
	if err != nil {
		return nil, err
	}
	server, err := postgresProgram("postgres")
	if err != nil {
		return nil, err
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "acmehub-test-postgres-")
	if err != nil {
		return nil, err
	}
	pg := &postgres{dir: dir}
	fail := func(err error) (*postgres, error) {
		pg.stop()
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "acmehub", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	cmd.Dir, cmd.SysProcAttr = dir, &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb of a throwaway PostgreSQL in %s: %w\n%s", data, err, out))
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	if cred != nil {
		if err := logFile.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	pg.cmd = exec.Command(server, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "fsync=off", "-c", "max_connections=200")
	pg.cmd.Dir, pg.cmd.Stdout, pg.cmd.Stderr = dir, logFile, logFile
	// Its own process group, so that Ctrl-C reaches it only through this
	// run, after the tests; and its end, should this run be killed.
	pg.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGINT}
	if err := pg.cmd.Start(); err != nil {
		return fail(fmt.Errorf("starting a throwaway PostgreSQL: %w", err))
	}
	pg.exited = make(chan struct{})
	go func() {
		_ = pg.cmd.Wait() // how it ended shows in its log
		close(pg.exited)
	}()
	if err := pg.awaitReady(data, 60*time.Second); err != nil {
		log, _ := os.ReadFile(logPath)
		return fail(fmt.Errorf("a throwaway PostgreSQL on 127.0.0.1:%d: %w\n%s", port, err, log))
	}
	if out, err := exec.Command(server, "--version").Output(); err == nil {
		pg.version = strings.TrimSpace(string(out))
	}
	pg.url = fmt.Sprintf("postgres://acmehub@127.0.0.1:%d/postgres?sslmode=disable", port)
	pg.note = fmt.Sprintf("a throwaway server (%s) on 127.0.0.1:%d, its cluster in %s", pg.version, port, dir)
	fmt.Printf("PostgreSQL for this run: %s\n", pg.note)
	return pg, nil
}

// awaitReady waits for the server to say, in postmaster.pid, that it
// accepts connections (as pg_ctl does).
func (pg *postgres) awaitReady(data string, limit time.Duration) error {
	deadline := time.After(limit)
	for {
		if b, err := os.ReadFile(filepath.Join(data, "postmaster.pid")); err == nil {
			if lines := strings.Split(string(b), "\n"); len(lines) > 7 && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		select {
		case <-pg.exited:
			return errors.New("the server exited")
		case <-deadline:
			return fmt.Errorf("not ready after %v", limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop shuts a server this run started down (fast: sessions are ended)
// and removes its cluster. It may be called more than once.
func (pg *postgres) stop() {
	if pg.cmd != nil && pg.exited != nil {
		signalGroup(pg.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-pg.exited:
		case <-time.After(20 * time.Second):
			signalGroup(pg.cmd.Process.Pid, syscall.SIGKILL)
			<-pg.exited
		}
		pg.cmd = nil
		pg.note += ", stopped and removed"
	}
	if pg.dir != "" {
		if err := os.RemoveAll(pg.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testrun: removing the throwaway PostgreSQL's cluster: %v\n", err)
		}
		pg.dir = ""
	}
}

// postgresProgram finds one of PostgreSQL's server programs: on $PATH, or
// in Debian's directory of the newest version installed.
func postgresProgram(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a < b
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if p := filepath.Join(dirs[i], name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s for a throwaway PostgreSQL: install Debian's postgresql (hack/test-deps.sh does, as root), set $%s to a server's URL, or opt out with $%s=postgres",
		name, postgresEnv, skipEnv)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// unprivileged is the user the server runs as: none (this one) unless
// this is root, then nobody.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL will not run as root, and there is no user nobody to run it as: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort is a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// skipEnv names, comma-separated, what the user opted out of.
const skipEnv = "ACMEHUB_TEST_SKIP"

func optedOut(name string) bool {
	for _, s := range strings.Split(os.Getenv(skipEnv), ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

// optedOutNames is what $ACMEHUB_TEST_SKIP opts out, for the summary.
func optedOutNames() []string {
	var names []string
	for _, s := range strings.Split(os.Getenv(skipEnv), ",") {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	return names
}
