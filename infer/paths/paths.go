// Package paths takes the request paths one service was sent and gives their
// OpenAPI templates (/todos/4f1c… → /todos/{todoId}), each with a caller's payload.
package paths

import (
	"slices"
	"strings"
)

// DefaultVariableMin is Options.VariableMin when it is not set.
const DefaultVariableMin = 20

// Options configures a Trie.
type Options struct {
	// VariableMin is the number of distinct non-identifier segments under
	// one parent at which that position becomes a parameter (default 20).
	VariableMin int
	// Baseline lists path templates of a baseline document ("/todos/{id}",
	// "/users/me"); concrete paths match them first. A template with a
	// segment that mixes text and a parameter ("{name}.{ext}") is ignored.
	Baseline []string
}

// Fold says that a payload observed under the static segment Value
// (decoded) was folded into the parameter at segment Index (0-based among
// the path's segments).
type Fold struct {
	Index int
	Value string
}

// Param is a path parameter of a template.
type Param struct {
	Name  string
	Index int // segment index
	// Variable: every value at this position belongs to it (templated
	// because values varied, or a baseline's parameter), not only
	// identifiers.
	Variable bool
	// Given is the name a baseline or an earlier document gave this
	// parameter ("" when Name is computed); Name is Given made unique.
	Given string
}

// ParamValue is the concrete (decoded) value of the parameter segment at
// Index in an observed path.
type ParamValue struct {
	Index int
	Value string
}

// node is one position of the trie. Static children are keyed by their
// canonical text; identifiers (and, once the node is variable, every
// value) go to the one parameter child.
type node[T any] struct {
	statics  map[string]*node[T]
	param    *node[T]
	count    int    // static children that are not pinned
	variable bool   // the parameter child takes every value no static child matches
	pinned   bool   // a baseline's static segment: never folded
	given    string // smallest name given to this parameter node, "" for none
	has      bool   // a path ends here
	payload  T
}

// Trie infers the path templates of one service. A segment goes to the
// static child that matches it exactly, else to the parameter child when
// it is an identifier (format.IsID, longer than MaxSegmentLen, or holding
// the redaction marker) or its position is variable, else to a new static
// child. A position whose static children reach VariableMin becomes
// variable: they fold, subtrees and payloads, into the parameter. The
// result depends on the set of paths and templates recorded, never on
// their order. A Trie is not safe for concurrent use.
type Trie[T any] struct {
	root       *node[T]
	min        int
	newPayload func() T
	merge      func(dst, src T, folds []Fold)
	n          int
	rejected   int
	pend       []pending[T]
	vals       []ParamValue
}

// New returns an empty trie. newPayload makes the payload of a new path;
// merge folds src into dst when two paths become one (folds lists the
// static values of src that became parameter values of dst; merge must not
// modify it, and it is also called with no folds for a payload from Add).
func New[T any](o Options, newPayload func() T, merge func(dst, src T, folds []Fold)) *Trie[T] {
	if newPayload == nil {
		newPayload = func() T { var zero T; return zero }
	}
	if merge == nil {
		merge = func(T, T, []Fold) {}
	}
	t := &Trie[T]{root: &node[T]{}, min: o.VariableMin, newPayload: newPayload, merge: merge}
	if t.min <= 0 {
		t.min = DefaultVariableMin
	}
	for _, b := range o.Baseline {
		t.pin(b)
	}
	return t
}

// pin inserts a baseline template as structure without a payload.
func (t *Trie[T]) pin(template string) {
	if template == "" || template[0] != '/' {
		template = "/" + template
	}
	segs, err := parse(template)
	if err != nil {
		return
	}
	n := t.root
	for _, s := range segs {
		if s.param {
			n.variable = true
			if n.param == nil {
				n.param = &node[T]{}
			}
			n = n.param
			n.given = minName(n.given, sanitizeName(s.name))
			continue
		}
		c := n.statics[s.key]
		if c == nil {
			c = &node[T]{pinned: true}
			if n.statics == nil {
				n.statics = make(map[string]*node[T])
			}
			n.statics[s.key] = c
		}
		n = c
	}
}

