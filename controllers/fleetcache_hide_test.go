package controllers

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// Hidden peers (departed agents) leave every total and the sample, which
// still holds sampleRows entries when they sort first; unhidden, they are
// counted again from the cache at the next poll, with no row changed.
func TestFleetCacheHidesDepartedPeers(t *testing.T) {
	st := openTestStore(t, testDSN(t))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	base := now
	writeConversation(t, st, "me", store.Initiator, "p0", 2, now, true)
	writeConversation(t, st, "me", store.Responder, "p0", 1, now, false)
	for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		writeConversation(t, st, "me", store.Initiator, p, 1, base.Add(-time.Hour), false)
	}
	writeConversation(t, st, "other", store.Initiator, "p0", 7, now, false)
	asked := []store.FleetQuery{
		{SelfID: "me", StaleBefore: now.Add(-time.Minute)},
		{SelfID: "other", StaleBefore: now.Add(-time.Minute)},
	}
	c := newFleetCache()
	c.resyncSlices = 1000
	hidden := map[string]bool{"p0": true, "never-seen": true}
	for _, step := range []string{"first poll (full)", "delta poll"} {
		got, err := c.Poll(ctx, st, asked, 3, now, hidden)
		if err != nil {
			t.Fatal(err)
		}
		me, other := got["me"], got["other"]
		if me.PeerCount != 5 || me.Cycles != 5 || me.VerifiedCycles != 0 || me.StalePeers != 5 || !me.LastCycleAt.Equal(base.Add(-time.Hour)) {
			t.Errorf("%s: me %+v, want p0 left out", step, me)
		}
		var ids []string
		for _, p := range me.Sample {
			ids = append(ids, p.PeerID)
		}
		if !reflect.DeepEqual(ids, []string{"p1", "p2", "p3"}) {
			t.Errorf("%s: sample %v, want p1 p2 p3 (three rows though p0's two sort first)", step, ids)
		}
		if other.PeerCount != 0 || other.Cycles != 0 || other.LastCycleAt != nil || len(other.Sample) != 0 {
			t.Errorf("%s: other %+v, want no peer", step, other)
		}
		now = now.Add(15 * time.Second)
	}
	got, err := c.Poll(ctx, st, asked, 3, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.FleetSummary(ctx, asked, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("unhidden: cache %+v\nfull query %+v", got, want)
	}
}

// More departed peers sorting first than the sample holds (the query
// excludes them, so it does not read a fixed number of extra rows): the
// sample still shows a full page of live peers.
func TestFleetCacheSampleIsFullWithManyDepartedPeersFirst(t *testing.T) {
	st := openTestStore(t, testDSN(t))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	hidden := map[string]bool{}
	for i := range 10 {
		id := fmt.Sprintf("d%02d", i)
		hidden[id] = true
		writeConversation(t, st, "me", store.Initiator, id, 1, now, false)
		writeConversation(t, st, "me", store.Responder, id, 1, now, false)
	}
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("p%02d", i)
		writeConversation(t, st, "me", store.Initiator, id, 1, now, false)
		if i < hsv1.StatusPeerSample {
			want = append(want, id)
		}
	}
	asked := []store.FleetQuery{{SelfID: "me", StaleBefore: now.Add(-time.Minute)}}
	c := newFleetCache()
	for _, step := range []string{"first poll", "second poll"} {
		got, err := c.Poll(ctx, st, asked, hsv1.StatusPeerSample, now, hidden)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range got["me"].Sample {
			ids = append(ids, p.PeerID)
		}
		if !reflect.DeepEqual(ids, want) || got["me"].PeerCount != 20 {
			t.Fatalf("%s: sample %v of %d peers, want %v of 20 (10 departed peers sort first)", step, ids, got["me"].PeerCount, want)
		}
		now = now.Add(15 * time.Second)
	}
}

func TestExcludedPeersAreThoseSeenAsPeers(t *testing.T) {
	c := newFleetCache()
	hidden := map[string]bool{"seen": true, "unseen": true}
	if got := c.excludedPeers(hidden); len(got) != 2 {
		t.Fatalf("before the first poll: %v, want every hidden ID", got)
	}
	c.polls = 1
	c.peers["seen"] = 0
	if got := c.excludedPeers(hidden); !reflect.DeepEqual(got, []string{"seen"}) {
		t.Fatalf("after a poll: %v, want only the ID rows named", got)
	}
}
