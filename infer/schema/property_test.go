package schema_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/specgate/specgate/infer/schema"
	"go.yaml.in/yaml/v3"
)

// gen writes random JSON documents whose shapes mostly agree from one
// document to the next, the way an API's bodies do: each property name
// usually holds the same kind of value, sometimes another.
type gen struct {
	r        *rand.Rand
	maxDepth int
	keys     []string
	words    []string
}

type kind int

const (
	kObject kind = iota
	kMap
	kArray
	kString
	kInt
	kFloat
	kBool
	kNull
	kinds
)

func newGen(seed uint64, maxDepth int) *gen {
	return &gen{
		r:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		maxDepth: maxDepth,
		keys: []string{"id", "name", "status", "tags", "items", "price", "count", "created", "owner",
			"meta", "email", "note", "flags", "data", "kind", "ratio", "parent", "url", "k\"q", "ключ"},
		words: []string{"red", "green", "blue", "amber", "cyan", "pink", "gray", "teal", "navy", "lime"},
	}
}

// kindFor returns the kind a name usually holds at a depth.
func (g *gen) kindFor(name string, depth int) kind {
	if g.r.IntN(8) == 0 {
		return kind(g.r.IntN(int(kinds)))
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", name, depth)
	return kind(h.Sum32() % uint32(kinds))
}

func (g *gen) doc() string {
	var b strings.Builder
	g.value(&b, g.kindFor("", 0), "", 0)
	return b.String()
}

func (g *gen) value(b *strings.Builder, k kind, name string, depth int) {
	if depth >= g.maxDepth && k <= kArray {
		k = kString + kind(g.r.IntN(int(kinds-kString)))
	}
	switch k {
	case kObject:
		b.WriteByte('{')
		n := g.r.IntN(6)
		if g.r.IntN(30) == 0 {
			n = len(g.keys) // more names than a small MapMinKeys
		}
		for i, idx := range g.r.Perm(len(g.keys))[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			key := g.keys[idx]
			g.str(b, key)
			b.WriteByte(':')
			g.value(b, g.kindFor(key, depth+1), key, depth+1)
		}
		if g.r.IntN(40) == 0 { // an identifier as a name turns the object into a map
			if n > 0 {
				b.WriteByte(',')
			}
			g.str(b, fmt.Sprintf("user_%04d", g.r.IntN(10000)))
			b.WriteString(":1")
		}
		b.WriteByte('}')
	case kMap:
		b.WriteByte('{')
		for i := range g.r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, `"%08x-%04x-4%03x-a%03x-%012x":`, g.r.Uint32(), g.r.IntN(1<<16), i, g.r.IntN(1<<12), g.r.Int64N(1<<48))
			g.value(b, g.kindFor("map:"+name, depth+1), "map:"+name, depth+1)
		}
		b.WriteByte('}')
	case kArray:
		b.WriteByte('[')
		ek := g.kindFor("[]"+name, depth+1)
		for i := range g.r.IntN(4) {
			if i > 0 {
				b.WriteString(", ")
			}
			g.value(b, ek, "[]"+name, depth+1)
		}
		b.WriteByte(']')
	case kString:
		g.stringValue(b)
	case kInt:
		switch g.r.IntN(5) {
		case 0:
			b.WriteString(strconv.FormatInt(g.r.Int64()-g.r.Int64(), 10))
		case 1:
			b.WriteString(strconv.FormatInt(int64(g.r.Int32())*int64(1-2*g.r.IntN(2)), 10))
		case 2:
			b.WriteString([]string{"2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808", "0", "-0"}[g.r.IntN(6)])
		default:
			b.WriteString(strconv.Itoa(g.r.IntN(100)))
		}
	case kFloat:
		switch g.r.IntN(3) {
		case 0:
			b.WriteString([]string{"1e3", "-0.5", "2.5E-3", "18446744073709551616", "1.0"}[g.r.IntN(5)])
		default:
			b.WriteString(strconv.FormatFloat(g.r.NormFloat64()*1000, 'g', -1, 64))
		}
	case kBool:
		b.WriteString([]string{"true", "false"}[g.r.IntN(2)])
	case kNull:
		b.WriteString("null")
	}
}

