package redact

// Secret shapes: vendor tokens, JSON Web Tokens, PEM private keys and
// passwords in URLs, each matched where a cheap anchor byte is seen.

// runCache remembers the last few runs measured during one scan. Every
// position inside a run ends where the run ends, so a prefix repeated
// inside one long run ("eyJeyJeyJ...") costs one measurement, not one per
// occurrence, and scanning stays linear.
type runCache struct {
	start, end [4]int
	mask       [4]uint16
	next       int
}

func cachedRun[T text](rc *runCache, s T, i int, mask uint16) int {
	for k := range rc.mask {
		if rc.mask[k] == mask && i >= rc.start[k] && i < rc.end[k] {
			return rc.end[k]
		}
	}
	e := run(s, i, mask)
	k := rc.next
	rc.next = (k + 1) % len(rc.mask)
	rc.start[k], rc.end[k], rc.mask[k] = i, e, mask
	return e
}

// maxToken bounds the length of a vendor token; longer runs are not one.
const maxToken = 1024

// atLeast returns the end of the run of class mask that starts at i when
// it is at least n (and at most maxToken) bytes long, or -1.
func atLeast[T text](rc *runCache, s T, i int, mask uint16, n int) int {
	e := cachedRun(rc, s, i, mask)
	if e-i < n || e-i > maxToken {
		return -1
	}
	return e
}

// exactly returns i+n when s holds exactly n bytes of class mask at i,
// followed by a byte that is not alphanumeric, or -1.
func exactly[T text](rc *runCache, s T, i int, mask uint16, n int) int {
	e := cachedRun(rc, s, i, mask)
	if e-i != n || (e < len(s) && is(s[e], cAlnum)) {
		return -1
	}
	return e
}

// gitlabPrefixes start GitLab tokens.
var gitlabPrefixes = [...]string{
	"glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "glsoat-", "glft-", "glimt-", "glagent-", "gloas-",
}

// tokenAt matches vendor token shapes that start at i (after a boundary).
func tokenAt[T text](rc *runCache, s T, i int) (int, int) {
	e := -1
	switch s[i] {
	case 'A':
		switch {
		case hasAt(s, i, "AKIA") || hasAt(s, i, "ASIA") || hasAt(s, i, "ABIA") || hasAt(s, i, "ACCA"):
			e = exactly(rc, s, i+4, cUpper|cDigit, 16)
		case hasAt(s, i, "AIza"):
			e = atLeast(rc, s, i+4, cB64url, 35)
		}
	case 'g':
		switch {
		case hasAt(s, i, "gh") && len(s)-i > 4 && s[i+3] == '_' &&
			(s[i+2] == 'p' || s[i+2] == 'o' || s[i+2] == 'u' || s[i+2] == 's' || s[i+2] == 'r'):
			e = atLeast(rc, s, i+4, cAlnum, 36)
		case hasAt(s, i, "github_pat_"):
			e = atLeast(rc, s, i+11, cAlnum|cUnder, 22)
		case hasAt(s, i, "gl"):
			for _, p := range gitlabPrefixes {
				if hasAt(s, i, p) {
					e = atLeast(rc, s, i+len(p), cB64url, 20)
					break
				}
			}
		}
	case 'x':
		switch {
		case hasAt(s, i, "xox") && len(s)-i > 4 && s[i+4] == '-' &&
			(s[i+3] == 'b' || s[i+3] == 'p' || s[i+3] == 'a' || s[i+3] == 's' || s[i+3] == 'r' || s[i+3] == 'e'):
			e = atLeast(rc, s, i+5, cAlnum|cDash, 10)
		case hasAt(s, i, "xapp-"):
			e = atLeast(rc, s, i+5, cAlnum|cDash, 10)
		}
	case 's':
		switch {
		case hasAt(s, i, "sk_live_") || hasAt(s, i, "sk_test_"):
			e = atLeast(rc, s, i+8, cAlnum, 10)
		case hasAt(s, i, "sk-ant-") || hasAt(s, i, "sk-proj-") || hasAt(s, i, "sk-admin-") || hasAt(s, i, "sk-svcacct-"):
			e = atLeast(rc, s, i+3, cB64url, 24)
		case hasAt(s, i, "sk-"):
			if e = atLeast(rc, s, i+3, cB64url, 32); e > 0 && !mixed(s, i+3, e) {
				e = -1
			}
		case hasAt(s, i, "shpat_") || hasAt(s, i, "shpss_") || hasAt(s, i, "shpca_") || hasAt(s, i, "shppa_"):
			e = exactly(rc, s, i+6, cHex, 32)
		}
	case 'r':
		if hasAt(s, i, "rk_live_") || hasAt(s, i, "rk_test_") {
			e = atLeast(rc, s, i+8, cAlnum, 10)
		}
	case 'w':
		if hasAt(s, i, "whsec_") {
			e = atLeast(rc, s, i+6, cAlnum, 20)
		}
	case 'S':
		switch {
		case hasAt(s, i, "SG."):
			if m := atLeast(rc, s, i+3, cB64url, 16); m > 0 && m < len(s) && s[m] == '.' {
				e = atLeast(rc, s, m+1, cB64url, 16)
			}
		case hasAt(s, i, "SK"):
			if e = exactly(rc, s, i+2, cHex, 32); e > 0 && !onlyLowerHex(s, i+2, e) {
				e = -1
			}
		}
	case 'n':
		if hasAt(s, i, "npm_") {
			e = atLeast(rc, s, i+4, cAlnum, 36)
		}
	case 'h':
		switch {
		case hasAt(s, i, "hooks.slack.com/"):
			j := i + len("hooks.slack.com/")
			for _, p := range [...]string{"services/", "workflows/", "triggers/"} {
				if hasAt(s, j, p) {
					if e := atLeast(rc, s, j+len(p), cB64url|cSlash, 8); e > 0 {
						return j + len(p), e
					}
				}
			}
		case hasAt(s, i, "hf_"):
			e = atLeast(rc, s, i+3, cUpper|cLower, 34)
		}
	case 'p':
		if hasAt(s, i, "pypi-AgE") {
			e = atLeast(rc, s, i+5, cB64url, 50)
		}
	}
	if e < 0 {
		return -1, -1
	}
	return i, e
}

