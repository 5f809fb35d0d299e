package specgen

import (
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

const jsonType = "application/json"

// builder writes a plan as an OpenAPI document. Every call builds fresh
// values: a document's inline schemas share nothing, so a revision can
// change one operation without touching another.
type builder struct {
	p    *plan
	doc  *openapi3.T
	refs map[string]*openapi3.Schema // component schemas by name
}

// document writes the plan as an OpenAPI 3.0.3 document.
func (p *plan) document(version string) *openapi3.T {
	b := &builder{p: p, refs: map[string]*openapi3.Schema{}}
	b.doc = &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:       "Northwind Platform API",
			Description: "The public API of the Northwind platform: billing, catalog, identity, inventory, shipping and more.",
			Version:     version,
			Contact:     &openapi3.Contact{Name: "Platform team", Email: "platform@example.com"},
		},
		Servers: openapi3.Servers{
			{URL: "https://api.example.com/v1", Description: "Production"},
			{URL: "https://sandbox.api.example.com/v1", Description: "Sandbox"},
		},
		Security: openapi3.SecurityRequirements{{"bearerAuth": []string{}}},
		Paths:    openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:         openapi3.Schemas{},
			Responses:       openapi3.ResponseBodies{},
			Parameters:      openapi3.ParametersMap{},
			SecuritySchemes: openapi3.SecuritySchemes{},
		},
	}
	b.shared()
	tags := map[string]bool{}
	for _, r := range p.resources {
		if !tags[r.area] {
			tags[r.area] = true
			b.doc.Tags = append(b.doc.Tags, &openapi3.Tag{Name: r.area, Description: "Operations of the " + r.area + " service."})
		}
		if r.component {
			b.component(r.typeName, b.object(r.fields, r.noun, false, false))
			if r.has(opCreate) || r.has(opReplace) {
				b.component(r.typeName+"Input", b.object(r.fields, r.noun, true, false))
			}
		}
		for _, k := range r.ops {
			path := r.collection()
			if k >= opGet {
				path = r.item()
			}
			item := b.doc.Paths.Value(path)
			if item == nil {
				item = &openapi3.PathItem{}
				b.doc.Paths.Set(path, item)
			}
			item.SetOperation(methodOf(k), b.operation(r, k))
		}
	}
	return b.doc
}

// shared writes the components every resource may use: schemas,
// responses, parameters and security schemes.
func (b *builder) shared() {
	str := func(max uint64) *openapi3.SchemaRef {
		s := openapi3.NewStringSchema()
		s.MaxLength = &max
		return openapi3.NewSchemaRef("", s)
	}
	obj := func(required []string, props openapi3.Schemas) *openapi3.Schema {
		s := openapi3.NewObjectSchema()
		s.Properties, s.Required = props, required
		return s
	}
	country := str(2).Value
	country.Pattern = "^[A-Z]{2}$"
	country.Example = "DE"
	b.component("Address", obj([]string{"city", "countryCode", "line1"}, openapi3.Schemas{
		"line1":       str(200),
		"line2":       str(200),
		"city":        str(100),
		"region":      str(100),
		"postalCode":  str(20),
		"countryCode": openapi3.NewSchemaRef("", country),
	}))
	currency := openapi3.NewStringSchema()
	currency.Enum = anys(currencies)
	b.component("Money", obj([]string{"amount", "currency"}, openapi3.Schemas{
		"amount":   openapi3.NewSchemaRef("", openapi3.NewFloat64Schema().WithFormat("double")),
		"currency": openapi3.NewSchemaRef("", currency),
	}))
	b.component("AuditInfo", obj([]string{"createdAt", "createdBy"}, openapi3.Schemas{
		"createdAt": openapi3.NewSchemaRef("", openapi3.NewDateTimeSchema()),
		"createdBy": openapi3.NewSchemaRef("", openapi3.NewUUIDSchema()),
		"updatedAt": openapi3.NewSchemaRef("", openapi3.NewDateTimeSchema()),
		"updatedBy": openapi3.NewSchemaRef("", openapi3.NewUUIDSchema()),
	}))
	b.component("PageInfo", obj([]string{"hasMore"}, openapi3.Schemas{
		"nextCursor": str(200),
		"hasMore":    openapi3.NewSchemaRef("", openapi3.NewBoolSchema()),
		"totalCount": openapi3.NewSchemaRef("", openapi3.NewInt64Schema().WithMin(0)),
	}))
	b.component("ErrorDetail", obj([]string{"field", "reason"}, openapi3.Schemas{
		"field":  str(200),
		"reason": str(500),
	}))
	code := openapi3.NewStringSchema()
	code.Enum = anys([]string{"conflict", "invalid_request", "not_found", "rate_limited", "unauthorized"})
	b.component("Error", obj([]string{"code", "message"}, openapi3.Schemas{
		"code":      openapi3.NewSchemaRef("", code),
		"message":   str(1000),
		"requestId": openapi3.NewSchemaRef("", openapi3.NewUUIDSchema()),
		"details":   openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: b.ref("ErrorDetail")}),
	}))

	b.doc.Components.Responses["BadRequest"] = &openapi3.ResponseRef{Value: b.errorResponse(http.StatusBadRequest)}
	b.doc.Components.Responses["NotFound"] = &openapi3.ResponseRef{Value: b.errorResponse(http.StatusNotFound)}
	b.doc.Components.Parameters["Limit"] = &openapi3.ParameterRef{Value: b.limit()}
	b.doc.Components.Parameters["Cursor"] = &openapi3.ParameterRef{Value: b.cursor()}
	b.doc.Components.Parameters["RequestId"] = &openapi3.ParameterRef{Value: b.requestID()}

	scopes := map[string]string{}
	for _, r := range b.p.resources {
		scopes[r.area+":read"] = "Read " + r.area + " data."
		scopes[r.area+":write"] = "Change " + r.area + " data."
	}
	b.doc.Components.SecuritySchemes["bearerAuth"] = &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme()}
	b.doc.Components.SecuritySchemes["apiKeyAuth"] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
		Type: "apiKey", In: "header", Name: "X-API-Key", Description: "A key issued in the dashboard.",
	}}
	b.doc.Components.SecuritySchemes["oauth2"] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
		Type: "oauth2",
		Flows: &openapi3.OAuthFlows{ClientCredentials: &openapi3.OAuthFlow{
			TokenURL: "https://auth.example.com/oauth/token", Scopes: scopes,
		}},
	}}
}

