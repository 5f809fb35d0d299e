package infer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/specgate/specgate/infer/paths"
	"github.com/specgate/specgate/infer/schema"
)

// LoadDocument parses an OpenAPI document (YAML or JSON) from data; name
// is used in errors. It does not resolve references to other files.
func LoadDocument(data []byte, name string) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	doc, err := l.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not an OpenAPI document: %v", name, err)
	}
	if doc.Paths == nil {
		doc.Paths = openapi3.NewPaths()
	}
	return doc, nil
}

// Inferred reports whether doc is a document specgate inferred, with the
// counts that let it merge.
func Inferred(doc *openapi3.T) bool {
	_, ok := doc.Extensions[ext].(map[string]any)
	return ok
}

// Templates returns the path templates of doc, sorted: what a baseline
// gives inference (Options.Baselines).
func Templates(doc *openapi3.T) []string {
	t := doc.Paths.InMatchingOrder()
	sort.Strings(t)
	return t
}

// AddDocument merges a document that specgate inferred into the
// observations, as if the traffic it was inferred from were observed
// again.
func (in *Inferrer) AddDocument(doc *openapi3.T) error {
	x, ok := doc.Extensions[ext].(map[string]any)
	if !ok {
		return errors.New("not a document specgate inferred (it has no x-specgate counts); use it as a baseline instead")
	}
	name, _ := x["service"].(string)
	if name == "" && doc.Info != nil {
		name = doc.Info.Title
	}
	if name == "" {
		return errors.New("document names no service")
	}
	svc := in.service(name)
	for _, s := range doc.Servers {
		if s != nil && s.URL != "" {
			svc.servers[s.URL] = struct{}{}
		}
	}
	for _, template := range Templates(doc) {
		item := doc.Paths.Value(template)
		for _, m := range methodOrder {
			if op := item.GetOperation(strings.ToUpper(m)); op != nil {
				if err := in.addOp(svc, template, m, op); err != nil {
					return err
				}
			}
		}
	}
	if raw, ok := x["unrouted"]; ok {
		b, err := json.Marshal(raw)
		if err != nil {
			return fmt.Errorf("x-specgate unrouted: %v", err)
		}
		var unrouted map[string]map[string]*openapi3.Operation
		if err := json.Unmarshal(b, &unrouted); err != nil {
			return fmt.Errorf("x-specgate unrouted: %v", err)
		}
		templates := make([]string, 0, len(unrouted))
		for t := range unrouted {
			templates = append(templates, t)
		}
		sort.Strings(templates)
		for _, t := range templates {
			for _, m := range methodOrder {
				if op := unrouted[t][m]; op != nil {
					if err := in.addOp(svc, t, m, op); err != nil {
						return err
					}
				}
			}
		}
	}
	in.stats.Documents++
	return nil
}

// addOp merges one operation of a document.
func (in *Inferrer) addOp(svc *service, template, method string, op *openapi3.Operation) error {
	where := strings.ToUpper(method) + " " + template
	o, params, err := parseOp(template, op, &in.opts.Schema)
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	po, err := svc.trie.AddParams(template, params)
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	po.op(method).merge(o)
	return nil
}

// parseOp reads an operation that renderOp wrote.
func parseOp(template string, op *openapi3.Operation, so *schema.Options) (*opObs, []paths.Param, error) {
	o := newOpObs(so)
	x := extOf(op.Extensions)
	o.samples = extInt(x, "samples")
	o.accepted = o.samples
	if _, ok := x["accepted"]; ok {
		o.accepted = extInt(x, "accepted")
	}
	for _, c := range extStrings(x, "callers") {
		o.callers.add(c)
	}
	o.callers.more, _ = x["moreCallers"].(bool)

	segs := strings.Split(strings.TrimPrefix(template, "/"), "/")
	var params []paths.Param
	for _, pr := range op.Parameters {
		p := pr.Value
		if p == nil {
			continue
		}
		px := extOf(p.Extensions)
		sh, err := shapeOf(p.Schema, so)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter %s: %v", p.Name, err)
		}
		switch p.In {
		case "path":
			i := indexOf(segs, "{"+p.Name+"}")
			if i < 0 {
				return nil, nil, fmt.Errorf("path parameter %s is not in the path", p.Name)
			}
			o.pathParams[i] = sh
			v, _ := px["variable"].(bool)
			g, _ := px["given"].(string)
			params = append(params, paths.Param{Name: p.Name, Index: i, Variable: v, Given: g})
		case "query", "header", "cookie":
			d := o.param(p.In, p.Name)
			d.present = extInt(px, "present")
			d.shape = sh
		default:
			return nil, nil, fmt.Errorf("parameter %s: unknown location %q", p.Name, p.In)
		}
	}

	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		o.bodies = extInt(extOf(rb.Value.Extensions), "present")
		if err := parseContent(o.body, rb.Value.Content, so); err != nil {
			return nil, nil, fmt.Errorf("request body: %v", err)
		}
	}
	if op.Responses != nil {
		for code, rr := range op.Responses.Map() {
			if rr.Value == nil {
				continue
			}
			r := o.response(code)
			r.samples = extInt(extOf(rr.Value.Extensions), "samples")
			if err := parseContent(r.content, rr.Value.Content, so); err != nil {
				return nil, nil, fmt.Errorf("response %s: %v", code, err)
			}
		}
	}

	anonymous := true
	if a, ok := x["anonymous"].(bool); ok {
		anonymous = a
	}
	if op.Security == nil {
		if anonymous {
			o.security[""] = struct{}{}
		}
	}
	if op.Security != nil {
		for _, r := range *op.Security {
			names := make([]string, 0, len(r))
			for n := range r {
				names = append(names, n)
			}
			sort.Strings(names)
			o.security[strings.Join(names, reqSep)] = struct{}{}
		}
	}
	sort.Slice(params, func(i, j int) bool { return params[i].Index < params[j].Index })
	return o, params, nil
}

func parseContent(dst map[string]*bodyObs, c openapi3.Content, so *schema.Options) error {
	for mt, m := range c {
		if m == nil {
			continue
		}
		described := parseMediaType(mt).kind != kindOpaque
		b := bodyOf(dst, mt, described, so)
		b.samples += extInt(extOf(m.Extensions), "samples")
		if described {
			sh, err := shapeOf(m.Schema, so)
			if err != nil {
				return fmt.Errorf("%s: %v", mt, err)
			}
			b.shape.Merge(sh)
		}
	}
	return nil
}

func shapeOf(r *openapi3.SchemaRef, so *schema.Options) (*schema.Shape, error) {
	if r == nil || r.Value == nil {
		return schema.NewWithOptions(*so), nil
	}
	return schema.FromSchemaWithOptions(r.Value, *so)
}

func indexOf(segs []string, s string) int {
	for i, x := range segs {
		if x == s {
			return i
		}
	}
	return -1
}

// extOf returns the x-specgate extension of an object, or an empty map.
func extOf(exts map[string]any) map[string]any {
	if x, ok := exts[ext].(map[string]any); ok {
		return x
	}
	return map[string]any{}
}

// extInt reads a count; documents decode numbers as float64.
func extInt(x map[string]any, key string) int64 {
	switch v := x[key].(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

func extStrings(x map[string]any, key string) []string {
	switch v := x[key].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Validate checks doc against the OpenAPI specification with kin-openapi.
func Validate(ctx context.Context, doc *openapi3.T) error {
	return doc.Validate(ctx, openapi3.EnableSchemaFormatValidation())
}
