package schema_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/specgate/specgate/infer/schema"
)

const (
	uuid1 = `"550e8400-e29b-41d4-a716-446655440000"`
	uuid2 = `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`
)

// repeat returns n documents cycling through docs.
func repeat(n int, docs ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = docs[i%len(docs)]
	}
	return out
}

func TestObserveJSON(t *testing.T) {
	small := schema.Options{MapMinKeys: 3}
	shallow := schema.Options{MaxDepth: 2}
	tests := []struct {
		name string
		opt  schema.Options
		docs []string
		want string
	}{
		// Types and number formats.
		{"int32", schema.Options{}, []string{`1`, `-7`, `0`},
			`{"type":"integer","format":"int32","x-specgate":{"samples":3}}`},
		{"int32 bounds", schema.Options{}, []string{`2147483647`, `-2147483648`},
			`{"type":"integer","format":"int32","x-specgate":{"samples":2}}`},
		{"int64 past int32", schema.Options{}, []string{`1`, `2147483648`},
			`{"type":"integer","format":"int64","x-specgate":{"samples":2}}`},
		{"int64 bounds", schema.Options{}, []string{`9223372036854775807`, `-9223372036854775808`},
			`{"type":"integer","format":"int64","x-specgate":{"samples":2}}`},
		{"past int64 is a number", schema.Options{}, []string{`9223372036854775808`},
			`{"type":"number","x-specgate":{"samples":1}}`},
		{"integer and number widen to number", schema.Options{}, []string{`1`, `2.5`, `1e3`, `3000000000`},
			`{"type":"number","x-specgate":{"samples":4}}`},
		{"boolean", schema.Options{}, []string{`true`, `false`},
			`{"type":"boolean","x-specgate":{"samples":2}}`},
		{"whitespace around", schema.Options{}, []string{" \t\r\n true \n"},
			`{"type":"boolean","x-specgate":{"samples":1}}`},

		// String formats.
		{"shared format", schema.Options{}, []string{uuid1, uuid2},
			`{"type":"string","format":"uuid","x-specgate":{"samples":2}}`},
		{"no shared format", schema.Options{}, []string{uuid1, `"hello world"`},
			`{"type":"string","x-specgate":{"samples":2}}`},
		{"date-time", schema.Options{}, []string{`"2024-01-31T10:00:00Z"`, `"2024-02-01T00:00:00.5+02:00"`},
			`{"type":"string","format":"date-time","x-specgate":{"samples":2}}`},
		{"a redacted e-mail address has no format", schema.Options{}, []string{`"REDACTED@example.com"`, `"REDACTED@example.org"`},
			`{"type":"string","x-specgate":{"samples":2}}`},
		{"one redacted value removes the format", schema.Options{}, []string{`"a@example.com"`, `"REDACTED"`},
			`{"type":"string","x-specgate":{"samples":2}}`},

		// Null.
		{"only null", schema.Options{}, []string{`null`, `null`},
			`{"nullable":true,"x-specgate":{"samples":2,"nulls":2}}`},
		{"nullable string", schema.Options{}, []string{`"a"`, `null`},
			`{"type":"string","nullable":true,"x-specgate":{"samples":2,"nulls":1,"values":["a"]}}`},

		// Conflicts.
		{"conflict is oneOf", schema.Options{}, []string{`1`, `"a"`, `true`, `null`, `{}`, `[]`, `2.5`},
			`{"nullable":true,"x-specgate":{"samples":7,"nulls":1},"oneOf":[
				{"type":"array","items":{},"x-specgate":{"samples":1}},
				{"type":"boolean","x-specgate":{"samples":1}},
				{"type":"number","x-specgate":{"samples":2}},
				{"type":"object","x-specgate":{"samples":1}},
				{"type":"string","x-specgate":{"samples":1,"values":["a"]}}]}`},
		{"conflict inside a property", schema.Options{}, []string{`{"v":1}`, `{"v":"x"}`, `{}`},
			`{"type":"object","x-specgate":{"samples":3},"properties":{
				"v":{"x-specgate":{"samples":3,"present":2},"oneOf":[
					{"type":"integer","format":"int32","x-specgate":{"samples":1}},
					{"type":"string","x-specgate":{"samples":1,"values":["x"]}}]}}}`},

		// Objects.
		{"empty object", schema.Options{}, []string{`{}`},
			`{"type":"object","x-specgate":{"samples":1}}`},
		{"required and present", schema.Options{}, []string{`{"a":1,"b":"x"}`, `{"b":null,"a":2}`, `{"a":3}`},
			`{"type":"object","required":["a"],"x-specgate":{"samples":3},"properties":{
				"a":{"type":"integer","format":"int32","x-specgate":{"samples":3,"present":3}},
				"b":{"type":"string","nullable":true,"x-specgate":{"samples":3,"present":2,"nulls":1,"values":["x"]}}}}`},
		{"nested objects", schema.Options{}, []string{`{"u":{"id":` + uuid1 + `}}`, `{"u":{"id":` + uuid2 + `,"n":true}}`},
			`{"type":"object","required":["u"],"x-specgate":{"samples":2},"properties":{
				"u":{"type":"object","required":["id"],"x-specgate":{"samples":2,"present":2},"properties":{
					"id":{"type":"string","format":"uuid","x-specgate":{"samples":2,"present":2}},
					"n":{"type":"boolean","x-specgate":{"samples":2,"present":1}}}}}}`},

		// Arrays.
		{"items of every array", schema.Options{}, []string{`[1,2]`, `[]`, `[3]`},
			`{"type":"array","items":{"type":"integer","format":"int32","x-specgate":{"samples":3}},"x-specgate":{"samples":3}}`},
		{"array never with elements", schema.Options{}, []string{`[]`, `[ ]`},
			`{"type":"array","items":{},"x-specgate":{"samples":2}}`},
		{"array of objects", schema.Options{}, []string{`[{"a":1},{"a":2,"b":false}]`},
			`{"type":"array","x-specgate":{"samples":1},"items":{"type":"object","required":["a"],"x-specgate":{"samples":2},"properties":{
				"a":{"type":"integer","format":"int32","x-specgate":{"samples":2,"present":2}},
				"b":{"type":"boolean","x-specgate":{"samples":2,"present":1}}}}}`},

		// Maps.
		{"identifier key makes a map", schema.Options{}, []string{`{` + uuid1 + `:{"n":1},"name":{"n":2}}`},
			`{"type":"object","x-specgate":{"samples":1},"additionalProperties":{"type":"object","required":["n"],"x-specgate":{"samples":2},"properties":{
				"n":{"type":"integer","format":"int32","x-specgate":{"samples":2,"present":2}}}}}`},
		{"as many keys as MapMinKeys stay properties", small, []string{`{"a":1,"b":2,"c":3}`},
			`{"type":"object","required":["a","b","c"],"x-specgate":{"samples":1},"properties":{
				"a":{"type":"integer","format":"int32","x-specgate":{"samples":1,"present":1}},
				"b":{"type":"integer","format":"int32","x-specgate":{"samples":1,"present":1}},
				"c":{"type":"integer","format":"int32","x-specgate":{"samples":1,"present":1}}}}`},
		{"more keys than MapMinKeys make a map", small, []string{`{"a":1,"b":2,"c":3}`, `{"d":4}`},
			`{"type":"object","x-specgate":{"samples":2},"additionalProperties":{"type":"integer","format":"int32","x-specgate":{"samples":4}}}`},
		{"once a map always a map", schema.Options{}, []string{`{"a1b2c3d4e5":1}`, `{"name":"x"}`},
			`{"type":"object","x-specgate":{"samples":2},"additionalProperties":{"x-specgate":{"samples":2},"oneOf":[
				{"type":"integer","format":"int32","x-specgate":{"samples":1}},
				{"type":"string","x-specgate":{"samples":1,"values":["x"]}}]}}`},

		// Enums.
		{"enum", schema.Options{}, repeat(20, `"red"`, `"green"`),
			`{"type":"string","enum":["green","red"],"x-specgate":{"samples":20}}`},
		{"too few samples for an enum", schema.Options{}, repeat(19, `"red"`, `"green"`),
			`{"type":"string","x-specgate":{"samples":19,"values":["green","red"]}}`},
		{"fewer than five samples a value", schema.Options{}, repeat(29, `"a"`, `"b"`, `"c"`, `"d"`, `"e"`, `"f"`),
			`{"type":"string","x-specgate":{"samples":29,"values":["a","b","c","d","e","f"]}}`},
		{"five samples a value", schema.Options{}, repeat(30, `"a"`, `"b"`, `"c"`, `"d"`, `"e"`, `"f"`),
			`{"type":"string","enum":["a","b","c","d","e","f"],"x-specgate":{"samples":30}}`},
		{"prose is no enum", schema.Options{}, repeat(40, `"fix the tap"`, `"water the fern"`),
			`{"type":"string","x-specgate":{"samples":40}}`},
		{"code-like words may be", schema.Options{}, repeat(40, `"in_progress"`, `"EUR"`, `"v1.2"`, `"a/b"`),
			`{"type":"string","enum":["EUR","a/b","in_progress","v1.2"],"x-specgate":{"samples":40}}`},
		{"EnumMinSamples", schema.Options{EnumMinSamples: 4}, repeat(5, `"on"`),
			`{"type":"string","enum":["on"],"x-specgate":{"samples":5}}`},
		{"EnumMax values", schema.Options{EnumMax: 2}, repeat(20, `"a"`, `"b"`),
			`{"type":"string","enum":["a","b"],"x-specgate":{"samples":20}}`},
		{"more values than EnumMax", schema.Options{EnumMax: 2}, repeat(30, `"a"`, `"b"`, `"c"`),
			`{"type":"string","x-specgate":{"samples":30}}`},
		{"nine values are too many", schema.Options{}, repeat(90, `"a"`, `"b"`, `"c"`, `"d"`, `"e"`, `"f"`, `"g"`, `"h"`, `"i"`),
			`{"type":"string","x-specgate":{"samples":90}}`},
		{"identifiers are no enum", schema.Options{}, repeat(20, `"sku_1234"`, `"sku_5678"`),
			`{"type":"string","x-specgate":{"samples":20}}`},
		{"long strings are no enum", schema.Options{}, repeat(20, `"`+strings.Repeat("x", 33)+`"`),
			`{"type":"string","x-specgate":{"samples":20}}`},
		{"32 bytes may be an enum", schema.Options{}, repeat(20, `"`+strings.Repeat("x", 32)+`"`),
			`{"type":"string","enum":["` + strings.Repeat("x", 32) + `"],"x-specgate":{"samples":20}}`},
		{"formatted strings are no enum", schema.Options{}, repeat(20, `"2024-01-31"`),
			`{"type":"string","format":"date","x-specgate":{"samples":20}}`},
		{"one formatted string ends the enum", schema.Options{}, append(repeat(20, `"red"`), `"2024-01-31"`),
			`{"type":"string","x-specgate":{"samples":21}}`},
		{"redacted values are no enum", schema.Options{}, repeat(20, `"REDACTED"`),
			`{"type":"string","x-specgate":{"samples":20}}`},
		{"strings are decoded", schema.Options{}, []string{`{"k\u00e9y":"caf\u00e9"}`, "{\"k\u00e9y\":\"caf\\u00e9\"}"},
			`{"type":"object","required":["kéy"],"x-specgate":{"samples":2},"properties":{
				"kéy":{"type":"string","x-specgate":{"samples":2,"present":2}}}}`},
		{"strings are decoded before they are judged", schema.Options{}, repeat(20, `"\u0070aid"`),
			`{"type":"string","enum":["paid"],"x-specgate":{"samples":20}}`},
		{"invalid UTF-8 reads as U+FFFD", schema.Options{}, []string{"\"a\xffb\"", `"a\ufffdb"`},
			`{"type":"string","x-specgate":{"samples":2}}`},
		{"surrogate pairs", schema.Options{}, []string{`"\ud83d\ude00"`, `"\ud800x"`},
			`{"type":"string","x-specgate":{"samples":2}}`},

		// Depth.
		{"deeper than MaxDepth is counted only", shallow, []string{`{"a":{"b":{"c":1}}}`, `{"a":{"b":{"c":[true]}}}`},
			`{"type":"object","required":["a"],"x-specgate":{"samples":2},"properties":{
				"a":{"type":"object","required":["b"],"x-specgate":{"samples":2,"present":2},"properties":{
					"b":{"type":"object","required":["c"],"x-specgate":{"samples":2,"present":2},"properties":{
						"c":{"x-specgate":{"samples":2,"present":2}}}}}}}}`},
		{"items deeper than MaxDepth", shallow, []string{`[[[1,{"x":2}]]]`, `[[[]]]`},
			`{"type":"array","x-specgate":{"samples":2},"items":{"type":"array","x-specgate":{"samples":2},"items":{
				"type":"array","x-specgate":{"samples":2},"items":{"x-specgate":{"samples":2}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := observe(t, tt.opt, tt.docs...)
			if got := s.Samples(); got != int64(len(tt.docs)) {
				t.Errorf("Samples() = %d, want %d", got, len(tt.docs))
			}
			got := render(t, s, tt.opt)
			jsonEqual(t, got, tt.want)
			validate(t, s.Schema(tt.opt))
			back, err := schema.FromSchemaWithOptions(reread(t, got), tt.opt)
			if err != nil {
				t.Fatalf("FromSchema: %v", err)
			}
			if again := render(t, back, tt.opt); string(again) != string(got) {
				t.Errorf("render after FromSchema differs\n got: %s\nwant: %s", again, got)
			}
		})
	}
}

func TestObserveText(t *testing.T) {
	tests := []struct {
		name string
		obs  func(s *schema.Shape)
		want string
	}{
		{"integer", func(s *schema.Shape) { s.ObserveText("42", 3); s.ObserveText("-7", 1) },
			`{"type":"integer","format":"int32","x-specgate":{"samples":4}}`},
		{"int64", func(s *schema.Shape) { s.ObserveText("3000000000", 1) },
			`{"type":"integer","format":"int64","x-specgate":{"samples":1}}`},
		{"number", func(s *schema.Shape) { s.ObserveText("4.5", 1); s.ObserveText("1", 1) },
			`{"type":"number","x-specgate":{"samples":2}}`},
		{"past int64 is a number", func(s *schema.Shape) { s.ObserveText("99999999999999999999", 1) },
			`{"type":"number","x-specgate":{"samples":1}}`},
		{"boolean", func(s *schema.Shape) { s.ObserveText("true", 2); s.ObserveText("false", 1) },
			`{"type":"boolean","x-specgate":{"samples":3}}`},
		{"words are strings", func(s *schema.Shape) { s.ObserveText("TRUE", 2); s.ObserveText("007", 1); s.ObserveText("", 1) },
			`{"type":"string","x-specgate":{"samples":4}}`}, // "" is no word: no enum candidates
		{"words are strings, and enum candidates", func(s *schema.Shape) { s.ObserveText("TRUE", 2); s.ObserveText("007", 1) },
			`{"type":"string","x-specgate":{"samples":3,"values":["007","TRUE"]}}`},
		{"string format", func(s *schema.Shape) { s.ObserveText("2024-01-31", 5) },
			`{"type":"string","format":"date","x-specgate":{"samples":5}}`},
		{"enum from counted samples", func(s *schema.Shape) { s.ObserveText("asc", 10); s.ObserveText("desc", 10) },
			`{"type":"string","enum":["asc","desc"],"x-specgate":{"samples":20}}`},
		{"no samples", func(s *schema.Shape) { s.ObserveText("x", 0); s.ObserveTexts(nil) },
			`{}`},
		{"repeated values are an array", func(s *schema.Shape) { s.ObserveTexts([]string{"1", "2"}); s.ObserveTexts([]string{"3", "4", "5"}) },
			`{"type":"array","x-specgate":{"samples":2},"items":{"type":"integer","format":"int32","x-specgate":{"samples":5}}}`},
		{"once a scalar, then an array", func(s *schema.Shape) { s.ObserveTexts([]string{"a"}); s.ObserveTexts([]string{"1", "x"}) },
			`{"x-specgate":{"samples":2},"oneOf":[
				{"type":"array","x-specgate":{"samples":1},"items":{"x-specgate":{"samples":2},"oneOf":[
					{"type":"integer","format":"int32","x-specgate":{"samples":1}},
					{"type":"string","x-specgate":{"samples":1,"values":["x"]}}]}},
				{"type":"string","x-specgate":{"samples":1,"values":["a"]}}]}`},
		{"form", func(s *schema.Shape) {
			s.ObserveForm(url.Values{"a": {"1"}, "b": {"x", "y"}, "c": {}})
			s.ObserveForm(url.Values{"a": {"2"}})
		}, `{"type":"object","required":["a"],"x-specgate":{"samples":2},"properties":{
				"a":{"type":"integer","format":"int32","x-specgate":{"samples":2,"present":2}},
				"b":{"type":"array","x-specgate":{"samples":2,"present":1},"items":{"type":"string","x-specgate":{"samples":2,"values":["x","y"]}}}}}`},
		{"form names that are not UTF-8 share values", func(s *schema.Shape) {
			s.ObserveForm(url.Values{"a\xff": {"1"}, "a\xfe": {"2"}})
		}, `{"type":"object","required":["a\ufffd"],"x-specgate":{"samples":1},"properties":{
				"a\ufffd":{"type":"array","x-specgate":{"samples":1,"present":1},"items":{"type":"integer","format":"int32","x-specgate":{"samples":2}}}}}`},
		{"form keyed by identifiers", func(s *schema.Shape) {
			s.ObserveForm(url.Values{"item_1234": {"1"}, "item_5678": {"2"}})
		}, `{"type":"object","x-specgate":{"samples":1},"additionalProperties":{"type":"integer","format":"int32","x-specgate":{"samples":2}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schema.New()
			tt.obs(s)
			got := render(t, s, schema.Options{})
			jsonEqual(t, got, tt.want)
			validate(t, s.Schema(schema.Options{}))
			back, err := schema.FromSchema(reread(t, got))
			if err != nil {
				t.Fatalf("FromSchema: %v", err)
			}
			if again := render(t, back, schema.Options{}); string(again) != string(got) {
				t.Errorf("render after FromSchema differs\n got: %s\nwant: %s", again, got)
			}
		})
	}
}

func TestObserveJSONInvalid(t *testing.T) {
	docs := []string{
		``, ` `, `{`, `}`, `[`, `[1,]`, `[1 2]`, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `{a:1}`, `{"a":1}x`, `1 2`,
		`01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `0x10`, `NaN`, `tru`, `nul`, `falsey`,
		`"abc`, `"\q"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", "\"a\nb\"", `'a'`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	}
	for _, d := range docs {
		if json.Valid([]byte(d)) {
			t.Fatalf("test document %.40q is valid JSON", d)
		}
	}
	// Repeated property names are valid JSON but refused.
	docs = append(docs, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"b":{"a":1,"a":"x"}}`, "{\"\xff\":1,\"\xfe\":2}",
		`{`+strings.Repeat(`"k":1,`, 20)+`"z":0}`)

	s := observe(t, schema.Options{}, `{"a":1,"b":["x"]}`)
	before := render(t, s, schema.Options{})
	for _, d := range docs {
		if err := s.ObserveJSON([]byte(d)); err == nil {
			t.Errorf("ObserveJSON(%.40q) = nil, want an error", d)
		}
	}
	if after := render(t, s, schema.Options{}); string(after) != string(before) {
		t.Errorf("invalid documents changed the shape\nbefore: %s\n after: %s", before, after)
	}
	// Deep but not too deep is fine.
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if err := schema.New().ObserveJSON([]byte(deep)); err != nil {
		t.Errorf("10000 nested arrays: %v", err)
	}
	// Many distinct keys in one object are fine.
	var b strings.Builder
	b.WriteString("{")
	for i := range 500 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"last":0}`)
	if err := schema.New().ObserveJSON([]byte(b.String())); err != nil {
		t.Errorf("500 keys: %v", err)
	}
}

