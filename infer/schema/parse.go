package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/specgate/specgate/infer/format"
)

// FromSchema reads a schema back into a Shape with the default Options. A
// schema that Schema rendered reads back exactly: FromSchema(x).Schema(o)
// renders x again, for the o that rendered x.
//
// Any other schema (hand-written, say) is read as well as it can be. Where
// x-specgate counts are missing, each type counts one sample (a string enum
// one per value) and nullable one null; an object counts one more than its
// most frequent optional property, and its required properties are padded
// to its count, so that required reads back as written. Keywords a Shape
// does not hold (pattern, minimum, descriptions, unknown formats, enums of
// other types than string, ...) are ignored. It fails on what a Shape cannot
// represent: allOf, anyOf, not, a false schema, unresolved references,
// unknown types, a combinator inside a oneOf branch, non-string enum values
// of a string schema, and x-specgate values that are malformed or
// contradict the schema or each other.
func FromSchema(sc *openapi3.Schema) (*Shape, error) {
	return FromSchemaWithOptions(sc, Options{})
}

// FromSchemaWithOptions is FromSchema for a Shape that stores with o.
func FromSchemaWithOptions(sc *openapi3.Schema, o Options) (*Shape, error) {
	p := parser{o: o.withDefaults()}
	n, _, err := p.node(sc, 0, false, "#")
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	return &Shape{opt: p.o, root: n}, nil
}

type parser struct{ o Options }

// ext is a node's x-specgate extension.
type ext struct {
	samples, present, nulls          int64
	hasSamples, hasPresent, hasNulls bool
	values                           []string
	formats                          format.Set
}

// branch is one type of a node: a oneOf branch, or one of the node's types.
type branch struct {
	t       string
	sc      *openapi3.Schema
	x       ext
	count   int64 // its values, when counted
	counted bool
	at      string
}

// node reads the schema at depth. prop marks an object property. It returns
// whether the node's own count was given rather than derived.
func (p *parser) node(sc *openapi3.Schema, depth int, prop bool, at string) (*node, bool, error) {
	if sc == nil {
		return nil, false, fmt.Errorf("%s: no schema (an unresolved reference?)", at)
	}
	x, err := readExt(sc)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", at, err)
	}
	total, counted := x.samples, x.hasSamples
	if prop {
		total, counted = x.present, x.hasPresent
	}
	if depth > p.o.MaxDepth {
		return &node{any: true, samples: total}, counted, nil
	}
	if sc.Always != nil {
		if !*sc.Always {
			return nil, false, fmt.Errorf("%s: a false schema accepts no value", at)
		}
		return &node{}, false, nil
	}
	if len(sc.AllOf) > 0 || len(sc.AnyOf) > 0 || sc.Not != nil {
		return nil, false, fmt.Errorf("%s: allOf, anyOf and not cannot be represented", at)
	}
	nullable := sc.Nullable
	var brs []branch
	if len(sc.OneOf) > 0 {
		for i, ref := range sc.OneOf {
			bat := fmt.Sprintf("%s/oneOf/%d", at, i)
			if ref == nil || ref.Value == nil {
				return nil, false, fmt.Errorf("%s: no schema (an unresolved reference?)", bat)
			}
			b := ref.Value
			if len(b.OneOf) > 0 || len(b.AnyOf) > 0 || len(b.AllOf) > 0 || b.Not != nil {
				return nil, false, fmt.Errorf("%s: a combinator inside oneOf cannot be represented", bat)
			}
			bx, err := readExt(b)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", bat, err)
			}
			nullable = nullable || b.Nullable
			ts := typesOf(b, &nullable)
			if len(ts) == 0 && !b.Type.Includes(openapi3.TypeNull) {
				return nil, false, fmt.Errorf("%s: a oneOf branch without a type cannot be represented", bat)
			}
			for _, t := range ts {
				brs = append(brs, branch{t: t, sc: b, x: bx, count: bx.samples, counted: bx.hasSamples && len(ts) == 1, at: bat})
			}
		}
	} else {
		for _, t := range typesOf(sc, &nullable) {
			brs = append(brs, branch{t: t, sc: sc, x: x, at: at})
		}
		if len(brs) == 1 && counted {
			brs[0].count, brs[0].counted = total-x.nulls, true
		}
	}

	n := &node{}
	for _, b := range brs {
		bn, err := p.typed(b, depth)
		if err != nil {
			return nil, false, err
		}
		p.o.merge(n, bn, depth)
	}
	nulls := x.nulls
	if !x.hasNulls && nullable {
		nulls = 1
		if counted {
			nulls = total - n.samples
		}
	}
	switch {
	case nulls < 0:
		return nil, false, fmt.Errorf("%s: x-specgate counts fewer samples than values of its types", at)
	case nullable && nulls == 0:
		return nil, false, fmt.Errorf("%s: nullable, but x-specgate counts no nulls", at)
	}
	n.nulls = nulls
	n.samples += nulls
	if len(brs) == 0 && nulls == 0 && counted && total > 0 {
		n.any, n.samples = true, total
	}
	if counted && n.samples != total {
		return nil, false, fmt.Errorf("%s: x-specgate counts %d samples but %d values by type", at, total, n.samples)
	}
	return n, counted, nil
}

