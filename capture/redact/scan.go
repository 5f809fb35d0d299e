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
	cDigit = 1 << iota // 0-9
	cUpper             // A-Z
	cLower             // a-z
	cDash              // -
	cUnder             // _
	cHex               // 0-9 a-f
	cIdent             // . [ ] (besides alnum, '-' and '_')
	cSlash             // /

	cAlnum  = cDigit | cUpper | cLower
	cB64url = cAlnum | cDash | cUnder
	cKey    = cB64url | cIdent
)

// byteClass is a constant table of the classes above.
var byteClass = func() (t [256]uint16) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit | cHex
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
	t['-'] = cDash
	t['_'] = cUnder
	t['.'] = cIdent
	t['['] = cIdent
	t[']'] = cIdent
	t['/'] = cSlash
	return t
}()

// anchors maps each byte to the modes in which nextSecret stops at it to
// try a rule; a byte that maps to no bit of the scan's mode is skipped
// with one table look-up. Every mode includes mShapes, so the shape
// anchors are tried in all of them.
//
// The anchors are chosen to be rare in ordinary text. Vendor tokens that
// start with a lower-case letter ("ghp_", "sk-", "xoxb-", "hooks.slack.com/")
// are found from the '_', '-' or '.' that ends their lower-case prefix
// (see tokenBefore), and JSON Web Tokens from the 'J' of "eyJ", rather
// than from their first letter, which is common in words.
var anchors = func() (t [256]mode) {
	for c := '0'; c <= '9'; c++ {
		t[c] = mShapes // payment cards
	}
	for _, c := range "-_." {
		t[c] = mShapes // lower-case token prefixes end here; '-' starts PEM
	}
	for _, c := range "ASJ" {
		t[c] = mShapes // AKIA..., AIza..., SG., SK..., eyJ...
	}
	t[':'] = mShapes | mKeyColon // "://" in every mode
	t['='] = mKeyEq
	t['>'] = mXML
	t['B'] = mWords
	t['b'] = mWords
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
//
// A rule is tried where its anchor byte is (see anchors); a token found
// from the separator after its prefix starts no later than any other rule
// could match, since the bytes of its prefix anchor nothing, so secrets
// are still returned in the order of their starts.
func nextSecret[T text](r *Redactor, s T, from int, m mode) (int, int) {
	i := from
	for i < len(s) && anchors[s[i]]&m == 0 {
		i++
	}
	if i == len(s) {
		return -1, -1
	}
	return secretFrom(r, s, from, i, m)
}

// secretFrom is nextSecret once the first anchor, at start, is found.
func secretFrom[T text](r *Redactor, s T, from, start int, m mode) (int, int) {
	var rc runCache
	for i := start; i < len(s); i++ {
		c := s[i]
		if anchors[c]&m == 0 {
			continue
		}
		switch c {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			// A card starts after a boundary with three digits or more
			// (see cardAt); most digits fail this at once.
			if i > 0 && (is(s[i-1], cAlnum) || s[i-1] == '.') ||
				i+2 >= len(s) || !is(s[i+1], cDigit) || !is(s[i+2], cDigit) {
				continue
			}
			if e := cardAt(s, i); e > 0 {
				return i, e
			}
		case '_', '.', '-':
			// A token prefix is two lower-case letters or more (see
			// tokenBefore); a PEM block starts with "--".
			if i-minPrefix >= from && is(s[i-1], cLower) && is(s[i-2], cLower) {
				if a, b := tokenBefore(&rc, s, from, i); a >= 0 {
					return a, b
				}
			}
			if c == '-' && i+1 < len(s) && s[i+1] == '-' {
				if e := pemAt(s, i); e > 0 {
					return i, e
				}
			}
		case 'J':
			if j := i - 2; j >= from && s[j] == 'e' && s[j+1] == 'y' {
				if e := jwtAt(&rc, s, j); e > 0 {
					return j, e
				}
			}
		case 'A', 'S':
			if i == 0 || !is(s[i-1], cAlnum) {
				if a, b := tokenAt(&rc, s, i); a >= 0 {
					return a, b
				}
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
			if a, b := keyedAt(r, s, i, false, m&mQuoted != 0); a >= 0 {
				return a, b
			}
		case '>':
			if a, b := xmlAt(r, s, i); a >= 0 {
				return a, b
			}
		case 'B', 'b':
			if i == 0 || !is(s[i-1], cAlnum) {
				if a, b := wordCredAt(s, i); a >= 0 {
					return a, b
				}
			}
		}
	}
	return -1, -1
}

// maxPrefix is the longest run of lower-case letters that starts a vendor
// token before its first '_', '-' or '.' ("glagent-"); minPrefix the
// shortest ("sk_").
const (
	maxPrefix = 7
	minPrefix = 2
)

// tokenBefore looks at the separator ('_', '-' or '.') at j: when the run
// of lower-case letters before it starts a word, at or after from, and
// could begin a vendor token, it returns the token's span (see tokenAt).
// Every token prefix that starts with a lower-case letter is such a run
// followed by such a separator.
func tokenBefore[T text](rc *runCache, s T, from, j int) (int, int) {
	i := j
	for i > from && j-i < maxPrefix && is(s[i-1], cLower) {
		i--
	}
	if j-i < minPrefix || (i > 0 && is(s[i-1], cAlnum)) {
		return -1, -1
	}
	switch s[i] {
	case 'g', 'h', 'n', 'p', 'r', 's', 'w', 'x':
		return tokenAt(rc, s, i)
	}
	return -1, -1
}
