//go:build tools

// Package tools pins the Kubernetes control-plane commands that the
// integration and conformance tests run: kube-apiserver and kubectl from
// k8s.io/kubernetes, and etcd (see ./etcd).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
