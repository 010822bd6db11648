package crypto

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

const maxPassphraseFileSize = 4 << 10

// NormalizePassphrase is the one rule that turns stored passphrase bytes (a
// file, a Secret value) into the key material an identity is sealed with:
// one trailing "\n" or "\r\n" is dropped, as `echo`, editors and
// `kubectl create secret --from-file` keep it. Every writer and reader of a
// sealed identity must apply it, or the two sides derive different keys.
// The result shares memory with b.
func NormalizePassphrase(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// ReadPassphraseFile reads a passphrase from a file (a mounted Secret key,
// typically) and normalises it with NormalizePassphrase; an empty
// passphrase is an error.
func ReadPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("passphrase: read %s: %w", path, err)
	}
	if len(b) > maxPassphraseFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrIdentityPassphrase, path, maxPassphraseFileSize)
	}
	b = NormalizePassphrase(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrIdentityPassphrase, path)
	}
	return b, nil
}