// component adds a schema to components/schemas.
func (b *builder) component(name string, s *openapi3.Schema) {
	b.refs[name] = s
	b.doc.Components.Schemas[name] = openapi3.NewSchemaRef("", s)
}

// ref refers to a component schema.
func (b *builder) ref(name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, b.refs[name])
}

func (b *builder) errorResponse(status int) *openapi3.Response {
	desc := "The request is invalid."
	if status == http.StatusNotFound {
		desc = "The resource does not exist."
	}
	return openapi3.NewResponse().WithDescription(desc).WithContent(openapi3.NewContentWithJSONSchemaRef(b.ref("Error")))
}

func (b *builder) limit() *openapi3.Parameter {
	s := openapi3.NewInt32Schema().WithMin(1).WithMax(200)
	s.Default = 20
	return openapi3.NewQueryParameter("limit").WithSchema(s).WithDescription("The largest number of items to return.")
}

func (b *builder) cursor() *openapi3.Parameter {
	return openapi3.NewQueryParameter("cursor").WithSchema(openapi3.NewStringSchema().WithMaxLength(200)).
		WithDescription("Where the page starts: the nextCursor of the previous page.")
}

func (b *builder) requestID() *openapi3.Parameter {
	return openapi3.NewHeaderParameter("X-Request-Id").WithSchema(openapi3.NewUUIDSchema()).
		WithDescription("Identifies the request in logs.")
}

// object builds the schema of fields: the model, or the input of a
// create or replace (input), or of a partial update (patch).
func (b *builder) object(fields []field, owner string, input, patch bool) *openapi3.Schema {
	s := openapi3.NewObjectSchema()
	s.Properties = openapi3.Schemas{}
	for _, f := range fields {
		if input && f.readOnly {
			continue
		}
		s.Properties[f.name] = b.property(f, owner, input)
		if f.required && !patch {
			s.Required = append(s.Required, f.name)
		}
	}
	sort.Strings(s.Required)
	return s
}

