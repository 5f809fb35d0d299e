package redact

// Rules that find a value by the key in front of it, in free text:
// "password=hunter2", "api_key: abc", `"token": "abc"`, <secret>abc</secret>,
// and the credentials after the words Bearer and Basic.

// maxValue bounds the length of a quoted value or element content.
const maxValue = 4096

// keyedAt looks at the '=' (or, with colon, the ':') at i: when the name
// in front of it is sensitive it returns the span of the value after it
// (only a quoted value when quoted is set).
func keyedAt[T text](r *Redactor, s T, i int, colon, quoted bool) (int, int) {
	if i+1 < len(s) && s[i+1] == s[i] {
		return -1, -1 // "==", "::"
	}
	if !colon && i+1 < len(s) && s[i+1] == '>' {
		return -1, -1 // "=>"
	}
	j := i
	for k := 0; k < 4 && j > 0 && (s[j-1] == ' ' || s[j-1] == '\t'); k++ {
		j--
	}
	quotedKey := j > 0 && (s[j-1] == '"' || s[j-1] == '\'')
	if quotedKey {
		j--
	}
	end := j
	for j > 0 && end-j < 64 && is(s[j-1], cKey) {
		j--
	}
	if j == end {
		return -1, -1
	}
	class := keyClassOf(r, s[j:end])
	if class == keyPlain {
		return -1, -1
	}
	v := i + 1
	for k := 0; k < 8 && v < len(s) && (s[v] == ' ' || s[v] == '\t'); k++ {
		v++
	}
	if quoted && (v >= len(s) || s[v] != '"' && s[v] != '\'' && s[v] != '`') {
		return -1, -1
	}
	if colon && !quotedKey && v == i+1 && v < len(s) && is(s[v], cDigit) && isPortEnd(s, run(s, v, cDigit)) {
		return -1, -1 // host:port
	}
	return valueSpan(s, v, class)
}

// valueSpan returns the span of the value starting at v: a quoted string's
// content, or a run up to a delimiter. A leading authentication scheme
// ("Bearer ...") is kept.
func valueSpan[T text](s T, v int, class keyClass) (int, int) {
	if v >= len(s) {
		return -1, -1
	}
	if q := s[v]; q == '"' || q == '\'' || q == '`' {
		for e := v + 1; e < len(s) && e-v < maxValue; e++ {
			switch s[e] {
			case q:
				if e == v+1 {
					return -1, -1
				}
				a := skipScheme(s, v+1, e)
				return a, e
			case '\n':
				e = len(s)
			}
		}
		v++ // no closing quote: take the unquoted run after it
		if v >= len(s) {
			return -1, -1
		}
	}
	switch s[v] {
	case '{', '[', '=':
		return -1, -1
	}
	e := v
	for e < len(s) && !endsValue(s[e]) {
		e++
	}
	if e == v {
		return -1, -1
	}
	w := s[v:e]
	if hasAt(w, 0, "null") && len(w) == 4 || hasAt(w, 0, "true") && len(w) == 4 || hasAt(w, 0, "false") && len(w) == 5 {
		return -1, -1
	}
	if class == keyCounted && run(w, 0, cDigit) == len(w) {
		return -1, -1
	}
	if isScheme(w) {
		a := e
		for a < len(s) && s[a] == ' ' {
			a++
		}
		if a > e && a < len(s) && !endsValue(s[a]) {
			b := a
			if paramScheme(w) {
				for b < len(s) && s[b] != '\n' && s[b] != '\r' {
					b++
				}
			} else {
				for b < len(s) && !endsValue(s[b]) {
					b++
				}
			}
			return a, b
		}
	}
	return v, e
}

// isPortEnd reports whether digits ending at e end there, as a port does.
func isPortEnd[T text](s T, e int) bool {
	return e == len(s) || !is(s[e], cAlnum|cUnder)
}

// endsValue reports whether c ends an unquoted value.
func endsValue(c byte) bool {
	switch c {
	case '"', '\'', '&', ',', ';', '<', '>', ')', ']', '}', '\\', ' ', '\t', '\r', '\n', '\f', '\v':
		return true
	}
	return c < ' ' || c == 0x7f
}

