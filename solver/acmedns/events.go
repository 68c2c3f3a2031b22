// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/acmehub/acmehub/solver"
)

// challengeEvents records Kubernetes Events on the Challenge a request is
// for, so that what the webhook warns about shows in `kubectl describe
// challenge`, and nudges a Challenge waiting for a slot. The request does
// not name its Challenge: it is found by its key. The webhook's service
// account needs list and patch on challenges and create on events; without
// them the warning is only logged, and a waiting challenge is retried after
// cert-manager's back-off.
type challengeEvents struct {
	cm   cmclient.Interface
	kube kubernetes.Interface
}

// warn records a Warning Event with reason and message on the Challenge of ch.
func (e challengeEvents) warn(ctx context.Context, ch *whapi.ChallengeRequest, reason, message string) error {
	if e.cm == nil || e.kube == nil {
		return nil
	}
	c, err := e.find(ctx, ch.Key, ch.DNSName)
	if err != nil {
		return err
	}
	_, err = e.kube.CoreV1().Events(c.Namespace).Create(ctx, solver.Event(corev1.ObjectReference{
		APIVersion: "acme.cert-manager.io/v1", Kind: "Challenge",
		Namespace: c.Namespace, Name: c.Name, UID: c.UID, ResourceVersion: c.ResourceVersion,
	}, corev1.EventTypeWarning, reason, message, "acmehub-webhook"), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("recording an event on challenge %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

// SlotFreeAnnotation is set on a Challenge waiting for a slot of a plain
// acme-dns account when one comes free: the change makes cert-manager
// retry it at once instead of after its back-off.
const SlotFreeAnnotation = "acmehub.io/slot-free"

// nudge sets SlotFreeAnnotation on the Challenge of key and dnsName.
func (e challengeEvents) nudge(ctx context.Context, key, dnsName string) error {
	if e.cm == nil {
		return fmt.Errorf("no cluster connection")
	}
	c, err := e.find(ctx, key, dnsName)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{SlotFreeAnnotation: time.Now().UTC().Format(time.RFC3339Nano)},
	}})
	if _, err := e.cm.AcmeV1().Challenges(c.Namespace).Patch(ctx, c.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotating challenge %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

// find returns the Challenge of key and dnsName.
func (e challengeEvents) find(ctx context.Context, key, dnsName string) (*cmacme.Challenge, error) {
	list, err := e.cm.AcmeV1().Challenges(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("finding the challenge for %s: %w", dnsName, err)
	}
	for i, c := range list.Items {
		if c.Spec.Key == key && c.Spec.DNSName == dnsName {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no challenge with the key presented for %s", dnsName)
}
