// Package jsonstr decodes the contents of JSON strings: escapes resolved
// and surrogate pairs joined as encoding/json does, without the
// allocations of going through encoding/json.
package jsonstr

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Text is the raw bytes of a JSON string, without its quotes.
type Text interface{ ~string | ~[]byte }

// AppendUnquoted appends the value of the JSON string body s to dst.
// Escapes are resolved and a lone surrogate becomes U+FFFD; bytes that are
// not escapes are copied as they are, valid UTF-8 or not. An invalid
// escape makes ok false.
func AppendUnquoted(dst, s []byte) (out []byte, ok bool) {
	return appendUnquoted(dst, s, bytes.IndexByte)
}

// appendUnquoted is AppendUnquoted for either kind of text, index being
// the vectorised byte search of package bytes or strings: the text
// between escapes is most of a body.
func appendUnquoted[T Text](dst []byte, s T, index func(T, byte) int) (out []byte, ok bool) {
	for len(s) > 0 {
		i := index(s, '\\')
		if i < 0 {
			i = len(s)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) == 0 {
			break
		}
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
			r, ok := Hex4(s[2:])
			if !ok {
				return dst, false
			}
			s = s[6:]
			if utf16.IsSurrogate(r) {
				high := r
				r = utf8.RuneError
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					if low, ok := Hex4(s[2:]); ok {
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

// AppendDecoded is AppendUnquoted for text already known to be valid JSON,
// with bytes that are not valid UTF-8 replaced by U+FFFD one by one, as
// encoding/json decodes strings.
func AppendDecoded(dst []byte, s string) []byte {
	start := len(dst)
	dst, _ = appendUnquoted(dst, s, strings.IndexByte)
	if utf8.Valid(dst[start:]) {
		return dst
	}
	fixed := make([]byte, 0, len(dst)-start+8)
	for b := dst[start:]; len(b) > 0; {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			fixed = utf8.AppendRune(fixed, utf8.RuneError)
		} else {
			fixed = append(fixed, b[:size]...)
		}
		b = b[size:]
	}
	return append(dst[:start], fixed...)
}

// Hex4 decodes the four hex digits at the start of s.
func Hex4[T Text](s T) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
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
