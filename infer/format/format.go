// Package format recognises what a string value is — a UUID, a date, an
// e-mail address, an integer written as text — so that inference can give
// schemas their OpenAPI formats and tell identifiers from words in paths.
package format

import (
	"net/netip"
	"strings"
)

// Set is a set of formats a string satisfies. Every format in it holds for
// the whole string; a value usually satisfies one, sometimes a few (a
// 32-digit hex string is also Byte-shaped).
type Set uint32

// The formats Classify recognises. The OpenAPI formats come first, in the
// order Best prefers them; Int, Number and Bool describe text that holds a
// JSON scalar (a path segment, a query value).
const (
	UUID     Set = 1 << iota // 8-4-4-4-12 hex digits
	DateTime                 // RFC 3339 date-time
	Date                     // RFC 3339 full-date (2024-01-31)
	Time                     // RFC 3339 partial-time with an offset, or a plain hh:mm:ss
	Email                    // local@domain.tld
	IPv4                     // dotted quad
	IPv6                     // any textual IPv6 address
	URI                      // absolute URI with a scheme and an authority (https://...)
	Hostname                 // at least two dot-separated DNS labels, the last alphabetic
	ULID                     // 26 Crockford base32 characters
	Byte                     // base64 with padding or with a '+', '/' or digit in it, length a multiple of 4, at least 16 characters
	Hex                      // at least 8 hex digits with at least one digit and one letter, or 16 or more digits
	Int                      // a decimal integer (optional '-'), no leading zeros, fits int64
	Number                   // a decimal number with a fraction or exponent
	Bool                     // "true" or "false"
)

// order lists the OpenAPI formats as Best prefers them, with their names.
var order = [...]struct {
	f    Set
	name string
}{
	{UUID, "uuid"}, {DateTime, "date-time"}, {Date, "date"}, {Time, "time"},
	{Email, "email"}, {IPv4, "ipv4"}, {IPv6, "ipv6"}, {URI, "uri"},
	{Hostname, "hostname"}, {ULID, "ulid"}, {Byte, "byte"},
}

// Name returns the OpenAPI format name of the most specific format in s,
// or "" when s holds none (Hex, Int, Number and Bool have no format name).
func (s Set) Name() string {
	for _, o := range order {
		if s&o.f != 0 {
			return o.name
		}
	}
	return ""
}

// Parse returns the Set that a format name written by Name stands for, or
// 0 for a name Name never writes.
func Parse(name string) Set {
	for _, o := range order {
		if o.name == name {
			return o.f
		}
	}
	return 0
}

// Classify returns every format s satisfies.
func Classify(s string) Set {
	n := len(s)
	if n == 0 || n > 2048 {
		return 0
	}
	var f Set
	switch c := s[0]; {
	case c >= '0' && c <= '9' || c == '-':
		f |= numeric(s)
		if n == 36 && isUUID(s) {
			f |= UUID
		}
		if n >= 10 && isDate(s[:min(n, 10)]) {
			if n == 10 {
				f |= Date
			} else if isDateTime(s) {
				f |= DateTime
			}
		}
		if n >= 8 && isTime(s) {
			f |= Time
		}
		if n >= 7 && n <= 15 && isIPv4(s) {
			f |= IPv4
		}
	case c == 't' && s == "true", c == 'f' && s == "false":
		return Bool
	}
	if n == 36 && f&UUID == 0 && isUUID(s) {
		f |= UUID
	}
	if n == 26 && isULID(s) {
		f |= ULID
	}
	if strings.IndexByte(s, ':') >= 0 {
		if strings.Contains(s, "://") {
			if isURI(s) {
				f |= URI
			}
		} else if f&(Time|DateTime) == 0 && isIPv6(s) {
			f |= IPv6
		}
	}
	if at := strings.IndexByte(s, '@'); at > 0 && isEmail(s, at) {
		f |= Email
	}
	if f&(IPv4|Int|Number|Email) == 0 && strings.IndexByte(s, '.') > 0 && isHostname(s) {
		f |= Hostname
	}
	if isHex(s) {
		f |= Hex
	}
	if f&(Int|UUID) == 0 && isByte(s) {
		f |= Byte
	}
	return f
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// numeric recognises Int and Number text as JSON writes numbers.
func numeric(s string) Set {
	i := 0
	if s[0] == '-' {
		i++
	}
	if i == len(s) || !isDigit(s[i]) {
		return 0
	}
	if s[i] == '0' && i+1 < len(s) && isDigit(s[i+1]) {
		return 0
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == len(s) {
		digits := i - start
		if digits < 19 || digits == 19 && s[start:] <= maxInt64Digits(s[0] == '-') {
			return Int
		}
		return Number
	}
	frac := false
	if s[i] == '.' {
		i++
		if i == len(s) || !isDigit(s[i]) {
			return 0
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = true
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return 0
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = true
	}
	if i == len(s) && frac {
		return Number
	}
	return 0
}

func maxInt64Digits(neg bool) string {
	if neg {
		return "9223372036854775808"
	}
	return "9223372036854775807"
}

func isUUID(s string) bool {
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHexDigit(s[i]) {
				return false
			}
		}
	}
	return true
}

// isDate checks yyyy-mm-dd with a plausible month and day.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(s[i]) {
			return false
		}
	}
	m := int(s[5]-'0')*10 + int(s[6]-'0')
	d := int(s[8]-'0')*10 + int(s[9]-'0')
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// isClock checks hh:mm:ss with an optional fraction and returns the rest.
func isClock(s string) (rest string, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return "", false
	}
	for _, i := range [...]int{0, 1, 3, 4, 6, 7} {
		if !isDigit(s[i]) {
			return "", false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	sec := int(s[6]-'0')*10 + int(s[7]-'0')
	if h > 23 || m > 59 || sec > 60 {
		return "", false
	}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		i := 1
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 1 {
			return "", false
		}
		s = s[i:]
	}
	return s, true
}

