package trust

import "fmt"

// Mode is a trust mode, as spelled on the command line.
type Mode string

const (
	Open  Mode = "open"
	TOFU  Mode = "tofu"
	Fleet Mode = "fleet"
)

// ParseMode reads a --trust-mode value. The CRD spells modes Open, TOFU and
// Fleet, so the match ignores case.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(lower(s)); m {
	case Open, TOFU, Fleet:
		return m, nil
	}
	return "", fmt.Errorf("trust mode %q: want open, tofu or fleet", s)
}

// Strict reports whether failed hs and sec checks reject a message.
func (m Mode) Strict() bool { return m == TOFU || m == Fleet }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
