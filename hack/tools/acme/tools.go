// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build tools

// Package tools pins the ACME peers of the hub's end-to-end test: pebble,
// Let's Encrypt's test CA, and lego's library, which ./legoclient drives.
// It is a module of its own, apart from the control plane's.
package tools

import _ "github.com/letsencrypt/pebble/v2/cmd/pebble"
