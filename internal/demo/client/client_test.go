package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/demo/redistest"
	"github.com/specgate/specgate/internal/demo/resp"
	"github.com/specgate/specgate/internal/demo/stats"
	"github.com/specgate/specgate/internal/demo/todo"
)

var uuid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// exchange is one request a server saw, with its answer.
type exchange struct {
	method, path, query, agent, body string
	status                           int
	answer                           string
}

// op names the exchange's operation by its path template.
func (e exchange) op() string { return e.method + " " + uuid.ReplaceAllString(e.path, "{id}") }

// tap records every exchange of a handler.
type tap struct {
	h  http.Handler
	mu sync.Mutex
	ex []exchange
}

type statusWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: 200}
	t.h.ServeHTTP(sw, r)
	t.mu.Lock()
	t.ex = append(t.ex, exchange{r.Method, r.URL.Path, r.URL.RawQuery, r.UserAgent(), string(body), sw.status, sw.body.String()})
	t.mu.Unlock()
}

func (t *tap) exchanges() []exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.ex)
}

// system is the demo system on real loopback servers.
type system struct {
	todo, stats       *tap
	todoURL, statsURL string
}

func start(t *testing.T, version string, store todo.Store) *system {
	t.Helper()
	v, ok := todo.Lookup(version)
	if !ok {
		t.Fatalf("no version %s", version)
	}
	s := &system{stats: &tap{h: stats.New()}}
	st := httptest.NewServer(s.stats)
	t.Cleanup(st.Close)
	s.todo = &tap{h: todo.New(todo.Config{Version: v, Store: store, StatsURL: st.URL, Log: log.New(io.Discard, "", 0)})}
	tt := httptest.NewServer(s.todo)
	t.Cleanup(tt.Close)
	s.todoURL, s.statsURL = tt.URL, st.URL
	if !strings.HasPrefix(tt.URL, "http://127.0.0.1:") {
		t.Fatalf("todo service at %s, want loopback", tt.URL)
	}
	return s
}

// TestVersions runs the suite against every version: the releases pass
// (v2 too: its rename is what the suite cannot see), the variants fail and
// the error names what broke. Every operation is exercised either way.
func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		version string
		broke   []string // substrings of the error; none: the run passes
		ops     []string // operations beyond v1's
		missing []string // v1 operations the run cannot reach
	}{
		{version: "v1"},
		{version: "v2"},
		{version: "v3", ops: []string{"DELETE /todos"}},
		{version: "v1-removed-field", broke: []string{"POST /todos: no priority, want", "GET /todos/{id}: no priority"}},
		{version: "v1-type-change", broke: []string{"POST /todos: decode answer:", "priority of type int"}},
		{version: "v1-new-required", broke: []string{`POST /todos: status 400, want 201: {"error":"owner is required"}`},
			missing: []string{"PUT /todos/{id}", "DELETE /todos/{id}"}},
		{version: "v1-removed-op", broke: []string{"PUT /todos/{id}: status 405, want 200"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s := start(t, tc.version, nil)
			err := Run(context.Background(), s.todoURL, 42, Options{Version: tc.version, StatsURL: s.statsURL})
			if len(tc.broke) == 0 && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(tc.broke) > 0 {
				if err == nil {
					t.Fatal("Run passed, want a failure")
				}
				for _, want := range tc.broke {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error does not say %q:\n%v", want, err)
					}
				}
				t.Logf("%s:\n%v", tc.version, err)
			}

			// Which operations the suite called, and as whom.
			seen := map[string]bool{}
			for _, e := range s.todo.exchanges() {
				seen[e.op()] = true
				if e.agent != UserAgent {
					t.Errorf("%s: User-Agent %q", e.op(), e.agent)
				}
			}
			want := append([]string{"GET /healthz", "GET /todos", "POST /todos", "GET /todos/{id}", "PUT /todos/{id}", "DELETE /todos/{id}"}, tc.ops...)
			for _, op := range want {
				if !seen[op] && !slices.Contains(tc.missing, op) {
					t.Errorf("the suite never called %s", op)
				}
			}
			if seen["DELETE /todos"] != slices.Contains(tc.ops, "DELETE /todos") {
				t.Errorf("DELETE /todos called: %v", seen["DELETE /todos"])
			}

			// The statistics service: events from the todo service, one
			// GET /stats from the suite, and counts that match the writes.
			var created, updated, deleted, gets int
			for _, e := range s.todo.exchanges() {
				switch {
				case e.method == "POST" && e.status == 201:
					created++
				case e.method == "PUT" && e.status == 200:
					updated++
				case e.method == "DELETE" && e.status == 204:
					deleted++
				case e.op() == "DELETE /todos" && e.status == 200:
					var n struct{ Deleted int }
					if err := json.Unmarshal([]byte(e.answer), &n); err != nil {
						t.Fatal(err)
					}
					deleted += n.Deleted
				}
			}
			events := 0
			for _, e := range s.stats.exchanges() {
				switch e.op() {
				case "POST /events":
					events++
					if e.agent != "todo-service/"+tc.version || e.status != http.StatusAccepted {
						t.Errorf("POST /events: User-Agent %q, status %d", e.agent, e.status)
					}
				case "GET /stats":
					gets++
					if e.agent != UserAgent || e.status != 200 {
						t.Errorf("GET /stats: User-Agent %q, status %d", e.agent, e.status)
					}
				case "GET /healthz":
					if e.agent != UserAgent {
						t.Errorf("GET /healthz on stats: User-Agent %q", e.agent)
					}
				default:
					t.Errorf("unexpected call of the statistics service: %s", e.op())
				}
			}
			if gets != 1 {
				t.Errorf("GET /stats called %d times, want once", gets)
			}
			c := statsNow(t, s.statsURL)
			if c.Created != created || c.Updated != updated || c.Deleted != deleted || c.Created+c.Updated+c.Deleted != events {
				t.Errorf("stats %+v after %d creates, %d updates, %d deletes, %d events", c, created, updated, deleted, events)
			}
			if open := openTodos(t, s.todoURL); c.Open != open {
				t.Errorf("stats count %d open todos, the todo service has %d", c.Open, open)
			}
			if tc.version == "v1" && (created < 3 || updated < 2 || c.Deleted != 1) {
				t.Errorf("v1 run: %d creates, %d updates, stats %+v", created, updated, c)
			}
			if tc.version == "v3" && c.Deleted < 3 {
				t.Errorf("v3 run deleted %d todos, want the done ones and one more", c.Deleted)
			}
		})
	}
}

