// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsserver

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort lets several UDP sockets bind one port; the kernel spreads the
// clients over them.
var reusePort = func(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
