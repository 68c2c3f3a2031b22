// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package solver

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event is an Event about the object ref names, named as client-go's
// recorder names its events (<object>.<nanoseconds in hex>), so that kubectl
// describe shows it.
func Event(ref corev1.ObjectReference, eventType, reason, message, component string) *corev1.Event {
	now := time.Now()
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()), Namespace: ref.Namespace},
		InvolvedObject: ref,
		Reason:         reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: component},
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now), Count: 1,
	}
}
