package redact

// text is what the scanners read: a string or a byte slice, so that
// header values and log lines are scanned without copying them.
type text interface{ ~string | ~[]byte }

// mode selects the rules a scan applies.
type mode uint8

const (
	// mShapes finds distinctive secret shapes: vendor tokens, JWTs, PEM
	// private keys, payment card numbers, URL passwords.
	mShapes mode = 1 << iota
	// mKeyEq finds values assigned to sensitive keys: password=...
	mKeyEq
	// mKeyColon finds values after sensitive keys and a colon: token: ...
	mKeyColon
	// mXML finds the content of sensitive elements: <password>...</password>
	mXML
	// mWords finds credentials after the words Bearer and Basic.
	mWords
	// mQuoted limits the key rules to quoted values, for source code
	// (scripts, style sheets, HTML), where an unquoted value after
	// "cookie =" is an expression, not a credential.
	mQuoted

	modeText   = mShapes | mKeyEq | mKeyColon | mXML | mWords
	modeCode   = mShapes | mKeyEq | mKeyColon | mWords | mQuoted
	modeQuery  = mShapes | mKeyEq | mWords
	modePath   = mShapes | mKeyEq
	modeBinary = mShapes
)

// Byte classes.
const (
	cDigit  = 1 << iota // 0-9
	cUpper              // A-Z
	cLower              // a-z
	cDash               // -
	cUnder              // _
	cHex                // 0-9 a-f
	cIdent              // . [ ] (besides alnum, '-' and '_')
	cSlash              // /
	cAnchor             // a byte where a rule may start

	cAlnum  = cDigit | cUpper | cLower
	cB64url = cAlnum | cDash | cUnder
	cKey    = cB64url | cIdent
)

// byteClass is a constant table of the classes above.
var byteClass = func() (t [256]uint16) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit | cHex | cAnchor
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] |= cHex
	}
	t['-'] = cDash | cAnchor
	t['_'] = cUnder
	t['.'] = cIdent
	t['['] = cIdent
	t[']'] = cIdent
	t['/'] = cSlash
	for _, c := range "eABbghnprsSwx:=>" {
		t[c] |= cAnchor
	}
	return t
}()

func is(c byte, mask uint16) bool { return byteClass[c]&mask != 0 }

// run returns the end of the run of bytes of class mask starting at i.
func run[T text](s T, i int, mask uint16) int {
	for i < len(s) && byteClass[s[i]]&mask != 0 {
		i++
	}
	return i
}

// hasAt reports whether s holds p at offset i.
func hasAt[T text](s T, i int, p string) bool {
	if i < 0 || len(s)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if s[i+j] != p[j] {
			return false
		}
	}
	return true
}

// hasFoldAt is hasAt for a lower-case p, ignoring ASCII case in s.
func hasFoldAt[T text](s T, i int, p string) bool {
	if i < 0 || len(s)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		c := s[i+j]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[j] {
			return false
		}
	}
	return true
}

// indexAt returns the offset of the first p in s at or after from, or -1.
func indexAt[T text](s T, from int, p string) int {
	for i := from; i+len(p) <= len(s); i++ {
		if s[i] == p[0] && hasAt(s, i, p) {
			return i
		}
	}
	return -1
}

// equalsMarker reports whether s is already the marker.
func equalsMarker[T text](s T) bool {
	return len(s) == len(Marker) && hasAt(s, 0, Marker)
}

// nextSecret returns the span of the first secret in s at or after from,
// or -1, -1. Rules that find a value after a key return the value only.
func nextSecret[T text](r *Redactor, s T, from int, m mode) (int, int) {
	var rc runCache
	for i := from; i < len(s); i++ {
		c := s[i]
		if byteClass[c]&cAnchor == 0 {
			continue
		}
		if c >= '0' && c <= '9' {
			if i > 0 && is(s[i-1], cDigit) {
				continue
			}
			if e := cardAt(s, i); e > 0 {
				return i, e
			}
			continue
		}
		switch c {
		case 'e':
			if e := jwtAt(&rc, s, i); e > 0 {
				return i, e
			}
		case '-':
			if e := pemAt(s, i); e > 0 {
				return i, e
			}
		case ':':
			if hasAt(s, i, "://") {
				if a, b := userinfoAt(s, i+3); a >= 0 {
					return a, b
				}
			} else if m&mKeyColon != 0 {
				if a, b := keyedAt(r, s, i, true, m&mQuoted != 0); a >= 0 {
					return a, b
				}
			}
		case '=':
			if m&mKeyEq != 0 {
				if a, b := keyedAt(r, s, i, false, m&mQuoted != 0); a >= 0 {
					return a, b
				}
			}
		case '>':
			if m&mXML != 0 {
				if a, b := xmlAt(r, s, i); a >= 0 {
					return a, b
				}
			}
		case 'B', 'b':
			if m&mWords != 0 && (i == 0 || !is(s[i-1], cAlnum)) {
				if a, b := wordCredAt(s, i); a >= 0 {
					return a, b
				}
			}
		default:
			if i == 0 || !is(s[i-1], cAlnum) {
				if a, b := tokenAt(&rc, s, i); a >= 0 {
					return a, b
				}
			}
		}
	}
	return -1, -1
}
