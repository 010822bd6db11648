package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// The hidden set: departed agents (by the ID they were tracked with or the
// one given) and retained identities, minus every ID a tracked agent holds;
// the record of departed agents is bounded, oldest first out.
func TestHiddenPeers(t *testing.T) {
	h := newStatusHub(Config{StatusCounterRate: 1, DatabaseWorkers: 1}, nil, nil)
	ctx := context.Background()
	if got := h.hiddenPeers(ctx); got != nil {
		t.Fatalf("nothing departed: hidden %v", got)
	}
	key := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: n} }
	h.Track(key("a"), "id-a", databaseRef{Name: "db"}, time.Minute)
	h.Track(key("b"), "id-b", databaseRef{Name: "db"}, time.Minute)
	h.Track(key("kept"), "id-kept", databaseRef{Name: "db"}, time.Minute)
	h.Depart(key("a"), "")         // gone without a deletion pass: the tracked ID
	h.Depart(key("b"), "id-b2")    // both IDs
	h.Depart(key("never"), "id-n") // never tracked (operator restarted mid-deletion)
	retained := []string{"id-r", "id-kept"}
	h.retained = func(context.Context) ([]string, error) { return retained, nil }
	want := []string{"id-a", "id-b", "id-b2", "id-n", "id-r"} // id-kept is a live agent's
	if got := slices.Sorted(maps.Keys(h.hiddenPeers(ctx))); !slices.Equal(got, want) {
		t.Fatalf("hidden %v, want %v", got, want)
	}
	// Re-created (adopted identity): a peer again.
	h.Track(key("a"), "id-a", databaseRef{Name: "db"}, time.Minute)
	h.retained = func(context.Context) ([]string, error) { return nil, errors.New("cache not synced") }
	want = []string{"id-b", "id-b2", "id-n"}
	if got := slices.Sorted(maps.Keys(h.hiddenPeers(ctx))); !slices.Equal(got, want) {
		t.Fatalf("after re-creation and a failed list: hidden %v, want %v", got, want)
	}

	var d departedIDs
	for i := range maxDepartedIDs + 1 {
		d.add(fmt.Sprintf("id-%d", i))
	}
	d.add("id-1") // already there: no reordering, no growth
	if len(d.ids) != maxDepartedIDs || len(d.order) != maxDepartedIDs || d.ids["id-0"] || !d.ids["id-1"] || !d.ids[fmt.Sprintf("id-%d", maxDepartedIDs)] {
		t.Fatalf("bounded set: %d ids, %d in order, id-0 %v id-1 %v", len(d.ids), len(d.order), d.ids["id-0"], d.ids["id-1"])
	}
}
