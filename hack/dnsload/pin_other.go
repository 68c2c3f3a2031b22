// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package dnsload

// pin does nothing where threads cannot be held to a CPU.
func pin() {}
