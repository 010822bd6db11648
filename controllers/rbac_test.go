package controllers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// generatedRoles reads config/rbac/role.yaml (controller-gen output).
func generatedRoles(t *testing.T) (*rbacv1.ClusterRole, *rbacv1.Role) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cr *rbacv1.ClusterRole
	var role *rbacv1.Role
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var probe metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			t.Fatal(err)
		}
		switch probe.Kind {
		case "ClusterRole":
			cr = &rbacv1.ClusterRole{}
			err = yaml.Unmarshal(doc, cr)
		case "Role":
			role = &rbacv1.Role{}
			err = yaml.Unmarshal(doc, role)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if cr == nil || role == nil {
		t.Fatal("config/rbac/role.yaml lacks the ClusterRole or the leader-election Role")
	}
	return cr, role
}

// The operator runs its whole lifecycle (leader election, identity, trust
// bundle, StatefulSet apply, status, both reclaim policies, adoption) as a
// user holding only the generated roles: the trimmed verbs are enough.
func TestOperatorRunsWithGeneratedRBAC(t *testing.T) {
	ns := newNamespace(t)
	restCfg, c := testEnv(t)
	ctx := context.Background()
	createDatabaseSecret(t, ns, "hsfleet-db", testDSN(t))
	cr, role := generatedRoles(t)
	user := "rbac-test-operator-" + ns
	cr.Name = user
	role.Namespace = ns // the lease lives in the test namespace
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	for _, o := range []client.Object{cr, role,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leader-election", Namespace: ns}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}},
	} {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create %T: %v", o, err)
		}
	}
	limited := rest.CopyConfig(restCfg)
	limited.Impersonate = rest.ImpersonationConfig{UserName: user}
	startOperatorOn(t, limited, ManagerOptions{
		Namespaces: []string{ns}, MetricsAddr: "0", ProbeAddr: "0",
		LeaderElect: true, LeaderElectionNamespace: ns,
		SkipControllerNameValidation: true,
	}, testOperatorConfig())

	kept := newHSAgent(ns, "kept")
	kept.Spec.StateReclaimPolicy = hsv1.ReclaimRetain
	createHSAgent(t, kept)
	createHSAgent(t, newHSAgent(ns, "dropped"))
	first := waitCondition(t, ns, "kept", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	dropped := waitCondition(t, ns, "dropped", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	eventually(t, 30*time.Second, func() error {
		if len(readTrustBundle(t, ns)) != 2 {
			return errNotYet
		}
		return nil
	})
	getStatefulSet(t, ns, "kept") // applied
	getStatefulSet(t, ns, "dropped")

	deleteAgentAndWait(t, ns, "dropped")
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: IdentitySecretName(dropped)}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("policy Delete left the identity Secret (err %v)", err)
	}
	deleteAgentAndWait(t, ns, "kept")
	createHSAgent(t, newHSAgent(ns, "kept"))
	again := waitCondition(t, ns, "kept", hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored)
	if again.Status.AgentID != first.Status.AgentID {
		t.Errorf("adopted agent ID %s, want %s", again.Status.AgentID, first.Status.AgentID)
	}
}
