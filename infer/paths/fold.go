package paths

import "slices"

// pending is a payload handed out by Add whose template folded into a
// parameter; it merges into dst at the next call on the trie.
type pending[T any] struct {
	dst   *node[T]
	src   T
	folds []Fold
}

// variable makes n variable: every static child that is not pinned folds,
// with its subtree, into the parameter child. i is the index of n's
// children's segments.
func (t *Trie[T]) variable(n *node[T], i int) {
	n.variable = true
	if n.count == 0 {
		return
	}
	if n.param == nil {
		n.param = &node[T]{}
	}
	for _, k := range sortedKeys(n.statics) {
		c := n.statics[k]
		if c.pinned {
			continue
		}
		delete(n.statics, k)
		n.count--
		t.mergeInto(n.param, c, i+1, []Fold{{i, decode(k)}})
	}
}

// mergeInto merges the subtree src into dst and discards src; folds are
// the static values of src's paths that became parameter values, i the
// index of dst's children's segments.
func (t *Trie[T]) mergeInto(dst, src *node[T], i int, folds []Fold) {
	if src.has {
		t.ensure(dst)
		t.merge(dst.payload, src.payload, folds)
		var zero T
		src.payload, src.has = zero, false
		t.n--
	}
	dst.given = minName(dst.given, src.given)
	for _, k := range sortedKeys(src.statics) {
		s := src.statics[k]
		d := dst.statics[k]
		if d == nil {
			d = &node[T]{}
			if dst.statics == nil {
				dst.statics = make(map[string]*node[T])
			}
			dst.statics[k] = d
			dst.count++
		}
		t.mergeInto(d, s, i+1, folds)
	}
	if src.param != nil {
		if dst.param == nil {
			dst.param = &node[T]{}
		}
		t.mergeInto(dst.param, src.param, i+1, folds)
	}
	if src.variable || dst.variable || dst.count >= t.min {
		t.variable(dst, i)
	}
}

func sortedKeys[T any](m map[string]*node[T]) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// flush merges the payloads Add handed out for folded templates.
func (t *Trie[T]) flush() {
	if len(t.pend) == 0 {
		return
	}
	for i, p := range t.pend {
		t.merge(p.dst.payload, p.src, p.folds)
		t.pend[i] = pending[T]{}
	}
	t.pend = t.pend[:0]
}
