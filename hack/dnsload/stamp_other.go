// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package dnsload

import (
	"net"
	"time"
)

// stampArrivals does nothing where the kernel stamps no arrivals: the
// reader's clock stands in.
func stampArrivals(*net.UDPConn) {}

func arrival([]byte) time.Time { return time.Time{} }