// typesOf lists the types of sc other than null, setting *nullable when null
// is one. A schema without a type that has properties is an object, one
// with items an array.
func typesOf(sc *openapi3.Schema, nullable *bool) []string {
	var ts []string
	for _, t := range sc.Type.Slice() {
		if t == openapi3.TypeNull {
			*nullable = true
		} else if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	if sc.Type.IsEmpty() {
		switch {
		case len(sc.Properties) > 0 || sc.AdditionalProperties.Schema != nil:
			ts = append(ts, openapi3.TypeObject)
		case sc.Items != nil:
			ts = append(ts, openapi3.TypeArray)
		}
	}
	return ts
}

// typed reads one type of a node into a node of its own.
func (p *parser) typed(b branch, depth int) (*node, error) {
	n := &node{}
	c := b.count
	if !b.counted {
		c = 1
	}
	switch b.t {
	case openapi3.TypeBoolean:
		n.bools = c
	case openapi3.TypeInteger:
		n.nums, n.num = c, numInt64
		if b.sc.Format == "int32" {
			n.num = numInt32
		}
	case openapi3.TypeNumber:
		n.nums, n.num = c, numNumber
	case openapi3.TypeString:
		st, err := p.str(b)
		if err != nil {
			return nil, err
		}
		if !b.counted {
			c = max(c, int64(len(st.vals)))
		}
		st.count = c
		n.str = st
	case openapi3.TypeObject:
		o, oc, err := p.object(b, depth)
		if err != nil {
			return nil, err
		}
		c = oc
		n.obj = o
	case openapi3.TypeArray:
		a := &arrState{count: c}
		if ref := b.sc.Items; ref != nil {
			if ref.Value == nil {
				return nil, fmt.Errorf("%s/items: no schema (an unresolved reference?)", b.at)
			}
			items, _, err := p.node(ref.Value, depth+1, false, b.at+"/items")
			if err != nil {
				return nil, err
			}
			a.items = items
		}
		n.arr = a
	default:
		return nil, fmt.Errorf("%s: unknown type %q", b.at, b.t)
	}
	if c <= 0 {
		return nil, fmt.Errorf("%s: x-specgate counts no values of type %s", b.at, b.t)
	}
	n.samples = c
	return n, nil
}

func (p *parser) str(b branch) (*strState, error) {
	st := &strState{named: format.Parse(b.sc.Format) | b.x.formats}
	vals := slices.Clone(b.x.values)
	for _, v := range b.sc.Enum {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: enum value %v of a string is not a string", b.at, v)
		}
		vals = append(vals, s)
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	ok := len(vals) > 0 && len(vals) <= p.o.EnumMax && st.named == 0
	for _, v := range vals {
		ok = ok && isCandidate(v)
	}
	if ok {
		st.vals = vals
	} else {
		st.dropped = true
	}
	return st, nil
}

// object reads an object type and returns it with its count.
func (p *parser) object(b branch, depth int) (*objState, int64, error) {
	sc := b.sc
	type kid struct {
		name    string
		n       *node
		counted bool
	}
	var kids []kid
	for _, name := range slices.Sorted(maps.Keys(sc.Properties)) {
		at := b.at + "/properties/" + pointerEscape(name)
		ref := sc.Properties[name]
		if ref == nil || ref.Value == nil {
			return nil, 0, fmt.Errorf("%s: no schema (an unresolved reference?)", at)
		}
		n, counted, err := p.node(ref.Value, depth+1, true, at)
		if err != nil {
			return nil, 0, err
		}
		kids = append(kids, kid{validUTF8(name), n, counted})
	}
	required := func(name string) bool { return slices.Contains(sc.Required, name) }
	c := b.count
	if !b.counted {
		c = 1
		for _, k := range kids {
			if required(k.name) {
				c = max(c, k.n.samples)
			} else {
				c = max(c, k.n.samples+1)
			}
		}
	}
	o := &objState{count: c}
	for _, k := range kids {
		if !k.counted && required(k.name) && k.n.samples < c {
			pad(k.n, c-k.n.samples)
		}
		if k.n.samples > c {
			return nil, 0, fmt.Errorf("%s: property %q counted in more objects than were seen", b.at, k.name)
		}
		if o.props == nil {
			o.props = make(map[string]*node, len(kids))
		}
		if o.props[k.name] != nil {
			return nil, 0, fmt.Errorf("%s: two property names read the same as valid UTF-8", b.at)
		}
		o.props[k.name] = k.n
	}
	if ref := sc.AdditionalProperties.Schema; ref != nil {
		if ref.Value == nil {
			return nil, 0, fmt.Errorf("%s/additionalProperties: no schema (an unresolved reference?)", b.at)
		}
		v, _, err := p.node(ref.Value, depth+1, false, b.at+"/additionalProperties")
		if err != nil {
			return nil, 0, err
		}
		// additionalProperties: {} allows anything and says nothing.
		if v.samples > 0 || v.any {
			p.o.toMap(o, depth)
			p.o.merge(o.value, v, depth+1)
		}
	}
	if !o.isMap {
		for name := range o.props {
			if format.IsID(name) {
				p.o.toMap(o, depth)
				break
			}
		}
	}
	if !o.isMap && len(o.props) > p.o.MapMinKeys {
		p.o.toMap(o, depth)
	}
	return o, c, nil
}

// pad adds delta samples to a node whose count was derived, so that a
// required property is present in every object: to its first type, and to
// the properties of an object that were present in every object.
func pad(n *node, delta int64) {
	n.samples += delta
	switch {
	case n.any:
	case n.hasArr():
		n.arr.count += delta
	case n.bools > 0:
		n.bools += delta
	case n.nums > 0:
		n.nums += delta
	case n.hasObj():
		o := n.obj
		old := o.count
		o.count += delta
		for _, c := range o.props {
			if c.samples == old {
				pad(c, delta)
			}
		}
	case n.hasStr():
		n.str.count += delta
	case n.nulls > 0:
		n.nulls += delta
	default:
		n.any = true
	}
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// readExt reads the x-specgate extension of sc, if any.
func readExt(sc *openapi3.Schema) (ext, error) {
	var x ext
	raw := sc.Extensions[Extension]
	if raw == nil {
		return x, nil
	}
	m, err := extMap(raw)
	if err != nil {
		return x, err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case keySamples:
			x.samples, err = count(v)
			x.hasSamples = true
		case keyPresent:
			x.present, err = count(v)
			x.hasPresent = true
		case keyNulls:
			x.nulls, err = count(v)
			x.hasNulls = true
		case keyValues:
			x.values, err = strs(v)
		case keyFormats:
			var names []string
			names, err = strs(v)
			for _, name := range names {
				f := format.Parse(name)
				if f == 0 && err == nil {
					err = fmt.Errorf("unknown format %q", name)
				}
				x.formats |= f
			}
		}
		if err != nil {
			return x, fmt.Errorf("%s %s: %w", Extension, k, err)
		}
	}
	return x, nil
}

func extMap(raw any) (map[string]any, error) {
	switch m := raw.(type) {
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("%s has a key that is not a string", Extension)
			}
			out[ks] = v
		}
		return out, nil
	case json.RawMessage:
		return decodeExt(m)
	case []byte:
		return decodeExt(m)
	}
	return nil, fmt.Errorf("%s is a %T, not an object", Extension, raw)
}

