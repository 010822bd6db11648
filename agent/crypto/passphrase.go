package crypto

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

const maxPassphraseFileSize = 4 << 10

// ReadPassphraseFile reads a passphrase from a file (a mounted Secret key,
// typically). One trailing "\n" or "\r\n" is dropped, as `echo` and editors
// add it; an empty passphrase is an error.
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
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrIdentityPassphrase, path)
	}
	return b, nil
}
