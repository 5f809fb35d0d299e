package schema_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/specgate/specgate/infer/schema"
)

// observe returns a Shape with o that observed every document.
func observe(t testing.TB, o schema.Options, docs ...string) *schema.Shape {
	t.Helper()
	s := schema.NewWithOptions(o)
	for _, d := range docs {
		if err := s.ObserveJSON([]byte(d)); err != nil {
			t.Fatalf("ObserveJSON(%q): %v", d, err)
		}
	}
	return s
}

// render marshals the schema of s as kin-openapi writes it.
func render(t testing.TB, s *schema.Shape, o schema.Options) []byte {
	t.Helper()
	b, err := json.Marshal(s.Schema(o))
	if err != nil {
		t.Fatalf("marshal schema: %v", err)
	}
	return b
}

// reread decodes rendered JSON as kin-openapi reads a document's schema.
func reread(t testing.TB, b []byte) *openapi3.Schema {
	t.Helper()
	var sc openapi3.Schema
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatalf("unmarshal schema %s: %v", b, err)
	}
	return &sc
}

// jsonEqual fails unless got and want hold the same JSON value.
func jsonEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("schema differs\n got: %s\nwant: %s", got, compact(t, want))
	}
}

func compact(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// document wraps sc as the JSON response of one operation.
func document(sc *openapi3.Schema) *openapi3.T {
	resp := openapi3.NewResponse().WithDescription("ok").WithJSONSchema(sc)
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: resp}))}
	return &openapi3.T{
		OpenAPI: "3.0.3",
		Info:    &openapi3.Info{Title: "test", Version: "1"},
		Paths:   openapi3.NewPaths(openapi3.WithPath("/things", &openapi3.PathItem{Get: op})),
	}
}

// validate fails unless sc is a valid OpenAPI 3.0 schema, both as a value
// and as a document loaded from its JSON.
func validate(t testing.TB, sc *openapi3.Schema) {
	t.Helper()
	ctx := context.Background()
	if err := sc.Validate(ctx); err != nil {
		t.Fatalf("schema does not validate: %v", err)
	}
	b, err := json.Marshal(document(sc))
	if err != nil {
		t.Fatalf("marshal document: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load document: %v\n%s", err, b)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("document does not validate: %v\n%s", err, b)
	}
}