func TestMergeAndClone(t *testing.T) {
	a := observe(t, schema.Options{}, `{"a":1}`, `{"a":"x"}`)
	b := observe(t, schema.Options{}, `{"b":[1.5]}`)
	bBefore := render(t, b, schema.Options{})

	c := a.Clone()
	c.Merge(b)
	want := render(t, observe(t, schema.Options{}, `{"a":1}`, `{"a":"x"}`, `{"b":[1.5]}`), schema.Options{})
	if got := render(t, c, schema.Options{}); string(got) != string(want) {
		t.Errorf("merge differs from observing together\n got: %s\nwant: %s", got, want)
	}
	if got := render(t, a, schema.Options{}); string(got) == string(want) {
		t.Error("merging into a clone changed the original")
	}
	// The merged shape shares nothing with b.
	if err := c.ObserveJSON([]byte(`{"b":["s"]}`)); err != nil {
		t.Fatal(err)
	}
	if got := render(t, b, schema.Options{}); string(got) != string(bBefore) {
		t.Errorf("observing into the merged shape changed its source\n got: %s\nwant: %s", got, bBefore)
	}
	// Merging a shape into itself doubles every count.
	d := observe(t, schema.Options{}, `{"a":1}`)
	d.Merge(d)
	want = render(t, observe(t, schema.Options{}, `{"a":1}`, `{"a":1}`), schema.Options{})
	if got := render(t, d, schema.Options{}); string(got) != string(want) {
		t.Errorf("self-merge\n got: %s\nwant: %s", got, want)
	}
	d.Merge(nil)
	if got := render(t, d, schema.Options{}); string(got) != string(want) {
		t.Errorf("merging nil changed the shape: %s", got)
	}
}

