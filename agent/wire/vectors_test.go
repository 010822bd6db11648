package wire

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

type wireVectors struct {
	ClientLine string `json:"wire.client_line"`
	ServerLine string `json:"wire.python_server_line"`
}

func loadVectors(t testing.TB) wireVectors {
	t.Helper()
	raw, err := os.ReadFile("../crypto/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v wireVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// vectorPayload is the payload inside the wire vectors.
func vectorPayload() Payload {
	return Payload{
		"to":         "peer-uuid",
		"intent":     "request",
		"your_nonce": "00112233445566778899aabbccddeeff",
		"my_nonce":   "ffeeddccbbaa99887766554433221100",
		"hs": map[string]any{
			"type":      "init",
			"nonce":     "00112233445566778899aabbccddeeff",
			"kx_pub":    "NYBy1jZYgNGu6jKa35EhODhR7SGijjt16WXQ0s0WYlQ=",
			"sign_pub":  "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
			"timestamp": "2025-01-01T12:00:00",
			"sig":       "6R4dbf//P0Y3F6ClL0BiG4ytc1CWPclqqe5+rlzoug5zbjabHFV+UIXdXHe4N+OFshK/duFSZF7lAP5sN8KxCg==",
		},
		"from": "00000000-0000-4000-8000-000000000001",
	}
}

// The client line differs from Python's only in formatting (key order and
// separators), so compare it as JSON.
func TestVectorEncodeMatchesPythonClientLine(t *testing.T) {
	v := loadVectors(t)
	got, err := Encode(vectorPayload())
	if err != nil {
		t.Fatal(err)
	}
	if got[len(got)-1] != '\n' {
		t.Fatal("line does not end in a newline")
	}
	var gotDoc, wantDoc any
	if err := json.Unmarshal(got, &gotDoc); err != nil {
		t.Fatalf("encoded line is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(v.ClientLine), &wantDoc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotDoc, wantDoc) {
		t.Errorf("encoded\n%s\nwant (as JSON)\n%s", got, v.ClientLine)
	}
}

func TestVectorDecodePythonServerLine(t *testing.T) {
	v := loadVectors(t)
	in, err := Decode([]byte(v.ServerLine), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != KindMessage || in.RemoteAddr != "127.0.0.1:40000" {
		t.Errorf("kind %v addr %q, want message from 127.0.0.1:40000", in.Kind, in.RemoteAddr)
	}
	if !reflect.DeepEqual(in.Payload, vectorPayload()) {
		t.Errorf("payload = %#v\nwant %#v", in.Payload, vectorPayload())
	}
}

// Our own line, wrapped the way the relay wraps it, decodes to the payload.
func TestVectorClientLineRoundTripsThroughRelayWrapper(t *testing.T) {
	v := loadVectors(t)
	wrapped, err := json.Marshal(map[string]string{
		"remote_addr": "[::1]:5555",
		"content":     v.ClientLine[:len(v.ClientLine)-1],
	})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Decode(wrapped, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if in.RemoteAddr != "[::1]:5555" || !reflect.DeepEqual(in.Payload, vectorPayload()) {
		t.Errorf("got %+v", in)
	}
}
