// Package schema observes values — JSON bodies, and scalars that arrive as text
// — into mergeable Shapes, and renders a Shape as an OpenAPI 3.0 schema.
//
// A Shape is the complete state of what was seen at one place (a body, a
// parameter): the types each value had, string formats, object properties
// and how often each was present, array items, and enum candidates. Shapes
// merge exactly and in any order, and the rendered schema carries every count
// that a later merge needs, in the x-specgate extension of each schema node,
// so that FromSchema(sh.Schema(o)) renders the same bytes again and parsed
// documents from several runs merge as if their traffic had been observed
// together.
//
// # Rendering
//
// Types are boolean, integer (format int32 when every value fits, else
// int64), number (integers and numbers together widen to number), string,
// object and array. A place that held two or more of {boolean, number,
// string, object, array} renders as oneOf with one branch per type, in the
// order array, boolean, integer/number, object, string. A place that held
// null is nullable; a place that only ever held null renders as
// {nullable: true}.
//
// Strings get the format that every value shared (format.Classify); a string
// containing "REDACTED" has none. Objects list their properties, and
// required names those present in every object seen there. An object with a
// key that format.IsID recognises, or with more distinct keys than
// Options.MapMinKeys, becomes a map: additionalProperties describes every
// value, and it stays a map for good. Array items describe every element of
// every array seen there; an array never seen with elements has items {}.
// Values nested deeper than Options.MaxDepth are counted but not described:
// they render as {} with their counts.
//
// A string place keeps up to Options.EnumMax distinct candidate values:
// code-like words (letters, digits, '-', '_', '.', ':', '/', '+'; no
// spaces) of at most 32 bytes with no format, that are not identifiers and
// do not contain "REDACTED". One string that is not a candidate, or one
// distinct value too many, drops the candidates for good. The candidates
// render as enum once the place has seen at least
// max(Options.EnumMinSamples, 5 × distinct values) strings.
//
// # The x-specgate extension
//
// Every node carries an object under the key "x-specgate" with these keys:
//
//	samples  values observed at this node, nulls included; on an object
//	         property, the number of objects observed at its parent
//	present  on an object property only: how many of those objects had it
//	         (its values, nulls included)
//	nulls    how many of the values were null (absent when none)
//	values   the sorted enum candidates of a string node that are not (yet)
//	         rendered as enum, so that later samples can still decide
//	formats  the names of every format all strings shared, when there are
//	         more than the one that format names (practically never)
//
// A oneOf branch carries samples (the values of its type) and values or
// formats; the oneOf node itself carries samples and nulls. An items schema
// that never saw an element is {} with no extension.
//
// Options that decide what is stored (MaxDepth, MapMinKeys, EnumMax) are
// those a Shape was made with (NewWithOptions, FromSchemaWithOptions); a
// Merge applies the receiver's. Exactness holds when every Shape and every
// Schema call uses the same Options.
package schema

import (
	"maps"
	"slices"
	"strings"

	"github.com/specgate/specgate/infer/format"
)

// Extension is the name of the schema extension that carries the counts.
const Extension = "x-specgate"

// Options tune inference. Zero or negative fields mean the defaults.
type Options struct {
	// EnumMax is the most distinct values an enum may have, and the most
	// candidate values a string place keeps (default 8).
	EnumMax int
	// EnumMinSamples is the fewest strings a place must have seen before
	// its candidates render as an enum (default 20).
	EnumMinSamples int
	// MapMinKeys: an object place with more distinct keys than this becomes
	// a map (default 64).
	MapMinKeys int
	// MaxDepth is the deepest nesting described; deeper values are only
	// counted (default 32; the root is depth 0).
	MaxDepth int
	// Secrets, when set, keeps credentials out of what Schema writes: no
	// enum and no candidate values under a property whose name it calls
	// secret (or anywhere inside one), nor for a place whose candidates
	// include a value it calls secret. It only changes rendering, so a
	// consumer can skip redacting bodies and still never write a secret.
	Secrets Secrets
}

