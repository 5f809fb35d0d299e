package specgen

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// edit is one change the revision makes.
type edit struct {
	kind string   // what changed: "rename", "remove-property", ...
	ops  []string // "GET /billing/invoices/{invoiceId}"
	from string   // the property before, when one changed
	to   string   // the property after
}

// The kinds of edit.
const (
	editRename          = "rename"
	editRemoveProperty  = "remove-property"
	editRetype          = "retype"
	editRemoveOperation = "remove-operation"
	editRequire         = "add-required-request-property"
	editAddOperation    = "add-operation"
	editAddProperty     = "add-optional-property"
)

// reviser changes a copy of the plan's document as a release would.
type reviser struct {
	p    *plan
	doc  *openapi3.T
	rng  *rand.Rand
	used map[*resource]bool
	out  []edit
}

// revise applies the revision's edits to doc, which p wrote.
func revise(doc *openapi3.T, p *plan, rng *rand.Rand) ([]edit, error) {
	v := &reviser{p: p, doc: doc, rng: rng, used: map[*resource]bool{}}
	steps := []func() error{
		v.renameShared, v.renameInline, v.removeProperty, v.retype,
		v.removeOperation, v.requireInput, v.addOperations, v.addProperties,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return v.out, nil
}

// pick draws a top-level resource no edit has used that ok accepts.
func (v *reviser) pick(what string, ok func(*resource) bool) (*resource, error) {
	var cands []*resource
	for _, r := range v.p.resources {
		if r.parent == nil && !v.used[r] && ok(r) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("no resource left to %s: the API is too small", what)
	}
	r := cands[v.rng.IntN(len(cands))]
	v.used[r] = true
	return r, nil
}

// renamable returns the names of the resource's top-level properties a
// rename can change: required (every response has them, so clients rely
// on them), set by clients, in lower camel case (snake case is the new
// name).
func renamable(r *resource) []string {
	var out []string
	for _, f := range r.fields {
		if f.required && !f.readOnly && snake(f.name) != f.name {
			out = append(out, f.name)
		}
	}
	return out
}

// removable returns the names of the resource's top-level required
// properties that clients set.
func removable(r *resource) []string {
	var out []string
	for _, f := range r.fields {
		if f.required && !f.readOnly {
			out = append(out, f.name)
		}
	}
	return out
}

// renameShared renames a property of a model kept in components: every
// operation that returns the model changes.
func (v *reviser) renameShared() error {
	r, err := v.pick("rename a shared property", func(r *resource) bool {
		return r.component && len(renamable(r)) > 0
	})
	if err != nil {
		return err
	}
	names := renamable(r)
	from := names[v.rng.IntN(len(names))]
	rename(v.doc.Components.Schemas[r.typeName].Value, from, snake(from))
	e := edit{kind: editRename, from: from, to: snake(from)}
	for _, k := range r.ops {
		if k != opDelete {
			e.ops = append(e.ops, opName(r, k))
		}
	}
	v.out = append(v.out, e)
	return nil
}

// renameInline renames a property in the responses of a resource's get
// and list.
func (v *reviser) renameInline() error {
	r, err := v.pick("rename an inline property", func(r *resource) bool {
		return !r.component && r.has(opGet) && len(renamable(r)) > 0
	})
	if err != nil {
		return err
	}
	names := renamable(r)
	from := names[v.rng.IntN(len(names))]
	e := edit{kind: editRename, from: from, to: snake(from)}
	for _, k := range []opKind{opGet, opList} {
		if !r.has(k) {
			continue
		}
		s, err := v.returned(r, k)
		if err != nil {
			return err
		}
		rename(s, from, snake(from))
		e.ops = append(e.ops, opName(r, k))
	}
	v.out = append(v.out, e)
	return nil
}

// removeProperty drops a required property from the response of a
// resource's get.
func (v *reviser) removeProperty() error {
	r, err := v.pick("remove a property", func(r *resource) bool {
		return !r.component && r.has(opGet) && len(removable(r)) > 0
	})
	if err != nil {
		return err
	}
	s, err := v.returned(r, opGet)
	if err != nil {
		return err
	}
	names := removable(r)
	name := names[v.rng.IntN(len(names))]
	delete(s.Properties, name)
	s.Required = without(s.Required, name)
	v.out = append(v.out, edit{kind: editRemoveProperty, ops: []string{opName(r, opGet)}, from: name})
	return nil
}

// retype makes a numeric property of a get's response a string.
func (v *reviser) retype() error {
	numeric := func(r *resource) []string {
		var out []string
		for _, f := range r.fields {
			if f.kind == kInt32 || f.kind == kInt64 || f.kind == kDouble || f.kind == kFloat {
				out = append(out, f.name)
			}
		}
		return out
	}
	r, err := v.pick("change a property's type", func(r *resource) bool {
		return !r.component && r.has(opGet) && len(numeric(r)) > 0
	})
	if err != nil {
		return err
	}
	s, err := v.returned(r, opGet)
	if err != nil {
		return err
	}
	names := numeric(r)
	name := names[v.rng.IntN(len(names))]
	old := s.Properties[name].Value
	now := openapi3.NewStringSchema().WithMaxLength(40)
	now.Description, now.Nullable = old.Description, old.Nullable
	s.Properties[name] = openapi3.NewSchemaRef("", now)
	v.out = append(v.out, edit{kind: editRetype, ops: []string{opName(r, opGet)}, from: name, to: name})
	return nil
}

// removeOperation deletes a resource's delete operation.
func (v *reviser) removeOperation() error {
	r, err := v.pick("remove an operation", func(r *resource) bool { return r.has(opDelete) })
	if err != nil {
		return err
	}
	item := v.doc.Paths.Value(r.item())
	item.SetOperation(http.MethodDelete, nil)
	if len(item.Operations()) == 0 {
		v.doc.Paths.Delete(r.item())
	}
	v.out = append(v.out, edit{kind: editRemoveOperation, ops: []string{opName(r, opDelete)}})
	return nil
}

// requireInput adds a required property to what a create takes (and a
// replace, when they share the schema).
func (v *reviser) requireInput() error {
	r, err := v.pick("add a required request property", func(r *resource) bool { return r.has(opCreate) })
	if err != nil {
		return err
	}
	const name = "tenantId"
	var s *openapi3.Schema
	e := edit{kind: editRequire, to: name, ops: []string{opName(r, opCreate)}}
	if r.component {
		s = v.doc.Components.Schemas[r.typeName+"Input"].Value
		if r.has(opReplace) {
			e.ops = append(e.ops, opName(r, opReplace))
		}
	} else {
		op := v.doc.Paths.Value(r.collection()).Post
		s = op.RequestBody.Value.Content.Get(jsonType).Schema.Value
	}
	s.Properties[name] = openapi3.NewSchemaRef("", openapi3.NewUUIDSchema())
	s.Required = append(s.Required, name)
	sort.Strings(s.Required)
	v.out = append(v.out, e)
	return nil
}

// addOperations adds archive, restore and history operations to a
// resource's items.
func (v *reviser) addOperations() error {
	r, err := v.pick("add operations", func(r *resource) bool { return r.has(opGet) })
	if err != nil {
		return err
	}
	b := &builder{p: v.p, doc: v.doc, refs: map[string]*openapi3.Schema{}}
	for name, s := range v.doc.Components.Schemas {
		b.refs[name] = s.Value
	}
	noun := words(r.noun)
	action := func(verb, summary string) *openapi3.Operation {
		op := openapi3.NewOperation()
		op.Tags, op.Summary, op.OperationID = []string{r.area}, summary, verb+r.typeName
		op.Parameters = v.pathParams(b, r)
		op.Responses = openapi3.NewResponses()
		op.Responses.Set("200", b.ok("The "+noun+" as it is now.", b.model(r)))
		op.Responses.Set("404", b.fail(r, http.StatusNotFound))
		return op
	}
	entry := b.object([]field{
		{name: "occurredAt", kind: kDateTime, required: true},
		{name: "actorId", kind: kUUID, required: true},
		{name: "action", kind: kEnum, enum: []string{"archived", "created", "restored", "updated"}, required: true},
		{name: "note", kind: kText},
	}, "entry", false, false)
	history := openapi3.NewOperation()
	history.Tags, history.Summary, history.OperationID = []string{r.area}, "List the history of "+article(noun)+" "+noun, "list"+r.typeName+"History"
	history.Parameters = v.pathParams(b, r)
	history.Responses = openapi3.NewResponses()
	history.Responses.Set("200", b.ok("What happened to the "+noun+", newest first.",
		openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: openapi3.NewSchemaRef("", entry)})))
	history.Responses.Set("404", b.fail(r, http.StatusNotFound))

	added := []struct {
		path, method string
		op           *openapi3.Operation
	}{
		{r.item() + "/archive", http.MethodPost, action("archive", "Archive "+article(noun)+" "+noun)},
		{r.item() + "/restore", http.MethodPost, action("restore", "Restore "+article(noun)+" "+noun)},
		{r.item() + "/history", http.MethodGet, history},
	}
	e := edit{kind: editAddOperation}
	for _, a := range added {
		item := &openapi3.PathItem{}
		item.SetOperation(a.method, a.op)
		v.doc.Paths.Set(a.path, item)
		e.ops = append(e.ops, a.method+" "+a.path)
	}
	v.out = append(v.out, e)
	return nil
}

