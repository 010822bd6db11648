package controllers

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// wantPodSecurity and wantContainerSecurity are the restricted profile every
// agent pod must run with, asserted field by field (also in envtest).
var (
	wantPodSecurity = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](agentUID),
		RunAsGroup:     ptr.To[int64](agentUID),
		FSGroup:        ptr.To[int64](agentUID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	wantContainerSecurity = &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
)

func typedStatefulSet(t *testing.T, agent *hsv1.HSAgent, in agentPodInputs) appsv1.StatefulSet {
	t.Helper()
	if in.Knobs.databaseMaxConns == 0 {
		r := &HSAgentReconciler{Config: Config{Agent: AgentDefaults{CycleInterval: DefaultAgentCycleInterval}}.withDefaults()}
		in.Knobs = r.knobs(agent)
	}
	raw, err := json.Marshal(desiredStatefulSet(agent, in))
	if err != nil {
		t.Fatal(err)
	}
	var sts appsv1.StatefulSet
	if err := json.Unmarshal(raw, &sts); err != nil {
		t.Fatal(err)
	}
	return sts
}

func testAgent() *hsv1.HSAgent {
	return &hsv1.HSAgent{
		ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: "fleet", UID: "uid-1"},
		Spec:       hsv1.HSAgentSpec{ExchangeLimit: 5, TrustMode: hsv1.TrustTOFU, Secure: ptr.To(false)},
	}
}

