package schema

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/specgate/specgate/infer/format"
)

// ObserveText records n samples of a scalar that arrived as text (a path
// segment, a query or header value, a form field): "42" is an integer,
// "4.5" a number, "true" and "false" booleans, anything else a string with
// its format. n <= 0 records nothing.
func (s *Shape) ObserveText(v string, n int64) {
	if n <= 0 {
		return
	}
	s.observeText(s.root, v, n)
}

// ObserveTexts records one sample of a possibly repeated text value: one
// value is a scalar as by ObserveText, several are an array of such scalars.
// No values record nothing.
func (s *Shape) ObserveTexts(vs []string) {
	s.observeTexts(s.root, vs, 0)
}

// ObserveForm records one application/x-www-form-urlencoded body: an object
// whose properties are the field names, each observed as by ObserveTexts.
// A field with no values is not present.
func (s *Shape) ObserveForm(values url.Values) {
	n := s.root
	if n.any {
		n.samples++
		return
	}
	n.samples++
	if n.obj == nil {
		n.obj = &objState{}
	}
	n.obj.count++
	// Names that are not valid UTF-8 are written as JSON would write them;
	// two names that become one share their values.
	canon := values
	for k := range values {
		if !utf8.ValidString(k) {
			canon = make(url.Values, len(values))
			for _, k := range slices.Sorted(maps.Keys(values)) {
				c := validUTF8(k)
				canon[c] = append(canon[c], values[k]...)
			}
			break
		}
	}
	for k, vs := range canon {
		if len(vs) == 0 {
			continue
		}
		s.observeTexts(s.opt.child(n.obj, k, 0), vs, 1)
	}
}

func (s *Shape) observeTexts(n *node, vs []string, depth int) {
	switch len(vs) {
	case 0:
		return
	case 1:
		s.observeText(n, vs[0], 1)
		return
	}
	n.samples++
	if n.any {
		return
	}
	if n.arr == nil {
		n.arr = &arrState{}
	}
	n.arr.count++
	if n.arr.items == nil {
		n.arr.items = s.opt.newNode(depth + 1)
	}
	for _, v := range vs {
		s.observeText(n.arr.items, v, 1)
	}
}

// observeText records cnt samples of text v at n.
func (s *Shape) observeText(n *node, v string, cnt int64) {
	if n.any {
		n.samples += cnt
		return
	}
	if v != "" && (v[0] == '-' || v[0] >= '0' && v[0] <= '9' || v == "true" || v == "false") {
		switch f := format.Classify(v); {
		case f&format.Bool != 0:
			n.samples += cnt
			n.bools += cnt
			return
		case f&format.Int != 0:
			s.observeNum(n, intKind(v), cnt)
			return
		case f&format.Number != 0:
			s.observeNum(n, numNumber, cnt)
			return
		}
	}
	s.observeString(n, validUTF8(v), cnt)
}

func (s *Shape) observeNum(n *node, k numKind, cnt int64) {
	n.samples += cnt
	n.nums += cnt
	n.num = max(n.num, k)
}

// observeString records cnt samples of string v, valid UTF-8, at n. v may
// point into scratch memory: it is copied when kept.
func (s *Shape) observeString(n *node, v string, cnt int64) {
	n.samples += cnt
	st := n.str
	if st == nil {
		st = &strState{}
		n.str = st
	}
	first := st.count == 0
	st.count += cnt
	if !first {
		if st.dropped && st.named == 0 {
			return // nothing left to learn from the value
		}
		if len(st.vals) > 0 && slices.Contains(st.vals, v) {
			return // a known candidate: no format, already counted
		}
	}
	red := strings.Contains(v, redacted)
	var f format.Set
	if !red {
		f = format.Classify(v) & namedFormats
	}
	if first {
		st.named = f
	} else {
		st.named &= f
	}
	if st.dropped {
		return
	}
	if red || f != 0 || len(v) > enumMaxLen || len(st.vals) >= s.opt.EnumMax || !isWord(v) || format.IsID(v) {
		st.vals, st.dropped = nil, true
		return
	}
	st.vals = append(st.vals, strings.Clone(v))
}

// isWord reports whether v is one code-like word: letters, digits and
// '-', '_', '.', ':', '/' or '+', no spaces. Enums name states and kinds
// ("pending", "in_progress", "EUR"); text with spaces is prose, whose
// few values in a test run say nothing of the values it may take.
func isWord(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '_', r == '.', r == ':', r == '/', r == '+':
		default:
			return false
		}
	}
	return true
}

// isCandidate reports whether v may be an enum value.
func isCandidate(v string) bool {
	return len(v) <= enumMaxLen && utf8.ValidString(v) && !strings.Contains(v, redacted) && isWord(v) &&
		format.Classify(v)&namedFormats == 0 && !format.IsID(v)
}

// intKind returns the kind of the decimal integer text v (an optional '-'
// and digits without leading zeros): int32 or int64 when it fits, else
// number.
func intKind(v string) numKind {
	neg := v != "" && v[0] == '-'
	d := v
	if neg {
		d = v[1:]
	}
	switch {
	case len(d) <= 9:
		return numInt32
	case len(d) > 19:
		return numNumber
	case len(d) == 19:
		if neg && d > "9223372036854775808" || !neg && d > "9223372036854775807" {
			return numNumber
		}
		return numInt64
	case len(d) == 10:
		if neg && d <= "2147483648" || !neg && d <= "2147483647" {
			return numInt32
		}
	}
	return numInt64
}

// validUTF8 returns v with every byte that is not part of valid UTF-8
// replaced by U+FFFD, as encoding/json reads such a string.
func validUTF8(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return string(appendValid(nil, v))
}

func appendValid(dst []byte, v string) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, v[i:i+size]...)
		}
		i += size
	}
	return dst
}
