package redact

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// JSON bodies are redacted by a validating scanner that finds the span of
// every value and splices replacements in, so that everything it does not
// redact (key order, spacing, number spelling, escapes) stays byte for
// byte. A sequence of values separated by white space (NDJSON) is read
// too. Input that is not JSON is left to the text rules.

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// quotedMarker replaces a value under a sensitive key.
const quotedMarker = `"` + Marker + `"`

type jsonScan struct {
	r     *Redactor
	s     []byte
	i     int
	depth int
	sp    splicer[[]byte]
	tmp   *[]byte   // pooled scratch for unescaped strings
	keys  *keyCache // borrowed from r's pool
}

// strStop marks, in jsonBytes, the bytes that end a run of plain string
// content: the closing quote, a backslash and control bytes. It is a bit
// that no mode uses.
const strStop mode = 1 << 7

// jsonBytes maps each byte to its anchors (see anchors), plus strStop, so
// that one pass over a string both finds its end and notes whether any
// rule could start in it.
var jsonBytes = func() (t [256]mode) {
	t = anchors
	for c := 0; c < 0x20; c++ {
		t[c] |= strStop
	}
	t['"'] |= strStop
	t['\\'] |= strStop
	return t
}()

// prose reports whether the eight bytes packed in x are all lower-case
// ASCII letters other than 'b', or spaces: bytes that neither end a JSON
// string nor anchor a rule, and most of the bytes of text in English. It
// tests the eight at once with carry-free arithmetic on the packed bytes.
func prose(x uint64) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080 // the top bit of each byte
		low7 = 0x7f7f7f7f7f7f7f7f
	)
	if x&high != 0 {
		return false // not ASCII
	}
	// With every byte below 0x80, adding less than 0x80 - 'a' + 1 to each
	// carries into no neighbour, and sets a byte's top bit exactly when
	// the byte reached the bound.
	atLeastA := x + (0x80-'a')*ones
	aboveZ := x + (0x80-'z'-1)*ones
	lower := atLeastA &^ aboveZ
	return (lower&^zeroBytes(x^'b'*ones)|zeroBytes(x^' '*ones))&high == high
}

// zeroBytes returns a word with the top bit set in each byte of v that is
// zero, and nothing else.
func zeroBytes(v uint64) uint64 {
	const (
		high = 0x8080808080808080
		low7 = 0x7f7f7f7f7f7f7f7f
	)
	// (v&low7)+low7 sets a byte's top bit when its low seven bits are not
	// all zero, without a carry out of the byte; or-ing v adds its top bit.
	return ^((v & low7) + low7 | v) & high
}

// strSpan is the content of a JSON string: s[a:b], quotes excluded.
type strSpan struct {
	a, b int
	esc  bool // the content holds escapes
	seen mode // the anchors of the bytes in s[a:b] (with escapes, of the raw bytes)
}

// jsonBody redacts b as JSON and reports whether it was JSON.
func (r *Redactor) jsonBody(b []byte) ([]byte, uint64, bool) {
	js := jsonScan{r: r, s: b, sp: splicer[[]byte]{src: b}}
	ok := js.document()
	if js.tmp != nil {
		r.putBuf(js.tmp)
	}
	if js.keys != nil {
		r.putCache(js.keys)
	}
	if !ok {
		return b, 0, false
	}
	return js.sp.result(), js.sp.n, true
}

func (js *jsonScan) document() bool {
	js.ws()
	if js.i == len(js.s) {
		return false
	}
	for js.i < len(js.s) {
		if !js.value(keyPlain) {
			return false
		}
		js.ws()
	}
	return true
}

func (js *jsonScan) ws() {
	for js.i < len(js.s) {
		switch js.s[js.i] {
		case ' ', '\t', '\n', '\r':
			js.i++
		default:
			return
		}
	}
}

// value reads one value; class says how sensitive the key above it is.
func (js *jsonScan) value(class keyClass) bool {
	if js.i >= len(js.s) {
		return false
	}
	switch c := js.s[js.i]; c {
	case '{':
		return js.object(class)
	case '[':
		return js.array(class)
	case '"':
		start := js.i
		q, ok := js.str()
		if !ok {
			return false
		}
		if class != keyPlain {
			if v := js.s[q.a:q.b]; len(v) > 0 && !equalsMarker(v) && secretValue(class, v) {
				js.sp.replace(start, js.i, quotedMarker)
			}
			return true
		}
		js.text(q, modeText)
		return true
	case 't':
		return js.literal("true")
	case 'f':
		return js.literal("false")
	case 'n':
		return js.literal("null")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return false
		}
		start := js.i
		if !js.number() {
			return false
		}
		if class == keySecret {
			js.sp.replace(start, js.i, quotedMarker)
		}
		return true
	}
}