// property builds the schema of one field.
func (b *builder) property(f field, owner string, input bool) *openapi3.SchemaRef {
	var s *openapi3.Schema
	switch f.kind {
	case kRef:
		return b.ref(f.ref)
	case kString:
		s = openapi3.NewStringSchema().WithMaxLength(200)
		switch f.name {
		case "countryCode":
			s.Pattern, s.MaxLength = "^[A-Z]{2}$", nil
		case "phoneNumber":
			s.Pattern, s.MaxLength = `^\+?[0-9 ()-]{7,20}$`, nil
		}
	case kText:
		s = openapi3.NewStringSchema().WithMaxLength(4000)
	case kEnum:
		s = openapi3.NewStringSchema()
		s.Enum = anys(f.enum)
		if f.example {
			s.Example = f.enum[0]
		}
	case kDateTime:
		s = openapi3.NewDateTimeSchema()
		if f.example {
			s.Example = "2024-05-14T09:00:00Z"
		}
	case kDate:
		s = openapi3.NewStringSchema().WithFormat("date")
		if f.example {
			s.Example = "2024-05-14"
		}
	case kEmail:
		s = openapi3.NewStringSchema().WithFormat("email")
		if f.example {
			s.Example = "jane.doe@example.com"
		}
	case kURI:
		s = openapi3.NewStringSchema().WithFormat("uri")
		if f.example {
			s.Example = "https://example.com/" + owner
		}
	case kUUID:
		s = openapi3.NewUUIDSchema()
		if f.example {
			s.Example = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		}
	case kInt32:
		s = openapi3.NewInt32Schema().WithMin(0)
		if f.example {
			s.Example = 3
		}
	case kInt64:
		s = openapi3.NewInt64Schema().WithMin(0)
	case kDouble:
		s = openapi3.NewFloat64Schema().WithFormat("double")
	case kFloat:
		s = openapi3.NewFloat64Schema().WithFormat("float").WithMin(0).WithMax(100)
	case kBool:
		s = openapi3.NewBoolSchema()
	case kStrings:
		s = openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema().WithMaxLength(64)).WithMaxItems(50)
		s.UniqueItems = true
	case kMap:
		s = openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewStringSchema().WithMaxLength(500))
	case kObject:
		s = b.object(f.sub, f.name, input, false)
	case kObjects:
		s = openapi3.NewArraySchema().WithItems(b.object(f.sub, f.name, input, false)).WithMaxItems(100)
	}
	s.Nullable = f.nullable
	if f.readOnly {
		s.ReadOnly = true
	}
	if f.desc {
		s.Description = "The " + words(f.name) + " of the " + words(owner) + "."
	}
	return openapi3.NewSchemaRef("", s)
}

// model is the resource as responses carry it.
func (b *builder) model(r *resource) *openapi3.SchemaRef {
	if r.component {
		return b.ref(r.typeName)
	}
	return openapi3.NewSchemaRef("", b.object(r.fields, r.noun, false, false))
}

// input is what a create or replace takes, or a partial update (patch).
func (b *builder) input(r *resource, patch bool) *openapi3.SchemaRef {
	if r.component && !patch {
		return b.ref(r.typeName + "Input")
	}
	return openapi3.NewSchemaRef("", b.object(r.fields, r.noun, true, patch))
}

func methodOf(k opKind) string {
	return [...]string{http.MethodGet, http.MethodPost, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete}[k]
}

