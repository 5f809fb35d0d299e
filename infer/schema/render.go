package schema

import (
	"math/bits"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/specgate/specgate/infer/format"
)

// The keys of the x-specgate extension.
const (
	keySamples = "samples"
	keyPresent = "present"
	keyNulls   = "nulls"
	keyValues  = "values"
	keyFormats = "formats"
)

// Schema renders s as an OpenAPI 3.0 schema with x-specgate counts. o
// decides enums (EnumMax, EnumMinSamples) and how deep the schema goes
// (MaxDepth); MapMinKeys only matters when observing.
func (s *Shape) Schema(o Options) *openapi3.Schema {
	r := renderer{o: o.withDefaults()}
	return r.node(s.root, 0, -1)
}

type renderer struct {
	o      Options
	secret bool // inside a property Options.Secrets calls secret
}

// typ is a group of JSON types that renders as one schema type.
type typ uint8

// The types in the order oneOf lists them.
const (
	typArray typ = iota
	typBoolean
	typNumber // integer or number
	typObject
	typString
	typCount
)

// types returns the types n holds and the values of each.
func (n *node) types() (ts [typCount]int64, k int) {
	if n.hasArr() {
		ts[typArray] = n.arr.count
	}
	ts[typBoolean] = n.bools
	ts[typNumber] = n.nums
	if n.hasObj() {
		ts[typObject] = n.obj.count
	}
	if n.hasStr() {
		ts[typString] = n.str.count
	}
	for _, c := range ts {
		if c > 0 {
			k++
		}
	}
	return ts, k
}

// node renders n at depth. parent >= 0 marks an object property and is the
// number of objects observed at its parent.
func (r *renderer) node(n *node, depth int, parent int64) *openapi3.Schema {
	if n == nil {
		n = &node{}
	}
	ext := map[string]any{keySamples: n.samples}
	if parent >= 0 {
		ext[keySamples], ext[keyPresent] = parent, n.samples
	}
	ts, k := n.types()
	if n.any || depth > r.o.MaxDepth {
		return withExt(&openapi3.Schema{}, ext)
	}
	if n.nulls > 0 {
		ext[keyNulls] = n.nulls
	}
	switch k {
	case 0:
		if n.samples == 0 && parent < 0 {
			return &openapi3.Schema{}
		}
		return withExt(&openapi3.Schema{Nullable: n.nulls > 0}, ext)
	case 1:
		for t, c := range ts {
			if c > 0 {
				sc := r.typed(n, typ(t), depth, ext)
				sc.Nullable = n.nulls > 0
				return withExt(sc, ext)
			}
		}
	}
	sc := &openapi3.Schema{Nullable: n.nulls > 0}
	for t, c := range ts {
		if c > 0 {
			bext := map[string]any{keySamples: c}
			sc.OneOf = append(sc.OneOf, &openapi3.SchemaRef{Value: withExt(r.typed(n, typ(t), depth, bext), bext)})
		}
	}
	return withExt(sc, ext)
}

func withExt(sc *openapi3.Schema, ext map[string]any) *openapi3.Schema {
	sc.Extensions = map[string]any{Extension: ext}
	return sc
}

// typed renders the part of n of type t, adding what it needs to ext.
func (r *renderer) typed(n *node, t typ, depth int, ext map[string]any) *openapi3.Schema {
	switch t {
	case typArray:
		sc := openapi3.NewArraySchema()
		if n.arr.items == nil {
			sc.Items = &openapi3.SchemaRef{Value: &openapi3.Schema{}}
		} else {
			sc.Items = &openapi3.SchemaRef{Value: r.node(n.arr.items, depth+1, -1)}
		}
		return sc
	case typBoolean:
		return openapi3.NewBoolSchema()
	case typNumber:
		switch n.num {
		case numInt32:
			return openapi3.NewInt32Schema()
		case numNumber:
			return openapi3.NewFloat64Schema()
		}
		return openapi3.NewInt64Schema()
	case typObject:
		return r.object(n.obj, depth)
	}
	return r.str(n.str, ext)
}

func (r *renderer) object(o *objState, depth int) *openapi3.Schema {
	sc := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}}
	if o.isMap {
		sc.AdditionalProperties.Schema = &openapi3.SchemaRef{Value: r.node(o.value, depth+1, -1)}
		return sc
	}
	if len(o.props) == 0 {
		return sc
	}
	sc.Properties = make(openapi3.Schemas, len(o.props))
	for _, k := range sortedKeys(o.props) {
		c := o.props[k]
		outer := r.secret
		if !r.secret && r.o.Secrets != nil && r.o.Secrets.SecretKey(k) {
			r.secret = true
		}
		sc.Properties[k] = &openapi3.SchemaRef{Value: r.node(c, depth+1, o.count)}
		r.secret = outer
		if c.samples == o.count {
			sc.Required = append(sc.Required, k)
		}
	}
	return sc
}

func (r *renderer) str(st *strState, ext map[string]any) *openapi3.Schema {
	sc := openapi3.NewStringSchema()
	if st.named != 0 {
		sc.Format = st.named.Name()
		if bits.OnesCount32(uint32(st.named)) > 1 {
			ext[keyFormats] = formatNames(st.named)
		}
	}
	if st.dropped || len(st.vals) == 0 || r.secret {
		return sc
	}
	if r.o.Secrets != nil {
		for _, v := range st.vals {
			if r.o.Secrets.SecretValue(v) {
				return sc
			}
		}
	}
	vals := slices.Clone(st.vals)
	slices.Sort(vals)
	distinct := int64(len(vals))
	if len(vals) <= r.o.EnumMax && st.count >= max(int64(r.o.EnumMinSamples), 5*distinct) {
		sc.Enum = make([]any, len(vals))
		for i, v := range vals {
			sc.Enum[i] = v
		}
		return sc
	}
	ext[keyValues] = vals
	return sc
}

// formatNames lists the name of every named format in f.
func formatNames(f format.Set) []string {
	var names []string
	for f != 0 {
		b := f & -f
		f &^= b
		if name := b.Name(); name != "" {
			names = append(names, name)
		}
	}
	return names
}