func (js *jsonScan) object(class keyClass) bool {
	if js.depth++; js.depth > maxDepth {
		return false
	}
	js.i++
	js.ws()
	if js.i < len(js.s) && js.s[js.i] == '}' {
		js.i++
		js.depth--
		return true
	}
	// namedSecret is set by a "name" (or "key") member whose value names a
	// secret: {"name": "DB_PASSWORD", "value": "..."}, as in Kubernetes
	// env lists and HAR headers; the "value" member after it is redacted.
	namedSecret := false
	for {
		if js.i >= len(js.s) || js.s[js.i] != '"' {
			return false
		}
		q, ok := js.str()
		if !ok {
			return false
		}
		child, isName := class, false
		if child == keyPlain {
			k := js.s[q.a:q.b]
			child = js.keyClass(q.a, q.b, q.esc)
			isName = keyIs(k, "name") || keyIs(k, "key")
			if namedSecret && keyIs(k, "value") {
				child = keySecret
			}
		}
		js.text(q, modeBinary)
		js.ws()
		if js.i >= len(js.s) || js.s[js.i] != ':' {
			return false
		}
		js.i++
		js.ws()
		v := js.i
		if !js.value(child) {
			return false
		}
		if isName && js.s[v] == '"' && js.nameClass(v+1, js.i-1) != keyPlain {
			namedSecret = true
		}
		js.ws()
		if js.i >= len(js.s) {
			return false
		}
		switch js.s[js.i] {
		case ',':
			js.i++
			js.ws()
		case '}':
			js.i++
			js.depth--
			return true
		default:
			return false
		}
	}
}

func (js *jsonScan) array(class keyClass) bool {
	if js.depth++; js.depth > maxDepth {
		return false
	}
	js.i++
	js.ws()
	if js.i < len(js.s) && js.s[js.i] == ']' {
		js.i++
		js.depth--
		return true
	}
	for {
		if !js.value(class) {
			return false
		}
		js.ws()
		if js.i >= len(js.s) {
			return false
		}
		switch js.s[js.i] {
		case ',':
			js.i++
			js.ws()
		case ']':
			js.i++
			js.depth--
			return true
		default:
			return false
		}
	}
}

// keyIs reports whether the raw key k is w, ignoring ASCII case.
func keyIs(k []byte, w string) bool {
	return len(k) == len(w) && hasFoldAt(k, 0, w)
}

func (js *jsonScan) literal(w string) bool {
	if !hasAt(js.s, js.i, w) {
		return false
	}
	js.i += len(w)
	return true
}

func (js *jsonScan) number() bool {
	s, i := js.s, js.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = run(s, i, cDigit)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		e := run(s, i+1, cDigit)
		if e == i+1 {
			return false
		}
		i = e
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := run(s, i, cDigit)
		if e == i {
			return false
		}
		i = e
	}
	js.i = i
	return true
}

// str reads a string at js.i and returns the span of its content.
func (js *jsonScan) str() (q strSpan, ok bool) {
	s := js.s
	i := js.i + 1
	q.a = i
	for {
		// Eight bytes at a time while none of them stops the run (and
		// without a table look-up when they are plain prose), then byte
		// by byte up to the stop.
		for ; i+8 <= len(s); i += 8 {
			w := s[i : i+8 : i+8]
			if prose(binary.LittleEndian.Uint64(w)) {
				continue
			}
			f := jsonBytes[w[0]] | jsonBytes[w[1]] | jsonBytes[w[2]] | jsonBytes[w[3]] |
				jsonBytes[w[4]] | jsonBytes[w[5]] | jsonBytes[w[6]] | jsonBytes[w[7]]
			if f&strStop != 0 {
				break
			}
			q.seen |= f
		}
		for i < len(s) {
			f := jsonBytes[s[i]]
			if f&strStop != 0 {
				break
			}
			q.seen |= f
			i++
		}
		if i >= len(s) || s[i] < 0x20 {
			return strSpan{}, false
		}
		if s[i] == '"' {
			js.i = i + 1
			q.b = i
			return q, true
		}
		q.esc = true
		i++
		if i >= len(s) {
			return strSpan{}, false
		}
		switch s[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+4 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 || unhex(s[i+3]) < 0 || unhex(s[i+4]) < 0 {
				return strSpan{}, false
			}
			i += 5
		default:
			return strSpan{}, false
		}
	}
}