// operation builds one operation of a resource.
func (b *builder) operation(r *resource, k opKind) *openapi3.Operation {
	op := openapi3.NewOperation()
	op.Tags = []string{r.area}
	noun := words(r.noun)
	switch k {
	case opList:
		op.OperationID, op.Summary = "list"+r.typeName+"s", "List "+plural(noun)
	case opCreate:
		op.OperationID, op.Summary = "create"+r.typeName, "Create "+article(noun)+" "+noun
	case opGet:
		op.OperationID, op.Summary = "get"+r.typeName, "Get "+article(noun)+" "+noun
	case opReplace:
		op.OperationID, op.Summary = "replace"+r.typeName, "Replace "+article(noun)+" "+noun
	case opUpdate:
		op.OperationID, op.Summary = "update"+r.typeName, "Update "+article(noun)+" "+noun
	case opDelete:
		op.OperationID, op.Summary = "delete"+r.typeName, "Delete "+article(noun)+" "+noun
	}
	if r.parent != nil {
		op.Parameters = append(op.Parameters, b.pathParam(r.parent))
	}
	if k >= opGet {
		op.Parameters = append(op.Parameters, b.pathParam(r))
	}
	switch k {
	case opList:
		op.Parameters = append(op.Parameters, b.param(r, "Limit", b.limit), b.param(r, "Cursor", b.cursor))
		sortBy := openapi3.NewStringSchema()
		sortBy.Enum = anys([]string{"-createdAt", "-updatedAt", "createdAt", "updatedAt"})
		sortBy.Default = "-createdAt"
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter("sort").WithSchema(sortBy)})
		for _, f := range r.filters {
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: b.filter(r, f)})
		}
	case opCreate:
		key := openapi3.NewHeaderParameter("Idempotency-Key").WithSchema(openapi3.NewStringSchema().WithMaxLength(64)).
			WithDescription("Makes a retried request safe: the same key creates one " + noun + ".")
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: key})
	case opReplace, opUpdate:
		match := openapi3.NewHeaderParameter("If-Match").WithSchema(openapi3.NewStringSchema().WithMaxLength(200))
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: match})
	}
	if r.requestID {
		op.Parameters = append(op.Parameters, b.param(r, "RequestId", b.requestID))
	}
	switch k {
	case opCreate, opReplace, opUpdate:
		body := openapi3.NewRequestBody().WithRequired(true).
			WithContent(openapi3.NewContentWithJSONSchemaRef(b.input(r, k == opUpdate)))
		op.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}

	op.Responses = openapi3.NewResponses()
	switch k {
	case opList:
		page := openapi3.NewObjectSchema()
		page.Properties = openapi3.Schemas{
			"data": openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: b.model(r)}),
			"page": b.ref("PageInfo"),
		}
		page.Required = []string{"data", "page"}
		op.Responses.Set("200", b.ok("A page of "+plural(noun)+".", openapi3.NewSchemaRef("", page)))
		op.Responses.Set("400", b.fail(r, http.StatusBadRequest))
	case opCreate:
		created := b.ok("The created "+noun+".", b.model(r))
		created.Value.Headers = openapi3.Headers{"Location": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "The new " + noun + "'s URL.",
			Schema:      openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithFormat("uri")),
		}}}}
		op.Responses.Set("201", created)
		op.Responses.Set("400", b.fail(r, http.StatusBadRequest))
		if r.parent != nil {
			op.Responses.Set("404", b.fail(r, http.StatusNotFound))
		}
	case opGet:
		op.Responses.Set("200", b.ok("The "+noun+".", b.model(r)))
		op.Responses.Set("404", b.fail(r, http.StatusNotFound))
	case opReplace, opUpdate:
		op.Responses.Set("200", b.ok("The "+noun+" as it is now.", b.model(r)))
		op.Responses.Set("400", b.fail(r, http.StatusBadRequest))
		op.Responses.Set("404", b.fail(r, http.StatusNotFound))
	case opDelete:
		op.Responses.Set("204", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The " + noun + " is gone.")})
		op.Responses.Set("404", b.fail(r, http.StatusNotFound))
	}

	switch r.security {
	case 1:
		op.Security = &openapi3.SecurityRequirements{{"apiKeyAuth": []string{}}}
	case 2:
		scope := r.area + ":read"
		if k != opList && k != opGet {
			scope = r.area + ":write"
		}
		op.Security = &openapi3.SecurityRequirements{{"oauth2": []string{scope}}}
	}
	return op
}

// pathParam is the item parameter of r.
func (b *builder) pathParam(r *resource) *openapi3.ParameterRef {
	var s *openapi3.Schema
	if r.intID {
		s = openapi3.NewInt64Schema().WithMin(1)
	} else {
		s = openapi3.NewUUIDSchema()
	}
	return &openapi3.ParameterRef{Value: openapi3.NewPathParameter(r.param()).WithSchema(s)}
}

// param is a shared parameter, by $ref when the resource uses them so.
func (b *builder) param(r *resource, name string, inline func() *openapi3.Parameter) *openapi3.ParameterRef {
	if r.sharedErr {
		return &openapi3.ParameterRef{Ref: "#/components/parameters/" + name, Value: b.doc.Components.Parameters[name].Value}
	}
	return &openapi3.ParameterRef{Value: inline()}
}

// filter is a query parameter of a list.
func (b *builder) filter(r *resource, name string) *openapi3.Parameter {
	p := openapi3.NewQueryParameter(name)
	switch name {
	case "createdAfter":
		return p.WithSchema(openapi3.NewDateTimeSchema()).WithDescription("Only " + plural(words(r.noun)) + " created after this time.")
	case "q":
		return p.WithSchema(openapi3.NewStringSchema().WithMaxLength(200)).WithDescription("Words to search for.")
	}
	s := openapi3.NewStringSchema()
	for _, f := range r.fields {
		if f.name == name {
			s.Enum = anys(f.enum)
		}
	}
	return p.WithSchema(s)
}

// ok is a success response carrying schema as JSON.
func (b *builder) ok(desc string, schema *openapi3.SchemaRef) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).
		WithContent(openapi3.NewContentWithJSONSchemaRef(schema))}
}

// fail is an error response, by $ref when the resource uses them so.
func (b *builder) fail(r *resource, status int) *openapi3.ResponseRef {
	name := "BadRequest"
	if status == http.StatusNotFound {
		name = "NotFound"
	}
	if r.sharedErr {
		return &openapi3.ResponseRef{Ref: "#/components/responses/" + name, Value: b.doc.Components.Responses[name].Value}
	}
	return &openapi3.ResponseRef{Value: b.errorResponse(status)}
}

// article is the indefinite article before a noun.
func article(noun string) string {
	switch noun[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an"
	}
	return "a"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