// Observe records one request to the concrete path p (without query,
// percent-encoded as sent) and returns the payload of the template it
// belongs to now and the decoded values of that template's parameter
// segments in segment order. The values are valid until the next call on
// the trie. A path of more than MaxSegments segments is rejected: Observe
// returns the zero T and nil, and Rejected counts it. A path that does
// not start with '/' is read as if it did.
func (t *Trie[T]) Observe(p string) (payload T, params []ParamValue) {
	t.flush()
	rest, count := split(p)
	if count > MaxSegments {
		t.rejected++
		return payload, nil
	}
	t.vals = t.vals[:0]
	n := t.root
	for i := 0; i < count; i++ {
		var s string
		s, rest = next(rest)
		var v string
		var isParam bool
		n, v, isParam = t.step(n, s, i)
		if isParam {
			t.vals = append(t.vals, ParamValue{i, v})
		}
	}
	t.ensure(n)
	if len(t.vals) == 0 {
		return n.payload, nil
	}
	return n.payload, t.vals
}

// Rejected is the number of paths Observe rejected for having more than
// MaxSegments segments.
func (t *Trie[T]) Rejected() int { return t.rejected }

// step moves from n along the segment s (at index i) as sent: to the
// static child that matches it, else to the parameter child when s is an
// identifier or n is variable, else to a new static child (which may make
// n variable). It returns the child and, for the parameter child, the
// decoded value.
func (t *Trie[T]) step(n *node[T], s string, i int) (*node[T], string, bool) {
	key := canonical(s)
	if c := n.statics[key]; c != nil {
		return c, "", false
	}
	v := decode(key)
	if !n.variable && !isID(v) {
		if n.count+1 < t.min {
			c := &node[T]{}
			if n.statics == nil {
				n.statics = make(map[string]*node[T])
			}
			n.statics[key] = c
			n.count++
			return c, "", false
		}
		t.variable(n, i)
	}
	if n.param == nil {
		n.param = &node[T]{}
	}
	return n.param, v, true
}

// ensure gives n a payload if it has none.
func (t *Trie[T]) ensure(n *node[T]) {
	if !n.has {
		n.payload = t.newPayload()
		n.has = true
		t.n++
	}
}

// Walk calls fn for every path that has a payload, in byte order of the
// template, with its template and parameters (in segment order). fn must
// not call the trie.
func (t *Trie[T]) Walk(fn func(template string, params []Param, payload T)) {
	t.flush()
	type entry struct {
		template string
		params   []Param
		payload  T
	}
	entries := make([]entry, 0, t.n)
	var segs []seg
	var vars []bool // vars[i]: the node above segs[i] is variable
	var visit func(n *node[T])
	visit = func(n *node[T]) {
		if n.has {
			var b strings.Builder
			var params []Param
			var used []string
			if len(segs) == 0 {
				b.WriteByte('/')
			}
			for i, s := range segs {
				b.WriteByte('/')
				if !s.param {
					b.WriteString(s.key)
					continue
				}
				base := s.given
				if base == "" {
					base = baseName(segs, i)
				}
				name := unique(base, used)
				used = append(used, name)
				params = append(params, Param{Name: name, Index: i, Variable: vars[i], Given: s.given})
				b.WriteByte('{')
				b.WriteString(name)
				b.WriteByte('}')
			}
			entries = append(entries, entry{b.String(), params, n.payload})
		}
		for k, c := range n.statics {
			segs, vars = append(segs, seg{key: k}), append(vars, n.variable)
			visit(c)
			segs, vars = segs[:len(segs)-1], vars[:len(vars)-1]
		}
		if n.param != nil {
			segs, vars = append(segs, seg{param: true, given: n.param.given}), append(vars, n.variable)
			visit(n.param)
			segs, vars = segs[:len(segs)-1], vars[:len(vars)-1]
		}
	}
	visit(t.root)
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.template, b.template) })
	for _, e := range entries {
		fn(e.template, e.params, e.payload)
	}
}

// Len is the number of paths with a payload.
func (t *Trie[T]) Len() int {
	t.flush()
	return t.n
}
