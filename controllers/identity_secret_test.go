package controllers

import (
	"encoding/base64"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func ownedIdentitySecret(agent *hsv1.HSAgent, id, sign, kx string, sealed []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: IdentitySecretName(agent), Namespace: agent.Namespace,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: hsv1.GroupVersion.String(), Kind: "HSAgent",
				Name: agent.Name, UID: agent.UID, Controller: ptr.To(true)}},
			Annotations: map[string]string{AgentIDAnnotation: id, SignPublicKeyAnnotation: sign, KxPublicKeyAnnotation: kx},
		},
		Data: map[string][]byte{IdentityFileKey(agent): sealed},
	}
}

func TestIdentityFromSecret(t *testing.T) {
	agent := testAgent()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	good := func() *corev1.Secret {
		return ownedIdentitySecret(agent, "5f0c6a4e-0000-4000-8000-000000000001", key, key, []byte("{}"))
	}
	tests := []struct {
		name    string
		edit    func(*corev1.Secret)
		wantErr error
	}{
		{"well-formed Secret", func(*corev1.Secret) {}, nil},
		{"not controlled by the agent", func(s *corev1.Secret) { s.OwnerReferences = nil }, errIdentitySecretNotOwned},
		{"controlled by another object", func(s *corev1.Secret) { s.OwnerReferences[0].UID = "other" }, errIdentitySecretNotOwned},
		{"no identity file", func(s *corev1.Secret) { s.Data = nil }, errIdentitySecretInvalid},
		{"bad agent ID", func(s *corev1.Secret) { s.Annotations[AgentIDAnnotation] = "../../etc" }, errIdentitySecretInvalid},
		{"short sign key", func(s *corev1.Secret) { s.Annotations[SignPublicKeyAnnotation] = "AAAA" }, errIdentitySecretInvalid},
		{"kx key not base64", func(s *corev1.Secret) { s.Annotations[KxPublicKeyAnnotation] = "%%%" }, errIdentitySecretInvalid},
		{"annotations missing", func(s *corev1.Secret) { s.Annotations = nil }, errIdentitySecretInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.edit(s)
			info, err := identityFromSecret(s, agent)
			if tt.wantErr == nil {
				if err != nil || info.ID != s.Annotations[AgentIDAnnotation] {
					t.Fatalf("info %+v, err %v", info, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// FuzzIdentityFromSecret: Secret annotations are editable by namespace
// admins; whatever identityFromSecret accepts must be safe to publish in the
// trust bundle and status.
func FuzzIdentityFromSecret(f *testing.F) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f.Add("5f0c6a4e-0000-4000-8000-000000000001", key, key, []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add("a", "AAAA", "====", []byte("x"))
	f.Add("id\x00", key+"=", key[:43], []byte{0xff})
	f.Fuzz(func(t *testing.T, id, sign, kx string, sealed []byte) {
		agent := testAgent()
		info, err := identityFromSecret(ownedIdentitySecret(agent, id, sign, kx, sealed), agent)
		if err != nil {
			return
		}
		if err := validateBundleEntry(info.ID, info.SignPublicKey); err != nil {
			t.Fatalf("accepted an entry the bundle rejects: %v", err)
		}
		if raw, err := base64.StdEncoding.DecodeString(info.KxPublicKey); err != nil || len(raw) != 32 {
			t.Fatalf("accepted kx key %q", info.KxPublicKey)
		}
		if len(sealed) == 0 {
			t.Fatal("accepted a Secret without an identity file")
		}
	})
}
