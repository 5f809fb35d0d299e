package infer_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/specgate/specgate/infer"
)

// scenario infers one recorded scenario, which must hold one service.
func scenario(t *testing.T, name string) *openapi3.T {
	t.Helper()
	exs, ok := traffic(t)[name]
	if !ok {
		t.Fatalf("no recorded scenario %q", name)
	}
	b := only(t, render(t, infer.Options{}, exs))
	checkValidSelfDiff(t, b)
	return loadDoc(t, b)
}

func pathList(doc *openapi3.T) []string {
	p := doc.Paths.InMatchingOrder()
	sort.Strings(p)
	return p
}

func methods(item *openapi3.PathItem) []string {
	var m []string
	for k := range item.Operations() {
		m = append(m, k)
	}
	sort.Strings(m)
	return m
}

func schemaOf(t *testing.T, op *openapi3.Operation, code, mt string) *openapi3.Schema {
	t.Helper()
	r := op.Responses.Value(code)
	if r == nil || r.Value == nil {
		t.Fatalf("no %s response", code)
	}
	c := r.Value.Content.Get(mt)
	if c == nil || c.Schema == nil || c.Schema.Value == nil {
		t.Fatalf("response %s has no %s schema", code, mt)
	}
	return c.Schema.Value
}

func is(s *openapi3.Schema, typ string) bool { return s != nil && s.Type != nil && s.Type.Is(typ) }

func prop(t *testing.T, s *openapi3.Schema, name string) *openapi3.Schema {
	t.Helper()
	p := s.Properties[name]
	if p == nil || p.Value == nil {
		t.Fatalf("no property %q (have %v)", name, keys(s.Properties))
	}
	return p.Value
}

func pathParam(t *testing.T, op *openapi3.Operation, name string) *openapi3.Schema {
	t.Helper()
	p := op.Parameters.GetByInAndName("path", name)
	if p == nil || p.Schema == nil {
		t.Fatalf("no path parameter %q", name)
	}
	if !p.Required {
		t.Errorf("path parameter %q not required", name)
	}
	return p.Schema.Value
}

// TestTodoAPI: the todo service's document, as a careful engineer would
// write it from the same traffic.
func TestTodoAPI(t *testing.T) {
	doc := scenario(t, "todos")
	if got, want := pathList(doc), []string{"/todos", "/todos/{todoId}"}; !slices.Equal(got, want) {
		t.Fatalf("paths %v, want %v", got, want)
	}
	if got := methods(doc.Paths.Value("/todos")); !slices.Equal(got, []string{"GET", "POST"}) {
		t.Errorf("/todos methods %v", got)
	}
	item := doc.Paths.Value("/todos/{todoId}")
	if got := methods(item); !slices.Equal(got, []string{"DELETE", "GET", "PUT"}) {
		t.Errorf("/todos/{todoId} methods %v", got)
	}
	for _, op := range item.Operations() {
		if s := pathParam(t, op, "todoId"); !is(s, "string") || s.Format != "uuid" {
			t.Errorf("todoId: type %v format %q, want a uuid string", s.Type, s.Format)
		}
	}

	todo := schemaOf(t, item.Get, "200", "application/json")
	if !is(todo, "object") {
		t.Fatalf("todo is %v", todo.Type)
	}
	req := append([]string(nil), todo.Required...)
	sort.Strings(req)
	if want := []string{"createdAt", "done", "id", "priority", "title", "updatedAt"}; !slices.Equal(req, want) {
		t.Errorf("required %v, want %v", req, want)
	}
	// The list saw todos before and after their first update; single GETs
	// here only fetched todos never updated, whose updatedAt was null.
	listed := schemaOf(t, doc.Paths.Value("/todos").Get, "200", "application/json")
	if !is(listed, "array") || listed.Items == nil {
		t.Fatalf("GET /todos: want an array")
	}
	if !prop(t, todo, "updatedAt").Nullable {
		t.Errorf("GET /todos/{todoId}: updatedAt is not nullable")
	}
	todo = listed.Items.Value
	for _, c := range []struct{ name, typ, format string }{
		{"id", "string", "uuid"},
		{"createdAt", "string", "date-time"},
		{"updatedAt", "string", "date-time"},
		{"due", "string", "date"},
		{"title", "string", ""},
		{"done", "boolean", ""},
		{"priority", "integer", "int32"},
	} {
		p := prop(t, todo, c.name)
		if !is(p, c.typ) || p.Format != c.format {
			t.Errorf("%s: type %v format %q, want %s %q", c.name, p.Type, p.Format, c.typ, c.format)
		}
	}
	if !prop(t, todo, "updatedAt").Nullable {
		t.Errorf("updatedAt is not nullable; the server sends null until the first update")
	}
	if prop(t, todo, "title").Nullable {
		t.Errorf("title is nullable; the server never sent null")
	}
	if tags := prop(t, todo, "tags"); !is(tags, "array") || tags.Items == nil || !is(tags.Items.Value, "string") {
		t.Errorf("tags: want an array of strings")
	}

	// A deleted todo was fetched: 404 is documented as an error response
	// of the templated operation, not as an operation of its own.
	if item.Get.Responses.Value("404") == nil {
		t.Errorf("GET /todos/{todoId} has no 404 response")
	}
	if d := item.Delete.Responses.Value("204"); d == nil || len(d.Value.Content) != 0 {
		t.Errorf("DELETE: want a 204 response without content")
	}

	post := doc.Paths.Value("/todos").Post
	if post.RequestBody == nil || !post.RequestBody.Value.Required {
		t.Fatalf("POST /todos: request body missing or optional")
	}
	body := post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if !slices.Contains(body.Required, "title") || slices.Contains(body.Required, "description") {
		t.Errorf("POST body required %v: want title required and description optional", body.Required)
	}
	for _, code := range []string{"201", "400"} {
		if post.Responses.Value(code) == nil {
			t.Errorf("POST /todos: no %s response", code)
		}
	}
	list := doc.Paths.Value("/todos").Get
	for _, q := range []string{"done", "limit"} {
		p := list.Parameters.GetByInAndName("query", q)
		if p == nil {
			t.Errorf("GET /todos: no query parameter %s", q)
		} else if p.Required {
			t.Errorf("GET /todos: %s required, but some requests had none", q)
		}
	}
	if list.Parameters.GetByInAndName("header", "Accept") != nil || list.Parameters.GetByInAndName("header", "Accept-Encoding") != nil {
		t.Errorf("standard headers are listed as parameters")
	}
}

