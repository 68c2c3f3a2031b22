package solver

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Secrets reads Secrets through informer caches, one per namespace, started
// the first time a challenge needs a Secret there: a challenge costs no API
// request once its namespace is watched. The webhook's service account needs
// get, list and watch on Secrets in those namespaces.
type Secrets struct {
	client  kubernetes.Interface
	stop    <-chan struct{}
	mu      sync.Mutex
	listers map[string]*namespaceCache
}

type namespaceCache struct {
	lister listersv1.SecretNamespaceLister
	synced cache.InformerSynced
}

// NewSecrets returns a Secret reader for the cluster of cfg; its informers stop with stop.
func NewSecrets(cfg *rest.Config, stop <-chan struct{}) (*Secrets, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return NewSecretsForClient(client, stop), nil
}

// NewSecretsForClient is NewSecrets with a client.
func NewSecretsForClient(client kubernetes.Interface, stop <-chan struct{}) *Secrets {
	return &Secrets{client: client, stop: stop, listers: map[string]*namespaceCache{}}
}

func (s *Secrets) namespace(ns string) *namespaceCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.listers[ns]; ok {
		return c
	}
	factory := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Secrets()
	// Keep only what is read: the cache holds every Secret of the namespace.
	_ = inf.Informer().SetTransform(func(obj any) (any, error) {
		if sec, ok := obj.(*corev1.Secret); ok {
			sec.ManagedFields = nil
			sec.Annotations = nil
		}
		return obj, nil
	})
	c := &namespaceCache{lister: inf.Lister().Secrets(ns), synced: inf.Informer().HasSynced}
	factory.Start(s.stop)
	s.listers[ns] = c
	return c
}

// Key returns the value of key in the Secret ns/name.
func (s *Secrets) Key(ctx context.Context, ns, name, key string) ([]byte, error) {
	c := s.namespace(ns)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return nil, fmt.Errorf("secret %s/%s: the secrets of namespace %s could not be listed in time "+
			"(may the webhook's service account list and watch secrets there?)", ns, name, ns)
	}
	sec, err := c.lister.Get(name)
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