// keyClass classifies the key whose content is s[a:b].
func (js *jsonScan) keyClass(a, b int, esc bool) keyClass {
	if esc {
		var buf [maxKey]byte
		d := unescapeJSON(buf[:0], js.s[a:b], maxKey)
		return keyClassOf(js.r, d)
	}
	if js.keys == nil {
		js.keys = js.r.getCache()
	}
	return js.keys.class(js.r, js.s[a:b])
}

// nameClass classifies the value s[a:b] of a "name" member as a key. Like
// an escaped key, it is classified by its first maxKey bytes. Values are
// many and seldom repeat, so they are kept out of the key cache.
func (js *jsonScan) nameClass(a, b int) keyClass {
	if b-a > maxKey || bytes.IndexByte(js.s[a:b], '\\') >= 0 {
		return js.keyClass(a, b, true)
	}
	return keyClassOf(js.r, js.s[a:b])
}

// text redacts secrets inside the string content q. Content with escapes
// is unescaped first so that the rules see the real characters, and
// re-escaped when something in it was redacted. Content without escapes
// in which no byte anchors a rule of mode m is left without a scan.
func (js *jsonScan) text(q strSpan, m mode) {
	a, b := q.a, q.b
	if a == b {
		return
	}
	if !q.esc {
		switch q.seen & m {
		case 0:
		case mWords:
			js.words(a, b)
		default:
			scrub(js.r, &js.sp, a, b, m)
		}
		return
	}
	if js.tmp == nil {
		js.tmp = js.r.getBuf()
	}
	*js.tmp = unescapeJSON((*js.tmp)[:0], js.s[a:b], b-a)
	sub := splicer[[]byte]{src: *js.tmp}
	scrub(js.r, &sub, 0, len(sub.src), m)
	if sub.n == 0 {
		return
	}
	out := escapeJSON(make([]byte, 0, b-a+8), sub.result())
	js.sp.replaceBytes(a, b, out, sub.n)
}

// words redacts s[a:b] as scrub does, for content in which the only
// bytes that anchor a rule are 'B' and 'b' (as in most prose): the only
// rule that can match is then a credential after "Bearer" or "Basic", so
// the scan jumps from one 'b' or 'B' to the next with bytes.IndexByte.
func (js *jsonScan) words(a, b int) {
	s := js.s[a:b]
	lo, up := nextByte(s, 0, 'b'), nextByte(s, 0, 'B')
	for {
		i := min(lo, up)
		if i == len(s) {
			return
		}
		next := i + 1
		if i == 0 || !is(s[i-1], cAlnum) {
			if x, y := wordCredAt(s, i); x >= 0 {
				if !equalsMarker(s[x:y]) {
					js.sp.replace(a+x, a+y, Marker)
				}
				next = y
			}
		}
		if lo < next {
			lo = nextByte(s, next, 'b')
		}
		if up < next {
			up = nextByte(s, next, 'B')
		}
	}
}

// nextByte returns the offset of the first c in s at or after i, or
// len(s).
func nextByte(s []byte, i int, c byte) int {
	if j := bytes.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return len(s)
}

// unescapeJSON appends the decoded content of a valid JSON string to dst,
// stopping once dst holds limit bytes (keys are classified by a prefix;
// content never decodes longer than it is written).
func unescapeJSON(dst, s []byte, limit int) []byte {
	for i := 0; i < len(s) && len(dst) < limit; {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		switch s[i+1] {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, n := decodeU(s[i:])
			var enc [utf8.UTFMax]byte
			dst = append(dst, enc[:utf8.EncodeRune(enc[:], r)]...)
			i += n
			continue
		default:
			c = s[i+1]
		}
		dst = append(dst, c)
		i += 2
	}
	return dst
}

// decodeU decodes a \uXXXX escape (a surrogate pair when there is one) at
// the start of s, returning the rune (U+FFFD for a lone surrogate) and the
// bytes read.
func decodeU(s []byte) (rune, int) {
	hex4 := func(s []byte) rune {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return -1
		}
		var r rune
		for _, c := range s[2:6] {
			h := unhex(c)
			if h < 0 {
				return -1
			}
			r = r<<4 | rune(h)
		}
		return r
	}
	r := hex4(s)
	if r < 0 {
		return utf8.RuneError, 2
	}
	if r >= 0xD800 && r < 0xDC00 {
		if r2 := hex4(s[6:]); r2 >= 0xDC00 && r2 < 0xE000 {
			return (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000, 12
		}
		return utf8.RuneError, 6
	}
	if r >= 0xDC00 && r < 0xE000 {
		return utf8.RuneError, 6
	}
	return r, 6
}

// escapeJSON appends s as JSON string content (no quotes) to dst.
func escapeJSON(dst, s []byte) []byte {
	const hexdig = "0123456789abcdef"
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
