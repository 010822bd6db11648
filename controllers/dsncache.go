package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	// deleted keeps the last valid DSN of Secrets seen deleted, for the
	// finalizers of their agents only: a namespace teardown deletes the
	// database Secret and the HSAgents in no particular order, and the
	// agents' rows in a shared database should still go. Bounded; an entry
	// goes when its Secret is read again.
	deleted map[secretKey]string
}

// maxDeletedDSNs bounds dsnCache.deleted.
const maxDeletedDSNs = 1024

// secretKey is one key of one Secret.
type secretKey struct {
	types.NamespacedName
	key string
}

type cachedDSN struct {
	resourceVersion string
	dsn             string
	err             error
	// hash identifies the key's content (hashed into the agent pod
	// template, so a changed DSN rolls the pod); "" for a missing Secret.
	hash string
}

func newDSNCache(reader client.Reader) *dsnCache {
	return &dsnCache{reader: reader, secrets: map[secretKey]cachedDSN{}, deleted: map[secretKey]string{}}
}

// resolve returns the DSN in the ref's Secret key; errors never contain it.
func (c *dsnCache) resolve(ctx context.Context, namespace string, ref databaseRef) (string, error) {
	dsn, _, err := c.resolveChanged(ctx, namespace, ref)
	return dsn, err
}

// resolveChanged is resolve that also reports whether the key's content
// differs from the one cached before (the agents using it need a new pod).
func (c *dsnCache) resolveChanged(ctx context.Context, namespace string, ref databaseRef) (dsn string, changed bool, err error) {
	name := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	key := secretKey{NamespacedName: name, key: ref.Key}
	var sec corev1.Secret
	if err := c.reader.Get(ctx, name, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			changed = c.forget(key)
			return "", changed, fmt.Errorf("%w: %s", errDatabaseSecretMissing, name)
		}
		return "", false, fmt.Errorf("read database Secret %s: %w", name, err)
	}
	c.mu.Lock()
	cached, ok := c.secrets[key]
	c.mu.Unlock()
	if ok && cached.resourceVersion == sec.ResourceVersion && sec.ResourceVersion != "" {
		return cached.dsn, false, cached.err
	}
	next := cachedDSN{resourceVersion: sec.ResourceVersion, hash: contentHash(sec.Data[ref.Key])}
	next.dsn, next.err = dsnFromSecret(&sec, ref.Key)
	c.mu.Lock()
	c.secrets[key] = next
	delete(c.deleted, key)
	c.mu.Unlock()
	return next.dsn, ok && cached.hash != next.hash, next.err
}

// contentHash is what the agent pod template records of its DSN key: a
// change rolls the pod (the kubelet reads env Secrets only at start).
func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// hash is the content hash of the ref's key, from the cache when the status
// hub (or a reconcile) read the Secret before, else from one API read; ""
// when the Secret does not exist. The hub re-reads every Secret each status
// interval and enqueues the agents of a Secret whose content changed.
func (c *dsnCache) hash(ctx context.Context, namespace string, ref databaseRef) (string, error) {
	key := secretKey{NamespacedName: types.NamespacedName{Namespace: namespace, Name: ref.Name}, key: ref.Key}
	c.mu.Lock()
	cached, ok := c.secrets[key]
	c.mu.Unlock()
	if ok {
		return cached.hash, nil
	}
	_, _, err := c.resolveChanged(ctx, namespace, ref)
	if err != nil && !errors.Is(err, errDatabaseSecretMissing) && !errors.Is(err, errDatabaseSecretInvalid) &&
		!errors.Is(err, errDatabaseDSNUnsupported) {
		return "", err // the API, not the Secret: do not roll the pod on a blip
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.secrets[key].hash, nil
}

// forget drops a deleted Secret; true when it was cached (its agents'
// pods referenced content that is gone).
func (c *dsnCache) forget(key secretKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cached, ok := c.secrets[key]
	delete(c.secrets, key)
	if ok && cached.err == nil && cached.dsn != "" && len(c.deleted) < maxDeletedDSNs {
		c.deleted[key] = cached.dsn
	}
	return ok
}

// lastKnown is the DSN a deleted database Secret held when last read, for
// deleting a departing agent's rows.
func (c *dsnCache) lastKnown(namespace string, ref databaseRef) (string, bool) {
	key := secretKey{NamespacedName: types.NamespacedName{Namespace: namespace, Name: ref.Name}, key: ref.Key}
	c.mu.Lock()
	defer c.mu.Unlock()
	dsn, ok := c.deleted[key]
	return dsn, ok
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
