// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build tools

// Package tools pins the Kubernetes control-plane commands that the
// integration and conformance tests run: kube-apiserver and kubectl from
// k8s.io/kubernetes, and etcd (see ./etcd).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
