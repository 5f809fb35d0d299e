package schema_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/specgate/specgate/infer/schema"
)

// FuzzObserveJSON: no input panics; exactly the invalid JSON (and repeated
// names) is refused and leaves the shape empty; for the rest, the schema
// validates, reads back exactly, observing twice equals merging a clone,
// and the document satisfies its own schema.
func FuzzObserveJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":"550e8400-e29b-41d4-a716-446655440000","n":1,"tags":["a","b"],"x":null}`,
		`[1, 2.5, "x", true, null, {}, []]`, `{"a":{"b":{"c":{"d":{"e":[[[[1]]]]}}}}}`,
		`{"item_1234":1,"item_5678":{"k":"v"}}`, `"caf\u00e9 \ud83d\ude00 \ud800"`, "\"\xff\"", `{"a":1,"a":2}`,
		`-0`, `1e400`, `9223372036854775808`, `{"":""}`, `"REDACTED"`, `[{"a":1},{"b":2}]`, ``, `{`, `[1,]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range optionSets {
			s := schema.NewWithOptions(o)
			err := s.ObserveJSON(data)
			if err != nil {
				if json.Valid(data) && !strings.Contains(err.Error(), "duplicate property name") {
					t.Fatalf("valid JSON refused: %v", err)
				}
				if s.Samples() != 0 {
					t.Fatalf("a refused document changed the shape")
				}
				continue
			}
			if !json.Valid(data) {
				t.Fatalf("invalid JSON accepted")
			}
			checkShape(t, s, o)

			twice := s.Clone()
			if err := twice.ObserveJSON(data); err != nil {
				t.Fatalf("second observation: %v", err)
			}
			s.Merge(s.Clone())
			if a, b := render(t, twice, o), render(t, s, o); string(a) != string(b) {
				t.Fatalf("observing twice differs from merging a clone\n%s\n%s", a, b)
			}

			var v any
			if json.Unmarshal(data, &v) == nil {
				sound := s.Schema(o)
				typelessAcceptNull(sound)
				if err := sound.VisitJSON(v); err != nil {
					t.Fatalf("document does not satisfy its schema: %v", err)
				}
			}
		}
	})
}

// FuzzObserveText: text values of any bytes render schemas that validate
// and read back exactly.
func FuzzObserveText(f *testing.F) {
	for _, seed := range []string{"42", "-7", "4.5", "true", "", "2024-01-31", "a\xffb", "REDACTED", "user_1234"} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, v string, n uint8) {
		s := schema.New()
		s.ObserveText(v, int64(n))
		checkShape(t, s, schema.Options{})
		s.ObserveTexts([]string{v, v + "x"})
		s.ObserveForm(url.Values{v: {v}, "k": {v, v}})
		checkShape(t, s, schema.Options{})
	})
}

// checkShape fails unless the schema of s validates and reads back into a
// shape that renders the same bytes.
func checkShape(t *testing.T, s *schema.Shape, o schema.Options) {
	t.Helper()
	sc := s.Schema(o)
	if err := sc.Validate(context.Background()); err != nil {
		t.Fatalf("schema does not validate: %v", err)
	}
	b := render(t, s, o)
	back, err := schema.FromSchemaWithOptions(reread(t, b), o)
	if err != nil {
		t.Fatalf("FromSchema: %v\n%s", err, b)
	}
	if again := render(t, back, o); string(again) != string(b) {
		t.Fatalf("render after FromSchema differs\n got: %s\nwant: %s", again, b)
	}
}
