/*
Copyright 2026 The hsfleet Authors.
SPDX-License-Identifier: Apache-2.0
*/

// Package controllers holds the HSAgent reconciler: it turns an HSAgent into
// a sealed identity Secret, a trust bundle entry and a single-pod
// StatefulSet, and reports the agent's handshakes from PostgreSQL in status.
package controllers

// The operator's permissions, collected into config/rbac by controller-gen.
// Only verbs the code uses: HSAgents are patched (finalizer), never
// updated; status is merge-patched; hsagents/finalizers update lets owner
// references block deletion; Secrets are created, updated (rotation),
// patched (released or adopted by the reclaim policy) and deleted (policy
// Delete); the trust bundle ConfigMap is created and updated (compare and
// set); StatefulSets are server-side applied (patch, plus create for the
// first apply) and patched (scale to zero).
// +kubebuilder:rbac:groups=hsfleet.io,resources=hsagents,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=hsfleet.io,resources=hsagents/status,verbs=patch
// +kubebuilder:rbac:groups=hsfleet.io,resources=hsagents/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Leader election needs Leases, and client-go's leader election records
// core/v1 Events about them, only in the operator's own namespace: a Role
// there (bound in config/manager; the chart's leader-election Role mirrors
// it), not cluster-wide. The reconciler's own Events go through the
// events.k8s.io recorder (mgr.GetEventRecorder) granted above.
// config/default's namespace transformer follows a different namespace.
// client-go's LeaseLock only gets, creates and updates its Lease (release
// on cancel is an update).
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=hsfleet-system,roleName=hsfleet-leader-election,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=hsfleet-system,roleName=hsfleet-leader-election,resources=events,verbs=create;patch
