// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package nodetest runs a real one-node Kubernetes cluster on this machine
// for `make test-cluster`: etcd, kube-apiserver (with the aggregation
// layer), kube-controller-manager and kube-scheduler of `make test-assets`,
// Debian's containerd, runc and CNI plugins, the kubelet and kube-proxy, and
// CoreDNS as the cluster's DNS. Images are OCI archives written here from
// static binaries and imported into containerd; nothing is pulled. The node
// lives in fixed places (Base, NodeIP on lo, a bridge, iptables chains,
// a few sysctls) and hack/node-clean.sh removes all of it, before a start
// and after the test, even after a crash.
package nodetest
