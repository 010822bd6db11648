package controllers

import (
	"maps"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// agentPodInputs is everything the agent StatefulSet is built from besides
// the HSAgent itself; resolved by earlier phases.
type agentPodInputs struct {
	Image        string
	Relay        string
	Database     databaseRef
	IdentityHash string
	// DatabaseHash is the content hash of the DSN key (dsnCache.hash).
	DatabaseHash string
	Knobs        agentKnobs
	PullSecrets  []string
}

// revisionHistoryLimit keeps a couple of ControllerRevisions per agent for
// rollback instead of the API default of 10 (×1,000 agents in etcd).
const revisionHistoryLimit = 2

// desiredStatefulSet is the full intent for the agent's StatefulSet, applied
// server-side: fields the operator does not set stay with the API server's
// defaults, and drift in fields it does set is corrected on every reconcile.
func desiredStatefulSet(agent *hsv1.HSAgent, in agentPodInputs) *appsv1ac.StatefulSetApplyConfiguration {
	labels := ownedLabels(agent)
	selector := map[string]string{AgentLabel: agent.Name, ManagedByLabel: ManagedByValue}
	replicas := int32(1)
	if agent.Spec.Paused {
		replicas = 0
	}
	controller := true
	return appsv1ac.StatefulSet(agent.Name, agent.Namespace).
		WithLabels(labels).
		WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion(hsv1.GroupVersion.String()).
			WithKind("HSAgent").
			WithName(agent.Name).
			WithUID(agent.UID).
			WithController(controller).
			WithBlockOwnerDeletion(true)).
		WithSpec(appsv1ac.StatefulSetSpec().
			// At most one pod per identity, ever: one replica, and the
			// ordered policy never starts a replacement before the old pod
			// is gone.
			WithReplicas(replicas).
			WithRevisionHistoryLimit(revisionHistoryLimit).
			WithPodManagementPolicy(appsv1.OrderedReadyPodManagement).
			WithUpdateStrategy(appsv1ac.StatefulSetUpdateStrategy().
				WithType(appsv1.RollingUpdateStatefulSetStrategyType)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(labels).
				WithAnnotations(map[string]string{IdentityHashAnnotation: in.IdentityHash, DatabaseHashAnnotation: in.DatabaseHash}).
				WithSpec(agentPodSpec(agent, in))))
}

func agentPodSpec(agent *hsv1.HSAgent, in agentPodInputs) *corev1ac.PodSpecApplyConfiguration {
	pod := agent.Spec.Pod
	spec := corev1ac.PodSpec().
		WithAutomountServiceAccountToken(false).
		WithEnableServiceLinks(false).
		WithTerminationGracePeriodSeconds(30).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(agentUID).
			WithRunAsGroup(agentUID).
			WithFSGroup(agentUID).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(agentContainer(agent, in)).
		WithVolumes(agentVolumes(agent)...)
	if len(pod.NodeSelector) > 0 {
		spec.WithNodeSelector(pod.NodeSelector)
	}
	for i := range pod.Tolerations {
		spec.WithTolerations(tolerationApply(pod.Tolerations[i]))
	}
	for _, name := range in.PullSecrets {
		spec.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(name))
	}
	return spec
}

func agentContainer(agent *hsv1.HSAgent, in agentPodInputs) *corev1ac.ContainerApplyConfiguration {
	pod := agent.Spec.Pod
	c := corev1ac.Container().
		WithName("agent").
		WithImage(in.Image).
		WithArgs(append(agentArgs(agent, in.Relay), in.Knobs.args()...)...).
		WithEnv(
			corev1ac.EnvVar().WithName("TZ").WithValue("UTC"),
			corev1ac.EnvVar().WithName("HSFLEET_DB").WithValueFrom(corev1ac.EnvVarSource().
				WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(in.Database.Name).WithKey(in.Database.Key))),
		).
		WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(agentHTTPPort).WithProtocol(corev1.ProtocolTCP)).
		WithLivenessProbe(httpProbe("/healthz", 10, 3)).
		WithReadinessProbe(httpProbe("/readyz", 5, 2)).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsNonRoot(true).
			WithAllowPrivilegeEscalation(false).
			WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName("identity").WithMountPath(identityMountPath).WithReadOnly(true),
			corev1ac.VolumeMount().WithName("passphrase").WithMountPath(passphraseMountPath).WithReadOnly(true),
			corev1ac.VolumeMount().WithName("trust").WithMountPath(trustMountPath).WithReadOnly(true),
			corev1ac.VolumeMount().WithName("tmp").WithMountPath("/tmp"),
		)
	if pod.ImagePullPolicy != "" {
		c.WithImagePullPolicy(pod.ImagePullPolicy)
	}
	if res := resourcesApply(in.Knobs.resources); res != nil {
		c.WithResources(res)
	}
	return c
}

