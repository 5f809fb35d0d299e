package redact

import "strings"

// Target returns a request-target or URL with secrets redacted: the
// password in its userinfo ("http://user:REDACTED@host/"), the values of
// sensitive query keys ("?access_token=REDACTED&page=2"), query values
// holding a secret shape, and secret shapes in the path. A fragment that
// holds key=value pairs ("#access_token=...") is treated as a query.
// Untouched bytes are kept exactly (nothing is re-encoded).
//
// The OAuth authorization code ("code") is redacted when the same query
// also has state, redirect_uri, grant_type, code_verifier or
// session_state, as it has in an OAuth redirect or token request; alone,
// "code" names too many harmless things (error codes, country codes).
func (r *Redactor) Target(target string) string {
	sp := splicer[string]{src: target}
	scrubTarget(r, &sp)
	r.count(sp.n)
	return sp.result()
}

// scrubTarget redacts the URL that is the whole of sp.src.
func scrubTarget(r *Redactor, sp *splicer[string]) {
	s := sp.src
	i := 0
	if k := schemeEnd(s); k > 0 {
		ae := k
		for ae < len(s) && s[ae] != '/' && s[ae] != '?' && s[ae] != '#' {
			ae++
		}
		if at := strings.LastIndexByte(s[k:ae], '@'); at >= 0 {
			at += k
			user := at
			if c := strings.IndexByte(s[k:at], ':'); c >= 0 {
				user = k + c
			}
			scrub(r, sp, k, user, modeBinary)
			if user+1 < at && s[user+1:at] != Marker {
				sp.replace(user+1, at, Marker)
			}
		}
		i = ae
	}
	pe := i
	for pe < len(s) && s[pe] != '?' && s[pe] != '#' {
		pe++
	}
	scrub(r, sp, i, pe, modePath)
	if pe < len(s) && s[pe] == '?' {
		qe := pe + 1
		for qe < len(s) && s[qe] != '#' {
			qe++
		}
		scrubPairs(r, sp, pe+1, qe)
		pe = qe
	}
	if pe < len(s) {
		if strings.IndexByte(s[pe+1:], '=') >= 0 {
			scrubPairs(r, sp, pe+1, len(s))
		} else {
			scrub(r, sp, pe+1, len(s), modePath)
		}
	}
}

// schemeEnd returns the offset after "scheme://" at the start of s, or 0.
func schemeEnd(s string) int {
	for i := 0; i < len(s) && i < 32; i++ {
		c := s[i]
		switch {
		case is(c, cUpper|cLower):
		case i > 0 && (is(c, cDigit) || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':' && hasAt(s, i, "://"):
			return i + 3
		default:
			return 0
		}
	}
	return 0
}

// scrubPairs redacts the key=value pairs, separated by '&', in
// sp.src[lo:hi] (a query string or an urlencoded form).
func scrubPairs[T text](r *Redactor, sp *splicer[T], lo, hi int) {
	s := sp.src
	oauth := -1 // unknown until a plain "code" key asks
	for i := lo; i < hi; {
		e := pairEnd(s, i, hi)
		k := keyEnd(s, i, e)
		if k == e {
			scrub(r, sp, i, e, modeQuery)
			i = e + 1
			continue
		}
		scrub(r, sp, i, k, modeBinary)
		var db, nb [maxKey]byte
		n, last := normKey(&nb, unescapeKey(&db, s[i:k]))
		class := r.classifyKey(n, last)
		if class == keyPlain && string(n) == "code" {
			if oauth < 0 {
				oauth = 0
				if oauthPairs(s, lo, hi) {
					oauth = 1
				}
			}
			if oauth == 1 {
				class = keySecret
			}
		}
		v := s[k+1 : e]
		switch {
		case len(v) == 0 || equalsMarker(v):
		case secretValue(class, v):
			sp.replace(k+1, e, Marker)
		case indexAny2(v, '%', '+') >= 0:
			buf := r.getBuf()
			*buf = unescapeQuery((*buf)[:0], v)
			if found(r, *buf, modeQuery) {
				sp.replace(k+1, e, Marker)
			}
			r.putBuf(buf)
		default:
			scrub(r, sp, k+1, e, modeQuery)
		}
		i = e + 1
	}
}

// oauthPairs reports whether the pairs in s[lo:hi] include a key of an
// OAuth redirect or token request, in whose company "code" is the
// authorization code.
func oauthPairs[T text](s T, lo, hi int) bool {
	for i := lo; i < hi; {
		e := pairEnd(s, i, hi)
		k := keyEnd(s, i, e)
		var db, nb [maxKey]byte
		n, _ := normKey(&nb, unescapeKey(&db, s[i:k]))
		switch string(n) {
		case "state", "redirecturi", "granttype", "codeverifier", "sessionstate":
			return true
		}
		i = e + 1
	}
	return false
}

// secretValue reports whether the value v under a key of class c is
// redacted whole.
func secretValue[T text](c keyClass, v T) bool {
	return c == keySecret || c == keyCounted && run(v, 0, cDigit) != len(v)
}

func pairEnd[T text](s T, i, hi int) int {
	for i < hi && s[i] != '&' {
		i++
	}
	return i
}

func keyEnd[T text](s T, i, e int) int {
	for i < e && s[i] != '=' {
		i++
	}
	return i
}

func indexAny2[T text](s T, a, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == a || s[i] == b {
			return i
		}
	}
	return -1
}

// unescapeKey percent-decodes a query key into buf (truncating it).
func unescapeKey[T text](buf *[maxKey]byte, k T) []byte {
	n := 0
	for i := 0; i < len(k) && n < len(buf); i++ {
		buf[n], i = queryByte(k, i)
		n++
	}
	return buf[:n]
}

// unescapeQuery appends the percent-decoding of v ('+' is a space) to dst.
func unescapeQuery[T text](dst []byte, v T) []byte {
	for i := 0; i < len(v); i++ {
		var c byte
		c, i = queryByte(v, i)
		dst = append(dst, c)
	}
	return dst
}

// queryByte decodes the query byte at s[i] ('+' is a space, "%XX" a
// byte) and returns it with the index of its last source byte.
func queryByte[T text](s T, i int) (byte, int) {
	switch c := s[i]; {
	case c == '+':
		return ' ', i
	case c == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0:
		return byte(unhex(s[i+1])<<4 | unhex(s[i+2])), i + 2
	default:
		return c, i
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
