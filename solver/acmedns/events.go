// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package acmedns

import (
	"context"
	"fmt"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/acmehub/acmehub/solver"
)

// challengeEvents records Kubernetes Events on the Challenge a request is
// for, so that what the webhook warns about shows in `kubectl describe
// challenge`. The request does not name its Challenge: it is found by its
// key. The webhook's service account needs list on challenges and create on
// events; without them the warning is only logged.
type challengeEvents struct {
	cm   cmclient.Interface
	kube kubernetes.Interface
}

// warn records a Warning Event with reason and message on the Challenge of ch.
func (e challengeEvents) warn(ctx context.Context, ch *whapi.ChallengeRequest, reason, message string) error {
	if e.cm == nil || e.kube == nil {
		return nil
	}
	list, err := e.cm.AcmeV1().Challenges(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("finding the challenge for %s: %w", ch.DNSName, err)
	}
	for _, c := range list.Items {
		if c.Spec.Key != ch.Key || c.Spec.DNSName != ch.DNSName {
			continue
		}
		_, err := e.kube.CoreV1().Events(c.Namespace).Create(ctx, solver.Event(corev1.ObjectReference{
			APIVersion: "acme.cert-manager.io/v1", Kind: "Challenge",
			Namespace: c.Namespace, Name: c.Name, UID: c.UID, ResourceVersion: c.ResourceVersion,
		}, corev1.EventTypeWarning, reason, message, "acmehub-webhook"), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("recording an event on challenge %s/%s: %w", c.Namespace, c.Name, err)
		}
		return nil
	}
	return fmt.Errorf("no challenge with the key presented for %s", ch.DNSName)
}
