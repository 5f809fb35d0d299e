package infer_test

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/infer"
)

// ex builds an exchange to api.test.
func ex(method, target string, status int, reqHeader ...string) *capture.Exchange {
	e := &capture.Exchange{
		Request:  capture.Request{Method: method, Target: target, Host: "api.test", Proto: "HTTP/1.1"},
		Response: capture.Response{Proto: "HTTP/1.1", Status: status},
		Client:   netip.MustParseAddrPort("10.0.0.9:40000"),
		Server:   netip.MustParseAddrPort("10.0.0.1:80"),
	}
	for i := 0; i+1 < len(reqHeader); i += 2 {
		e.Request.Header = append(e.Request.Header, capture.Field{Name: reqHeader[i], Value: reqHeader[i+1]})
	}
	return e
}

func withBody(e *capture.Exchange, resp bool, body string) *capture.Exchange {
	if resp {
		e.Response.Header = append(e.Response.Header, capture.Field{Name: "Content-Type", Value: "application/json"})
		e.Response.Body = []byte(body)
	} else {
		e.Request.Header = append(e.Request.Header, capture.Field{Name: "Content-Type", Value: "application/json"})
		e.Request.Body = []byte(body)
	}
	return e
}

func infer1(t *testing.T, exs ...*capture.Exchange) []byte {
	t.Helper()
	return only(t, render(t, infer.Options{}, exs))
}

// TestUnrouted: an operation only ever answered 404 or 405 is not
// invented, but it is kept so that merges stay exact.
func TestUnrouted(t *testing.T) {
	exs := []*capture.Exchange{
		ex("GET", "/todos", 200), ex("GET", "/nope", 404), ex("GET", "/nope", 404),
		ex("DELETE", "/todos", 405), ex("GET", "/todos/42", 404), ex("GET", "/todos/43", 200),
	}
	b := infer1(t, exs...)
	doc := loadDoc(t, b)
	if got := pathList(doc); !slices.Equal(got, []string{"/todos", "/todos/{todoId}"}) {
		t.Errorf("paths %v", got)
	}
	if doc.Paths.Value("/todos").Delete != nil {
		t.Errorf("DELETE /todos, answered 405 only, is an operation")
	}
	if doc.Paths.Value("/todos/{todoId}").Get.Responses.Value("404") == nil {
		t.Errorf("a 404 of an operation that exists is not documented")
	}
	if !strings.Contains(string(b), "unrouted:") || !strings.Contains(string(b), "/nope:") {
		t.Errorf("the refused operations are not kept for merging:\n%s", b)
	}
	// /nope answered 200 in another shard: merged, it is an operation.
	merged := only(t, render(t, infer.Options{}, []*capture.Exchange{ex("GET", "/nope", 200)}, b))
	together := infer1(t, append(exs, ex("GET", "/nope", 200))...)
	if string(merged) != string(together) {
		t.Errorf("merged differs from together:\n%s", firstDiff(string(together), string(merged)))
	}
	if !slices.Contains(pathList(loadDoc(t, merged)), "/nope") {
		t.Errorf("/nope missing after a 200")
	}
}

