// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package nodetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WaitDeploymentReady waits until every replica of the Deployment is
// updated and ready; when it is not, the namespace's pods are described.
func (n *Node) WaitDeploymentReady(ns, name string) error {
	ctx := context.Background()
	err := wait(3*time.Minute, "Deployment "+ns+"/"+name+" ready", func() error {
		d, err := n.Kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != want || s.ReadyReplicas != want || s.Replicas != want {
			return fmt.Errorf("%d of %d replicas updated, %d ready, %d in all", s.UpdatedReplicas, want, s.ReadyReplicas, s.Replicas)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, n.Describe(ns))
	}
	return nil
}

// Describe is what a person would look at when a namespace's pods fail:
// each pod's phase, its containers' states and restarts, the namespace's
// events, and the last log lines of each container.
func (n *Node) Describe(ns string) string {
	ctx := context.Background()
	var b strings.Builder
	pods, err := n.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "listing pods: " + err.Error()
	}
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s/%s: %s on %q\n", ns, p.Name, p.Status.Phase, p.Spec.NodeName)
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				fmt.Fprintf(&b, "  %s=%s %s %s\n", c.Type, c.Status, c.Reason, c.Message)
			}
		}
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			fmt.Fprintf(&b, "  container %s: ready=%v restarts=%d %s\n", cs.Name, cs.Ready, cs.RestartCount, state(cs.State))
			if cs.LastTerminationState.Terminated != nil {
				fmt.Fprintf(&b, "    last: %s\n", state(cs.LastTerminationState))
			}
			tail := int64(20)
			logs, err := n.Kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: &tail}).DoRaw(ctx)
			if err != nil {
				fmt.Fprintf(&b, "    (no logs: %v)\n", err)
				continue
			}
			for _, l := range strings.Split(strings.TrimSpace(string(logs)), "\n") {
				fmt.Fprintf(&b, "    | %s\n", l)
			}
		}
	}
	events, err := n.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		slices.SortFunc(events.Items, func(a, b corev1.Event) int { return a.LastTimestamp.Compare(b.LastTimestamp.Time) })
		for _, e := range events.Items {
			fmt.Fprintf(&b, "event %s %s/%s %s: %s (x%d)\n", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message, max(e.Count, 1))
		}
	}
	return b.String()
}

func state(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running since " + s.Running.StartedAt.Format(time.TimeOnly)
	case s.Waiting != nil:
		return "waiting: " + s.Waiting.Reason + " " + s.Waiting.Message
	case s.Terminated != nil:
		return fmt.Sprintf("terminated: %s exit %d %s", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	}
	return "unknown"
}
