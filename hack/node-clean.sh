#!/usr/bin/env bash
# Copyright 2026 The acmehub Authors
# SPDX-License-Identifier: Apache-2.0
#
# Removes everything the one-node test cluster (internal/testutil/nodetest,
# `make test-cluster`) puts on this machine, whatever state a run left it
# in: the pods' processes, the node's daemons, mounts, network namespaces,
# the bridge, iptables chains, the node's address and the Services' route on
# lo, cgroups, files; it
# puts back the sysctls the node changed. Running it again changes nothing.
#
#   hack/node-clean.sh        clean up
#   hack/node-clean.sh save   before a start: record the sysctls to put back
set -uo pipefail

base=/var/lib/acmehub-node
saved=/var/lib/acmehub-node.sysctl
node_ip=10.243.0.1/32
service_cidr=10.96.0.0/24
bridge=acmehub0
sysctls=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
	net.ipv4.conf.all.route_localnet vm.overcommit_memory kernel.panic kernel.panic_on_oops
	kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.netfilter.nf_conntrack_max)

if [ "${1:-}" = save ]; then
	[ -e "$saved" ] && exit 0
	for s in "${sysctls[@]}"; do
		v=$(sysctl -n "$s" 2>/dev/null) && printf '%s=%s\n' "$s" "$v"
	done >"$saved"
	exit 0
fi

# The pods' processes: every process in the kubelet's cgroups, and every
# descendant of a shim of this node's containerd.
kill_tree() {
	local pid=$1 child
	for child in $(pgrep -P "$pid"); do kill_tree "$child"; done
	kill -9 "$pid" 2>/dev/null
}
for shim in $(pgrep -f "containerd-shim.*$base/"); do kill_tree "$shim"; done
for procs in $(find /sys/fs/cgroup -maxdepth 6 -path '*kubepods*' -name cgroup.procs 2>/dev/null); do
	xargs -r kill -9 <"$procs" 2>/dev/null
done
# The node's daemons: each names $base in its arguments.
pkill -9 -f -- "$base/" 2>/dev/null
for _ in $(seq 50); do pgrep -f -- "$base/" >/dev/null || break; sleep 0.1; done

# Mounts under the node's directory and the pods' network namespaces,
# deepest first.
awk -v b="$base" '$5 ~ "^"b"(/|$)" || $5 ~ "^/(var/)?run/netns/cni-" {print $5}' /proc/self/mountinfo | sort -r |
	while read -r m; do umount -l "$m" 2>/dev/null; done
for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null; done
ip link delete "$bridge" 2>/dev/null

# iptables: the chains of the kubelet, kube-proxy and the CNI plugins, and
# the rules that jump to them.
for cmd in iptables ip6tables; do
	command -v "$cmd" >/dev/null || continue
	for table in filter nat mangle; do
		"$cmd" -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE|CNI)-' | sed 's/^-A /-D /' |
			while read -r rule; do eval "$cmd -t $table $rule" 2>/dev/null; done
		chains=$("$cmd" -t "$table" -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/ {print $2}')
		for c in $chains; do "$cmd" -t "$table" -F "$c" 2>/dev/null; done
		for c in $chains; do "$cmd" -t "$table" -X "$c" 2>/dev/null; done
	done
done
if command -v nft >/dev/null; then
	for t in "ip kube-proxy" "ip6 kube-proxy"; do nft delete table $t 2>/dev/null; done
fi

ip route delete "$service_cidr" dev lo 2>/dev/null
ip addr delete "$node_ip" dev lo 2>/dev/null

# The kubelet's cgroups, children first.
find /sys/fs/cgroup -maxdepth 8 -depth -type d -name '*kubepods*' 2>/dev/null | while read -r top; do
	find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
done

if [ -e "$saved" ]; then
	while IFS== read -r s v; do sysctl -qw "$s=$v" 2>/dev/null; done <"$saved"
	rm -f "$saved"
fi

rm -rf "$base" /var/lib/cni/results/acmehub-node-* 2>/dev/null
exit 0
