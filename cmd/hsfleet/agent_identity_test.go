package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadAgentIdentityWarnsOnlyWhenSealingWithTheReferencePassphrase(t *testing.T) {
	tests := []struct {
		name           string
		passphrase     string // "" = no --passphrase-file
		createFirst    bool   // the file exists before the call
		wantWarning    bool
		wantPassphrase string
	}{
		{name: "created without a passphrase file", wantWarning: true, wantPassphrase: "my_id_pw_dora"},
		{name: "created with a passphrase file", passphrase: "s3cret\n", wantPassphrase: "s3cret"},
		{name: "existing file loaded", createFirst: true, wantPassphrase: "my_id_pw_dora"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := &agentOptions{name: "dora", identity: filepath.Join(dir, "id_agent_dora.json"), createIdentity: true}
			if tt.passphrase != "" {
				o.passphraseFile = filepath.Join(dir, "passphrase")
				if err := os.WriteFile(o.passphraseFile, []byte(tt.passphrase), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.createFirst {
				if _, err := loadAgentIdentity(o, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			id, err := loadAgentIdentity(o, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "NOT a secret")
			if warned != tt.wantWarning {
				t.Errorf("warning logged = %v, want %v; logs:\n%s", warned, tt.wantWarning, logs.String())
			}
			o.passphraseFile = filepath.Join(dir, "check")
			if err := os.WriteFile(o.passphraseFile, []byte(tt.wantPassphrase), 0o600); err != nil {
				t.Fatal(err)
			}
			o.createIdentity = false
			again, err := loadAgentIdentity(o, slog.New(slog.DiscardHandler))
			if err != nil || again.ID != id.ID {
				t.Fatalf("identity does not open with passphrase %q: %v", tt.wantPassphrase, err)
			}
		})
	}
}
