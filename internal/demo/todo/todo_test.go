package todo

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/demo/stats"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// answer is a response: status, headers and the JSON body (nil if none).
type answer struct {
	status int
	header http.Header
	body   any
	raw    string
}

// call sends one request with a bearer token to h.
func call(t *testing.T, h http.Handler, method, path, body string) answer {
	t.Helper()
	return callAuth(t, h, method, path, body, "Bearer t0k3n")
}

func callAuth(t *testing.T, h http.Handler, method, path, body, auth string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v: %q", method, path, err, rec.Body)
		}
	}
	return a
}

func object(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %#v", v)
	}
	return m
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// wantError checks a refusal: its status and its {"error": "..."} body.
func wantError(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d: %s", a.status, status, a.raw)
		return
	}
	m, ok := a.body.(map[string]any)
	if msg, _ := m["error"].(string); !ok || msg == "" || len(m) != 1 {
		t.Errorf("status %d body %s, want {\"error\": message}", status, a.raw)
	}
}

func newService(t *testing.T, name string) http.Handler {
	t.Helper()
	v, ok := Lookup(name)
	if !ok {
		t.Fatalf("no version %s", name)
	}
	return New(Config{Version: v, Log: log.New(io.Discard, "", 0)})
}

// TestWireFields pins the exact JSON of a todo in every version: the names,
// the types, and which are there.
func TestWireFields(t *testing.T) {
	base := []string{"createdAt", "done", "id", "priority", "tags", "title"}
	with := func(extra ...string) []string {
		return slices.Sorted(slices.Values(append(slices.Clone(base), extra...)))
	}
	without := func(name string, extra ...string) []string {
		return slices.DeleteFunc(with(extra...), func(k string) bool { return k == name })
	}
	for _, tc := range []struct {
		version  string
		body     string
		keys     []string
		desc     string // the description field
		priority any
	}{
		{"v1", `{"title":"buy milk","descripton":"two litres","priority":3,"tags":["home"]}`, with("descripton"), "descripton", 3.0},
		{"v2", `{"title":"buy milk","description":"two litres","priority":3,"tags":["home"]}`, with("description"), "description", 3.0},
		{"v3", `{"title":"buy milk","descripton":"two litres","priority":3,"tags":["home"]}`, with("descripton"), "descripton", 3.0},
		{"v1-removed-field", `{"title":"buy milk","descripton":"two litres","priority":3,"tags":["home"]}`, without("priority", "descripton"), "descripton", nil},
		{"v1-type-change", `{"title":"buy milk","descripton":"two litres","priority":3,"tags":["home"]}`, with("descripton"), "descripton", "high"},
		{"v1-new-required", `{"title":"buy milk","descripton":"two litres","priority":3,"tags":["home"],"owner":"ada"}`, with("descripton", "owner"), "descripton", 3.0},
		{"v1-removed-op", `{"title":"buy milk","descripton":"two litres","priority":3,"tags":["home"]}`, with("descripton"), "descripton", 3.0},
	} {
		t.Run(tc.version, func(t *testing.T) {
			h := newService(t, tc.version)
			a := call(t, h, "POST", "/todos", tc.body)
			if a.status != http.StatusCreated {
				t.Fatalf("POST /todos: %d %s", a.status, a.raw)
			}
			created := object(t, a.body)
			id, _ := created["id"].(string)
			if !uuidV4.MatchString(id) || a.header.Get("Location") != "/todos/"+id {
				t.Errorf("id %q, Location %q", id, a.header.Get("Location"))
			}
			one := object(t, call(t, h, "GET", "/todos/"+id, "").body)
			list, _ := call(t, h, "GET", "/todos", "").body.([]any)
			if len(list) != 1 {
				t.Fatalf("GET /todos: %v", list)
			}
			for what, got := range map[string]map[string]any{"POST": created, "GET one": one, "GET list": object(t, list[0])} {
				if !slices.Equal(keys(got), tc.keys) {
					t.Errorf("%s: fields %v, want %v", what, keys(got), tc.keys)
				}
				if got[tc.desc] != "two litres" || got["title"] != "buy milk" || got["done"] != false ||
					got["priority"] != tc.priority || !slices.Equal(got["tags"].([]any), []any{"home"}) {
					t.Errorf("%s: %v", what, got)
				}
				if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(got["createdAt"].(string)) {
					t.Errorf("%s: createdAt %v, want RFC 3339 UTC with milliseconds", what, got["createdAt"])
				}
			}
		})
	}
}