// pathParams are the path parameters of r's items.
func (v *reviser) pathParams(b *builder, r *resource) openapi3.Parameters {
	var ps openapi3.Parameters
	if r.parent != nil {
		ps = append(ps, b.pathParam(r.parent))
	}
	return append(ps, b.pathParam(r))
}

// addProperties adds an optional property to the responses of four
// resources' gets.
func (v *reviser) addProperties() error {
	added := []struct {
		name   string
		schema func() *openapi3.Schema
	}{
		{"etag", func() *openapi3.Schema { return openapi3.NewStringSchema().WithMaxLength(200) }},
		{"archivedAt", func() *openapi3.Schema { s := openapi3.NewDateTimeSchema(); s.Nullable = true; return s }},
		{"revision", func() *openapi3.Schema { return openapi3.NewInt64Schema().WithMin(1) }},
		{"externalUrl", func() *openapi3.Schema { return openapi3.NewStringSchema().WithFormat("uri") }},
	}
	for _, a := range added {
		r, err := v.pick("add a property", func(r *resource) bool { return r.has(opGet) })
		if err != nil {
			return err
		}
		e := edit{kind: editAddProperty, to: a.name}
		var s *openapi3.Schema
		if r.component {
			s = v.doc.Components.Schemas[r.typeName].Value
			for _, k := range r.ops {
				if k != opDelete {
					e.ops = append(e.ops, opName(r, k))
				}
			}
		} else {
			if s, err = v.returned(r, opGet); err != nil {
				return err
			}
			e.ops = []string{opName(r, opGet)}
		}
		s.Properties[a.name] = openapi3.NewSchemaRef("", a.schema())
		v.out = append(v.out, e)
	}
	return nil
}