// TestPathTemplates: ids, dates and slugs are templated; static siblings
// and names are not.
func TestPathTemplates(t *testing.T) {
	users := scenario(t, "users")
	if got, want := pathList(users), []string{"/users/me", "/users/{userId}", "/users/{userId}/orders", "/users/{userId}/orders/{orderId}"}; !slices.Equal(got, want) {
		t.Errorf("users: paths %v, want %v", got, want)
	}
	if op := users.Paths.Value("/users/{userId}/orders/{orderId}"); op != nil {
		if s := pathParam(t, op.Get, "orderId"); !is(s, "integer") {
			t.Errorf("orderId is %v, want integer", s.Type)
		}
		if s := pathParam(t, op.Get, "userId"); s.Format != "uuid" {
			t.Errorf("userId format %q, want uuid", s.Format)
		}
	}

	reports := scenario(t, "reports")
	if got := pathList(reports); !slices.Equal(got, []string{"/reports/{reportId}"}) {
		t.Errorf("reports: paths %v", got)
	} else if s := pathParam(t, reports.Paths.Value(got[0]).Get, "reportId"); s.Format != "date" {
		t.Errorf("reportId format %q, want date", s.Format)
	}

	articles := scenario(t, "articles")
	if got := pathList(articles); !slices.Equal(got, []string{"/articles/{articleId}"}) {
		t.Errorf("articles: paths %v", got)
	}

	misc := scenario(t, "misc")
	got := pathList(misc)
	for _, p := range []string{"/v1/health", "/v1/ready"} {
		if !slices.Contains(got, p) {
			t.Errorf("misc: %s missing from %v", p, got)
		}
	}
	for _, p := range got {
		if strings.HasPrefix(p, "/v1/{") {
			t.Errorf("misc: %s: names under /v1 templated", p)
		}
	}
}

// TestSecurityAndCallers: credentials become security schemes, by name
// only; callers are named.
func TestSecurityAndCallers(t *testing.T) {
	misc := scenario(t, "misc")
	users := scenario(t, "users")
	schemes := map[string]*openapi3.SecurityScheme{}
	for _, d := range []*openapi3.T{misc, users} {
		if d.Components == nil {
			continue
		}
		for n, s := range d.Components.SecuritySchemes {
			schemes[n] = s.Value
		}
	}
	for _, c := range []struct{ name, typ, in, key string }{
		{"bearerAuth", "http", "", ""},
		{"header.X-Api-Key", "apiKey", "header", "X-Api-Key"},
		{"cookie.session", "apiKey", "cookie", "session"},
	} {
		s := schemes[c.name]
		if s == nil {
			t.Errorf("no security scheme %s (have %v)", c.name, keys(schemes))
			continue
		}
		if s.Type != c.typ || s.In != c.in || s.Name != c.key {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
	me := users.Paths.Value("/users/me").Get
	if me.Security == nil || len(*me.Security) != 1 || (*me.Security)[0]["bearerAuth"] == nil {
		t.Errorf("/users/me security %v, want bearerAuth alone (the refused request without a token is not evidence that none is needed)", me.Security)
	}
	acct := misc.Paths.Value("/account")
	if acct == nil {
		t.Fatalf("misc: no /account")
	}
	if p := acct.Get.Parameters.GetByInAndName("cookie", "theme"); p == nil {
		t.Errorf("the theme cookie is not a cookie parameter")
	}
	if p := acct.Get.Parameters.GetByInAndName("cookie", "session"); p != nil {
		t.Errorf("the session cookie is a parameter; it is a credential")
	}

	callers := func(op *openapi3.Operation) []string {
		x, _ := op.Extensions["x-specgate"].(map[string]any)
		var out []string
		for _, c := range x["callers"].([]any) {
			out = append(out, c.(string))
		}
		return out
	}
	orders := users.Paths.Value("/users/{userId}/orders/{orderId}")
	if orders == nil {
		t.Fatal("no orders path")
	}
	if c := callers(orders.Get); !slices.Contains(c, "billing-service") {
		t.Errorf("orders callers %v, want billing-service among them", c)
	}
	if c := callers(users.Paths.Value("/users/{userId}").Get); !slices.Contains(c, "integration-tests") || slices.Contains(c, "billing-service") {
		t.Errorf("user callers %v, want integration-tests and not billing-service", c)
	}
	stats := misc.Paths.Value("/stats")
	if stats == nil {
		t.Fatal("misc: no /stats")
	}
	s := schemaOf(t, stats.Get, "200", "application/json")
	if len(s.Properties) != 0 || s.AdditionalProperties.Schema == nil {
		t.Errorf("/stats keyed by todo ids is not a map: %d properties", len(s.Properties))
	}
}