// agentArgs is the `hsfleet agent` command line of the deployment contract.
func agentArgs(agent *hsv1.HSAgent, relay string) []string {
	secure := agent.Spec.Secure == nil || *agent.Spec.Secure
	limit := agent.Spec.ExchangeLimit
	if limit == 0 {
		limit = 3
	}
	trust := agent.Spec.TrustMode
	if trust == "" {
		trust = hsv1.TrustFleet
	}
	return []string{
		"agent",
		"--name=" + agent.Name,
		"--namespace=" + agent.Namespace,
		"--relay=" + relay,
		"--identity=" + identityMountPath + "/" + IdentityFileKey(agent),
		"--passphrase-file=" + passphraseMountPath + "/" + PassphraseKey,
		"--trust-bundle=" + trustMountPath + "/" + TrustBundleKey,
		"--trust-mode=" + trustModeFlag(trust),
		"--http-listen=:" + strconv.Itoa(agentHTTPPort),
		"--exchange-limit=" + strconv.Itoa(int(limit)),
		"--secure=" + strconv.FormatBool(secure),
	}
}

// trustModeFlag maps the API enum to the agent's lowercase flag value.
func trustModeFlag(m hsv1.TrustMode) string {
	switch m {
	case hsv1.TrustTOFU:
		return "tofu"
	case hsv1.TrustOpen:
		return "open"
	default:
		return "fleet"
	}
}

func agentVolumes(agent *hsv1.HSAgent) []*corev1ac.VolumeApplyConfiguration {
	passName, passKey, _ := passphraseRef(agent)
	const (
		ownerGroupRead = 0o440 // read through fsGroup, never world-readable
		worldRead      = 0o444
	)
	return []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName("identity").WithSecret(corev1ac.SecretVolumeSource().
			WithSecretName(IdentitySecretName(agent)).
			WithDefaultMode(ownerGroupRead).
			WithItems(corev1ac.KeyToPath().WithKey(IdentityFileKey(agent)).WithPath(IdentityFileKey(agent)))),
		corev1ac.Volume().WithName("passphrase").WithSecret(corev1ac.SecretVolumeSource().
			WithSecretName(passName).
			WithDefaultMode(ownerGroupRead).
			WithItems(corev1ac.KeyToPath().WithKey(passKey).WithPath(PassphraseKey))),
		corev1ac.Volume().WithName("trust").WithConfigMap(corev1ac.ConfigMapVolumeSource().
			WithName(TrustBundleName).
			WithDefaultMode(worldRead).
			WithItems(corev1ac.KeyToPath().WithKey(TrustBundleKey).WithPath(TrustBundleKey))),
		corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource().
			WithMedium(corev1.StorageMediumMemory).
			WithSizeLimit(tmpSizeLimit)),
	}
}

// tmpSizeLimit bounds the in-memory /tmp that a read-only root file system
// leaves the agent.
var tmpSizeLimit = resource.MustParse("16Mi")

func httpProbe(path string, period, failures int32) *corev1ac.ProbeApplyConfiguration {
	return corev1ac.Probe().
		WithHTTPGet(corev1ac.HTTPGetAction().WithPath(path).WithPort(intstr.FromString("http"))).
		WithPeriodSeconds(period).
		WithTimeoutSeconds(2).
		WithFailureThreshold(failures)
}

func resourcesApply(r corev1.ResourceRequirements) *corev1ac.ResourceRequirementsApplyConfiguration {
	if len(r.Limits) == 0 && len(r.Requests) == 0 {
		return nil
	}
	// Clone: Apply decodes the server's reply into these maps, and r is
	// the operator-wide default shared by every reconcile.
	ac := corev1ac.ResourceRequirements()
	if len(r.Limits) > 0 {
		ac.WithLimits(maps.Clone(r.Limits))
	}
	if len(r.Requests) > 0 {
		ac.WithRequests(maps.Clone(r.Requests))
	}
	return ac
}

func tolerationApply(t corev1.Toleration) *corev1ac.TolerationApplyConfiguration {
	ac := corev1ac.Toleration()
	if t.Key != "" {
		ac.WithKey(t.Key)
	}
	if t.Operator != "" {
		ac.WithOperator(t.Operator)
	}
	if t.Value != "" {
		ac.WithValue(t.Value)
	}
	if t.Effect != "" {
		ac.WithEffect(t.Effect)
	}
	if t.TolerationSeconds != nil {
		ac.WithTolerationSeconds(*t.TolerationSeconds)
	}
	return ac
}
