// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build tools

// Package tools pins the helm command the chart tests run. It is a module of
// its own: helm's Kubernetes libraries are not the control plane's.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