func statsNow(t *testing.T, base string) stats.Counts {
	t.Helper()
	r, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var c stats.Counts
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// openTodos counts the todos that are not done.
func openTodos(t *testing.T, base string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/todos?done=false", nil)
	req.Header.Set("Authorization", "Bearer x")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var list []json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// requests lists what the suite sent, with ids masked.
func requests(s *system) []string {
	var out []string
	for _, e := range s.todo.exchanges() {
		out = append(out, e.op()+"?"+e.query+" "+uuid.ReplaceAllString(e.body, "{id}"))
	}
	return out
}

func TestSeed(t *testing.T) {
	run := func(seed uint64) []string {
		s := start(t, "v1", nil)
		if err := Run(context.Background(), s.todoURL, seed, Options{StatsURL: s.statsURL}); err != nil {
			t.Fatal(err)
		}
		return requests(s)
	}
	a, b, c := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed sent different requests:\n%q\n%q", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 sent the same requests: %q", a)
	}
	// Across seeds, the data varies: titles, tags, priorities, descriptions.
	bodies := map[string]bool{}
	for seed := range uint64(20) {
		for _, r := range run(seed) {
			if strings.HasPrefix(r, "POST /todos? {") {
				bodies[r] = true
			}
		}
	}
	if len(bodies) < 40 {
		t.Errorf("20 seeds created only %d different todos", len(bodies))
	}
}

// TestOnRedis runs the suite twice against the todo service on Redis: the
// second run finds the first one's todos and still passes.
func TestOnRedis(t *testing.T) {
	url := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := resp.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, version := range []string{"v1", "v3", "v2"} {
		s := start(t, version, todo.NewRedis(c, "itest:"))
		if err := Run(ctx, s.todoURL, 1, Options{Version: version, StatsURL: s.statsURL}); err != nil {
			t.Errorf("%s on Redis: %v", version, err)
		}
	}
	ids, err := c.SMembers(ctx, "itest:todos")
	if err != nil || len(ids) == 0 {
		t.Errorf("nothing left in Redis: %v, %v", ids, err)
	}
}

func TestRunRefuses(t *testing.T) {
	s := start(t, "v1", nil)
	if err := Run(context.Background(), s.todoURL, 1, Options{Version: "v9"}); err == nil || !strings.Contains(err.Error(), `"v9"`) {
		t.Errorf("unknown version: %v", err)
	}
	if n := len(s.todo.exchanges()); n != 0 {
		t.Errorf("an unknown version still sent %d requests", n)
	}
	// Nothing listens: Run gives up after Ready.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	start := time.Now()
	err := Run(context.Background(), dead.URL, 1, Options{Ready: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not answer 200") || time.Since(start) > 5*time.Second {
		t.Errorf("no service: %v after %v", err, time.Since(start))
	}
	// A service that is not the todo service fails on its first checks.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer other.Close()
	if err := Run(context.Background(), other.URL, 1, Options{}); err == nil || !strings.Contains(err.Error(), "POST /todos: status 200, want 201") {
		t.Errorf("another service: %v", err)
	}
	// The log names every request.
	var logged bytes.Buffer
	if err := Run(context.Background(), s.todoURL, 3, Options{Log: &logged}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(logged.String(), "\n"); lines != len(s.todo.exchanges())-1 || !strings.Contains(logged.String(), "POST /todos 201\n") {
		t.Errorf("log of %d requests (%d on the server, one health check unlogged):\n%s", lines, len(s.todo.exchanges()), logged.String())
	}
}
