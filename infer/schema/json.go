package schema

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/specgate/specgate/internal/jsonstr"
)

// maxNesting bounds how deeply a JSON document may nest, as in encoding/json.
const maxNesting = 10000

// Scratch buffers larger than these are not kept between documents, so
// that a Shape holds little beyond what it describes.
const (
	keepBuf  = 4 << 10
	keepKeys = 256
)

// ObserveJSON records one whole JSON document (a request or response body).
// A document that is not valid JSON (RFC 8259), or that repeats a property
// name within one object, is refused with an error and s is unchanged.
// Strings are read as encoding/json reads them: escapes decoded, and every
// byte that is not valid UTF-8 replaced by U+FFFD.
func (s *Shape) ObserveJSON(data []byte) error {
	// The document is read through a string that shares data's memory;
	// strings kept from it (property names, enum candidates) are copied.
	d := unsafe.String(unsafe.SliceData(data), len(data))
	v := validator{d: d, keys: s.keys[:0]}
	err := v.document()
	s.keys = v.keys[:0]
	if cap(s.keys) > keepKeys {
		s.keys = nil
	}
	if err != nil {
		return fmt.Errorf("observe json body: %w", err)
	}
	p := applier{s: s, d: d}
	p.value(s.root, 0)
	if cap(s.buf) > keepBuf {
		s.buf = nil
	}
	return nil
}

// bytesString returns a string sharing b's memory; b must not change while
// the string is in use.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// strPlain marks the bytes a JSON string holds as they are: printable ASCII
// other than '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// keyRef locates a property name: d[off:end], or, when canon is set, its
// decoded form in the validator's arena.
type keyRef struct {
	off, end int
	canon    bool
}

// validator checks a JSON document without recording anything.
type validator struct {
	d     string
	i     int
	keys  []keyRef
	arena []byte
}

func (v *validator) fail(msg string) error {
	return fmt.Errorf("invalid json at byte %d: %s", v.i, msg)
}

func (v *validator) ws() {
	for v.i < len(v.d) && isSpace(v.d[v.i]) {
		v.i++
	}
}

func (v *validator) document() error {
	if err := v.value(0); err != nil {
		return err
	}
	v.ws()
	if v.i < len(v.d) {
		return v.fail("data after the value")
	}
	return nil
}

