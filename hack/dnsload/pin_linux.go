// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package dnsload

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// pin holds the calling goroutine to the first CPU for the rest of its
// life: a flood's senders stand for packets arriving from a network, and
// may not take the cores the server under test runs on.
func pin() {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(0)
	_ = unix.SchedSetaffinity(0, &set)
}