// skipScheme returns the offset after a leading authentication scheme and
// its spaces in s[a:e], or a when there is none.
func skipScheme[T text](s T, a, e int) int {
	w := a
	for w < e && is(s[w], cAlnum|cDash) {
		w++
	}
	if w == a || w >= e || s[w] != ' ' || !isScheme(s[a:w]) {
		return a
	}
	for w < e && s[w] == ' ' {
		w++
	}
	if w == e {
		return a
	}
	return w
}

// isScheme reports whether w names an HTTP authentication scheme.
func isScheme[T text](w T) bool {
	for _, p := range [...]string{"bearer", "basic", "digest", "token", "negotiate", "ntlm", "dpop", "hoba", "mutual", "apikey", "aws4-hmac-sha256", "ssws", "oauth"} {
		if len(w) == len(p) && hasFoldAt(w, 0, p) {
			return true
		}
	}
	return false
}

// paramScheme reports whether the credentials of scheme w are a parameter
// list (which may hold spaces) rather than one token.
func paramScheme[T text](w T) bool {
	return len(w) == 6 && hasFoldAt(w, 0, "digest") ||
		len(w) == 5 && hasFoldAt(w, 0, "oauth") ||
		len(w) == 16 && hasFoldAt(w, 0, "aws4-hmac-sha256")
}

// xmlAt looks at the '>' at i: when it closes a start tag with a sensitive
// name, it returns the span of the element's text content.
func xmlAt[T text](r *Redactor, s T, i int) (int, int) {
	j := i
	for j > 0 && i-j < 64 && (is(s[j-1], cKey) || s[j-1] == ':') {
		j--
	}
	if j == i || j == 0 || s[j-1] != '<' {
		return -1, -1
	}
	name := s[j:i]
	for k := len(name) - 1; k >= 0; k-- {
		if name[k] == ':' {
			name = name[k+1:]
			break
		}
	}
	if keyClassOf(r, name) == keyPlain {
		return -1, -1
	}
	v := i + 1
	if hasAt(s, v, "<![CDATA[") {
		a := v + len("<![CDATA[")
		e := indexAt(s[:min(len(s), a+maxValue)], a, "]]>")
		if e <= a {
			return -1, -1
		}
		return a, e
	}
	e := v
	for e < len(s) && s[e] != '<' && e-v < maxValue {
		e++
	}
	for v < e && isSpace(s[v]) {
		v++
	}
	for e > v && isSpace(s[e-1]) {
		e--
	}
	if e == v {
		return -1, -1
	}
	return v, e
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// wordCredAt matches "Bearer <token>" (a token with a digit in it, eight
// bytes or more) and "Basic <base64 of user:password>" at i, returning
// the span of the credentials.
func wordCredAt[T text](s T, i int) (int, int) {
	if i+1 >= len(s) || s[i+1]|0x20 != 'e' && s[i+1]|0x20 != 'a' {
		return -1, -1 // neither "be" nor "ba", in any case
	}
	switch {
	case hasFoldAt(s, i, "bearer "):
		v := i + len("bearer ")
		for v < len(s) && s[v] == ' ' {
			v++
		}
		e := v
		digit := false
		for e < len(s) && isToken68(s[e]) {
			digit = digit || is(s[e], cDigit)
			e++
		}
		for e < len(s) && s[e] == '=' {
			e++
		}
		if e-v >= 8 && digit {
			return v, e
		}
	case hasFoldAt(s, i, "basic "):
		v := i + len("basic ")
		for v < len(s) && s[v] == ' ' {
			v++
		}
		e := v
		for e < len(s) && (is(s[e], cAlnum) || s[e] == '+' || s[e] == '/') {
			e++
		}
		for e < len(s) && s[e] == '=' {
			e++
		}
		if e-v < 8 {
			return -1, -1
		}
		var buf [192]byte
		n, _ := decodeBase64(buf[:], s[v:e])
		if indexAt(buf[:n], 0, ":") > 0 {
			return v, e
		}
	}
	return -1, -1
}

// isToken68 reports whether c may appear in an RFC 9110 token68.
func isToken68(c byte) bool {
	return is(c, cB64url) || c == '.' || c == '~' || c == '+' || c == '/'
}
