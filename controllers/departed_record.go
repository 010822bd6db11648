package controllers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DepartedRecordName is the per-namespace ConfigMap listing deleted
// agents whose rows a stateReclaimPolicy Delete finalizer could not delete
// (database down): key agent ID, value when its delete first failed
// (RFC 3339). The status hub hides them from their peers' status like
// Retain-kept identities, so an operator restarted after the deletion does
// not show them again (the in-memory departed set is empty then).
const DepartedRecordName = "hsfleet-departed-agents"

// departedRecordLabel marks the record among the operator's ConfigMaps.
const departedRecordLabel = "hsfleet.io/departed-agents"

// maxDepartedRecord bounds the record (a ConfigMap holds 1 MiB): the
// oldest entries give way first.
const maxDepartedRecord = 1024

// recordRowsLeft adds (left) or removes the agent's entry. An entry is
// written at the first failed row delete, before the finalizer retries or
// gives up, so a finalizer removed by hand meanwhile leaves it too; a later
// successful delete removes it. Nothing is written when there is nothing
// to change (the usual successful deletion reads the cache only).
func (r *HSAgentReconciler) recordRowsLeft(ctx context.Context, namespace, agentID string, left bool) error {
	if validateAgentID(agentID) != nil {
		return nil
	}
	var reader client.Reader = r.Client // the cache first; the API server after a conflict
	key := types.NamespacedName{Namespace: namespace, Name: DepartedRecordName}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cm corev1.ConfigMap
		err := reader.Get(ctx, key, &cm)
		reader = r.APIReader
		switch {
		case apierrors.IsNotFound(err) && left:
			cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: DepartedRecordName,
				Labels: map[string]string{ManagedByLabel: ManagedByValue, departedRecordLabel: "true"}},
				Data: map[string]string{agentID: r.now().UTC().Format(time.RFC3339)}}
			err = r.Client.Create(ctx, &cm)
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), DepartedRecordName, err)
			}
			return err
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		}
		if _, ok := cm.Data[agentID]; ok == left {
			return nil
		}
		cm = *cm.DeepCopy()
		if left {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[agentID] = r.now().UTC().Format(time.RFC3339)
			trimDepartedRecord(cm.Data)
		} else {
			delete(cm.Data, agentID)
		}
		return r.Client.Update(ctx, &cm)
	})
}

// trimDepartedRecord drops the oldest entries past maxDepartedRecord
// (RFC 3339 UTC sorts as text; ties by ID).
func trimDepartedRecord(data map[string]string) {
	if len(data) <= maxDepartedRecord {
		return
	}
	ids := make([]string, 0, len(data))
	for id := range data {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(data[a], data[b]), cmp.Compare(a, b)) })
	for _, id := range ids[:len(ids)-maxDepartedRecord] {
		delete(data, id)
	}
}

// recordedDepartedIDs lists the agent IDs of every namespace's record from
// the operator's cache (the hub's other durable hidden set, with
// retainedAgentIDs).
func recordedDepartedIDs(ctx context.Context, c client.Reader) ([]string, error) {
	var l corev1.ConfigMapList
	if err := c.List(ctx, &l, client.MatchingLabels{ManagedByLabel: ManagedByValue, departedRecordLabel: "true"},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list departed-agent records: %w", err)
	}
	var ids []string
	for i := range l.Items {
		if l.Items[i].Name != DepartedRecordName {
			continue
		}
		for id := range l.Items[i].Data {
			if validateAgentID(id) == nil {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// durablyHiddenIDs is the hub's hidden set that survives a restart: the
// identities kept by Retain and the recorded deleted agents whose rows
// were left.
func durablyHiddenIDs(c client.Reader) func(context.Context) ([]string, error) {
	retained := retainedAgentIDs(c)
	return func(ctx context.Context) ([]string, error) {
		ids, err := retained(ctx)
		if err != nil {
			return nil, err
		}
		left, err := recordedDepartedIDs(ctx, c)
		return append(ids, left...), err
	}
}
