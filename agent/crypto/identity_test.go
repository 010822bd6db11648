package crypto

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var uuid4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewIdentityHasUUID4AndFreshKeys(t *testing.T) {
	a, err := NewIdentity("alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewIdentity("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !uuid4RE.MatchString(a.ID) {
		t.Errorf("ID %q is not a lowercase uuid4", a.ID)
	}
	if a.ID == b.ID || bytes.Equal(a.SignPub(), b.SignPub()) || bytes.Equal(a.KxPub(), b.KxPub()) {
		t.Error("two new identities share an ID or a key")
	}
	if a.Name != "alice" || a.CreatedAt.IsZero() {
		t.Errorf("name %q created %v", a.Name, a.CreatedAt)
	}
}

func TestRotateKeepsIDAndChangesKeys(t *testing.T) {
	a, err := NewIdentity("alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != a.ID || r.Name != a.Name {
		t.Errorf("rotated identity is %q/%q, want %q/%q", r.ID, r.Name, a.ID, a.Name)
	}
	if bytes.Equal(r.SignPub(), a.SignPub()) || bytes.Equal(r.KxPub(), a.KxPub()) {
		t.Error("rotation kept a key")
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"alice": true, "agent-0": true, "a.b_c": true, "A1": true,
		"": false, "-x": false, ".hidden": false, "a/b": false, "a b": false, "é": false,
		string(make([]byte, 254)): false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
	if _, err := NewIdentity("../etc"); !errors.Is(err, ErrIdentityName) {
		t.Errorf("NewIdentity with a path: %v", err)
	}
}

func TestSealOpenIdentityRoundTrip(t *testing.T) {
	id, err := NewIdentity("bob")
	if err != nil {
		t.Fatal(err)
	}
	data, err := SealIdentity(id, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenIdentity(data, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id.ID || !bytes.Equal(got.SignPriv, id.SignPriv) || !bytes.Equal(got.KxPriv.Bytes(), id.KxPriv.Bytes()) || !got.CreatedAt.Equal(id.CreatedAt) {
		t.Errorf("opened %+v, want %+v", got, id)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["v"] != "id.v1" || doc["kdf"] != "scrypt" || doc["aad"] != "SFNBZ2VudC5pZGVudGl0eS52MQ==" {
		t.Errorf("file header %v", doc)
	}
	if bytes.Contains(data, []byte(id.ID)) {
		t.Error("the agent ID appears in clear text in the sealed file")
	}
}

func TestOpenIdentityRejections(t *testing.T) {
	v := loadVectors(t)
	good, err := json.Marshal(v.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	with := func(field, value string) []byte {
		m := map[string]string{}
		for k, s := range v.IdentityFile {
			m[k] = s
		}
		m[field] = value
		b, _ := json.Marshal(m)
		return b
	}
	flipped := func(field string) []byte {
		b := mustB64(t, v.IdentityFile[field])
		b[len(b)/2] ^= 1
		return with(field, base64Std(b))
	}
	pass := DefaultPassphrase("alice")
	for _, tc := range []struct {
		name string
		data []byte
		pass []byte
		want error
	}{
		{"wrong passphrase", good, DefaultPassphrase("bob"), ErrIdentityDecrypt},
		{"empty passphrase", good, nil, ErrIdentityPassphrase},
		{"truncated file", good[:len(good)/2], pass, ErrIdentityFormat},
		{"empty file", nil, pass, ErrIdentityFormat},
		{"not JSON", []byte("hello"), pass, ErrIdentityFormat},
		{"unknown version", with("v", "id.v2"), pass, ErrIdentityVersion},
		{"unknown kdf", with("kdf", "argon2"), pass, ErrIdentityVersion},
		{"tampered ciphertext", flipped("ciphertext"), pass, ErrIdentityDecrypt},
		{"tampered aad", flipped("aad"), pass, ErrIdentityDecrypt},
		{"tampered salt", flipped("salt"), pass, ErrIdentityDecrypt},
		{"truncated ciphertext", with("ciphertext", v.IdentityFile["ciphertext"][:40]), pass, ErrIdentityDecrypt},
		{"short nonce", with("nonce", "AAAA"), pass, ErrIdentityFormat},
		{"salt not base64", with("salt", "%%"), pass, ErrIdentityFormat},
		{"too large", append(bytes.Repeat([]byte(" "), MaxIdentityFileSize), good...), pass, ErrIdentityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, err := OpenIdentity(tc.data, tc.pass); !errors.Is(err, tc.want) {
				t.Errorf("OpenIdentity = %v, %v; want %v", id, err, tc.want)
			}
		})
	}
}

func TestOpenIdentityRejectsInconsistentPlaintext(t *testing.T) {
	a := newParty(t)
	b := newParty(t)
	pass := []byte("p")
	for name, plain := range map[string]identityPlain{
		"public key of another identity": {MyID: "x", SignPrivB64: base64Std(a.sign.Seed()), KxPrivB64: base64Std(a.kx.Bytes()), SignPubB64: base64Std(b.sign.Public().(ed25519.PublicKey))},
		"missing my_id":                  {SignPrivB64: base64Std(a.sign.Seed()), KxPrivB64: base64Std(a.kx.Bytes())},
		"control byte in my_id":          {MyID: "a\nb", SignPrivB64: base64Std(a.sign.Seed()), KxPrivB64: base64Std(a.kx.Bytes())},
		"short sign key":                 {MyID: "x", SignPrivB64: "AAAA", KxPrivB64: base64Std(a.kx.Bytes())},
		"missing kx key":                 {MyID: "x", SignPrivB64: base64Std(a.sign.Seed())},
	} {
		t.Run(name, func(t *testing.T) {
			data := sealPlain(t, plain, pass)
			if id, err := OpenIdentity(data, pass); err == nil {
				t.Errorf("accepted %+v", id)
			}
		})
	}
}

func TestWriteIdentityFileIsPrivateAndAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, IdentityFileName("carol"))
	id, err := NewIdentity("carol")
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateIdentityFile(path, id, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	loaded, err := LoadIdentityFile(path, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID != id.ID || loaded.Name != "carol" {
		t.Errorf("loaded %q/%q, want %q/carol", loaded.ID, loaded.Name, id.ID)
	}

	rotated, _ := id.Rotate()
	if err := CreateIdentityFile(path, rotated, []byte("pw")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateIdentityFile over an existing file: %v, want fs.ErrExist", err)
	}
	if err := WriteIdentityFile(path, rotated, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	again, err := LoadIdentityFile(path, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.SignPub(), rotated.SignPub()) {
		t.Error("WriteIdentityFile did not replace the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if _, err := LoadIdentityFile(filepath.Join(dir, "missing.json"), []byte("pw")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNameFromFileName(t *testing.T) {
	for path, want := range map[string]string{
		"/etc/hsfleet/id_agent_alice.json": "alice",
		"id_agent_a.b-c.json":              "a.b-c",
		"identity.json":                    "",
		"id_agent_.json":                   "",
		"id_agent_alice.yaml":              "",
	} {
		if got := NameFromFileName(path); got != want {
			t.Errorf("NameFromFileName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestReadPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
		err                 error
	}{
		{"plain", "pw", "pw", nil},
		{"one trailing newline dropped", "pw\n", "pw", nil},
		{"CRLF dropped", "pw\r\n", "pw", nil},
		{"only one newline dropped", "pw\n\n", "pw\n", nil},
		{"inner spaces kept", " p w ", " p w ", nil},
		{"empty", "", "", ErrIdentityPassphrase},
		{"only a newline", "\n", "", ErrIdentityPassphrase},
		{"too large", string(bytes.Repeat([]byte("x"), 5000)), "", ErrIdentityPassphrase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadPassphraseFile(p)
			if !errors.Is(err, tc.err) || (err == nil && string(got) != tc.want) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	nonceRE := regexp.MustCompile(`^[0-9a-f]{32}$`)
	refRE := regexp.MustCompile(`^[1-9]{10}$`)
	seen := map[string]bool{}
	for range 100 {
		n, r := NewNonce(), NewReference()
		if !nonceRE.MatchString(n) || !refRE.MatchString(r) {
			t.Fatalf("nonce %q ref %q", n, r)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
		if id := newUUID4(); !uuid4RE.MatchString(id) {
			t.Fatalf("uuid %q", id)
		}
	}
}

func TestIsJSONNumberMatchesPythonHazard(t *testing.T) {
	for s, want := range map[string]bool{
		"12345678901234567890123456789012": true,
		"1e345678901234567890123456789012": true,
		"0e345678901234567890123456789012": true,
		"0":                                true,
		"01234567890123456789012345678901": false, // leading zero: not a number
		"1e":                               false,
		"e1":                               false,
		"1e2e3":                            false,
		"1a345678901234567890123456789012": false,
		"00112233445566778899aabbccddeeff": false,
	} {
		if got := isJSONNumber([]byte(s)); got != want {
			t.Errorf("isJSONNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
