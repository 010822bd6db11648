package controllers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/hsfleet/hsfleet/agent/crypto"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

const maxPassphraseSize = 4 << 10

var (
	errPassphraseMissing = errors.New("passphrase Secret or key not found")
	errPassphraseInvalid = errors.New("passphrase is empty or larger than 4 KiB")
)

// ensurePassphrase returns the identity passphrase, creating the generated
// passphrase Secret when the user did not name one. An existing passphrase
// is never replaced: it may already seal an identity.
func (r *HSAgentReconciler) ensurePassphrase(ctx context.Context, agent *hsv1.HSAgent) ([]byte, error) {
	pass, err := r.readPassphrase(ctx, agent)
	if _, _, generated := passphraseRef(agent); !generated || !errors.Is(err, errPassphraseMissing) {
		return pass, err
	}
	pass, err = newPassphrase()
	if err != nil {
		return nil, err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      GeneratedPassphraseSecretName(agent),
			Namespace: agent.Namespace,
			Labels:    ownedLabels(agent),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{PassphraseKey: pass},
	}
	if err := controllerutil.SetControllerReference(agent, sec, r.Scheme); err != nil {
		return nil, fmt.Errorf("own passphrase Secret: %w", err)
	}
	if err := r.Client.Create(ctx, sec); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Created meanwhile (or the cache lags): use what is stored.
			return r.readPassphraseFrom(ctx, agent, true)
		}
		return nil, fmt.Errorf("create passphrase Secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return pass, nil
}

// readPassphrase reads the passphrase the identity is sealed with.
func (r *HSAgentReconciler) readPassphrase(ctx context.Context, agent *hsv1.HSAgent) ([]byte, error) {
	return r.readPassphraseFrom(ctx, agent, false)
}

func (r *HSAgentReconciler) readPassphraseFrom(ctx context.Context, agent *hsv1.HSAgent, live bool) ([]byte, error) {
	name, key, generated := passphraseRef(agent)
	// The generated Secret carries the operator's label and is cached; a
	// user's Secret is not, so it is read from the API server.
	reader := r.APIReader
	if generated && !live {
		reader = r.Client
	}
	var sec corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s/%s", errPassphraseMissing, agent.Namespace, name)
		}
		return nil, fmt.Errorf("read passphrase Secret %s/%s: %w", agent.Namespace, name, err)
	}
	raw, ok := sec.Data[key]
	if !ok {
		return nil, fmt.Errorf("%w: key %q in %s/%s", errPassphraseMissing, key, agent.Namespace, name)
	}
	// The agent reads the mounted key with crypto.ReadPassphraseFile, which
	// normalises the same way; sealing with the raw bytes of a Secret made
	// with --from-file (trailing newline) would lock the agent out.
	pass := crypto.NormalizePassphrase(raw)
	if len(pass) == 0 || len(pass) > maxPassphraseSize {
		invalidObjects.WithLabelValues("passphrase-secret").Inc()
		return nil, fmt.Errorf("%w: key %q in %s/%s", errPassphraseInvalid, key, agent.Namespace, name)
	}
	return pass, nil
}

// newPassphrase is 256 random bits, printable so it survives kubectl edits.
func newPassphrase() ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate passphrase: %w", err)
	}
	return []byte(base64.RawURLEncoding.EncodeToString(raw)), nil
}
