// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build tools

// Package tools pins golangci-lint, which `make lint` builds into _bin/.
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
