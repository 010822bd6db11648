/*
Copyright 2026 The hsfleet Authors.
SPDX-License-Identifier: Apache-2.0
*/

// Package controllers holds the HSAgent reconciler: it turns an HSAgent into
// a sealed identity Secret, a trust bundle entry and a single-pod
// StatefulSet, and reports the agent's handshakes from PostgreSQL in status.
package controllers

// The operator's permissions, collected into config/rbac by controller-gen.
// +kubebuilder:rbac:groups=hsfleet.io,resources=hsagents,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=hsfleet.io,resources=hsagents/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=hsfleet.io,resources=hsagents/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Leader election needs Leases, and client-go's leader election records
// core/v1 Events about them, only in the operator's own namespace: a Role
// there (bound in config/manager; the chart's leader-election Role mirrors
// it), not cluster-wide. The reconciler's own Events go through the
// events.k8s.io recorder (mgr.GetEventRecorder) granted above.
// config/default's namespace transformer follows a different namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=hsfleet-system,roleName=hsfleet-leader-election,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",namespace=hsfleet-system,roleName=hsfleet-leader-election,resources=events,verbs=create;patch
