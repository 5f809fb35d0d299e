package redact

import (
	"bytes"
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
	tmp   *[]byte // pooled scratch for unescaped strings
	memo  *memo   // the caller's, for key classes
	// prevKey is the memo slot of the last key read, or -1.
	prevKey int
}

// Two bits of jsonBytes that no mode uses: strStop marks the bytes that
// end a run of plain string content (the closing quote, a backslash and
// control bytes), and strUpperB the byte 'B'.
const (
	strStop   mode = 1 << 7
	strUpperB mode = 1 << 6
)

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
	t['B'] |= strUpperB
	return t
}()

// strSpan is the content of a JSON string: s[a:b], quotes excluded.
type strSpan struct {
	a, b int
	esc  bool // the content holds escapes
	seen mode // the jsonBytes bits of the bytes in s[a:b] (with escapes, of the raw bytes)
}

// jsonBody redacts b as JSON and reports whether it was JSON.
func (r *Redactor) jsonBody(b []byte, m *memo) ([]byte, uint64, bool) {
	js := jsonScan{r: r, s: b, sp: splicer[[]byte]{src: b}, memo: m, prevKey: -1}
	ok := js.document()
	if js.tmp != nil {
		r.putBuf(js.tmp)
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
	for js.i < len(js.s) && js.s[js.i] <= ' ' {
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
		q, kc, ok := js.key()
		if !ok {
			return false
		}
		child, isName := class, false
		if child == keyPlain {
			k := js.s[q.a:q.b]
			child = kc
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
		// Eight bytes at a time while none of them stops the run, then
		// byte by byte up to the stop.
		for ; i+8 <= len(s); i += 8 {
			w := s[i : i+8 : i+8]
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

// key reads an object key at js.i and returns its span and its class.
// A key without escapes is looked up in the memo: first where the key
// read after the previous one last time is expected, then by hash.
func (js *jsonScan) key() (strSpan, keyClass, bool) {
	m := js.memo
	if js.prevKey >= 0 {
		if n := m.nextKey(js.prevKey, js.s, js.i+1); n >= 0 {
			q := strSpan{a: js.i + 1, b: js.i + 1 + int(m.keys.slots[n].n), seen: m.keySeen[n]}
			js.i = q.b + 1
			js.prevKey = n
			return q, keyClass(m.keys.slots[n].val), true
		}
	}
	q, ok := js.str()
	if !ok {
		return q, keyPlain, false
	}
	if q.esc {
		js.prevKey = -1
		return q, js.keyClass(q.a, q.b, true), true
	}
	n := m.keySlot(js.r, js.s[q.a:q.b], q.seen)
	if n < 0 {
		js.prevKey = -1
		return q, keyClassOf(js.r, js.s[q.a:q.b]), true
	}
	if js.prevKey >= 0 {
		m.keyNext[js.prevKey] = uint8(n + 1)
	}
	js.prevKey = n
	return q, keyClass(m.keys.slots[n].val), true
}

// keyClass classifies the key whose content is s[a:b].
func (js *jsonScan) keyClass(a, b int, esc bool) keyClass {
	if esc {
		var buf [maxKey]byte
		d := unescapeJSON(buf[:0], js.s[a:b], maxKey)
		return keyClassOf(js.r, d)
	}
	return keyClassOf(js.r, js.s[a:b])
}

// nameClass classifies the value s[a:b] of a "name" member as a key. Like
// an escaped key, it is classified by its first maxKey bytes. Values are
// many and seldom repeat, so they are kept out of the memo.
func (js *jsonScan) nameClass(a, b int) keyClass {
	if b-a > maxKey || bytes.IndexByte(js.s[a:b], '\\') >= 0 {
		return js.keyClass(a, b, true)
	}
	return keyClassOf(js.r, js.s[a:b])
}

// text redacts secrets inside the string content q. Content with escapes
// is unescaped first so that the rules see the real characters, and
// re-escaped when something in it was redacted. Content without escapes
// in which no byte anchors a rule of mode m is left without a scan, and
// content whose only anchors are b's is searched by words.
func (js *jsonScan) text(q strSpan, m mode) {
	a, b := q.a, q.b
	if a == b {
		return
	}
	if !q.esc {
		switch q.seen & m {
		case 0:
		case mWords:
			js.words(a, b, q.seen&strUpperB != 0)
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
// upper says whether the content holds a 'B' at all.
func (js *jsonScan) words(a, b int, upper bool) {
	s := js.s[a:b]
	// A credential after "Basic " or "Bearer " is eight bytes or more,
	// so none starts in the last minWordCred-1 bytes.
	last := len(s) - minWordCred + 1
	if last <= 0 {
		return
	}
	lo, up := nextByte(s[:last], 0, 'b'), last
	if upper {
		up = nextByte(s[:last], 0, 'B')
	}
	for {
		i := min(lo, up)
		if i == last {
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
		next = min(next, last)
		if lo < next {
			lo = nextByte(s[:last], next, 'b')
		}
		if up < next {
			up = nextByte(s[:last], next, 'B')
		}
	}
}

// minWordCred is the length of the shortest credential wordCredAt finds,
// with its word: "Basic " and eight bytes.
const minWordCred = len("basic ") + 8

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
