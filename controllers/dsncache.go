package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dsnCache resolves database Secrets to validated DSNs, keeping the result
// per Secret resourceVersion, so an unchanged Secret is validated once and
// a changed one (rotated password) is picked up on the next read. Database
// Secrets are user objects without the operator's label, so they are read
// through the uncached API reader: one read per Secret per status poll,
// however many agents share it.
type dsnCache struct {
	reader client.Reader

	mu      sync.Mutex
	secrets map[secretKey]cachedDSN
}

// secretKey is one key of one Secret.
type secretKey struct {
	types.NamespacedName
	key string
}

type cachedDSN struct {
	resourceVersion string
	dsn             string
	err             error
}

func newDSNCache(reader client.Reader) *dsnCache {
	return &dsnCache{reader: reader, secrets: map[secretKey]cachedDSN{}}
}

// resolve returns the DSN in the ref's Secret key; errors never contain it.
func (c *dsnCache) resolve(ctx context.Context, namespace string, ref databaseRef) (string, error) {
	name := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	key := secretKey{NamespacedName: name, key: ref.Key}
	var sec corev1.Secret
	if err := c.reader.Get(ctx, name, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			c.forget(key)
			return "", fmt.Errorf("%w: %s", errDatabaseSecretMissing, name)
		}
		return "", fmt.Errorf("read database Secret %s: %w", name, err)
	}
	c.mu.Lock()
	cached, ok := c.secrets[key]
	c.mu.Unlock()
	if ok && cached.resourceVersion == sec.ResourceVersion && sec.ResourceVersion != "" {
		return cached.dsn, cached.err
	}
	dsn, err := dsnFromSecret(&sec, ref.Key)
	c.mu.Lock()
	c.secrets[key] = cachedDSN{resourceVersion: sec.ResourceVersion, dsn: dsn, err: err}
	c.mu.Unlock()
	return dsn, err
}

func (c *dsnCache) forget(key secretKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.secrets, key)
}

// dsnFromSecret validates the Secret's DSN key: bounded, PostgreSQL only.
func dsnFromSecret(sec *corev1.Secret, dataKey string) (string, error) {
	key := types.NamespacedName{Namespace: sec.Namespace, Name: sec.Name}
	dsn := strings.TrimSpace(string(sec.Data[dataKey]))
	if dsn == "" || len(dsn) > maxDSNLength {
		invalidObjects.WithLabelValues("database-secret").Inc()
		return "", fmt.Errorf("%w: %s key %q is empty, missing or over %d bytes", errDatabaseSecretInvalid, key, dataKey, maxDSNLength)
	}
	if err := validateDSN(dsn); err != nil {
		invalidObjects.WithLabelValues("database-secret").Inc()
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return dsn, nil
}
