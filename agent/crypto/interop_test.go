package crypto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

// TestPythonReferenceInterop runs both directions against an independent
// Python implementation on pyca/cryptography (the library HSAgent_1 uses):
// hs, session key, sec both ways, identity files both ways and canonical
// JSON of awkward values. It needs python3 with the cryptography package.
func TestPythonReferenceInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		t.Skipf("python3 with pyca/cryptography not available: %v", err)
	}
	goID, err := NewIdentity("gopher")
	if err != nil {
		t.Fatal(err)
	}
	py := newParty(t)
	now := time.Now()
	hs := BuildHandshake(HandshakeInit, NewNonce(), goID.KxPriv, goID.SignPriv, now)
	goKey, err := SessionKey(goID.KxPriv, py.kx.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	goMessage := map[string]any{"message": "How are you? héllo 😀 \u2028 \x7f"}
	sec, err := SealSec(goMessage, goKey, goID.SignPriv, now)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "my_id_pw_gopher"
	idFile, err := SealIdentity(goID, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	canonicalInputs := []any{
		map[string]any{"z": "\x00\x1f\x7f\"\\/", "é": []any{1.0, 1e16, 1e-05, math.Copysign(0, -1), 123456789.123, 5e-324}, "😀": nil, "\uffff": true},
		"\U0010ffff\u00a0\u2028", []any{int64(-9007199254740993), 1.7976931348623157e308},
	}
	canonicalText, err := pyjson.Marshal(canonicalInputs)
	if err != nil {
		t.Fatal(err)
	}
	req := map[string]any{
		"py_sign_seed_hex": hex.EncodeToString(py.sign.Seed()),
		"py_kx_hex":        hex.EncodeToString(py.kx.Bytes()),
		"go_hs":            hs,
		"go_sec":           sec,
		"go_identity_file": json.RawMessage(idFile),
		"passphrase":       pass,
		"py_message":       map[string]any{"message": "I am OK! ünï 𝄞"},
		"canonical_inputs": json.RawMessage(canonicalText), // keeps 1.0 a float
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "testdata/pyref.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outBytes, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var out struct {
		PySignPub    string            `json:"py_sign_pub"`
		PyKeyHex     string            `json:"py_session_key_hex"`
		PyOpened     map[string]any    `json:"py_opened"`
		PySec        any               `json:"py_sec"`
		PyIdentityID string            `json:"py_identity_my_id"`
		PyIdentity   map[string]string `json:"py_identity_file"`
		PyCanonical  []string          `json:"py_canonical"`
	}
	// Decode with our own parser so map values are the types OpenSec sees
	// from the wire.
	generic, err := pyjson.Parse(outBytes, 16)
	if err != nil {
		t.Fatalf("python output: %v\n%s", err, outBytes)
	}
	if err := json.Unmarshal(outBytes, &out); err != nil {
		t.Fatal(err)
	}

	if out.PyKeyHex != hex.EncodeToString(goKey) {
		t.Errorf("session key: python %s, go %x", out.PyKeyHex, goKey)
	}
	if !reflect.DeepEqual(out.PyOpened, goMessage) {
		t.Errorf("python opened %q, want %q", out.PyOpened, goMessage)
	}
	pySignPub, _ := base64.StdEncoding.DecodeString(out.PySignPub)
	opened, err := OpenSec(generic.(map[string]any)["py_sec"], goKey, pySignPub)
	if err != nil {
		t.Errorf("go cannot open python's sec: %v", err)
	} else if opened["message"] != "I am OK! ünï 𝄞" {
		t.Errorf("go opened %q", opened)
	}
	if out.PyIdentityID != goID.ID {
		t.Errorf("python read my_id %q from go's identity file, want %q", out.PyIdentityID, goID.ID)
	}
	pyFile, _ := json.Marshal(out.PyIdentity)
	pyID, err := OpenIdentity(pyFile, []byte(pass))
	if err != nil {
		t.Errorf("go cannot open python's identity file: %v", err)
	} else if pyID.ID != "11111111-2222-4333-8444-555555555555" || !bytes.Equal(pyID.SignPriv, py.sign) {
		t.Errorf("go read %+v from python's identity file", pyID)
	}
	for i, v := range canonicalInputs {
		got, err := CanonicalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(out.PyCanonical) && string(got) != out.PyCanonical[i] {
			t.Errorf("canonical JSON #%d:\ngo     %s\npython %s", i, got, out.PyCanonical[i])
		}
	}
	// The validated hs gives python's side the same key from go's view too.
	pyHS := BuildHandshake(HandshakeResponse, "n", py.kx, py.sign, now)
	res, err := ValidateHandshake(context.Background(), pyHS, HandshakeResponse, "n", newMemStore(), goID.KxPriv, now)
	if err != nil || !bytes.Equal(res.SessionKey, goKey) {
		t.Errorf("validate: %v, key %x want %x", err, res.SessionKey, goKey)
	}
}
