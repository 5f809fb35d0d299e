package schema_test

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/specgate/specgate/infer/schema"
)

func TestFromSchemaHandWritten(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"counts derived, required kept", `{"type":"object","required":["id"],"properties":{
				"id":{"type":"string","format":"uuid"},
				"note":{"type":"string","nullable":true,"description":"free text","maxLength":10},
				"tags":{"type":"array","items":{"type":"string","enum":["a","b"]}}}}`,
			`{"type":"object","required":["id"],"x-specgate":{"samples":3},"properties":{
				"id":{"type":"string","format":"uuid","x-specgate":{"samples":3,"present":3}},
				"note":{"type":"string","nullable":true,"x-specgate":{"samples":3,"present":2,"nulls":1}},
				"tags":{"type":"array","x-specgate":{"samples":3,"present":1},"items":{"type":"string","x-specgate":{"samples":2,"values":["a","b"]}}}}}`},
		{"required nested object padded", `{"type":"object","required":["u"],"properties":{
				"x":{"type":"boolean"},
				"u":{"type":"object","required":["id"],"properties":{"id":{"type":"integer","format":"int32"}}}}}`,
			`{"type":"object","required":["u"],"x-specgate":{"samples":2},"properties":{
				"u":{"type":"object","required":["id"],"x-specgate":{"samples":2,"present":2},"properties":{
					"id":{"type":"integer","format":"int32","x-specgate":{"samples":2,"present":2}}}},
				"x":{"type":"boolean","x-specgate":{"samples":2,"present":1}}}}`},
		{"type list with null", `{"type":["string","null"]}`,
			`{"type":"string","nullable":true,"x-specgate":{"samples":2,"nulls":1}}`},
		{"type list", `{"type":["integer","boolean"]}`,
			`{"x-specgate":{"samples":2},"oneOf":[
				{"type":"boolean","x-specgate":{"samples":1}},
				{"type":"integer","format":"int64","x-specgate":{"samples":1}}]}`},
		{"properties without a type", `{"properties":{"a":{"type":"number","format":"double","enum":[1,2]}},"required":["a"]}`,
			`{"type":"object","required":["a"],"x-specgate":{"samples":1},"properties":{
				"a":{"type":"number","x-specgate":{"samples":1,"present":1}}}}`},
		{"additionalProperties makes a map", `{"type":"object","additionalProperties":{"type":"string"}}`,
			`{"type":"object","x-specgate":{"samples":1},"additionalProperties":{"type":"string","x-specgate":{"samples":1}}}`},
		{"additionalProperties {} says nothing", `{"type":"object","additionalProperties":{}}`,
			`{"type":"object","x-specgate":{"samples":1}}`},
		{"oneOf of integer and number", `{"oneOf":[{"type":"integer"},{"type":"number"}]}`,
			`{"type":"number","x-specgate":{"samples":2}}`},
		{"identifier property names make a map", `{"type":"object","properties":{"item_1234":{"type":"integer"}}}`,
			`{"type":"object","x-specgate":{"samples":2},"additionalProperties":{"type":"integer","format":"int64","x-specgate":{"samples":1}}}`},
		{"formatted enum values are dropped", `{"type":"string","enum":["2024-01-01"]}`,
			`{"type":"string","x-specgate":{"samples":1}}`},
		{"several shared formats", `{"type":"string","format":"uuid","x-specgate":{"samples":2,"formats":["date","uuid"]}}`,
			`{"type":"string","format":"uuid","x-specgate":{"samples":2,"formats":["uuid","date"]}}`},
		{"empty schema", `{}`, `{}`},
		{"true schema", `true`, `{}`},
		{"counts without a type", `{"x-specgate":{"samples":4}}`, `{"x-specgate":{"samples":4}}`},
		{"counts of a YAML loader", `{"type":"integer","format":"int32","x-specgate":{"samples":4.0,"nulls":1},"nullable":true}`,
			`{"type":"integer","format":"int32","nullable":true,"x-specgate":{"samples":4,"nulls":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := schema.FromSchema(reread(t, []byte(tt.in)))
			if err != nil {
				t.Fatalf("FromSchema: %v", err)
			}
			got := render(t, s, schema.Options{})
			jsonEqual(t, got, tt.want)
			validate(t, s.Schema(schema.Options{}))
		})
	}
}

func TestFromSchemaErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"allOf", `{"allOf":[{"type":"string"}]}`, "allOf"},
		{"anyOf in a property", `{"type":"object","properties":{"a":{"anyOf":[{"type":"string"}]}}}`, "#/properties/a"},
		{"not", `{"not":{"type":"string"}}`, "not"},
		{"false schema", `{"type":"object","properties":{"a":false}}`, "false schema"},
		{"unknown type", `{"type":"file"}`, `unknown type "file"`},
		{"nested oneOf", `{"oneOf":[{"oneOf":[{"type":"string"}]}]}`, "#/oneOf/0"},
		{"oneOf branch without type", `{"oneOf":[{"type":"string"},{}]}`, "without a type"},
		{"enum of a string that is no string", `{"type":"string","enum":["a",1]}`, "not a string"},
		{"samples not a number", `{"type":"string","x-specgate":{"samples":"many"}}`, "samples"},
		{"negative samples", `{"type":"string","x-specgate":{"samples":-1}}`, "samples"},
		{"fractional samples", `{"type":"string","x-specgate":{"samples":1.5}}`, "samples"},
		{"extension not an object", `{"type":"string","x-specgate":3}`, "not an object"},
		{"values not strings", `{"type":"string","x-specgate":{"samples":1,"values":[1]}}`, "values"},
		{"unknown format name", `{"type":"string","format":"uuid","x-specgate":{"samples":1,"formats":["uuid","colour"]}}`, "colour"},
		{"branch counts disagree", `{"x-specgate":{"samples":5},"oneOf":[
			{"type":"string","x-specgate":{"samples":1}},{"type":"boolean","x-specgate":{"samples":1}}]}`, "counts 5 samples"},
		{"nullable without nulls", `{"type":"string","nullable":true,"x-specgate":{"samples":2}}`, "no nulls"},
		{"no values of the type", `{"type":"string","nullable":true,"x-specgate":{"samples":2,"nulls":2}}`, "no values"},
		{"present beyond samples", `{"type":"object","x-specgate":{"samples":1},"properties":{
			"a":{"type":"string","x-specgate":{"samples":1,"present":2}}}}`, "more objects"},
		{"nulls beyond samples", `{"nullable":true,"x-specgate":{"samples":1},"oneOf":[
			{"type":"string","x-specgate":{"samples":1}},{"type":"boolean","x-specgate":{"samples":1}}]}`, "fewer samples"},
		{"types beyond samples", `{"x-specgate":{"samples":1},"oneOf":[
			{"type":"string","x-specgate":{"samples":1}},{"type":"boolean","x-specgate":{"samples":1}}]}`, "counts 1 samples but 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema.FromSchema(reread(t, []byte(tt.in)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromSchema error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}

	// What JSON cannot express.
	unresolved := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{
		"a": &openapi3.SchemaRef{Ref: "#/components/schemas/A"},
	}}
	if _, err := schema.FromSchema(unresolved); err == nil || !strings.Contains(err.Error(), "unresolved") {
		t.Errorf("unresolved reference: error = %v", err)
	}
	if _, err := schema.FromSchema(nil); err == nil {
		t.Error("nil schema: no error")
	}
	inMemory := &openapi3.Schema{Type: &openapi3.Types{"string"}, Extensions: map[string]any{
		schema.Extension: map[string]any{"samples": uint8(3), "values": []string{"x"}},
	}}
	s, err := schema.FromSchema(inMemory)
	if err != nil {
		t.Fatalf("extension of Go values: %v", err)
	}
	jsonEqual(t, render(t, s, schema.Options{}), `{"type":"string","x-specgate":{"samples":3,"values":["x"]}}`)
}