// returned is the inline model an operation of r returns: the response
// itself, or the items of a list's page.
func (v *reviser) returned(r *resource, k opKind) (*openapi3.Schema, error) {
	path := r.item()
	if k == opList {
		path = r.collection()
	}
	item := v.doc.Paths.Value(path)
	if item == nil {
		return nil, fmt.Errorf("no path %s", path)
	}
	op := item.GetOperation(methodOf(k))
	if op == nil {
		return nil, fmt.Errorf("no operation %s", opName(r, k))
	}
	resp := op.Responses.Value("200")
	if resp == nil || resp.Value == nil || resp.Value.Content.Get(jsonType) == nil {
		return nil, fmt.Errorf("%s returns no JSON", opName(r, k))
	}
	s := resp.Value.Content.Get(jsonType).Schema.Value
	if k == opList {
		s = s.Properties["data"].Value.Items.Value
	}
	return s, nil
}

// opName names an operation of r: "GET /billing/invoices/{invoiceId}".
func opName(r *resource, k opKind) string {
	path := r.item()
	if k < opGet {
		path = r.collection()
	}
	return methodOf(k) + " " + path
}

// rename moves a property to a new name, required or not as it was.
func rename(s *openapi3.Schema, from, to string) {
	s.Properties[to] = s.Properties[from]
	delete(s.Properties, from)
	for i, r := range s.Required {
		if r == from {
			s.Required[i] = to
		}
	}
	sort.Strings(s.Required)
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// describe lists the edits, one a line.
func describe(es []edit) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s→%s in %s\n", e.kind, e.from, e.to, strings.Join(e.ops, ", "))
	}
	return b.String()
}