func TestDesiredStatefulSetRunsOneRestrictedPod(t *testing.T) {
	agent := testAgent()
	sts := typedStatefulSet(t, agent, agentPodInputs{Image: "hsfleet:dev", Relay: "relay:8888", Database: databaseRef{Name: "db", Key: "dsn"}, IdentityHash: "abc"})

	if got := ptr.Deref(sts.Spec.Replicas, -1); got != 1 {
		t.Errorf("replicas = %d, want 1", got)
	}
	pod := sts.Spec.Template.Spec
	if !reflect.DeepEqual(pod.SecurityContext, wantPodSecurity) {
		t.Errorf("pod security context = %+v, want %+v", pod.SecurityContext, wantPodSecurity)
	}
	if ptr.Deref(pod.AutomountServiceAccountToken, true) {
		t.Error("service account token must not be mounted")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !reflect.DeepEqual(c.SecurityContext, wantContainerSecurity) {
		t.Errorf("container security context = %+v, want %+v", c.SecurityContext, wantContainerSecurity)
	}
	wantArgs := []string{"agent", "--name=alice", "--namespace=fleet", "--relay=relay:8888",
		"--identity=/etc/hsfleet/identity/id_agent_alice.json", "--passphrase-file=/etc/hsfleet/passphrase/passphrase",
		"--trust-bundle=/etc/hsfleet/trust/trust-bundle.json", "--trust-mode=tofu", "--http-listen=:8080",
		"--exchange-limit=5", "--secure=false", "--cycle-interval=10s", "--db-max-conns=2"}
	if !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["TZ"].Value != "UTC" {
		t.Errorf("TZ = %q, want UTC", env["TZ"].Value)
	}
	if ref := env["HSFLEET_DB"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "db" || ref.SecretKeyRef.Key != "dsn" {
		t.Errorf("HSFLEET_DB must come from Secret db key dsn, got %+v", env["HSFLEET_DB"])
	}
	for _, m := range c.VolumeMounts {
		if m.Name != "tmp" && !m.ReadOnly {
			t.Errorf("mount %s must be read-only", m.Name)
		}
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes must hit /healthz and /readyz on the agent port")
	}
	if sts.Spec.Template.Annotations[IdentityHashAnnotation] != "abc" {
		t.Errorf("pod template must carry the identity hash")
	}
	if got := ptr.Deref(sts.Spec.RevisionHistoryLimit, -1); got != revisionHistoryLimit {
		t.Errorf("revisionHistoryLimit = %d, want %d", got, revisionHistoryLimit)
	}
	if sts.Labels[InstanceLabel] != "alice" || sts.Spec.Template.Labels[InstanceLabel] != "alice" {
		t.Errorf("StatefulSet and pod must carry %s=alice: %v / %v", InstanceLabel, sts.Labels, sts.Spec.Template.Labels)
	}
	if !reflect.DeepEqual(c.Resources, DefaultAgentResources()) {
		t.Errorf("resources = %+v, want the operator default %+v", c.Resources, DefaultAgentResources())
	}
	if len(sts.OwnerReferences) != 1 || !ptr.Deref(sts.OwnerReferences[0].Controller, false) || sts.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("StatefulSet must be controlled by its HSAgent: %+v", sts.OwnerReferences)
	}
}

func TestDesiredStatefulSetHonoursSpec(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*hsv1.HSAgent)
		check func(*testing.T, appsv1.StatefulSet)
	}{
		{"paused scales to zero", func(a *hsv1.HSAgent) { a.Spec.Paused = true }, func(t *testing.T, s appsv1.StatefulSet) {
			if ptr.Deref(s.Spec.Replicas, -1) != 0 {
				t.Errorf("replicas = %v, want 0", s.Spec.Replicas)
			}
		}},
		{"resources come from spec", func(a *hsv1.HSAgent) {
			a.Spec.Pod.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
		}, func(t *testing.T, s appsv1.StatefulSet) {
			got := s.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]
			if got.String() != "64Mi" {
				t.Errorf("memory limit = %s, want 64Mi", got.String())
			}
		}},
		{"agent knobs from spec override the operator's defaults", func(a *hsv1.HSAgent) {
			a.Spec.CycleInterval = &metav1.Duration{}
			a.Spec.RegisterInterval = &metav1.Duration{Duration: 3 * time.Second}
			a.Spec.MaxActiveCycles = ptr.To[int32](16)
			a.Spec.DatabaseMaxConns = ptr.To[int32](4)
		}, func(t *testing.T, s appsv1.StatefulSet) {
			args := s.Spec.Template.Spec.Containers[0].Args
			want := []string{"--cycle-interval=0s", "--db-max-conns=4", "--register-interval=3s", "--max-active-cycles=16"}
			if got := args[len(args)-len(want):]; !reflect.DeepEqual(got, want) {
				t.Errorf("knob args = %q, want %q", got, want)
			}
		}},
		{"user passphrase Secret is mounted", func(a *hsv1.HSAgent) {
			a.Spec.Identity = &hsv1.IdentitySpec{PassphraseSecretRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "mine"}, Key: "pw"}}
		}, func(t *testing.T, s appsv1.StatefulSet) {
			for _, v := range s.Spec.Template.Spec.Volumes {
				if v.Name == "passphrase" {
					if v.Secret.SecretName != "mine" || v.Secret.Items[0].Key != "pw" || v.Secret.Items[0].Path != "passphrase" {
						t.Errorf("passphrase volume = %+v", v.Secret)
					}
					return
				}
			}
			t.Error("no passphrase volume")
		}},
		{"node selector and tolerations pass through", func(a *hsv1.HSAgent) {
			a.Spec.Pod.NodeSelector = map[string]string{"zone": "a"}
			a.Spec.Pod.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}, func(t *testing.T, s appsv1.StatefulSet) {
			p := s.Spec.Template.Spec
			if p.NodeSelector["zone"] != "a" || len(p.Tolerations) != 1 || p.Tolerations[0].Key != "k" {
				t.Errorf("nodeSelector %v tolerations %v", p.NodeSelector, p.Tolerations)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := testAgent()
			tt.edit(agent)
			tt.check(t, typedStatefulSet(t, agent, agentPodInputs{Image: "i", Relay: "r:1", Database: databaseRef{Name: "db", Key: "dsn"}}))
		})
	}
}
