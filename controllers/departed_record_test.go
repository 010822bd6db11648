package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// A Delete-policy agent whose rows could not be deleted (its database
// down past the grace) stays out of its peers' status after an operator
// restart: the finalizer recorded it in the namespace's departed-agent
// ConfigMap, which the new operator's hub reads. Before, only the old
// operator's memory knew, and the restarted one showed it again.
func TestDeletedAgentWithRowsLeftStaysHiddenAfterRestart(t *testing.T) {
	ns := newNamespace(t)
	dsn := testDSN(t)
	createDatabaseSecret(t, ns, "hsfleet-db", dsn)
	// The deleted agent's own database never answers: its rows cannot be
	// deleted, and the peer's rows naming it stay in the live database.
	createDatabaseSecret(t, ns, "dead-db", "postgres://nobody:pw@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	cfg := testOperatorConfig()
	cfg.StateCleanupGrace = time.Second
	op := startOperator(t, ns, cfg)
	st := openTestStore(t, dsn)
	_, c := testEnv(t)
	ctx := context.Background()

	gone := newHSAgent(ns, "gone")
	gone.Spec.StateReclaimPolicy = hsv1.ReclaimDelete
	gone.Spec.Database = &hsv1.DatabaseSpec{SecretRef: hsv1.DatabaseSecretRef{Name: "dead-db", Key: DatabaseDSNKey}}
	createHSAgent(t, gone)
	createHSAgent(t, newHSAgent(ns, "stays"))
	goneID := waitCondition(t, ns, "gone", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "").Status.AgentID
	staysID := waitCondition(t, ns, "stays", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "").Status.AgentID
	at := time.Now().UTC().Truncate(time.Second)
	writeConversation(t, st, staysID, store.Responder, goneID, 2, at, true)
	writeConversation(t, st, staysID, store.Initiator, "outsider", 4, at, false)
	waitPeers(t, ns, "stays", 2, 6, goneID, true, 10*time.Second)

	if err := c.Delete(ctx, getHSAgent(t, ns, "gone")); err != nil {
		t.Fatal(err)
	}
	awaitAgentGone(t, ns, "gone", 30*time.Second)
	var rec corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: DepartedRecordName}, &rec); err != nil {
		t.Fatalf("departed-agent record: %v", err)
	}
	if _, ok := rec.Data[goneID]; !ok || len(rec.Data) != 1 {
		t.Fatalf("record %v, want only %s", rec.Data, goneID)
	}
	if sum, err := st.Summary(ctx, staysID, 10); err != nil || sum.PeerCount != 2 {
		t.Fatalf("the peer's rows naming the deleted agent should be left: %+v, %v", sum, err)
	}
	waitPeers(t, ns, "stays", 1, 4, goneID, false, departedBound)

	op.Stop(t)
	startOperator(t, ns, cfg)
	writeConversation(t, st, staysID, store.Initiator, "outsider", 1, time.Now().UTC(), false)
	waitPeers(t, ns, "stays", 1, 5, goneID, false, 10*time.Second)
	// And stays hidden poll after poll (a first poll could miss it only if
	// the record were not read).
	time.Sleep(4 * cfg.StatusInterval)
	if n, cycles, ids := peersOf(t, ns, "stays"); n != 1 || cycles != 5 {
		t.Fatalf("after restart: peerCount %d cycles %d peers %v, want the deleted agent hidden", n, cycles, ids)
	}
}

func TestTrimDepartedRecordDropsTheOldest(t *testing.T) {
	data := map[string]string{}
	base := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for i := range maxDepartedRecord + 3 {
		data[fmt.Sprintf("a%05d", i)] = base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
	}
	trimDepartedRecord(data)
	if len(data) != maxDepartedRecord {
		t.Fatalf("%d entries, want %d", len(data), maxDepartedRecord)
	}
	for _, id := range []string{"a00000", "a00001", "a00002"} {
		if _, ok := data[id]; ok {
			t.Fatalf("oldest %s kept", id)
		}
	}
	if _, ok := data[fmt.Sprintf("a%05d", maxDepartedRecord+2)]; !ok {
		t.Fatal("newest dropped")
	}
}
