// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package solver

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// DefaultSecretIdle is how long a Secret's watch lives after its last read.
const DefaultSecretIdle = 15 * time.Minute

// Secrets reads Secrets through a watch of each Secret a challenge needs,
// and only those: one watch per namespace and name (a metadata.name field
// selector), started on first use and stopped once unused for an idle
// period. A challenge costs no API request while its Secret is watched, and
// the webhook holds nothing of the other Secrets of a namespace. The
// webhook's service account needs get, list and watch on those Secrets,
// which RBAC can grant by resourceNames.
type Secrets struct {
	client  kubernetes.Interface
	stop    <-chan struct{}
	idle    time.Duration
	mu      sync.Mutex
	watches map[string]*secretWatch // by namespace/name
}

type secretWatch struct {
	lister   listersv1.SecretNamespaceLister
	synced   cache.InformerSynced
	stop     chan struct{}
	mu       sync.Mutex
	lastUsed time.Time
	err      error // the last failed list or watch
}

// NewSecretsForClient returns a Secret reader over client whose watches end
// after idle unused, and all with stop.
func NewSecretsForClient(client kubernetes.Interface, stop <-chan struct{}, idle time.Duration) *Secrets {
	s := &Secrets{client: client, stop: stop, idle: idle, watches: map[string]*secretWatch{}}
	go s.expire()
	return s
}

// Watched returns the namespace/name of every Secret watched now.
func (s *Secrets) Watched() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.watches {
		out = append(out, k)
	}
	return out
}

// expire stops the watches unused for the idle period.
func (s *Secrets) expire() {
	t := time.NewTicker(max(s.idle/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		for k, w := range s.watches {
			w.mu.Lock()
			unused := time.Since(w.lastUsed) > s.idle
			w.mu.Unlock()
			if unused {
				close(w.stop)
				delete(s.watches, k)
			}
		}
		s.mu.Unlock()
	}
}

func (s *Secrets) watch(ns, name string) *secretWatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ns + "/" + name
	if w, ok := s.watches[key]; ok {
		w.mu.Lock()
		w.lastUsed = time.Now()
		w.mu.Unlock()
		return w
	}
	w := &secretWatch{stop: make(chan struct{}), lastUsed: time.Now()}
	factory := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	inf := factory.Core().V1().Secrets()
	_ = inf.Informer().SetTransform(func(obj any) (any, error) {
		if sec, ok := obj.(*corev1.Secret); ok {
			sec.ManagedFields = nil
			sec.Annotations = nil
		}
		return obj, nil
	})
	_ = inf.Informer().SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	})
	w.lister, w.synced = inf.Lister().Secrets(ns), inf.Informer().HasSynced
	factory.Start(stopEither(s.stop, w.stop))
	s.watches[key] = w
	return w
}

// stopEither closes when a or b does.
func stopEither(a, b <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		select {
		case <-a:
		case <-b:
		}
		close(out)
	}()
	return out
}

// Key returns the value of key in the Secret ns/name.
func (s *Secrets) Key(ctx context.Context, ns, name, key string) ([]byte, error) {
	w := s.watch(ns, name)
	for !w.synced() {
		w.mu.Lock()
		err := w.err
		w.mu.Unlock()
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("secret %s/%s: the webhook's service account may not read it "+
				"(grant get, list and watch on it, e.g. by resourceNames): %w", ns, name, err)
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return nil, fmt.Errorf("secret %s/%s could not be read in time: %w", ns, name, err)
			}
			return nil, fmt.Errorf("secret %s/%s could not be read in time: %w", ns, name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	sec, err := w.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("secret %s/%s not found", ns, name)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	data, ok := sec.Data[key]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s has no key %s", ns, name, key)
	}
	return data, nil
}