// Secrets tells credentials from other names and values; capture/redact's
// Redactor is one.
type Secrets interface {
	SecretKey(name string) bool
	SecretValue(v string) bool
}

// The defaults of Options.
const (
	DefaultEnumMax        = 8
	DefaultEnumMinSamples = 20
	DefaultMapMinKeys     = 64
	DefaultMaxDepth       = 32
)

// enumMaxLen is the longest string, in bytes, that may be an enum value.
const enumMaxLen = 32

// redacted is the marker the capture's redactor leaves in place of a secret.
const redacted = "REDACTED"

// namedFormats holds the formats that have an OpenAPI name (format.Set.Name).
const namedFormats = format.UUID | format.DateTime | format.Date | format.Time | format.Email |
	format.IPv4 | format.IPv6 | format.URI | format.Hostname | format.ULID | format.Byte

func (o Options) withDefaults() Options {
	if o.EnumMax <= 0 {
		o.EnumMax = DefaultEnumMax
	}
	if o.EnumMinSamples <= 0 {
		o.EnumMinSamples = DefaultEnumMinSamples
	}
	if o.MapMinKeys <= 0 {
		o.MapMinKeys = DefaultMapMinKeys
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Shape is what was observed at one place. Its zero value is not usable;
// make one with New, NewWithOptions or FromSchema. A Shape is not safe for
// concurrent use.
type Shape struct {
	opt  Options
	root *node

	// Scratch space reused across ObserveJSON calls.
	buf  []byte   // unescaped strings
	keys []keyRef // property names of the objects being validated
}

// New returns an empty Shape with the default Options.
func New() *Shape { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty Shape that stores what it observes within
// the limits of o (MaxDepth, MapMinKeys, EnumMax).
func NewWithOptions(o Options) *Shape {
	return &Shape{opt: o.withDefaults(), root: &node{}}
}

// Options returns the Options the Shape stores with, defaults filled in.
func (s *Shape) Options() Options { return s.opt }

// Samples returns the number of values observed, nulls included.
func (s *Shape) Samples() int64 { return s.root.samples }

// Clone returns a deep copy of s.
func (s *Shape) Clone() *Shape {
	c := &Shape{opt: s.opt, root: &node{}}
	c.opt.merge(c.root, s.root, 0)
	return c
}

// Merge adds everything o observed to s, as if s had observed it too. o is
// neither modified nor shared with s afterwards. The limits of s apply.
func (s *Shape) Merge(o *Shape) {
	if o == nil {
		return
	}
	src := o.root
	if o == s {
		src = s.Clone().root
	}
	s.opt.merge(s.root, src, 0)
}

// numKind is the widest kind of number seen; kinds only ever widen.
type numKind uint8

const (
	numNone numKind = iota
	numInt32
	numInt64
	numNumber
)

// node is the state of one place. Its samples are the values observed there,
// nulls included; the type counts and nulls add up to samples, except in an
// any node (one nested deeper than MaxDepth), which only counts samples.
type node struct {
	samples int64
	nulls   int64
	any     bool

	bools int64
	nums  int64
	num   numKind
	str   *strState
	obj   *objState
	arr   *arrState
}

type strState struct {
	count   int64
	named   format.Set // named formats every string shared
	vals    []string   // enum candidates, unsorted, while not dropped
	dropped bool       // a non-candidate or one value too many was seen
}

type objState struct {
	count int64
	isMap bool
	props map[string]*node // a property's samples are the objects that had it
	value *node            // a map's values
}

type arrState struct {
	count int64
	items *node // nil until an element is seen
}

// newNode returns an empty node for depth, an any node beyond MaxDepth.
func (o *Options) newNode(depth int) *node {
	return &node{any: depth > o.MaxDepth}
}

func (n *node) hasStr() bool { return n.str != nil && n.str.count > 0 }
func (n *node) hasObj() bool { return n.obj != nil && n.obj.count > 0 }
func (n *node) hasArr() bool { return n.arr != nil && n.arr.count > 0 }

// makeAny turns n into an any node, keeping its samples.
func (n *node) makeAny() {
	*n = node{samples: n.samples, any: true}
}

// merge adds src (unchanged, not shared afterwards) into dst, both at depth.
func (o *Options) merge(dst, src *node, depth int) {
	if src == nil {
		return
	}
	dst.samples += src.samples
	if dst.any || src.any || depth > o.MaxDepth {
		dst.makeAny()
		return
	}
	dst.nulls += src.nulls
	dst.bools += src.bools
	dst.nums += src.nums
	dst.num = max(dst.num, src.num)
	if src.hasStr() {
		o.mergeStr(dst, src.str)
	}
	if src.hasObj() {
		o.mergeObj(dst, src.obj, depth)
	}
	if src.hasArr() {
		if dst.arr == nil {
			dst.arr = &arrState{}
		}
		dst.arr.count += src.arr.count
		if src.arr.items != nil {
			if dst.arr.items == nil {
				dst.arr.items = o.newNode(depth + 1)
			}
			o.merge(dst.arr.items, src.arr.items, depth+1)
		}
	}
}

func (o *Options) mergeStr(dst *node, src *strState) {
	if !dst.hasStr() {
		dst.str = &strState{named: src.named, vals: slices.Clone(src.vals), dropped: src.dropped}
		if len(dst.str.vals) > o.EnumMax {
			dst.str.vals, dst.str.dropped = nil, true
		}
		dst.str.count = src.count
		return
	}
	d := dst.str
	d.count += src.count
	d.named &= src.named
	if d.dropped {
		return
	}
	if src.dropped {
		d.vals, d.dropped = nil, true
		return
	}
	for _, v := range src.vals {
		if !slices.Contains(d.vals, v) {
			d.vals = append(d.vals, v)
		}
	}
	if len(d.vals) > o.EnumMax {
		d.vals, d.dropped = nil, true
	}
}

func (o *Options) mergeObj(dst *node, src *objState, depth int) {
	if dst.obj == nil {
		dst.obj = &objState{}
	}
	d := dst.obj
	d.count += src.count
	if src.isMap && !d.isMap {
		o.toMap(d, depth)
	}
	if d.isMap {
		// Every value of src, property or map value, is a value of the map.
		if src.isMap {
			o.merge(d.value, src.value, depth+1)
		}
		for _, k := range sortedKeys(src.props) {
			o.merge(d.value, src.props[k], depth+1)
		}
		return
	}
	// Neither side holds a name that format.IsID recognises (that would
	// have made it a map), so only the number of names can make one.
	for _, k := range sortedKeys(src.props) {
		c := d.props[k]
		if c == nil {
			c = o.newNode(depth + 1)
			if d.props == nil {
				d.props = make(map[string]*node)
			}
			d.props[k] = c
		}
		o.merge(c, src.props[k], depth+1)
	}
	if len(d.props) > o.MapMinKeys {
		o.toMap(d, depth)
	}
}

// toMap turns an object state at depth into a map whose values are every
// property's values.
func (o *Options) toMap(d *objState, depth int) {
	v := o.newNode(depth + 1)
	for _, k := range sortedKeys(d.props) {
		o.merge(v, d.props[k], depth+1)
	}
	d.isMap, d.props, d.value = true, nil, v
}

func sortedKeys(m map[string]*node) []string {
	return slices.Sorted(maps.Keys(m))
}

// child returns the node for property key of the object state d at depth
// (the child's depth is depth+1), creating it or turning d into a map as
// needed. key may point into scratch memory: it is copied when kept.
func (o *Options) child(d *objState, key string, depth int) *node {
	if d.isMap {
		return d.value
	}
	if c := d.props[key]; c != nil {
		return c
	}
	if len(d.props) >= o.MapMinKeys || format.IsID(key) {
		o.toMap(d, depth)
		return d.value
	}
	if d.props == nil {
		d.props = make(map[string]*node)
	}
	c := o.newNode(depth + 1)
	d.props[strings.Clone(key)] = c
	return c
}
