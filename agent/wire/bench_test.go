package wire

import (
	"encoding/json"
	"testing"

	"github.com/hsfleet/hsfleet/internal/benchcpu"
)

// BenchmarkDecode decodes the spec's Python relay line (a request with hs),
// the largest message HSAgent sends; BenchmarkDecodeStdlib does the same two
// parses with encoding/json, for comparison.
func BenchmarkDecode(b *testing.B) {
	line := []byte(loadVectors(b).ServerLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
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
	stop := benchcpu.Measure(b)
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
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if _, err := Encode(p); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// BenchmarkDecodeRegister is the most frequent line: every agent broadcasts
// register about once a second.
func BenchmarkDecodeRegister(b *testing.B) {
	line, err := Encode(Payload{"to": nil, "intent": "register", "from": "d8045fd9-2f6b-4bd4-a0c1-6c2b1b0a6e55"})
	if err != nil {
		b.Fatal(err)
	}
	wrapped := relayWrap("127.0.0.1:39602", line)
	b.SetBytes(int64(len(wrapped)))
	b.ReportAllocs()
	stop := benchcpu.Measure(b)
	for b.Loop() {
		if _, err := Decode(wrapped, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}