func decodeExt(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", Extension, err)
	}
	return m, nil
}

var errCount = errors.New("not a count (a whole number from 0)")

// count reads a count as JSON, YAML or Go code may have written it.
func count(v any) (int64, error) {
	var n int64
	switch c := v.(type) {
	case int:
		n = int64(c)
	case int8:
		n = int64(c)
	case int16:
		n = int64(c)
	case int32:
		n = int64(c)
	case int64:
		n = c
	case uint:
		if uint64(c) > math.MaxInt64 {
			return 0, errCount
		}
		n = int64(c)
	case uint8:
		n = int64(c)
	case uint16:
		n = int64(c)
	case uint32:
		n = int64(c)
	case uint64:
		if c > math.MaxInt64 {
			return 0, errCount
		}
		n = int64(c)
	case float32:
		return count(float64(c))
	case float64:
		if c != math.Trunc(c) || c < 0 || c >= math.MaxInt64 {
			return 0, errCount
		}
		n = int64(c)
	case json.Number:
		i, err := c.Int64()
		if err != nil {
			return 0, errCount
		}
		n = i
	default:
		return 0, errCount
	}
	if n < 0 {
		return 0, errCount
	}
	return n, nil
}

func strs(v any) ([]string, error) {
	switch l := v.(type) {
	case []string:
		return l, nil
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %T, not a list of strings", v)
}
