// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package nodetest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// hostState is what the node may change on this machine, one line each:
// iptables rules and chains, addresses, links, network namespaces, mounts,
// the sysctls it sets, cgroups it makes, and its processes. The node must
// leave it as it found it.
func hostState() []string {
	var lines []string
	add := func(prefix string, out []byte) {
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				lines = append(lines, prefix+": "+l)
			}
		}
	}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			out, _ := exec.Command(cmd, "-t", table, "-S").Output()
			var rules []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "-A ") || strings.HasPrefix(l, "-N ") {
					rules = append(rules, l)
				}
			}
			add(cmd+" "+table, []byte(strings.Join(rules, "\n")))
		}
	}
	for _, c := range [][]string{{"ip", "-o", "addr"}, {"ip", "-o", "link"}, {"ip", "route"}, {"ip", "netns", "list"}} {
		out, _ := exec.Command(c[0], c[1:]...).Output()
		// Link lines carry counters and states that change by themselves:
		// keep the name.
		if c[1] == "-o" && c[2] == "link" {
			var names []string
			for _, l := range strings.Split(string(out), "\n") {
				if f := strings.Fields(l); len(f) > 1 {
					names = append(names, f[1])
				}
			}
			out = []byte(strings.Join(names, "\n"))
		}
		add(strings.Join(c, " "), out)
	}
	if mounts, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(l); len(f) > 4 {
				lines = append(lines, "mount: "+f[4])
			}
		}
	}
	for _, s := range []string{"net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/ipv4/conf/all/route_localnet",
		"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"} {
		if v, err := os.ReadFile(filepath.Join("/proc/sys", s)); err == nil {
			lines = append(lines, "sysctl "+s+": "+strings.TrimSpace(string(v)))
		}
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods*")
	for _, c := range cgroups {
		lines = append(lines, "cgroup: "+c)
	}
	out, _ := exec.Command("pgrep", "-a", "-f", Base+"/").Output()
	add("process", out)
	slices.Sort(lines)
	return lines
}

// changed is what differs between two host states.
func changed(before, after []string) (gone, added []string) {
	for _, l := range before {
		if !slices.Contains(after, l) {
			gone = append(gone, l)
		}
	}
	for _, l := range after {
		if !slices.Contains(before, l) {
			added = append(added, l)
		}
	}
	return gone, added
}