func (g *gen) stringValue(b *strings.Builder) {
	switch g.r.IntN(14) {
	case 0, 1, 2, 3:
		n := 3
		if g.r.IntN(10) == 0 {
			n = len(g.words)
		}
		g.str(b, g.words[g.r.IntN(n)])
	case 4:
		fmt.Fprintf(b, `"%08x-%04x-4%03x-8%03x-%012x"`, g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Int64N(1<<48))
	case 5:
		fmt.Fprintf(b, `"2024-%02d-%02d"`, 1+g.r.IntN(12), 1+g.r.IntN(28))
	case 6:
		fmt.Fprintf(b, `"2024-%02d-%02dT%02d:%02d:00Z"`, 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60))
	case 7:
		g.str(b, fmt.Sprintf("%s@example.com", g.words[g.r.IntN(len(g.words))]))
	case 8:
		g.str(b, []string{"REDACTED", "Bearer REDACTED", "REDACTED@example.com"}[g.r.IntN(3)])
	case 9:
		g.str(b, strings.Repeat("long text ", 7))
	case 10:
		g.str(b, []string{"café", "line\nbreak", `say "hi"`, "", "tab\there", "<b>&amp;</b>"}[g.r.IntN(6)])
	case 11:
		b.WriteString([]string{`"caf\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, "\"bad\xffbyte\"", `"\/slash"`}[g.r.IntN(5)])
	case 12:
		g.str(b, strconv.Itoa(g.r.IntN(1000)))
	default:
		g.str(b, fmt.Sprintf("%s %s", g.words[g.r.IntN(len(g.words))], g.words[g.r.IntN(len(g.words))]))
	}
}

func (g *gen) str(b *strings.Builder, s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

// optionSets are the Options the properties are checked with: the defaults,
// and small limits that random documents cross often.
var optionSets = []schema.Options{
	{},
	{EnumMax: 3, EnumMinSamples: 4, MapMinKeys: 5, MaxDepth: 3},
}

// TestProperties checks, on random documents: observation order does not
// change the output; shards rendered, read back and merged in any order
// equal observing everything together; render∘read∘render = render (also
// through a YAML document); every schema validates; every document
// observed satisfies the schema.
func TestProperties(t *testing.T) {
	trials := 150
	if testing.Short() {
		trials = 30
	}
	for oi, o := range optionSets {
		for trial := range trials {
			seed := uint64(oi*100000 + trial)
			t.Run(fmt.Sprintf("opt%d/seed%d", oi, seed), func(t *testing.T) {
				checkProperties(t, o, seed)
			})
		}
	}
}

func checkProperties(t *testing.T, o schema.Options, seed uint64) {
	g := newGen(seed, 2+int(seed%6))
	r := rand.New(rand.NewPCG(seed, 1))
	docs := make([]string, 1+r.IntN(40))
	for i := range docs {
		docs[i] = g.doc()
	}
	together := observe(t, o, docs...)
	want := render(t, together, o)
	if got := together.Samples(); got != int64(len(docs)) {
		t.Errorf("Samples() = %d, want %d", got, len(docs))
	}

	// Order does not matter.
	shuffled := append([]string(nil), docs...)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := render(t, observe(t, o, shuffled...), o); string(got) != string(want) {
		t.Fatalf("order changed the schema\n got: %s\nwant: %s", got, want)
	}

	// Shards, rendered and read back, merge to the same schema; so do the
	// shards themselves.
	n := 2 + r.IntN(3)
	shardDocs := make([][]string, n)
	for _, d := range docs {
		i := r.IntN(n)
		shardDocs[i] = append(shardDocs[i], d)
	}
	var read, live []*schema.Shape
	for _, sd := range shardDocs {
		sh := observe(t, o, sd...)
		live = append(live, sh)
		back, err := schema.FromSchemaWithOptions(reread(t, render(t, sh, o)), o)
		if err != nil {
			t.Fatalf("FromSchema of a shard: %v", err)
		}
		read = append(read, back)
	}
	for name, shapes := range map[string][]*schema.Shape{"read back": read, "live": live} {
		got := render(t, mergeRandomly(r, shapes), o)
		if string(got) != string(want) {
			t.Fatalf("%s shards merged differ from observing together\n got: %s\nwant: %s", name, got, want)
		}
	}

	// Reading a schema back renders it again.
	sc := together.Schema(o)
	back, err := schema.FromSchemaWithOptions(sc, o)
	if err != nil {
		t.Fatalf("FromSchema: %v", err)
	}
	if got := render(t, back, o); string(got) != string(want) {
		t.Fatalf("FromSchema(Schema()) renders differently\n got: %s\nwant: %s", got, want)
	}
	if seed%10 == 0 {
		checkYAML(t, sc, o, want)
	}

	validate(t, sc)
	// Every observed document satisfies the schema. kin-openapi refuses
	// null where a schema has no type, which OpenAPI 3.0.3 allows ({} is
	// any value, nullable only qualifies a type): say so explicitly.
	sound := together.Schema(o)
	typelessAcceptNull(sound)
	for _, d := range docs {
		var v any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			t.Fatalf("test document %s: %v", d, err)
		}
		if err := sound.VisitJSON(v); err != nil {
			t.Fatalf("observed document does not satisfy the schema: %v\ndocument: %s\nschema: %s", err, d, want)
		}
	}
}

// mergeRandomly merges shapes pairwise, picking pairs at random, so that
// both the order and the grouping vary.
func mergeRandomly(r *rand.Rand, shapes []*schema.Shape) *schema.Shape {
	shapes = append([]*schema.Shape(nil), shapes...)
	for len(shapes) > 1 {
		i, j := r.IntN(len(shapes)), r.IntN(len(shapes)-1)
		if j >= i {
			j++
		}
		shapes[i].Merge(shapes[j])
		shapes = append(shapes[:j], shapes[j+1:]...)
	}
	return shapes[0]
}

// checkYAML writes sc in a YAML document, loads it as kin-openapi loads a
// document, and reads the schema back.
func checkYAML(t *testing.T, sc *openapi3.Schema, o schema.Options, want []byte) {
	t.Helper()
	y, err := yaml.Marshal(document(sc))
	if err != nil {
		t.Fatalf("marshal YAML: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(y)
	if err != nil {
		t.Fatalf("load YAML: %v\n%s", err, y)
	}
	loaded := doc.Paths.Value("/things").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	back, err := schema.FromSchemaWithOptions(loaded, o)
	if err != nil {
		t.Fatalf("FromSchema of the YAML document: %v", err)
	}
	if got := render(t, back, o); string(got) != string(want) {
		t.Fatalf("YAML round trip differs\n got: %s\nwant: %s", got, want)
	}
}

// typelessAcceptNull marks every schema without a type or oneOf nullable.
func typelessAcceptNull(sc *openapi3.Schema) {
	if sc.Type.IsEmpty() && len(sc.OneOf) == 0 {
		sc.Nullable = true
	}
	for _, ref := range sc.OneOf {
		typelessAcceptNull(ref.Value)
	}
	for _, ref := range sc.Properties {
		typelessAcceptNull(ref.Value)
	}
	if sc.Items != nil {
		typelessAcceptNull(sc.Items.Value)
	}
	if ap := sc.AdditionalProperties.Schema; ap != nil {
		typelessAcceptNull(ap.Value)
	}
}
