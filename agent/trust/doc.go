// Package trust decides whose handshake keys an agent accepts: open (the
// reference behaviour: anyone), tofu (pin a peer's Ed25519 key on first
// sight, refuse a change) or fleet (a bundle of agent ID → Ed25519 public
// key, reloaded when its file changes on disk). Bundle entries may carry
// caps (`{"<id>": {"key": "<b64>", "caps": ["bind1"]}}`); CapBind1 makes
// the transcript binding mandatory for that agent. During a key rotation an
// entry also lists "keys": more keys accepted for the agent, so peers take
// both its old and its new key while the new one propagates (Keys,
// Accepts; docs/rotation.md). TOFU pins live in a
// bounded LRU map (SetMaxPins) that the engine prunes with PrunePins.
package trust
