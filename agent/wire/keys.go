package wire

import "slices"

func sortedKeys[V any](m map[string]V) []string {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
