package infer

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/specgate/specgate/infer/paths"
	"github.com/specgate/specgate/infer/schema"
)

// ext is the name of specgate's extension.
const ext = "x-specgate"

// methodOrder is the order operations are rendered in.
var methodOrder = [...]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Document returns the OpenAPI document of one service, or nil if the
// service was never seen.
func (in *Inferrer) Document(name string) *openapi3.T {
	svc := in.services[name]
	if svc == nil {
		return nil
	}
	doc := &openapi3.T{
		OpenAPI:    "3.0.3",
		Info:       &openapi3.Info{Title: name, Version: "inferred"},
		Paths:      openapi3.NewPaths(),
		Extensions: map[string]any{},
	}
	docExt := map[string]any{"service": name}
	unrouted := map[string]map[string]*openapi3.Operation{}
	schemes := map[string]bool{}

	svc.trie.Walk(func(template string, params []paths.Param, po *pathObs) {
		item := &openapi3.PathItem{}
		for _, m := range methodOrder {
			o := po.ops[m]
			if o == nil {
				continue
			}
			op := in.renderOp(o, params, schemes)
			if !o.routed() {
				if unrouted[template] == nil {
					unrouted[template] = map[string]*openapi3.Operation{}
				}
				unrouted[template][m] = op
				continue
			}
			item.SetOperation(strings.ToUpper(m), op)
		}
		if len(item.Operations()) > 0 {
			doc.Paths.Set(template, item)
		}
	})
	if len(unrouted) > 0 {
		docExt["unrouted"] = unrouted
	}
	doc.Extensions[ext] = docExt

	servers := make([]string, 0, len(svc.servers))
	for s := range svc.servers {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	for _, s := range servers {
		doc.Servers = append(doc.Servers, &openapi3.Server{URL: s})
	}
	if len(schemes) > 0 {
		doc.Components = &openapi3.Components{SecuritySchemes: openapi3.SecuritySchemes{}}
		for name := range schemes {
			doc.Components.SecuritySchemes[name] = &openapi3.SecuritySchemeRef{Value: securityScheme(name)}
		}
	}
	return doc
}

// renderOp renders one operation.
func (in *Inferrer) renderOp(o *opObs, params []paths.Param, schemes map[string]bool) *openapi3.Operation {
	op := &openapi3.Operation{Responses: openapi3.NewResponses(), Extensions: map[string]any{}}
	x := map[string]any{"samples": o.samples}
	if len(o.callers.names) > 0 {
		x["callers"] = append([]string(nil), o.callers.names...)
	}
	if o.callers.more {
		x["moreCallers"] = true
	}
	if o.accepted != o.samples {
		x["accepted"] = o.accepted
	}
	if len(o.security) == 0 {
		x["anonymous"] = false
	}
	op.Extensions[ext] = x

	for _, p := range params {
		sh := o.pathParams[p.Index]
		if sh == nil {
			sh = schema.NewWithOptions(in.opts.Schema)
		}
		px := map[string]any{"samples": o.samples, "present": o.samples}
		if p.Variable {
			px["variable"] = true
		}
		if p.Given != "" {
			px["given"] = p.Given
		}
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
			Name: p.Name, In: "path", Required: true,
			Schema:     &openapi3.SchemaRef{Value: sh.Schema(in.opts.Schema)},
			Extensions: map[string]any{ext: px},
		}})
	}
	keys := make([]paramKey, 0, len(o.params))
	for k := range o.params {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].in != keys[j].in {
			return inOrder(keys[i].in) < inOrder(keys[j].in)
		}
		return keys[i].name < keys[j].name
	})
	for _, k := range keys {
		p := o.params[k]
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
			Name: k.name, In: k.in, Required: p.present == o.accepted,
			Schema:     &openapi3.SchemaRef{Value: p.shape.Schema(in.opts.Schema)},
			Extensions: map[string]any{ext: map[string]any{"samples": o.accepted, "present": p.present}},
		}})
	}

	if len(o.body) > 0 {
		op.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{
			Required:   o.bodies == o.accepted,
			Content:    in.renderContent(o.body),
			Extensions: map[string]any{ext: map[string]any{"samples": o.accepted, "present": o.bodies}},
		}}
	}

	codes := make([]string, 0, len(o.responses))
	for c := range o.responses {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		r := o.responses[c]
		desc := describeStatus(c)
		resp := &openapi3.Response{Description: &desc, Extensions: map[string]any{ext: map[string]any{"samples": r.samples}}}
		if len(r.content) > 0 {
			resp.Content = in.renderContent(r.content)
		}
		op.Responses.Set(c, &openapi3.ResponseRef{Value: resp})
	}

	if reqs := securityRequirements(o.security); reqs != nil {
		op.Security = &reqs
		for _, r := range reqs {
			for name := range r {
				schemes[name] = true
			}
		}
	}
	return op
}

func inOrder(in string) int {
	switch in {
	case "query":
		return 0
	case "header":
		return 1
	}
	return 2
}

// renderContent renders bodies by media type.
func (in *Inferrer) renderContent(m map[string]*bodyObs) openapi3.Content {
	c := openapi3.Content{}
	for mt, b := range m {
		var sc *openapi3.Schema
		if b.shape != nil {
			sc = b.shape.Schema(in.opts.Schema)
		} else {
			sc = opaqueSchema(mt)
		}
		c[mt] = &openapi3.MediaType{
			Schema:     &openapi3.SchemaRef{Value: sc},
			Extensions: map[string]any{ext: map[string]any{"samples": b.samples}},
		}
	}
	return c
}

// opaqueSchema describes a body by its media type alone: text as a
// string, multipart as an object, anything else as binary.
func opaqueSchema(mt string) *openapi3.Schema {
	switch {
	case strings.HasPrefix(mt, "text/"):
		return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}
	case strings.HasPrefix(mt, "multipart/"):
		return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}}
	}
	return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Format: "binary"}
}

// describeStatus returns the description of a response.
func describeStatus(code string) string {
	var n int
	if _, err := fmt.Sscanf(code, "%d", &n); err == nil {
		if t := http.StatusText(n); t != "" {
			return t
		}
		return "Status " + code
	}
	return "Other responses"
}

// securityRequirements renders the credentials seen as alternatives; an
// operation never seen with credentials has none, and one seen both with
// and without lists the empty requirement too.
func securityRequirements(seen map[string]struct{}) openapi3.SecurityRequirements {
	if len(seen) == 0 {
		return nil
	}
	if _, none := seen[""]; none && len(seen) == 1 {
		return nil
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reqs := openapi3.SecurityRequirements{}
	for _, k := range keys {
		r := openapi3.SecurityRequirement{}
		if k != "" {
			for _, name := range strings.Split(k, reqSep) {
				r[name] = []string{}
			}
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// securityScheme returns the scheme a requirement name stands for; the
// name says everything ("bearerAuth", "header.X-Api-Key", "cookie.sid").
func securityScheme(name string) *openapi3.SecurityScheme {
	if where, key, ok := strings.Cut(name, "."); ok {
		return &openapi3.SecurityScheme{Type: "apiKey", In: where, Name: key}
	}
	return &openapi3.SecurityScheme{Type: "http", Scheme: strings.TrimSuffix(name, "Auth")}
}