// isOffset checks an RFC 3339 time offset: Z, z or ±hh:mm.
func isOffset(s string) bool {
	if s == "Z" || s == "z" {
		return true
	}
	return len(s) == 6 && (s[0] == '+' || s[0] == '-') && isDigit(s[1]) && isDigit(s[2]) &&
		s[3] == ':' && isDigit(s[4]) && isDigit(s[5])
}

func isTime(s string) bool {
	rest, ok := isClock(s)
	return ok && (rest == "" || isOffset(rest))
}

func isDateTime(s string) bool {
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return false
	}
	rest, ok := isClock(s[11:])
	return ok && isOffset(rest)
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func isIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

func isURI(s string) bool {
	i := strings.Index(s, "://")
	if i < 1 || !isAlpha(s[0]) {
		return false
	}
	for j := 1; j < i; j++ {
		c := s[j]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	rest := s[i+3:]
	if rest == "" || rest[0] == '/' {
		return false
	}
	for j := 0; j < len(rest); j++ {
		if c := rest[j]; c <= ' ' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`' || c >= 0x7f {
			return false
		}
	}
	return true
}

func isEmail(s string, at int) bool {
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || strings.IndexByte(domain, '@') >= 0 {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !isAlpha(c) && !isDigit(c) && !strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", rune(c)) {
			return false
		}
	}
	return strings.IndexByte(domain, '.') > 0 && isHostname(domain)
}

// isHostname checks for two or more DNS labels whose last is alphabetic,
// so that plain words and version numbers are not host names.
func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isAlpha(tld[i]) {
			return false
		}
	}
	return true
}

// isULID checks 26 Crockford base32 characters starting with 0-7 (a ULID's
// timestamp fits 48 bits) with at least one digit and one letter.
func isULID(s string) bool {
	if s[0] < '0' || s[0] > '7' {
		return false
	}
	letters := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
		case c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U',
			c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u':
			letters = true
		default:
			return false
		}
	}
	return letters
}

func isHex(s string) bool {
	if len(s) < 8 {
		return false
	}
	digits, letters := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case isHexDigit(c):
			letters++
		default:
			return false
		}
	}
	return digits > 0 && (letters > 0 || len(s) >= 16)
}

// isByte checks for standard or URL-safe base64 that does not read as a
// word: at least 16 characters, a length that is a multiple of 4, and
// letters and padding or a digit, '+', '/', '-' or '_' in it.
func isByte(s string) bool {
	if len(s) < 16 || len(s)%4 != 0 {
		return false
	}
	body := strings.TrimRight(s, "=")
	if len(s)-len(body) > 2 {
		return false
	}
	marked := len(body) < len(s)
	letters := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case isAlpha(c):
			letters = true
		case isDigit(c), c == '+', c == '/', c == '-', c == '_':
			marked = true
		default:
			return false
		}
	}
	return marked && letters
}

// IsID reports whether s reads as an identifier rather than a word: an
// integer, a UUID, a ULID, a date or date-time, an e-mail address, a hex or
// base64 token, or a slug that carries digits ("my-post-2024", "sku_1234",
// "a1b2c3d4"). Short versioned names such as "v1", "s3" or "oauth2" are
// words.
func IsID(s string) bool {
	if Classify(s)&(Int|UUID|ULID|Date|DateTime|Email|Hex|Byte) != 0 {
		return true
	}
	return isSlugID(s)
}

// isSlugID checks for letters and digits, at least 2 of each, that either
// carry a '-', '_' or '.' separator or are at least 8 characters long
// ("v2.1" and "oauth2" are names, "my-post-2024" and "a1b2c3d4" are ids).
func isSlugID(s string) bool {
	if len(s) < 3 || len(s) > 200 {
		return false
	}
	digits, letters, seps := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case isAlpha(c):
			letters++
		case c == '-' || c == '_' || c == '.':
			seps++
		default:
			return false
		}
	}
	if letters < 2 || digits < 2 {
		return false
	}
	return seps > 0 || len(s) >= 8
}
