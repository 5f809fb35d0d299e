package paths

import (
	"errors"
	"fmt"
	"strings"
)

// Add records a template read from an earlier inferred document: "{name}"
// segments are parameters, variable lists the names of parameters that
// are Variable. A name other than the one the template's own shape
// computes is kept as given. It returns the payload to merge that path's
// data into, folding as Observe would. When a static segment of the
// template folds into a parameter here, the payload returned is a new one
// that merges (with its Folds) into the template's payload at the next
// call on the trie: fill it before calling the trie again.
//
// Add cannot tell a given name that happens to equal a computed one
// ("id2" given where "id" is taken) from a computed one; AddParams, fed
// the Params of Walk, restores given names exactly.
func (t *Trie[T]) Add(template string, variable map[string]bool) (T, error) {
	t.flush()
	segs, err := parseAdd(template)
	if err != nil {
		var zero T
		return zero, err
	}
	var used []string
	for i, s := range segs {
		if !s.param {
			continue
		}
		if s.name != unique(baseName(segs, i), used) {
			segs[i].given = s.name
		}
		segs[i].variable = variable[s.name]
		used = append(used, s.name)
	}
	return t.add(segs), nil
}

// AddParams is Add with the parameters as Walk gives them: their Variable
// flags and Given names are restored as they were.
func (t *Trie[T]) AddParams(template string, params []Param) (T, error) {
	t.flush()
	var zero T
	segs, err := parseAdd(template)
	if err != nil {
		return zero, err
	}
	k := 0
	for i, s := range segs {
		if !s.param {
			continue
		}
		if k == len(params) || params[k].Index != i || params[k].Name != s.name {
			return zero, fmt.Errorf("paths: add %q: parameters do not match the template", template)
		}
		if g := params[k].Given; g != "" && !validName(g) {
			return zero, fmt.Errorf("paths: add %q: given name %q is not [A-Za-z0-9_.-]+", template, g)
		}
		segs[i].given, segs[i].variable = params[k].Given, params[k].Variable
		k++
	}
	if k != len(params) {
		return zero, fmt.Errorf("paths: add %q: parameters do not match the template", template)
	}
	return t.add(segs), nil
}

// parseAdd parses a template for Add: it must start with '/' and name its
// parameters validly and once each.
func parseAdd(template string) ([]seg, error) {
	if template == "" || template[0] != '/' {
		return nil, fmt.Errorf("paths: add %q: template does not start with '/'", template)
	}
	segs, err := parse(template)
	if err != nil {
		return nil, fmt.Errorf("paths: add %q: %w", template, err)
	}
	for i, s := range segs {
		if !s.param {
			continue
		}
		if !validName(s.name) {
			return nil, fmt.Errorf("paths: add %q: parameter name %q is not [A-Za-z0-9_.-]+", template, s.name)
		}
		for _, o := range segs[:i] {
			if o.param && o.name == s.name {
				return nil, fmt.Errorf("paths: add %q: parameter name %q used twice", template, s.name)
			}
		}
	}
	return segs, nil
}

// add inserts parsed template segments and returns the payload to fill.
func (t *Trie[T]) add(segs []seg) T {
	n := t.root
	var folds []Fold
	for i, s := range segs {
		if s.param {
			if s.variable {
				t.variable(n, i)
			}
			if n.param == nil {
				n.param = &node[T]{}
			}
			n = n.param
			n.given = minName(n.given, s.given)
			continue
		}
		var v string
		var isParam bool
		n, v, isParam = t.step(n, s.key, i)
		if isParam {
			folds = append(folds, Fold{i, v})
		}
	}
	t.ensure(n)
	if len(folds) == 0 {
		return n.payload
	}
	src := t.newPayload()
	t.pend = append(t.pend, pending[T]{n, src, folds})
	return src
}

// parse splits a template into segments: "{name}" is a parameter, any
// other segment static text (made canonical). A segment that holds a brace
// otherwise, and a template of more than MaxSegments segments, are errors.
func parse(template string) ([]seg, error) {
	rest, count := split(template)
	if count > MaxSegments {
		return nil, fmt.Errorf("more than %d segments", MaxSegments)
	}
	segs := make([]seg, count)
	for i := range segs {
		var s string
		s, rest = next(rest)
		if strings.ContainsAny(s, "{}") {
			name, ok := strings.CutPrefix(s, "{")
			name, ok2 := strings.CutSuffix(name, "}")
			if !ok || !ok2 || strings.ContainsAny(name, "{}") {
				return nil, errMixed
			}
			segs[i] = seg{param: true, name: name}
			continue
		}
		segs[i] = seg{key: canonical(s)}
	}
	return segs, nil
}

var errMixed = errors.New("segment mixes text and a parameter")
