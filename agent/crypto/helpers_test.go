package crypto

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// sealPlain seals an arbitrary plaintext document into an id.v1 file.
func sealPlain(t *testing.T, plain identityPlain, pass []byte) []byte {
	t.Helper()
	pt, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	salt, nonce := make([]byte, 16), make([]byte, 12)
	aead, err := identityAEAD(pass, salt)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(identityDoc{V: identityVersion, KDF: identityKDF, Salt: base64Std(salt), Nonce: base64Std(nonce),
		AAD: base64Std([]byte(identityAAD)), Ciphertext: base64Std(aead.Seal(nil, nonce, pt, []byte(identityAAD)))})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
