package bind

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/wire"
)

// referenceDir is the Summoner reference kit, as in the Makefile's
// REFERENCE_DIR.
func referenceDir(t *testing.T) string {
	if d := os.Getenv("REFERENCE_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs("../../../../shared/reference/summoner")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPythonReferenceIgnoresBindFields sends hsfleet's binding additions
// through the reference Python code itself (plan §2.1): a `request` whose
// hs carries `bind` and whose sealed plaintext carries `hsf`, and a
// `finish` carrying `mac`, as wire lines wrapped the way the reference
// relay wraps them. The reference must keep both lines, validate the hs,
// derive the same session key, read `message` from the sealed plaintext,
// and leave `bind` and `mac` strings. The script also recomputes the
// golden vectors with pyca/cryptography. Needs Debian's python3 with
// cryptography and aiosqlite, and the reference kit (REFERENCE_DIR).
func TestPythonReferenceIgnoresBindFields(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const python = "/usr/bin/python3"
	ref := referenceDir(t)
	agentDir := filepath.Join(ref, "agents", "agent_HSAgent_1")
	if _, err := os.Stat(filepath.Join(agentDir, "agent.py")); err != nil {
		t.Skipf("no reference kit (set REFERENCE_DIR): %v", err)
	}
	if err := exec.Command(python, "-c", "import cryptography, aiosqlite").Run(); err != nil {
		t.Skipf("%s with cryptography and aiosqlite not available: %v", python, err)
	}
	work := t.TempDir()
	copyDir(t, agentDir, work) // the agent writes its identity and database beside agent.py

	goID, err := crypto.NewIdentity("gobind")
	if err != nil {
		t.Fatal(err)
	}
	pyKx, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const pyID = "11111111-2222-4333-8444-555555555555"
	now := time.Now()
	nonce, echo := crypto.NewNonce(), crypto.NewNonce()
	hs := crypto.BuildHandshake(crypto.HandshakeInit, nonce, goID.KxPriv, goID.SignPriv, now)
	tr := Transcript{From: goID.ID, To: pyID, Type: hs.Type, Echo: echo, Nonce: nonce,
		KxPub: hs.KxPub, PeerKxPub: b64.EncodeToString(pyKx.PublicKey().Bytes()), TS: hs.Timestamp}
	bindSig, err := tr.Sign(goID.SignPriv)
	if err != nil {
		t.Fatal(err)
	}
	hsObj := hs.Payload()
	hsObj[HSKey] = bindSig
	key, err := crypto.SessionKey(goID.KxPriv, pyKx.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Header{From: goID.ID, To: pyID, Intent: "request", MyNonce: nonce, YourNonce: echo}.Plaintext("How are you?")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := crypto.SealSec(plain, key, goID.SignPriv, now)
	if err != nil {
		t.Fatal(err)
	}
	fields := Fields{From: goID.ID, To: pyID, Intent: "finish", YourRef: "1234567891", MyRef: "9876543219"}
	mac, err := MAC(FinalizeKey(key), fields)
	if err != nil {
		t.Fatal(err)
	}
	request := encode(t, wire.Payload{"from": goID.ID, "to": pyID, "intent": "request",
		"your_nonce": echo, "my_nonce": nonce, "hs": hsObj, "sec": sec})
	finish := encode(t, wire.Payload{"from": goID.ID, "to": pyID, "intent": "finish",
		"your_ref": fields.YourRef, "my_ref": fields.MyRef, PayloadKey: mac})
	vecs, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(map[string]any{
		"py_id":         pyID,
		"py_kx_hex":     hex.EncodeToString(pyKx.Bytes()),
		"lines":         map[string]string{"request": request, "finish": finish},
		"hazard_values": []string{bindSig, mac},
		"vectors":       json.RawMessage(vecs),
	})
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/pyref_bind.py")
	if err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(t.TempDir(), "out.json")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, outPath)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(ref, "shim")+":"+ref+":"+work, "TZ=UTC", "PYTHONUNBUFFERED=1")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		RequestKept, FinishKept bool
		BindType, Bind          string
		SessionKeyHex           string
		Message                 any
		MACType, MAC, RefType   string
		HazardUnchanged         bool
		TranscriptsOK           []bool
		HeaderOK, KfOK, MACOK   bool
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for k, dst := range map[string]any{
		"request_hook_kept": &out.RequestKept, "finish_hook_kept": &out.FinishKept,
		"request_bind_type": &out.BindType, "request_bind": &out.Bind,
		"session_key_hex": &out.SessionKeyHex, "request_message": &out.Message,
		"finish_mac_type": &out.MACType, "finish_mac": &out.MAC, "finish_your_ref_type": &out.RefType,
		"hazard_unchanged": &out.HazardUnchanged, "transcripts_ok": &out.TranscriptsOK,
		"header_ok": &out.HeaderOK, "kf_ok": &out.KfOK, "mac_ok": &out.MACOK,
	} {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			t.Fatalf("python output %s: %v\n%s", k, err, data)
		}
	}
	if !out.RequestKept || !out.FinishKept {
		t.Errorf("reference receive hook dropped a line: request %v, finish %v", out.RequestKept, out.FinishKept)
	}
	if out.BindType != "str" || out.Bind != bindSig {
		t.Errorf("hs.bind arrived as %s %q, want str %q", out.BindType, out.Bind, bindSig)
	}
	if out.SessionKeyHex != hex.EncodeToString(key) {
		t.Errorf("reference validate_handshake_message derived %s, want %x", out.SessionKeyHex, key)
	}
	if out.Message != "How are you?" {
		t.Errorf("reference maybe_open_secure read message %v, want %q", out.Message, "How are you?")
	}
	if out.MACType != "str" || out.MAC != mac || out.RefType != "str" {
		t.Errorf("finish arrived with mac %s %q (want str %q), your_ref %s", out.MACType, out.MAC, mac, out.RefType)
	}
	if !out.HazardUnchanged {
		t.Error("fully_recover_json changed a bind or mac value")
	}
	if len(out.TranscriptsOK) != 2 || !out.TranscriptsOK[0] || !out.TranscriptsOK[1] || !out.HeaderOK || !out.KfOK || !out.MACOK {
		t.Errorf("python recomputation of the golden vectors: transcripts %v header %v kf %v mac %v",
			out.TranscriptsOK, out.HeaderOK, out.KfOK, out.MACOK)
	}
}

func encode(t *testing.T, p wire.Payload) string {
	t.Helper()
	line, err := wire.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(line)
}

// copyDir copies the regular files of src (not recursively) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || filepath.Ext(e.Name()) == ".db" || filepath.Ext(e.Name()) == ".json" && len(e.Name()) > 9 && e.Name()[:9] == "id_agent_" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
