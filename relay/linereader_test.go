package relay

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll drains lr, recording lines and ErrLineTooLong as "<too long>".
func readAll(t testing.TB, lr *LineReader) []string {
	t.Helper()
	var out []string
	for range 10000 {
		line, err := lr.ReadLine()
		switch {
		case err == nil:
			out = append(out, string(line))
		case errors.Is(err, ErrLineTooLong):
			out = append(out, "<too long>")
		case errors.Is(err, io.EOF):
			return out
		default:
			t.Fatalf("ReadLine: %v", err)
		}
	}
	t.Fatal("ReadLine did not reach EOF")
	return nil
}

func TestLineReaderSplitsLinesAndSurvivesOversizedOnes(t *testing.T) {
	tests := []struct {
		name  string
		input string
		limit int
		want  []string
	}{
		{"simple lines", "a\nbb\nccc\n", 8, []string{"a", "bb", "ccc"}},
		{"empty lines are lines", "\n\nx\n", 8, []string{"", "", "x"}},
		{"carriage return kept like Python", "a\r\nb\n", 8, []string{"a\r", "b"}},
		{"unterminated last line delivered", "a\nlast", 8, []string{"a", "last"}},
		{"exactly the limit is accepted", "12345678\n", 8, []string{"12345678"}},
		{"one over the limit is dropped", "123456789\nok\n", 8, []string{"<too long>", "ok"}},
		{"huge line reported once", strings.Repeat("x", 1000) + "\nok\n", 8, []string{"<too long>", "ok"}},
		{"oversized unterminated tail", "ok\n" + strings.Repeat("y", 50), 8, []string{"ok", "<too long>"}},
		{"two oversized in a row", strings.Repeat("a", 20) + "\n" + strings.Repeat("b", 20) + "\nc\n", 8,
			[]string{"<too long>", "<too long>", "c"}},
		{"empty input", "", 8, nil},
	}
	readers := map[string]func(string) io.Reader{
		"whole":    func(s string) io.Reader { return strings.NewReader(s) },
		"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"data+EOF": func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
	}
	for _, tt := range tests {
		for rname, mk := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got := readAll(t, NewLineReader(mk(tt.input), tt.limit))
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestLineReaderBufferNeverExceedsLimitPlusOne(t *testing.T) {
	const limit = 100
	lr := NewLineReader(strings.NewReader(strings.Repeat("z", 10_000)+"\n"), limit)
	got := readAll(t, lr)
	if len(got) != 1 || got[0] != "<too long>" {
		t.Fatalf("got %q", got)
	}
	if cap(lr.buf) > limit+1 {
		t.Errorf("buffer grew to %d bytes, limit+1 is %d", cap(lr.buf), limit+1)
	}
}

func TestLineReaderPassesThroughTransientErrors(t *testing.T) {
	errTransient := errors.New("transient")
	r := io.MultiReader(strings.NewReader("par"), iotest.ErrReader(errTransient))
	lr := NewLineReader(r, 16)
	if _, err := lr.ReadLine(); !errors.Is(err, errTransient) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

func TestLineReaderGivesUpOnReaderWithoutProgress(t *testing.T) {
	lr := NewLineReader(zeroReader{}, 16)
	if _, err := lr.ReadLine(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// referenceLines is the obvious, allocation-heavy model of LineReader.
func referenceLines(input []byte, limit int) []string {
	var out []string
	parts := bytes.Split(input, []byte("\n"))
	for i, p := range parts {
		last := i == len(parts)-1
		if last && len(p) == 0 {
			break
		}
		if len(p) > limit {
			out = append(out, "<too long>")
			continue
		}
		out = append(out, string(p))
	}
	return out
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nb\n"), uint8(4), uint8(1))
	f.Add([]byte("toolongline\nok\n"), uint8(3), uint8(2))
	f.Add([]byte("\n\n\r\n"), uint8(1), uint8(7))
	f.Add([]byte("no newline at all"), uint8(5), uint8(3))
	f.Add([]byte("x\xff\xfe\n\x00\n"), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, input []byte, limit8, chunk8 uint8) {
		limit := int(limit8%64) + 1
		var r io.Reader = bytes.NewReader(input)
		if chunk8%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		got := readAll(t, NewLineReader(r, limit))
		want := referenceLines(input, limit)
		if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") || len(got) != len(want) {
			t.Fatalf("limit %d input %q:\n got %q\nwant %q", limit, input, got, want)
		}
	})
}

func BenchmarkLineReader300B(b *testing.B) {
	line := append(bytes.Repeat([]byte("a"), 300), '\n')
	data := bytes.Repeat(line, 1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rd := bytes.NewReader(data)
	for b.Loop() {
		rd.Reset(data)
		lr := NewLineReader(rd, DefaultMaxLine)
		for {
			if _, err := lr.ReadLine(); err != nil {
				break
			}
		}
	}
}
