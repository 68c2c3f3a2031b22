// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serverLock is the lock a server holds on a SQLite file while it answers
// from memory what the file holds: a second server would answer from a
// memory the first never hears of. It is an advisory lock (flock) on a file
// beside the database, which also says who holds it; SQLite's own locks,
// and so every other program reading or writing the file, are untouched.
type serverLock struct{ f *os.File }

// lockPath is the lock's file for the database at path.
func lockPath(path string) string { return path + "-server.lock" }

// lockServer takes the lock of the SQLite file at path, or says which
// process holds it.
func lockServer(path string) (*serverLock, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockPath(abs), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite database %s: its server lock: %w", abs, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 512))
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite database %s: locking %s: %w", abs, lockPath(abs), err)
		}
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "a process that has not said who it is"
		}
		return nil, fmt.Errorf("sqlite database %s is served by another acmehub server (%s; lock %s): "+
			"two servers on one SQLite file answer from memories that drift apart. Stop the other one, "+
			"or run replicas on PostgreSQL ([database] engine = \"postgres\"); acmehub admin, register and dnssec import need no lock",
			abs, who, lockPath(abs))
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on host %s, since %s", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info+"\n"), 0) // who holds it is for messages only
	}
	return &serverLock{f: f}, nil
}

// release ends the lock; the file stays, empty, for the next server.
func (l *serverLock) release() {
	if l == nil {
		return
	}
	_ = l.f.Truncate(0) // nobody holds it now
	l.f.Close()
}
