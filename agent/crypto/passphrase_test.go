package crypto

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNormalizePassphrase(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain value unchanged", "s3cret", "s3cret"},
		{"one trailing LF dropped", "s3cret\n", "s3cret"},
		{"one trailing CRLF dropped", "s3cret\r\n", "s3cret"},
		{"lone trailing CR dropped", "s3cret\r", "s3cret"},
		{"only one newline dropped", "s3cret\n\n", "s3cret\n"},
		{"inner and leading whitespace kept", " s3 cret", " s3 cret"},
		{"trailing space kept", "s3cret ", "s3cret "},
		{"newline only becomes empty", "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(NormalizePassphrase([]byte(tt.in))); got != tt.want {
				t.Fatalf("NormalizePassphrase(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestIdentitySealedWithNormalizedSecretOpensFromFile is the operator/agent
// contract: the operator seals with NormalizePassphrase(Secret value), the
// agent opens with ReadPassphraseFile of the same bytes mounted as a file.
func TestIdentitySealedWithNormalizedSecretOpensFromFile(t *testing.T) {
	for _, raw := range []string{"from-literal", "from-file\n", "windows-editor\r\n"} {
		t.Run(raw, func(t *testing.T) {
			id, err := NewIdentity("a")
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := SealIdentity(id, NormalizePassphrase([]byte(raw)))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "passphrase")
			if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			pass, err := ReadPassphraseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := OpenIdentity(sealed, pass)
			if err != nil {
				t.Fatalf("agent cannot open the operator's identity: %v", err)
			}
			if got.ID != id.ID {
				t.Fatalf("opened ID %s, want %s", got.ID, id.ID)
			}
		})
	}
}
