package wire

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecode decodes the spec's Python relay line (a request with hs),
// the largest message HSAgent sends; BenchmarkDecodeStdlib does the same two
// parses with encoding/json, for comparison.
func BenchmarkDecode(b *testing.B) {
	line := []byte(loadVectors(b).ServerLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	stop := measureCPU(b)
	for b.Loop() {
		if _, err := Decode(line, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

func BenchmarkDecodeStdlib(b *testing.B) {
	line := []byte(loadVectors(b).ServerLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	stop := measureCPU(b)
	for b.Loop() {
		var outer struct {
			RemoteAddr string `json:"remote_addr"`
			Content    string `json:"content"`
		}
		if err := json.Unmarshal(line, &outer); err != nil {
			b.Fatal(err)
		}
		var env struct {
			Payload map[string]any `json:"_payload"`
		}
		if err := json.Unmarshal([]byte(outer.Content), &env); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

func BenchmarkEncode(b *testing.B) {
	p := vectorPayload()
	b.ReportAllocs()
	stop := measureCPU(b)
	for b.Loop() {
		if _, err := Encode(p); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}
