package relay

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// envelopeLine is a typed envelope as the reference agent sends it.
const envelopeLine = `{"_version": "1.3.0", "_payload": {"to": null, "intent": "register", "from": "d8045fd9-aaaa-bbbb-cccc-0123456789ab"}, "_type": {"to": "null", "intent": "str", "from": "str"}}`

// pySafeCases pairs lines with whether a Summoner client survives them.
// TestPySafeObjectAgreesWithPython checks every verdict against CPython.
var pySafeCases = []struct {
	name string
	line string
	safe bool
}{
	{"envelope", envelopeLine, true},
	{"empty object", `{}`, true},
	{"whitespace around", " \t{\"a\": [1, 2.5e3, -0, true, false, null]} ", true},
	{"python NaN and infinities", `{"a": NaN, "b": Infinity, "c": -Infinity}`, true},
	{"hex nonce starting with digits", `{"nonce": "3f2a9c00d1e2"}`, true},
	{"all-digit string", `{"nonce": "123456"}`, true},
	{"nested JSON string", `{"a": "{\"b\": [1, 2]}"}`, true},
	{"4300-digit integer", `{"a": ` + strings.Repeat("1", 4300) + `}`, true},
	{"5000-digit float", `{"a": 1.` + strings.Repeat("1", 5000) + `}`, true},
	{"depth 100", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), true},
	{"escaped text that is not JSON", `{"a": "\u00e9t\u00e9 \ud83d\ude00"}`, true},

	{"plain text", `from to intent`, false},
	{"JSON array", `[{"from": "a"}]`, false},
	{"JSON string", `"hello"`, false},
	{"JSON number", `42`, false},
	{"truncated object", `{"a": 1`, false},
	{"trailing data", `{"a": 1} x`, false},
	{"single quotes", `{'a': 1}`, false},
	{"trailing comma", `{"a": 1,}`, false},
	{"raw control character", "{\"a\": \"x\x01y\"}", false},
	{"bad escape", `{"a": "\x"}`, false},
	{"leading zero", `{"a": 01}`, false},
	{"empty", ``, false},
	{"4301-digit integer", `{"a": ` + strings.Repeat("1", 4301) + `}`, false},
	{"4301-digit integer in a string", `{"a": "` + strings.Repeat("1", 4301) + `"}`, false},
	{"escaped digits in a string", `{"a": "` + strings.Repeat(`\u0031`, 4301) + `"}`, false},
	{"depth 2000", strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000), false},
	{"deep array in a string", `{"a": "` + strings.Repeat(`[`, 2000) + `"}`, false},
	{"huge integer before a syntax error in a string", `{"a": "[` + strings.Repeat("9", 5000) + `, oops"}`, false},
}

func TestPySafeObject(t *testing.T) {
	for _, c := range pySafeCases {
		if got := pySafeObject([]byte(c.line)); got != c.safe {
			t.Errorf("%s: pySafeObject = %v, want %v", c.name, got, c.safe)
		}
	}
}

func BenchmarkPySafeObjectEnvelope(b *testing.B) {
	line := []byte(envelopeLine)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if !pySafeObject(line) {
			b.Fatal("rejected")
		}
	}
}

// Whatever arrives, the check does not panic, and what it accepts as
// standard JSON decodes to an object.
func FuzzPySafeObject(f *testing.F) {
	for _, c := range pySafeCases {
		f.Add([]byte(c.line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if !pySafeObject(line) || !json.Valid(line) {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("accepted %.200q, not an object: %.200v", line, err)
		}
	})
}

// Every verdict of the filter matches what CPython does with the line.
// Skipped only where no python3 is installed.
func TestPySafeObjectAgreesWithPython(t *testing.T) {
	python := pythonPath(t)
	lines := make([]string, len(pySafeCases))
	for i, c := range pySafeCases {
		lines[i] = c.line
	}
	in, _ := json.Marshal(lines)
	cmd := exec.Command(python, filepath.Join("testdata", "summoner_recover.py"))
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var survived []bool
	if err := json.Unmarshal(out, &survived); err != nil || len(survived) != len(lines) {
		t.Fatalf("python output %q: %v", out, err)
	}
	for i, c := range pySafeCases {
		if survived[i] != c.safe {
			t.Errorf("%s: Python survives = %v, test expects %v", c.name, survived[i], c.safe)
		}
	}
}

// pythonPath prefers Debian's interpreter, the one the reference runs on.
func pythonPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("python3 not installed")
	return ""
}
