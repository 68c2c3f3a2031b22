// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package dnsserver

import "syscall"

// reusePort is nil where sockets do not share a port: one UDP socket.
var reusePort func(network, address string, c syscall.RawConn) error
