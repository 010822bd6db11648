package trust

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPolicyAdmitAndCheck(t *testing.T) {
	member, other := newKey(t), newKey(t)
	bundle := Bundle{"member": member}
	tests := []struct {
		name      string
		mode      Mode
		agent     string
		pub       []byte
		pinned    []byte
		wantAdmit bool
		wantErr   error
	}{
		{"open admits anyone and accepts any key", Open, "stranger", other, nil, true, nil},
		{"fleet admits a bundle member with its key", Fleet, "member", member, nil, true, nil},
		{"fleet rejects a member presenting another key", Fleet, "member", other, nil, true, ErrKeyMismatch},
		{"fleet ignores an agent outside the bundle", Fleet, "stranger", other, nil, false, ErrUnknownAgent},
		{"tofu accepts the first key", TOFU, "new", other, nil, true, nil},
		{"tofu rejects a key that differs from the stored pin", TOFU, "pinned", other, member, true, ErrKeyChanged},
		{"tofu accepts the stored pin", TOFU, "pinned2", member, member, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPolicy(tc.mode, bundle)
			if got := p.Admit(tc.agent); got != tc.wantAdmit {
				t.Fatalf("Admit = %v, want %v", got, tc.wantAdmit)
			}
			err := p.CheckSignPub(tc.agent, tc.pub, tc.pinned)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CheckSignPub err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestTOFUPinsFirstKeySeenInMemory(t *testing.T) {
	p := NewPolicy(TOFU, nil)
	first, second := newKey(t), newKey(t)
	if err := p.CheckSignPub("a", first, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckSignPub("a", second, nil); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("second key err = %v, want ErrKeyChanged", err)
	}
	if err := p.CheckSignPub("a", first, nil); err != nil {
		t.Fatalf("first key again: %v", err)
	}
}

func TestParseModeIgnoresCase(t *testing.T) {
	for in, want := range map[string]Mode{"Fleet": Fleet, "TOFU": TOFU, "open": Open} {
		got, err := ParseMode(in)
		if err != nil || got != want {
			t.Fatalf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseMode("closed"); err == nil {
		t.Fatal("ParseMode accepted an unknown mode")
	}
}

func TestWatchFileReloadsChangedBundleAndKeepsLastGoodOne(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trust-bundle.json")
	a, b := newKey(t), newKey(t)
	write := func(bundle Bundle) { writeBundle(t, path, bundle, nil) }
	write(Bundle{"a": a})
	p := NewPolicy(Fleet, nil)
	if err := p.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := make(chan error, 16)
	go p.WatchFile(ctx, path, 10*time.Millisecond, nil, func(_ int, err error) { reloads <- err })

	write(Bundle{"a": a, "b": b})
	if err := waitReload(t, reloads); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !p.Admit("b") {
		t.Fatal("agent b not admitted after the bundle gained it")
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitReload(t, reloads); err == nil {
		t.Fatal("a malformed bundle reloaded without error")
	}
	if !p.Admit("b") || !p.Admit("a") {
		t.Fatal("a malformed bundle replaced the last good one")
	}
}

func waitReload(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("no reload within 5s")
		return nil
	}
}

// writeBundle writes a bundle file by rename, as a ConfigMap volume swaps
// its symlink.
func writeBundle(t *testing.T, path string, b Bundle, caps Caps) {
	t.Helper()
	data, err := b.MarshalCaps(caps)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