// TestV1Todo pins the exact bytes of a v1 todo, with and without the
// optional fields: the description is always there, tags only when set.
func TestV1Todo(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))
	h := New(Config{Now: func() time.Time { return now }, Log: log.New(io.Discard, "", 0)})
	a := call(t, h, "POST", "/todos", `{"title":"water the plants","descripton":"the ferns first","priority":1,"tags":["home","garden"]}`)
	id := object(t, a.body)["id"].(string)
	want := `{"id":"` + id + `","title":"water the plants","descripton":"the ferns first","done":false,"priority":1,"createdAt":"2024-03-01T11:30:45.123Z","tags":["home","garden"]}` + "\n"
	if a.raw != want {
		t.Errorf("v1 todo:\n got %s\nwant %s", a.raw, want)
	}
	a = call(t, h, "POST", "/todos", `{"title":"call mum"}`)
	id = object(t, a.body)["id"].(string)
	want = `{"id":"` + id + `","title":"call mum","descripton":"","done":false,"priority":2,"createdAt":"2024-03-01T11:30:45.123Z"}` + "\n"
	if a.raw != want {
		t.Errorf("v1 todo with defaults:\n got %s\nwant %s", a.raw, want)
	}
}

func TestRoutes(t *testing.T) {
	for _, tc := range []struct {
		version      string
		clear, put   int // status of DELETE /todos and PUT /todos/{id} on a todo
		clearDeleted bool
	}{
		{"v1", http.StatusMethodNotAllowed, http.StatusOK, false},
		{"v2", http.StatusMethodNotAllowed, http.StatusOK, false},
		{"v3", http.StatusOK, http.StatusOK, true},
		{"v1-removed-field", http.StatusMethodNotAllowed, http.StatusOK, false},
		{"v1-type-change", http.StatusMethodNotAllowed, http.StatusOK, false},
		{"v1-new-required", http.StatusMethodNotAllowed, http.StatusOK, false},
		{"v1-removed-op", http.StatusMethodNotAllowed, http.StatusMethodNotAllowed, false},
	} {
		t.Run(tc.version, func(t *testing.T) {
			h := newService(t, tc.version)
			a := call(t, h, "POST", "/todos", `{"title":"a","owner":"ada"}`)
			id := object(t, a.body)["id"].(string)
			a = call(t, h, "PUT", "/todos/"+id, `{"title":"a","done":true}`)
			if a.status != tc.put {
				t.Errorf("PUT /todos/{id}: %d, want %d", a.status, tc.put)
			}
			if tc.put == http.StatusMethodNotAllowed && !strings.Contains(a.header.Get("Allow"), "GET") {
				t.Errorf("PUT refused without Allow: %v", a.header)
			}
			a = call(t, h, "DELETE", "/todos", "")
			if a.status != tc.clear {
				t.Errorf("DELETE /todos: %d, want %d", a.status, tc.clear)
			}
			remaining := len(call(t, h, "GET", "/todos", "").body.([]any))
			if tc.clearDeleted {
				if got := object(t, a.body); len(got) != 1 || got["deleted"] != 1.0 || remaining != 0 {
					t.Errorf("DELETE /todos: %v, %d left", got, remaining)
				}
			} else if remaining != 1 {
				t.Errorf("%d todos left, want 1", remaining)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	h := newService(t, "v1")
	ids := map[string]string{}
	for _, in := range []struct{ name, body string }{
		{"a", `{"title":"a","priority":1}`},
		{"b", `{"title":"b","done":true,"tags":["x"]}`},
		{"c", `{"title":"c"}`},
		{"d", `{"title":"d","done":true}`},
	} {
		ids[in.name] = object(t, call(t, h, "POST", "/todos", in.body).body)["id"].(string)
	}
	titles := func(v any) string {
		var s []string
		for _, t := range v.([]any) {
			s = append(s, t.(map[string]any)["title"].(string))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		path, want string
	}{
		{"/todos", "a,b,c,d"},
		{"/todos?done=true", "b,d"},
		{"/todos?done=false", "a,c"},
		{"/todos?limit=3", "a,b,c"},
		{"/todos?done=true&limit=1", "b"},
		{"/todos?limit=1000", "a,b,c,d"},
	} {
		a := call(t, h, "GET", tc.path, "")
		if a.status != http.StatusOK || titles(a.body) != tc.want {
			t.Errorf("GET %s: %d %s, want %s", tc.path, a.status, a.raw, tc.want)
		}
	}
	big := `{"title":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/todos?done=yes", "", 400},
		{"GET", "/todos?done=1", "", 400},
		{"GET", "/todos?limit=0", "", 400},
		{"GET", "/todos?limit=1001", "", 400},
		{"GET", "/todos?limit=x", "", 400},
		{"POST", "/todos", ``, 400},
		{"POST", "/todos", `{`, 400},
		{"POST", "/todos", `[]`, 400},
		{"POST", "/todos", `{"title":"a"} {}`, 400},
		{"POST", "/todos", `{"descripton":"no title"}`, 400},
		{"POST", "/todos", `{"title":"   "}`, 400},
		{"POST", "/todos", `{"title":"` + strings.Repeat("x", 201) + `"}`, 400},
		{"POST", "/todos", `{"title":1}`, 400},
		{"POST", "/todos", `{"title":"a","priority":0}`, 400},
		{"POST", "/todos", `{"title":"a","priority":4}`, 400},
		{"POST", "/todos", `{"title":"a","priority":2.5}`, 400},
		{"POST", "/todos", `{"title":"a","priority":"high"}`, 400},
		{"POST", "/todos", `{"title":"a","tags":[""]}`, 400},
		{"POST", "/todos", `{"title":"a","tags":["1","2","3","4","5","6","7","8","9","10","11"]}`, 400},
		{"POST", "/todos", big, 400},
		{"GET", "/todos/" + "00000000-0000-4000-8000-000000000000", "", 404},
		{"GET", "/todos/not-an-id", "", 404},
		{"PUT", "/todos/00000000-0000-4000-8000-000000000000", `{"title":"x"}`, 404},
		{"PUT", "/todos/" + ids["a"], `{"done":true}`, 400},
		{"DELETE", "/todos/00000000-0000-4000-8000-000000000000", "", 404},
	} {
		a := call(t, h, tc.method, tc.path, tc.body)
		if a.status != tc.status {
			t.Errorf("%s %s %.60s: %d %s, want %d", tc.method, tc.path, tc.body, a.status, a.raw, tc.status)
			continue
		}
		wantError(t, a, tc.status)
	}

	// PUT replaces what a client writes and keeps the id and creation time.
	before := object(t, call(t, h, "GET", "/todos/"+ids["b"], "").body)
	a := call(t, h, "PUT", "/todos/"+ids["b"], `{"title":"b2","descripton":"now with words","priority":3}`)
	got := object(t, a.body)
	if a.status != 200 || got["title"] != "b2" || got["descripton"] != "now with words" || got["done"] != false ||
		got["priority"] != 3.0 || got["tags"] != nil || got["id"] != ids["b"] || got["createdAt"] != before["createdAt"] {
		t.Errorf("PUT: %d %v", a.status, got)
	}
	if again := object(t, call(t, h, "GET", "/todos/"+ids["b"], "").body); !maps.Equal(again, map[string]any{
		"id": got["id"], "title": "b2", "descripton": "now with words", "done": false, "priority": 3.0, "createdAt": got["createdAt"],
	}) {
		t.Errorf("GET after PUT: %v", again)
	}
	if titles(call(t, h, "GET", "/todos", "").body) != "a,b2,c,d" {
		t.Error("PUT moved the todo in the list")
	}

	// DELETE: 204 without a body, then it is gone.
	a = call(t, h, "DELETE", "/todos/"+ids["c"], "")
	if a.status != http.StatusNoContent || a.raw != "" {
		t.Errorf("DELETE: %d %q", a.status, a.raw)
	}
	wantError(t, call(t, h, "GET", "/todos/"+ids["c"], ""), 404)
	wantError(t, call(t, h, "DELETE", "/todos/"+ids["c"], ""), 404)

	// Health needs no token; everything else does.
	a = callAuth(t, h, "GET", "/healthz", "", "")
	if a.status != 200 || !maps.Equal(object(t, a.body), map[string]any{"status": "ok", "version": "v1"}) {
		t.Errorf("GET /healthz: %d %s", a.status, a.raw)
	}
	for _, auth := range []string{"", "Bearer", "Bearer  ", "Basic dXNlcjpwdw==", "t0k3n"} {
		a := callAuth(t, h, "GET", "/todos", "", auth)
		wantError(t, a, http.StatusUnauthorized)
		if a.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("Authorization %q: WWW-Authenticate %q", auth, a.header.Get("WWW-Authenticate"))
		}
	}
	if a := callAuth(t, h, "GET", "/todos", "", "bearer x"); a.status != 200 {
		t.Errorf("lower-case bearer scheme: %d", a.status)
	}
	if a := call(t, h, "GET", "/nothing", ""); a.status != 404 {
		t.Errorf("GET /nothing: %d", a.status)
	}
}

// TestDescriptionSpelling: each version reads and writes only its own
// spelling.
func TestDescriptionSpelling(t *testing.T) {
	for _, tc := range []struct{ version, reads, ignores string }{
		{"v1", "descripton", "description"},
		{"v2", "description", "descripton"},
	} {
		h := newService(t, tc.version)
		a := call(t, h, "POST", "/todos", `{"title":"t","`+tc.reads+`":"read","`+tc.ignores+`":"ignored"}`)
		got := object(t, a.body)
		if got[tc.reads] != "read" || got[tc.ignores] != nil {
			t.Errorf("%s: %s", tc.version, a.raw)
		}
	}
}

func TestVariants(t *testing.T) {
	// v1-type-change writes words and reads numbers or words.
	h := newService(t, "v1-type-change")
	for body, want := range map[string]string{
		`{"title":"a"}`:                     "normal",
		`{"title":"a","priority":1}`:        "low",
		`{"title":"a","priority":"high"}`:   "high",
		`{"title":"a","priority":"low"}`:    "low",
		`{"title":"a","priority":null}`:     "normal",
		`{"title":"a","priority":"HIGH"}`:   "",
		`{"title":"a","priority":"urgent"}`: "",
		`{"title":"a","priority":5}`:        "",
	} {
		a := call(t, h, "POST", "/todos", body)
		if want == "" {
			wantError(t, a, 400)
		} else if a.status != 201 || object(t, a.body)["priority"] != want {
			t.Errorf("%s: %d %s, want priority %q", body, a.status, a.raw, want)
		}
	}

	// v1-new-required refuses a todo without an owner on POST only.
	h = newService(t, "v1-new-required")
	for _, body := range []string{`{"title":"a"}`, `{"title":"a","owner":""}`, `{"title":"a","owner":"  "}`} {
		a := call(t, h, "POST", "/todos", body)
		wantError(t, a, 400)
		if !strings.Contains(a.raw, "owner is required") {
			t.Errorf("%s: %s", body, a.raw)
		}
	}
	a := call(t, h, "POST", "/todos", `{"title":"a","owner":"ada"}`)
	id := object(t, a.body)["id"].(string)
	a = call(t, h, "PUT", "/todos/"+id, `{"title":"b"}`)
	if a.status != 200 || object(t, a.body)["owner"] != "ada" {
		t.Errorf("PUT without an owner: %d %s", a.status, a.raw)
	}
	// Other versions take an owner and say nothing of it.
	a = call(t, newService(t, "v1"), "POST", "/todos", `{"title":"a","owner":"ada"}`)
	if _, ok := object(t, a.body)["owner"]; ok {
		t.Errorf("v1 wrote an owner: %s", a.raw)
	}

	if _, ok := Lookup("v4"); ok {
		t.Error("Lookup(v4) found a version")
	}
	var names []string
	for _, v := range Versions() {
		names = append(names, v.Name)
	}
	if want := []string{"v1", "v2", "v3", "v1-removed-field", "v1-type-change", "v1-new-required", "v1-removed-op"}; !slices.Equal(names, want) {
		t.Errorf("Versions = %v", names)
	}
	a = callAuth(t, New(Config{}), "GET", "/healthz", "", "")
	if object(t, a.body)["version"] != "v1" {
		t.Errorf("the zero Config is not v1: %s", a.raw)
	}
}

// statsRecorder is a statistics service that records what it is sent.
type statsRecorder struct {
	mu     sync.Mutex
	events []stats.Event
	agents []string
	status int
}

func (s *statsRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e stats.Event
	if r.Method != "POST" || r.URL.Path != "/events" || r.Header.Get("Content-Type") != "application/json" ||
		json.NewDecoder(r.Body).Decode(&e) != nil {
		http.Error(w, "bad event", 400)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, e)
	s.agents = append(s.agents, r.Header.Get("User-Agent"))
	status := s.status
	s.mu.Unlock()
	w.WriteHeader(status)
}

func TestEvents(t *testing.T) {
	rec := &statsRecorder{status: http.StatusAccepted}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	var logs bytes.Buffer
	v, _ := Lookup("v3")
	h := New(Config{Version: v, StatsURL: srv.URL + "/", Log: log.New(&logs, "", 0)})

	a := object(t, call(t, h, "POST", "/todos", `{"title":"a"}`).body)["id"].(string)
	b := object(t, call(t, h, "POST", "/todos", `{"title":"b","done":true}`).body)["id"].(string)
	call(t, h, "PUT", "/todos/"+a, `{"title":"a","done":true}`)
	call(t, h, "PUT", "/todos/"+b, `{"title":"b"}`)
	call(t, h, "DELETE", "/todos/"+b, "")
	call(t, h, "DELETE", "/todos", "")
	// Reads and refused writes report nothing.
	call(t, h, "GET", "/todos", "")
	call(t, h, "GET", "/todos/"+a, "")
	call(t, h, "POST", "/todos", `{}`)
	call(t, h, "DELETE", "/todos/"+b, "")

	yes, no := true, false
	want := []stats.Event{
		{Kind: "created", TodoID: a, Done: &no},
		{Kind: "created", TodoID: b, Done: &yes},
		{Kind: "updated", TodoID: a, Done: &yes},
		{Kind: "updated", TodoID: b, Done: &no},
		{Kind: "deleted", TodoID: b},
		{Kind: "deleted", TodoID: a},
	}
	rec.mu.Lock()
	got, agents := rec.events, rec.agents
	rec.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.TodoID != w.TodoID || (g.Done == nil) != (w.Done == nil) || (g.Done != nil && *g.Done != *w.Done) {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
		if agents[i] != "todo-service/v3" {
			t.Errorf("event %d: User-Agent %q", i, agents[i])
		}
	}
	if logs.Len() != 0 {
		t.Errorf("log: %s", logs.String())
	}

	// A statistics service that refuses, or is not there, is logged; the
	// write succeeds all the same.
	rec.status = http.StatusInternalServerError
	if a := call(t, h, "POST", "/todos", `{"title":"c"}`); a.status != 201 {
		t.Errorf("POST with a failing statistics service: %d", a.status)
	}
	if !strings.Contains(logs.String(), "report created") || !strings.Contains(logs.String(), "status 500") {
		t.Errorf("log: %q", logs.String())
	}
	srv.Close()
	logs.Reset()
	if a := call(t, h, "POST", "/todos", `{"title":"d"}`); a.status != 201 {
		t.Errorf("POST without a statistics service: %d", a.status)
	}
	if !strings.Contains(logs.String(), "report created") || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log: %q", logs.String())
	}
}