func (v *validator) value(depth int) error {
	v.ws()
	if v.i >= len(v.d) {
		return v.fail("unexpected end")
	}
	switch c := v.d[v.i]; {
	case c == '{':
		return v.object(depth + 1)
	case c == '[':
		return v.array(depth + 1)
	case c == '"':
		_, err := v.str()
		return err
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	case c == '-' || isDigit(c):
		return v.number()
	default:
		return v.fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (v *validator) literal(lit string) error {
	if !strings.HasPrefix(v.d[v.i:], lit) {
		return v.fail("invalid literal")
	}
	v.i += len(lit)
	return nil
}

func (v *validator) number() error {
	d, i := v.d, v.i
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		v.i = i
		return v.fail("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			v.i = i
			return v.fail("invalid number")
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			v.i = i
			return v.fail("invalid number")
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	v.i = i
	return nil
}

// str checks the string starting at v.i and reports whether it needs
// decoding (escapes or bytes that are not valid UTF-8).
func (v *validator) str() (decode bool, err error) {
	d := v.d
	v.i++
	start := v.i
	var high byte
	for {
		for v.i < len(d) && strPlain[d[v.i]] {
			v.i++
		}
		if v.i >= len(d) {
			return false, v.fail("unterminated string")
		}
		switch c := d[v.i]; {
		case c == '"':
			v.i++
			if !decode && high >= utf8.RuneSelf && !utf8.ValidString(d[start:v.i-1]) {
				decode = true
			}
			return decode, nil
		case c == '\\':
			decode = true
			v.i++
			if v.i >= len(d) {
				return false, v.fail("unterminated string")
			}
			switch d[v.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i++
			case 'u':
				if _, ok := jsonstr.Hex4(d[min(v.i+1, len(d)):]); !ok {
					return false, v.fail("invalid \\u escape")
				}
				v.i += 5
			default:
				return false, v.fail("invalid escape")
			}
		case c < 0x20:
			return false, v.fail("control character in string")
		default:
			high |= c
			v.i++
		}
	}
}

func (v *validator) array(depth int) error {
	if depth > maxNesting {
		return v.fail("nested too deeply")
	}
	v.i++
	v.ws()
	if v.i < len(v.d) && v.d[v.i] == ']' {
		v.i++
		return nil
	}
	for {
		if err := v.value(depth); err != nil {
			return err
		}
		v.ws()
		if v.i >= len(v.d) {
			return v.fail("unexpected end")
		}
		switch v.d[v.i] {
		case ',':
			v.i++
		case ']':
			v.i++
			return nil
		default:
			return v.fail("want ',' or ']'")
		}
	}
}

func (v *validator) object(depth int) error {
	if depth > maxNesting {
		return v.fail("nested too deeply")
	}
	v.i++
	v.ws()
	if v.i < len(v.d) && v.d[v.i] == '}' {
		v.i++
		return nil
	}
	base, abase := len(v.keys), len(v.arena)
	for {
		v.ws()
		if v.i >= len(v.d) || v.d[v.i] != '"' {
			return v.fail("want a property name")
		}
		start := v.i + 1
		decode, err := v.str()
		if err != nil {
			return err
		}
		k := keyRef{off: start, end: v.i - 1}
		if decode {
			off := len(v.arena)
			v.arena = jsonstr.AppendDecoded(v.arena, v.d[k.off:k.end])
			k = keyRef{off: off, end: len(v.arena), canon: true}
		}
		v.keys = append(v.keys, k)
		v.ws()
		if v.i >= len(v.d) || v.d[v.i] != ':' {
			return v.fail("want ':'")
		}
		v.i++
		if err := v.value(depth); err != nil {
			return err
		}
		v.ws()
		if v.i >= len(v.d) {
			return v.fail("unexpected end")
		}
		if c := v.d[v.i]; c == ',' {
			v.i++
			continue
		} else if c != '}' {
			return v.fail("want ',' or '}'")
		}
		v.i++
		break
	}
	err := v.unique(v.keys[base:])
	v.keys, v.arena = v.keys[:base], v.arena[:abase]
	return err
}

func (v *validator) key(k keyRef) string {
	if k.canon {
		return bytesString(v.arena[k.off:k.end])
	}
	return v.d[k.off:k.end]
}

// unique fails when two of ks name the same property.
func (v *validator) unique(ks []keyRef) error {
	if len(ks) <= 16 {
		for i := 1; i < len(ks); i++ {
			a := v.key(ks[i])
			for j := range i {
				if v.key(ks[j]) == a {
					return v.fail("duplicate property name")
				}
			}
		}
		return nil
	}
	slices.SortFunc(ks, func(a, b keyRef) int { return strings.Compare(v.key(a), v.key(b)) })
	for i := 1; i < len(ks); i++ {
		if v.key(ks[i-1]) == v.key(ks[i]) {
			return v.fail("duplicate property name")
		}
	}
	return nil
}

// applier records a validated document. It never reads past the data, so a
// document it was not meant for can do no more than record nonsense.
type applier struct {
	s *Shape
	d string
	i int
}

func (p *applier) ws() {
	for p.i < len(p.d) && isSpace(p.d[p.i]) {
		p.i++
	}
}

func (p *applier) value(n *node, depth int) {
	p.ws()
	if p.i >= len(p.d) {
		return
	}
	if n.any {
		n.samples++
		p.skip()
		return
	}
	switch c := p.d[p.i]; c {
	case '{':
		p.object(n, depth)
	case '[':
		p.array(n, depth)
	case '"':
		p.s.observeString(n, p.str(), 1)
	case 't':
		p.i += len("true")
		n.samples++
		n.bools++
	case 'f':
		p.i += len("false")
		n.samples++
		n.bools++
	case 'n':
		p.i += len("null")
		n.samples++
		n.nulls++
	default:
		p.s.observeNum(n, p.number(n.num), 1)
	}
}

func (p *applier) object(n *node, depth int) {
	p.i++
	n.samples++
	o := n.obj
	if o == nil {
		o = &objState{}
		n.obj = o
	}
	o.count++
	p.ws()
	if p.i < len(p.d) && p.d[p.i] == '}' {
		p.i++
		return
	}
	for p.i < len(p.d) {
		p.ws()
		c := p.s.opt.child(o, p.str(), depth)
		p.ws()
		p.i++ // ':'
		p.value(c, depth+1)
		p.ws()
		if p.i >= len(p.d) {
			return
		}
		sep := p.d[p.i]
		p.i++
		if sep != ',' {
			return
		}
	}
}

func (p *applier) array(n *node, depth int) {
	p.i++
	n.samples++
	a := n.arr
	if a == nil {
		a = &arrState{}
		n.arr = a
	}
	a.count++
	p.ws()
	if p.i < len(p.d) && p.d[p.i] == ']' {
		p.i++
		return
	}
	if a.items == nil {
		a.items = p.s.opt.newNode(depth + 1)
	}
	for p.i < len(p.d) {
		p.value(a.items, depth+1)
		p.ws()
		if p.i >= len(p.d) {
			return
		}
		sep := p.d[p.i]
		p.i++
		if sep != ',' {
			return
		}
	}
}

// str reads the string at p.i and returns its decoded value, which may
// point into the document or into the Shape's scratch buffer.
func (p *applier) str() string {
	d := p.d
	p.i++
	start := p.i
	var high byte
	for {
		for p.i < len(d) && strPlain[d[p.i]] {
			p.i++
		}
		if p.i >= len(d) {
			return d[start:]
		}
		switch c := d[p.i]; c {
		case '"':
			raw := d[start:p.i]
			p.i++
			if high < utf8.RuneSelf || utf8.ValidString(raw) {
				return raw
			}
			return p.decode(raw)
		case '\\':
			p.i += 2
			for p.i < len(d) && d[p.i] != '"' {
				if d[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			raw := d[start:min(p.i, len(d))]
			p.i++
			return p.decode(raw)
		default:
			high |= c
			p.i++
		}
	}
}

func (p *applier) decode(raw string) string {
	p.s.buf = jsonstr.AppendDecoded(p.s.buf[:0], raw)
	return bytesString(p.s.buf)
}

// number reads the number at p.i and returns its kind; cur is the widest
// kind seen at the node so far, past which nothing needs to be known.
func (p *applier) number(cur numKind) numKind {
	d := p.d
	start := p.i
	i := p.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	if i < len(d) && (d[i] == '.' || d[i] == 'e' || d[i] == 'E') {
		for i < len(d) && (isDigit(d[i]) || d[i] == '.' || d[i] == 'e' || d[i] == 'E' || d[i] == '+' || d[i] == '-') {
			i++
		}
		p.i = i
		return numNumber
	}
	if i == start {
		i++ // not a number: step past it rather than stall
	}
	p.i = i
	if cur == numNumber || i-start <= 9 {
		return numInt32
	}
	return intKind(d[start:i])
}

// skip steps over the value at p.i.
func (p *applier) skip() {
	depth := 0
	for p.i < len(p.d) {
		switch c := p.d[p.i]; c {
		case '"':
			p.i++
			for p.i < len(p.d) && p.d[p.i] != '"' {
				if p.d[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			p.i++
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			depth--
			p.i++
		case ' ', '\t', '\n', '\r', ',', ':':
			p.i++
			continue
		default:
			for p.i < len(p.d) && !isSpace(p.d[p.i]) && !strings.ContainsRune(",:]}", rune(p.d[p.i])) {
				p.i++
			}
		}
		if depth <= 0 {
			return
		}
	}
}