// TestParametersAndSecurity: required when every accepted request had
// it; refused requests (4xx) say nothing of what an operation takes;
// credentials are security schemes, not parameters.
func TestParametersAndSecurity(t *testing.T) {
	var exs []*capture.Exchange
	for i := 0; i < 4; i++ {
		e := ex("GET", "/items?limit=5&access_token=REDACTED&page="+strconv.Itoa(i), 200,
			"X-Tenant", "acme", "Accept", "application/json", "Traceparent", "00-abc", "X-Api-Key", "REDACTED")
		if i%2 == 0 {
			e.Request.Header = append(e.Request.Header, capture.Field{Name: "X-Debug", Value: "1"})
		}
		exs = append(exs, e)
	}
	exs = append(exs, ex("GET", "/items?bogus=1", 400)) // refused: no limit, no tenant, no credentials
	exs = append(exs, ex("GET", "/items", 401))
	doc := loadDoc(t, infer1(t, exs...))
	op := doc.Paths.Value("/items").Get
	for _, c := range []struct {
		in, name string
		required bool
	}{{"query", "limit", true}, {"query", "page", true}, {"header", "X-Tenant", true}, {"header", "X-Debug", false}} {
		p := op.Parameters.GetByInAndName(c.in, c.name)
		if p == nil {
			t.Errorf("no %s parameter %s", c.in, c.name)
		} else if p.Required != c.required {
			t.Errorf("%s %s required=%v, want %v", c.in, c.name, p.Required, c.required)
		}
	}
	for _, c := range [][2]string{{"query", "bogus"}, {"query", "access_token"}, {"header", "Accept"}, {"header", "Traceparent"}, {"header", "X-Api-Key"}} {
		if op.Parameters.GetByInAndName(c[0], c[1]) != nil {
			t.Errorf("%s %s is a parameter", c[0], c[1])
		}
	}
	if op.Security == nil || len(*op.Security) != 1 {
		t.Fatalf("security %v: want one requirement (the refused requests without credentials do not make it optional)", op.Security)
	}
	req := (*op.Security)[0]
	if _, ok := req["query.access_token"]; !ok {
		t.Errorf("requirement %v lacks query.access_token", req)
	}
	if _, ok := req["header.X-Api-Key"]; !ok {
		t.Errorf("requirement %v lacks header.X-Api-Key", req)
	}
	if op.Responses.Value("400") == nil || op.Responses.Value("401") == nil {
		t.Errorf("error responses not documented")
	}
}

// TestOptionalSecurity: an operation answered both with and without
// credentials lists the empty requirement too.
func TestOptionalSecurity(t *testing.T) {
	doc := loadDoc(t, infer1(t, ex("GET", "/feed", 200, "Authorization", "Bearer REDACTED"), ex("GET", "/feed", 200)))
	s := doc.Paths.Value("/feed").Get.Security
	if s == nil || len(*s) != 2 || len((*s)[0]) != 0 {
		t.Errorf("security %v, want [{} {bearerAuth}]", s)
	}
}

// TestTypeConflict: a property seen with two types keeps both.
func TestTypeConflict(t *testing.T) {
	doc := loadDoc(t, infer1(t,
		withBody(ex("GET", "/a", 200), true, `{"v":1}`),
		withBody(ex("GET", "/a", 200), true, `{"v":"one"}`)))
	v := schemaOf(t, doc.Paths.Value("/a").Get, "200", "application/json").Properties["v"].Value
	if len(v.OneOf) != 2 || !is(v.OneOf[0].Value, "integer") && !is(v.OneOf[1].Value, "integer") {
		t.Errorf("v: want oneOf integer and string, got %+v", v)
	}
}

// TestCallersBounded: at most 32 callers, the first in byte order, and a
// flag for more; merges keep the same set.
func TestCallersBounded(t *testing.T) {
	var exs []*capture.Exchange
	for i := 0; i < 40; i++ {
		exs = append(exs, ex("GET", "/x", 200, "User-Agent", "svc-"+strconv.Itoa(100+i)+"/1.0"))
	}
	exs = append(exs, ex("GET", "/x", 200, "User-Agent", "Go-http-client/1.1"))
	doc := loadDoc(t, infer1(t, exs...))
	x := doc.Paths.Value("/x").Get.Extensions["x-specgate"].(map[string]any)
	callers := x["callers"].([]any)
	if len(callers) != 32 || callers[0] != "10.0.0.9" || callers[1] != "svc-100" || x["moreCallers"] != true {
		t.Errorf("callers %v (more %v): want 32, the client address for the generic agent first, and more", callers, x["moreCallers"])
	}
}

