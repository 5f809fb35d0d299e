package har

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// num is a lenient JSON number: HAR writers differ in whether they write
// sizes and times as integers, fractions, quoted strings or null. A value
// that is none of these leaves it unset; decoding it never fails.
type num struct {
	i    int64
	f    float64
	kind uint8 // numUnset, numInt or numFloat
}

const (
	numUnset = iota
	numInt
	numFloat
)

// UnmarshalJSON accepts a number, a string holding a number, or anything
// else (which leaves n unset).
func (n *num) UnmarshalJSON(b []byte) error {
	*n = num{}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 || len(b) > 64 {
		return nil
	}
	if !bytes.ContainsAny(b, ".eE") { // try an integer only where it may be one: a failed parse allocates
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			n.i, n.f, n.kind = i, float64(i), numInt
			return nil
		}
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		n.f, n.kind = f, numFloat
	}
	return nil
}

// int returns n as an integer (fractions truncated); ok is false when n is
// unset or out of range.
func (n num) int() (v int64, ok bool) {
	switch n.kind {
	case numInt:
		return n.i, true
	case numFloat:
		if n.f >= -(1<<63) && n.f < 1<<63 {
			return int64(n.f), true
		}
	}
	return 0, false
}

// rText is a JSON string decoded straight into bytes (one allocation, no
// intermediate string). set tells a present string, even "", from an absent
// one or null. Bytes that are not UTF-8 are kept as they are.
type rText struct {
	b   []byte
	set bool
}

// UnmarshalJSON decodes a JSON string; any other value leaves t unset.
func (t *rText) UnmarshalJSON(raw []byte) error {
	*t = rText{}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil
	}
	if b, ok := appendUnquoted(make([]byte, 0, len(raw)-2), raw[1:len(raw)-1]); ok {
		t.b, t.set = b, true
	}
	return nil
}

// appendUnquoted appends the value of the JSON string body s (without its
// quotes) to dst. Invalid escapes make ok false; a lone surrogate becomes
// U+FFFD, as encoding/json does.
func appendUnquoted(dst, s []byte) ([]byte, bool) {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) < 2 {
			return dst, false
		}
		switch c := s[1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s[2:])
			if !ok {
				return dst, false
			}
			s = s[6:]
			if utf16.IsSurrogate(r) {
				high := r
				r = utf8.RuneError
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					if low, ok := hex4(s[2:]); ok {
						if d := utf16.DecodeRune(high, low); d != utf8.RuneError {
							r = d
							s = s[6:]
						}
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, false
		}
		s = s[2:]
	}
	return dst, true
}

// hex4 decodes the four hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
