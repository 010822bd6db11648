package kubetrust

import (
	"crypto/ed25519"
	"slices"
	"sort"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// nsBundle is one namespace's parsed bundle.
type nsBundle struct {
	keys  trust.Bundle
	caps  trust.Caps
	extra trust.ExtraKeys
}

// Conflict is an agent ID that namespaces list with different entries;
// it is left out of the merged bundle.
type Conflict struct {
	ID         string
	Namespaces []string // sorted
}

// merged is the union of every namespace's bundle.
type merged struct {
	keys      trust.Bundle
	caps      trust.Caps
	extra     trust.ExtraKeys
	conflicts []Conflict // sorted by ID
}

// merge unions the namespaces' bundles. An ID listed by several
// namespaces is kept only when every entry is the same (primary key, the
// set of extra keys, the set of caps); otherwise it is dropped from the
// result and reported, so a namespace that lists another namespace's
// agent ID with its own key locks that ID out instead of taking it over.
func merge(byNS map[string]nsBundle) merged {
	out := merged{keys: trust.Bundle{}, caps: trust.Caps{}, extra: trust.ExtraKeys{}}
	owners := map[string][]string{} // id -> namespaces listing it
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		b := byNS[ns]
		for id := range b.keys {
			owners[id] = append(owners[id], ns)
		}
	}
	for id, nss := range owners {
		first := byNS[nss[0]]
		same := true
		for _, ns := range nss[1:] {
			if !sameEntry(first, byNS[ns], id) {
				same = false
				break
			}
		}
		if !same {
			out.conflicts = append(out.conflicts, Conflict{ID: id, Namespaces: nss})
			continue
		}
		out.keys[id] = first.keys[id]
		if c := first.caps[id]; len(c) > 0 {
			out.caps[id] = c
		}
		if e := first.extra[id]; len(e) > 0 {
			out.extra[id] = e
		}
	}
	sort.Slice(out.conflicts, func(i, j int) bool { return out.conflicts[i].ID < out.conflicts[j].ID })
	return out
}

// sameEntry reports whether a and b list id with the same primary key,
// extra keys and caps (as sets).
func sameEntry(a, b nsBundle, id string) bool {
	if !a.keys[id].Equal(b.keys[id]) {
		return false
	}
	if !sameKeySet(a.extra[id], b.extra[id]) {
		return false
	}
	ca, cb := slices.Clone(a.caps[id]), slices.Clone(b.caps[id])
	slices.Sort(ca)
	slices.Sort(cb)
	return slices.Equal(slices.Compact(ca), slices.Compact(cb))
}

func sameKeySet(a, b []ed25519.PublicKey) bool {
	has := func(set []ed25519.PublicKey, k ed25519.PublicKey) bool {
		return slices.ContainsFunc(set, func(o ed25519.PublicKey) bool { return o.Equal(k) })
	}
	for _, k := range a {
		if !has(b, k) {
			return false
		}
	}
	for _, k := range b {
		if !has(a, k) {
			return false
		}
	}
	return true
}