// mixed reports whether s[i:e] has a digit, an upper-case and a
// lower-case letter, as random tokens do and slugs and words do not.
func mixed[T text](s T, i, e int) bool {
	var seen uint16
	for ; i < e; i++ {
		seen |= byteClass[s[i]] & cAlnum
	}
	return seen == cAlnum
}

func onlyLowerHex[T text](s T, i, e int) bool {
	for ; i < e; i++ {
		if s[i] >= 'A' && s[i] <= 'F' {
			return false
		}
	}
	return true
}

// jwtAt returns the end of a JSON Web Token (JWS: three base64url parts,
// JWE: five) starting at i, or -1. The first part must decode to a JSON
// object naming an "alg".
func jwtAt[T text](rc *runCache, s T, i int) int {
	if !hasAt(s, i, "eyJ") {
		return -1
	}
	p1 := cachedRun(rc, s, i, cB64url)
	if p1-i < 10 || p1 >= len(s) || s[p1] != '.' {
		return -1
	}
	p2 := cachedRun(rc, s, p1+1, cB64url)
	if p2 >= len(s) || s[p2] != '.' {
		return -1
	}
	end := cachedRun(rc, s, p2+1, cB64url)
	for k := 0; k < 2 && end < len(s) && s[end] == '.'; k++ {
		e := cachedRun(rc, s, end+1, cB64url)
		if e == end+1 {
			break
		}
		end = e
	}
	if !joseHeader(s[i:p1]) {
		return -1
	}
	return end
}

// joseHeader reports whether the base64url text h decodes to a JSON
// object with an "alg" member.
func joseHeader[T text](h T) bool {
	var buf [1024]byte
	n, full := decodeBase64(buf[:], h)
	d := buf[:n]
	if len(d) < 2 || d[0] != '{' {
		return false
	}
	if indexAt(d, 0, `"alg"`) >= 0 {
		return true
	}
	// A header longer than the buffer (a certificate chain in x5c) is
	// accepted on its opening alone.
	return !full && d[1] == '"'
}

// decodeBase64 decodes standard or URL-safe base64 (padding optional)
// into dst and reports whether all of src fit.
func decodeBase64[T text](dst []byte, src T) (int, bool) {
	var acc uint32
	bits, n := 0, 0
	for i := 0; i < len(src); i++ {
		v := b64val(src[i])
		if v < 0 {
			if src[i] == '=' {
				break
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n == len(dst) {
				return n, false
			}
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n, true
}

func b64val(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+' || c == '-':
		return 62
	case c == '/' || c == '_':
		return 63
	}
	return -1
}

// pemAt returns the end of a PEM private key block starting at i, or -1.
// A block whose END line is missing (a truncated body) runs to the end.
func pemAt[T text](s T, i int) int {
	if !hasAt(s, i, "-----BEGIN ") {
		return -1
	}
	j := i + len("-----BEGIN ")
	k := j
	for k < len(s) && k-j < 64 && (is(s[k], cUpper|cDigit) || s[k] == ' ') {
		k++
	}
	if !hasAt(s, k, "-----") || indexAt(s[j:k], 0, "PRIVATE KEY") < 0 {
		return -1
	}
	end := indexAt(s, k+5, "-----END ")
	if end < 0 {
		return len(s)
	}
	if t := indexAt(s[:min(len(s), end+80)], end+9, "-----"); t >= 0 {
		return t + 5
	}
	return len(s)
}

// userinfoAt returns the span of the password in URL userinfo
// ("user:password@host") whose authority starts at a, or -1, -1.
func userinfoAt[T text](s T, a int) (int, int) {
	colon := -1
	for j := a; j < len(s) && j-a < 256; j++ {
		switch c := s[j]; c {
		case '@':
			if colon < 0 || colon+1 == j {
				return -1, -1
			}
			return colon + 1, j
		case ':':
			if colon < 0 {
				colon = j
			}
		case '/', '?', '#', '"', '\'', '<', '>', '\\', '`', ' ', '\t', '\r', '\n':
			return -1, -1
		default:
			if c < ' ' {
				return -1, -1
			}
		}
	}
	return -1, -1
}
