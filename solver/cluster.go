// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package solver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster is what a solver reads of the cluster: the Secrets its Issuers'
// configs name, in the challenges' namespaces. Each Initialize connects it
// again (cert-manager's test suite initialises a solver once for each
// control plane it starts).
type Cluster struct {
	mu      sync.RWMutex
	secrets *Secrets
}

// Connect makes a client for cfg and a Secret reader whose watches end
// with stop, and returns the client for what else the solver asks.
func (c *Cluster) Connect(cfg *rest.Config, stop <-chan struct{}) (kubernetes.Interface, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	c.Use(kube, stop, DefaultSecretIdle)
	return kube, nil
}

// Use reads Secrets through kube, with watches ending after idle unused
// and all with stop.
func (c *Cluster) Use(kube kubernetes.Interface, stop <-chan struct{}, idle time.Duration) {
	c.mu.Lock()
	c.secrets = NewSecretsForClient(kube, stop, idle)
	c.mu.Unlock()
}

// Secret returns the value of key in the Secret name of the challenge's
// namespace.
func (c *Cluster) Secret(ctx context.Context, ch *whapi.ChallengeRequest, name, key string) ([]byte, error) {
	c.mu.RLock()
	secrets := c.secrets
	c.mu.RUnlock()
	if secrets == nil {
		return nil, errors.New("the solver is not initialised")
	}
	return secrets.Key(ctx, ch.ResourceNamespace, name, key)
}

// Secrets is the Secret reader, nil before Connect.
func (c *Cluster) Secrets() *Secrets {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.secrets
}

// DecodeConfig reads a challenge's webhook config block with parse, which
// checks it and fills in its defaults.
func DecodeConfig[T any](ch *whapi.ChallengeRequest, parse func([]byte) (T, error)) (T, error) {
	var raw []byte
	if ch.Config != nil {
		raw = ch.Config.Raw
	}
	return parse(raw)
}