func TestFileNames(t *testing.T) {
	got := infer.FileNames([]string{"api.example.com:8080", "API.example.com:8080", "con", "10.0.0.1:80", "a/b\\c", "default/todo-service", "/x"}, ".yaml")
	if got["10.0.0.1:80"] != "10.0.0.1_80.yaml" || got["con"] != "_con.yaml" || got["a/b\\c"] != "a.b_c.yaml" ||
		got["default/todo-service"] != "default.todo-service.yaml" || got["/x"] != "_x.yaml" {
		t.Errorf("names %v", got)
	}
	if a, b := got["api.example.com:8080"], got["API.example.com:8080"]; a == b || !strings.HasPrefix(a, "api.example.com_8080-") {
		t.Errorf("names that differ only in case must not share a file: %q %q", a, b)
	}
}

// TestMediaTypes: JSON and form bodies get schemas; text, binary and
// multipart bodies are described by their media type.
func TestMediaTypes(t *testing.T) {
	body := func(e *capture.Exchange, ct, b string) *capture.Exchange {
		e.Request.Header = append(e.Request.Header, capture.Field{Name: "Content-Type", Value: ct})
		e.Request.Body = []byte(b)
		return e
	}
	doc := loadDoc(t, infer1(t,
		body(ex("POST", "/form", 200), "application/x-www-form-urlencoded", "name=ada&age=36"),
		body(ex("POST", "/text", 200), "text/plain; charset=utf-8", "hello"),
		body(ex("POST", "/bin", 200), "image/png", "\x89PNG"),
		body(ex("POST", "/multi", 200), "multipart/form-data; boundary=x", "--x--"),
		body(ex("POST", "/json", 200), "application/problem+json", `{"a":1}`)))
	get := func(p, mt string) *openapi3.Schema {
		t.Helper()
		rb := doc.Paths.Value(p).Post.RequestBody
		if rb == nil || rb.Value.Content.Get(mt) == nil {
			t.Fatalf("%s: no %s request body", p, mt)
		}
		return rb.Value.Content.Get(mt).Schema.Value
	}
	if s := get("/form", "application/x-www-form-urlencoded"); !is(s, "object") || !is(s.Properties["age"].Value, "integer") {
		t.Errorf("form: %+v", s)
	}
	if s := get("/text", "text/plain"); !is(s, "string") || s.Format != "" {
		t.Errorf("text: %+v", s)
	}
	if s := get("/bin", "image/png"); !is(s, "string") || s.Format != "binary" {
		t.Errorf("binary: %+v", s)
	}
	if s := get("/multi", "multipart/form-data"); !is(s, "object") {
		t.Errorf("multipart: %+v", s)
	}
	if s := get("/json", "application/problem+json"); !is(s, "object") || s.Properties["a"] == nil {
		t.Errorf("+json: %+v", s)
	}
}

// TestPlatformNames: a service and caller named by a resolver (Kubernetes)
// win over the Host and the User-Agent, and addresses the cluster
// allocates (ClusterIPs, node IPs) do not become servers; host names do.
func TestPlatformNames(t *testing.T) {
	named := func(host, caller string) *capture.Exchange {
		e := ex("GET", "/stats", 200, "User-Agent", "Go-http-client/1.1")
		e.Request.Host, e.Service, e.Caller = host, "default/stats-service", caller
		return e
	}
	b := infer1(t, named("10.96.0.20", "default/todo"), named("172.18.0.2:30081", ""),
		named("stats-service.default.svc:8081", "default/todo"))
	doc := loadDoc(t, b)
	if doc.Info.Title != "default/stats-service" {
		t.Errorf("title %q, want the platform's name", doc.Info.Title)
	}
	var servers []string
	for _, s := range doc.Servers {
		servers = append(servers, s.URL)
	}
	if len(servers) != 1 || servers[0] != "http://stats-service.default.svc:8081" {
		t.Errorf("servers %v, want only the host name", servers)
	}
	x := doc.Paths.Value("/stats").Get.Extensions["x-specgate"].(map[string]any)
	if c := x["callers"].([]any); len(c) != 2 || c[0] != "10.0.0.9" || c[1] != "default/todo" {
		t.Errorf("callers %v, want the workload, and the address where no workload was known", c)
	}
}