// TestMergeAppliesReceiverLimits merges shapes stored with larger limits
// into one with smaller limits: the result is what the receiver would have
// stored observing the documents itself.
func TestMergeAppliesReceiverLimits(t *testing.T) {
	small := schema.Options{MaxDepth: 1, MapMinKeys: 2, EnumMax: 1}
	docs := []string{`[[{"a":1}]]`, `{"a":"x","b":"y","c":"z"}`, `["p","q"]`}
	want := render(t, observe(t, small, docs...), small)
	s := schema.NewWithOptions(small)
	s.Merge(observe(t, schema.Options{}, docs...))
	if got := render(t, s, small); string(got) != string(want) {
		t.Errorf("merge into smaller limits\n got: %s\nwant: %s", got, want)
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := schema.NewWithOptions(schema.Options{MaxDepth: -1, EnumMax: 3}).Options()
	want := schema.Options{EnumMax: 3, EnumMinSamples: 20, MapMinKeys: 64, MaxDepth: 32}
	if got != want {
		t.Errorf("Options() = %+v, want %+v", got, want)
	}
}

// TestMergeThresholds merges shards that each stay below a limit that
// together they cross, live and read back from their schemas.
func TestMergeThresholds(t *testing.T) {
	tests := []struct {
		name   string
		opt    schema.Options
		shards [][]string
	}{
		{"names across shards make a map", schema.Options{MapMinKeys: 3},
			[][]string{{`{"a":1,"b":2,"c":3}`}, {`{"d":4}`}}},
		{"one map shard makes a map", schema.Options{},
			[][]string{{`{"item_1234":{"n":1}}`}, {`{"name":{"n":"x"}}`, `{}`}}},
		{"values across shards drop the enum", schema.Options{EnumMax: 2},
			[][]string{repeat(10, `"x"`, `"y"`), repeat(10, `"z"`)}},
		{"samples across shards make an enum", schema.Options{},
			[][]string{repeat(5, `"red"`), repeat(5, `"red"`, `"blue"`)}},
		{"formats across shards", schema.Options{},
			[][]string{{uuid1}, {`"plain"`}}},
		{"int32 and int64 across shards", schema.Options{},
			[][]string{{`1`}, {`3000000000`}, {`null`}}},
		{"types across shards", schema.Options{},
			[][]string{{`{"v":1}`}, {`{"v":"x"}`}, {`{"w":null}`}}},
		{"depth across shards", schema.Options{MaxDepth: 1},
			[][]string{{`[[1]]`}, {`[["x"]]`, `[[]]`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var all []string
			for _, sh := range tt.shards {
				all = append(all, sh...)
			}
			want := render(t, observe(t, tt.opt, all...), tt.opt)
			for i := range tt.shards {
				// Start from each shard in turn, merging the others in order.
				live := observe(t, tt.opt, tt.shards[i]...)
				read, err := schema.FromSchemaWithOptions(reread(t, render(t, live, tt.opt)), tt.opt)
				if err != nil {
					t.Fatal(err)
				}
				for j, sh := range tt.shards {
					if j == i {
						continue
					}
					o := observe(t, tt.opt, sh...)
					live.Merge(o)
					back, err := schema.FromSchemaWithOptions(reread(t, render(t, o, tt.opt)), tt.opt)
					if err != nil {
						t.Fatal(err)
					}
					read.Merge(back)
				}
				if got := render(t, live, tt.opt); string(got) != string(want) {
					t.Errorf("live merge from shard %d\n got: %s\nwant: %s", i, got, want)
				}
				if got := render(t, read, tt.opt); string(got) != string(want) {
					t.Errorf("read-back merge from shard %d\n got: %s\nwant: %s", i, got, want)
				}
			}
		})
	}
}
