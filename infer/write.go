package infer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// Format says how a document is written.
type Format struct {
	// JSON writes JSON instead of YAML.
	JSON bool
	// Clean drops every x-specgate extension: a document to publish, no
	// longer one to merge.
	Clean bool
}

// keyOrder is the order of the OpenAPI keywords in an object, as people
// write them; keys it does not name (extensions) follow in byte order.
var keyOrder = func() map[string]int {
	m := map[string]int{}
	for i, k := range []string{
		"openapi", "info", "title", "version", "servers", "url",
		"name", "in", "summary", "description", "operationId", "required",
		"type", "format", "nullable", "enum", "properties", "items", "additionalProperties", "oneOf",
		"parameters", "requestBody", "content", "schema", "responses", "security",
		"paths", "components", "securitySchemes", "scheme", "bearerFormat", "externalDocs",
	} {
		m[k] = i
	}
	return m
}()

// userKeyed are the objects whose keys are names from the API (paths,
// property names, status codes, media types), kept in byte order.
var userKeyed = map[string]bool{
	"paths": true, "properties": true, "responses": true, "content": true,
	"securitySchemes": true, "schemas": true, "headers": true, "unrouted": true,
}

// jsonNode reads one JSON value into a YAML node, keeping the key order.
// (Parsing the JSON as YAML would do the same, but YAML limits implicit
// keys to 1024 characters, and traffic has longer property names.)
func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if v == '[' {
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				ks, _ := k.(string)
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ks})
			}
			c, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// orderKeys puts the keys of every object below n in keyOrder, leaving
// user-keyed objects in byte order; "required" follows "properties" in a
// schema.
func orderKeys(n *yaml.Node, userMap bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			orderKeys(c, false)
		}
		return
	case yaml.MappingNode:
	default:
		return
	}
	pairs := make([][2]*yaml.Node, 0, len(n.Content)/2)
	schema := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		pairs = append(pairs, [2]*yaml.Node{k, v})
		if k.Value == "properties" {
			schema = true
		}
		orderKeys(v, !userMap && userKeyed[k.Value])
	}
	if userMap {
		return
	}
	rank := func(k string) int {
		if k == "required" && schema {
			return keyOrder["properties"]
		}
		if r, ok := keyOrder[k]; ok {
			return r
		}
		return len(keyOrder)
	}
	sort.SliceStable(pairs, func(i, j int) bool { return rank(pairs[i][0].Value) < rank(pairs[j][0].Value) })
	n.Content = n.Content[:0]
	for _, p := range pairs {
		n.Content = append(n.Content, p[0], p[1])
	}
}

// Marshal writes doc as YAML or JSON: OpenAPI keywords in the order
// people write them, names from the API in byte order, the same document
// always the same bytes.
func Marshal(doc *openapi3.T, f Format) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	top, err := jsonNode(dec)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("encode document: unexpected shape")
	}
	if f.Clean {
		dropExtension(top)
	}
	orderKeys(top, false)
	if f.JSON {
		var buf bytes.Buffer
		if err := writeJSON(&buf, top, ""); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return buf.Bytes(), nil
}

// dropExtension removes every x-specgate key below n.
func dropExtension(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		out := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == ext {
				continue
			}
			dropExtension(n.Content[i+1])
			out = append(out, n.Content[i], n.Content[i+1])
		}
		n.Content = out
	case yaml.SequenceNode:
		for _, c := range n.Content {
			dropExtension(c)
		}
	}
}

// writeJSON writes n as indented JSON, keeping its key order.
func writeJSON(buf *bytes.Buffer, n *yaml.Node, indent string) error {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			buf.WriteString("{}")
			return nil
		}
		buf.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			buf.WriteString(indent + "  ")
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteString(": ")
			if err := writeJSON(buf, n.Content[i+1], indent+"  "); err != nil {
				return err
			}
			if i+2 < len(n.Content) {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			buf.WriteString("[]")
			return nil
		}
		buf.WriteString("[\n")
		for i, c := range n.Content {
			buf.WriteString(indent + "  ")
			if err := writeJSON(buf, c, indent+"  "); err != nil {
				return err
			}
			if i+1 < len(n.Content) {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "]")
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			s, _ := json.Marshal(n.Value)
			buf.Write(s)
		case "!!null":
			buf.WriteString("null")
		default: // !!int, !!float, !!bool: as JSON wrote them
			buf.WriteString(n.Value)
		}
	default:
		return fmt.Errorf("encode document: unexpected node kind %v", n.Kind)
	}
	return nil
}

// FileNames returns a file name for every service, safe on every OS:
// lower case letters, digits, '.', '-' and '_', the rest as '_', no
// reserved Windows names, and a short hash when two services would
// otherwise share a name.
func FileNames(services []string, suffix string) map[string]string {
	base := map[string]string{}
	count := map[string]int{}
	for _, s := range services {
		b := safeName(s)
		base[s] = b
		count[strings.ToLower(b)]++
	}
	out := map[string]string{}
	for _, s := range services {
		b := base[s]
		if count[strings.ToLower(b)] > 1 {
			sum := sha256.Sum256([]byte(s))
			b += "-" + hex.EncodeToString(sum[:4])
		}
		out[s] = b + suffix
	}
	return out
}

func safeName(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s) && sb.Len() < 100; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			sb.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			sb.WriteByte(c + 'a' - 'A')
		case (c == '.' || c == '/') && sb.Len() > 0:
			sb.WriteByte('.') // "default/todo-service" → "default.todo-service"
		default:
			sb.WriteByte('_')
		}
	}
	b := strings.TrimRight(sb.String(), ".")
	if b == "" {
		b = "_"
	}
	switch strings.SplitN(b, ".", 2)[0] {
	case "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
		"lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9":
		b = "_" + b
	}
	return b
}
