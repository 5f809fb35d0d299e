package paths

import (
	"strings"

	"github.com/specgate/specgate/infer/format"
)

// Limits that keep a hostile path from growing the trie.
const (
	// MaxSegments is the most segments a path may have; Observe rejects
	// (and counts) longer paths, Add returns an error for them.
	MaxSegments = 64
	// MaxSegmentLen is the longest decoded segment that may become a static
	// segment; a longer one is taken as an identifier.
	MaxSegmentLen = 256
)

// redacted is the marker capture's redactor leaves in place of a secret; a
// segment holding it never becomes static text of a template.
const redacted = "REDACTED"

// split strips the leading '/' of p and returns the rest and its number of
// segments: 0 for the root ("" and "/"), else one more than its slashes.
func split(p string) (rest string, n int) {
	if p != "" && p[0] == '/' {
		p = p[1:]
	}
	if p == "" {
		return "", 0
	}
	return p, strings.Count(p, "/") + 1
}

// next cuts the first segment off rest.
func next(rest string) (seg, tail string) {
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return rest, ""
}

// isID reports whether a decoded segment goes to a parameter on its own
// account: an identifier, an over-long segment, or a redacted one.
func isID(v string) bool {
	return len(v) > MaxSegmentLen || format.IsID(v) || strings.Contains(v, redacted)
}

// pathBytes marks the bytes that may stand unescaped in a path segment
// (RFC 3986 pchar without '%'). It is a constant table.
var pathBytes = func() (t [256]bool) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] = true
		}
	}
	for _, c := range []byte("-._~!$&'()*+,;=:@") {
		t[c] = true
	}
	return t
}()

func pathByte(c byte) bool { return pathBytes[c] }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escaped reports whether s[i] is a '%' that starts a valid escape.
func escaped(s string, i int) bool {
	if i+2 >= len(s) {
		return false
	}
	_, ok1 := unhex(s[i+1])
	_, ok2 := unhex(s[i+2])
	return ok1 && ok2
}

// canonical returns the segment as a template shows it: as sent, except
// that bytes a path segment may not hold raw (braces, spaces, controls,
// non-ASCII, a '%' that starts no escape) are percent-encoded. It is
// idempotent, so a template read back gives the same key.
func canonical(seg string) string {
	i := 0
	for i < len(seg) {
		c := seg[i]
		if pathByte(c) || c == '%' && escaped(seg, i) {
			i++
			continue
		}
		break
	}
	if i == len(seg) {
		return seg
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(seg) + 8)
	b.WriteString(seg[:i])
	for ; i < len(seg); i++ {
		c := seg[i]
		if pathByte(c) || c == '%' && escaped(seg, i) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// decode undoes the percent-encoding of a canonical segment.
func decode(key string) string {
	i := strings.IndexByte(key, '%')
	if i < 0 {
		return key
	}
	b := make([]byte, 0, len(key))
	b = append(b, key[:i]...)
	for ; i < len(key); i++ {
		c := key[i]
		if c == '%' && escaped(key, i) {
			h, _ := unhex(key[i+1])
			l, _ := unhex(key[i+2])
			b = append(b, h<<4|l)
			i += 2
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
