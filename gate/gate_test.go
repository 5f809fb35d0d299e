package gate_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/infer"
)

// recorded reads a scenario that tcpdump recorded from internal/apiserver.
func recorded(t *testing.T, name string) []*capture.Exchange {
	t.Helper()
	var out []*capture.Exchange
	p := filepath.Join("..", "infer", "testdata", "traffic", name+".pcap")
	err := source.ReadFile(context.Background(), p, source.Options{Redactor: redact.New(redact.Options{})}, capture.NewStats(), func(e *capture.Exchange) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// doc infers the exchanges' one service and reads the document back as a
// baseline file would be read.
func doc(t *testing.T, exs []*capture.Exchange) *gate.Doc {
	t.Helper()
	in := infer.New(infer.Options{})
	for _, e := range exs {
		in.Observe(e)
	}
	if len(in.Services()) != 1 {
		t.Fatalf("services %v", in.Services())
	}
	b, err := infer.Marshal(in.Document(in.Services()[0]), infer.Format{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := gate.ParseDoc(b, "inferred.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mutate copies the exchanges, rewriting response bodies (and statuses)
// of the requests match selects.
func mutate(exs []*capture.Exchange, match func(*capture.Exchange) bool, f func(*capture.Exchange)) []*capture.Exchange {
	out := make([]*capture.Exchange, 0, len(exs))
	for _, e := range exs {
		c := *e
		c.Response.Body = append([]byte(nil), e.Response.Body...)
		if match == nil || match(&c) {
			f(&c)
		}
		out = append(out, &c)
	}
	return out
}

func run(t *testing.T, base, cur []*capture.Exchange, pol *gate.Policy) *gate.Report {
	t.Helper()
	in := gate.Input{Baselines: []*gate.Doc{doc(t, base)}, Policy: pol, Today: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	if cur != nil {
		in.Current = []*gate.Doc{doc(t, cur)}
	}
	r, err := gate.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func breaking(r *gate.Report) []gate.Change {
	var out []gate.Change
	for _, c := range r.Changes {
		if c.Breaking {
			out = append(out, c)
		}
	}
	return out
}

func dump(r *gate.Report) string {
	var b strings.Builder
	for _, c := range r.Changes {
		b.WriteString("\n  " + string(c.Level) + " " + c.ID + " " + c.Operation + " " + c.Location + " " + c.From + "->" + c.To + ": " + c.Message)
	}
	return b.String()
}

func replace(old, new string) func(*capture.Exchange) {
	re := regexp.MustCompile(old)
	return func(e *capture.Exchange) { e.Response.Body = re.ReplaceAll(e.Response.Body, []byte(new)) }
}

// TestSameTrafficPasses: the same tests, in another order and with a
// fifth of the exchanges left out, break nothing.
func TestSameTrafficPasses(t *testing.T) {
	for _, name := range []string{"todos", "users", "misc", "all"} {
		exs := recorded(t, name)
		r := rand.New(rand.NewPCG(1, uint64(len(exs))))
		for round := 0; round < 5; round++ {
			var cur []*capture.Exchange
			for _, i := range r.Perm(len(exs)) {
				if r.IntN(5) > 0 {
					cur = append(cur, exs[i])
				}
			}
			rep := run(t, exs, cur, nil)
			if b := breaking(rep); len(b) > 0 || rep.Verdict == gate.Fail {
				t.Errorf("%s round %d: %s, breaking: %s", name, round, rep.Verdict, dump(rep))
			}
		}
	}
}

// TestRename: the story. A response field renamed to fix a typo is one
// breaking change, a rename, with its from, its to and its callers.
func TestRename(t *testing.T) {
	base := recorded(t, "users")
	cur := mutate(base, nil, replace(`"name":`, `"nmae":`))
	rep := run(t, base, cur, nil)
	b := breaking(rep)
	if len(b) != 1 {
		t.Fatalf("%d breaking changes, want 1:%s", len(b), dump(rep))
	}
	c := b[0]
	if c.Kind != gate.KindRenamed || c.ID != gate.IDPropertyRenamed || c.From != "name" || c.To != "nmae" {
		t.Errorf("got %s %s %s -> %s", c.Kind, c.ID, c.From, c.To)
	}
	if len(c.Callers) == 0 || !strings.Contains(strings.Join(c.Callers, ","), "integration-tests") {
		t.Errorf("callers %v", c.Callers)
	}
	if rep.Verdict != gate.Fail || gate.ExitCode(rep.Verdict, gate.DefaultPolicy()) != 1 {
		t.Errorf("verdict %s", rep.Verdict)
	}
	for _, ch := range rep.Changes {
		if strings.Contains(ch.ID, "property-removed") || strings.Contains(ch.ID, "property-added") {
			t.Errorf("the rename is also reported as %s", ch.ID)
		}
	}
}

// TestRemovedAndTypeChanged: a response field gone, and one whose type
// changed, are breaking.
func TestRemovedAndTypeChanged(t *testing.T) {
	base := recorded(t, "todos")
	gone := run(t, base, mutate(base, nil, replace(`"priority":\d+,?`, ``)), nil)
	if b := breaking(gone); len(b) != 1 || b[0].Kind != gate.KindRemoved || b[0].From != "priority" {
		t.Errorf("removed field:%s", dump(gone))
	}
	typed := run(t, base, mutate(base, nil, replace(`"priority":(\d+)`, `"priority":"p$1"`)), nil)
	b := breaking(typed)
	if len(b) == 0 {
		t.Fatalf("type change not breaking:%s", dump(typed))
	}
	for _, c := range b {
		if c.Kind != gate.KindTypeChanged {
			t.Errorf("type change reported as %s %s", c.Kind, c.ID)
		}
	}
}

// TestCoverage: operations the run did not call are not exercised, not
// removed; operations it called and got 404 or 405 for are removed.
func TestCoverage(t *testing.T) {
	base := recorded(t, "todos")
	var cur []*capture.Exchange
	for _, e := range base {
		if e.Request.Method != "DELETE" {
			cur = append(cur, e)
		}
	}
	rep := run(t, base, cur, nil)
	if b := breaking(rep); len(b) > 0 {
		t.Errorf("leaving DELETE out broke:%s", dump(rep))
	}
	if len(rep.Coverage) != 1 || len(rep.Coverage[0].NotExercised) != 1 || rep.Coverage[0].NotExercised[0] != "DELETE /todos/{todoId}" {
		t.Errorf("coverage %+v", rep.Coverage)
	}
	warned := false
	for _, c := range rep.Changes {
		warned = warned || c.ID == gate.IDNoLongerExercised && c.Level == gate.LevelWarning
	}
	if !warned {
		t.Errorf("no warning that the baseline's DELETE is no longer exercised:%s", dump(rep))
	}

	refused := run(t, base, mutate(base, func(e *capture.Exchange) bool { return e.Request.Method == "PUT" }, func(e *capture.Exchange) {
		e.Response.Status, e.Response.Body = 405, nil
	}), nil)
	b := breaking(refused)
	if len(b) != 1 || b[0].Kind != gate.KindRemoved || !strings.HasPrefix(b[0].Operation, "PUT ") {
		t.Errorf("PUT answered 405:%s", dump(refused))
	}
}

// TestRejected: requests that succeeded in the baseline and are refused
// now mean the operation requires something new.
func TestRejected(t *testing.T) {
	base := recorded(t, "todos")
	rep := run(t, base, mutate(base, func(e *capture.Exchange) bool { return e.Request.Method == "POST" }, func(e *capture.Exchange) {
		e.Response.Status = 400
		e.Response.Body = []byte(`{"error":"owner is required","code":"invalid_body"}`)
	}), nil)
	b := breaking(rep)
	if len(b) != 1 || b[0].ID != gate.IDRequestRejected || b[0].From != "201" || b[0].To != "400" {
		t.Errorf("POST refused:%s", dump(rep))
	}
}

// TestInconclusive: a baselined service that got no traffic.
func TestInconclusive(t *testing.T) {
	rep := run(t, recorded(t, "todos"), nil, nil)
	if rep.Verdict != gate.Inconclusive || gate.ExitCode(rep.Verdict, gate.DefaultPolicy()) != 3 {
		t.Errorf("verdict %s: %s", rep.Verdict, rep.Summary)
	}
}

// TestPolicy: severities, acceptances and their expiry, and bad policies.
func TestPolicy(t *testing.T) {
	base := recorded(t, "users")
	cur := mutate(base, nil, replace(`"name":`, `"nmae":`))
	fp := breaking(run(t, base, cur, nil))[0].Fingerprint

	pol, err := gate.ParsePolicy([]byte("accept:\n  - fingerprint: "+fp+"\n    reason: clients moved\n    expires: 2026-12-01\n"), "p")
	if err != nil {
		t.Fatal(err)
	}
	if rep := run(t, base, cur, pol); rep.Verdict != gate.Pass {
		t.Errorf("accepted rename: %s%s", rep.Verdict, dump(rep))
	}
	expired, _ := gate.ParsePolicy([]byte("accept:\n  - fingerprint: "+fp+"\n    reason: clients moved\n    expires: 2026-11-24\n"), "p")
	if rep := run(t, base, cur, expired); rep.Verdict != gate.Fail {
		t.Errorf("expired acceptance still accepted: %s", rep.Verdict)
	}
	lenient, _ := gate.ParsePolicy([]byte("severity:\n  response-property-renamed: warning\n"), "p")
	if rep := run(t, base, cur, lenient); rep.Verdict != gate.Pass {
		t.Errorf("rename at warning level still fails: %s", rep.Verdict)
	}
	for _, bad := range []string{
		"severity:\n  no-such-check: error\n",
		"severity:\n  response-property-renamed: fatal\n",
		"fail-on: sometimes\n",
		"accept:\n  - fingerprint: x\n",
		"accept:\n  - fingerprint: x\n    reason: y\n    expires: tomorrow\n",
		"include:\n  paths: ['(']\n",
		"unknown-key: 1\n",
	} {
		_, err := gate.ParsePolicy([]byte(bad), ".specgate.yaml")
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "policy .specgate.yaml: ") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

// TestBadDocuments: a malformed baseline is one line of error.
func TestBadDocuments(t *testing.T) {
	for _, data := range []string{"openapi: 3.0.3\ninfo: [", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {}\n", "{}"} {
		_, err := gate.ParseDoc([]byte(data), "base.yaml")
		if err == nil || strings.Contains(err.Error(), "\n") || !bytes.Contains([]byte(err.Error()), []byte("base.yaml")) {
			t.Errorf("%q: error %v", data, err)
		}
	}
}

// TestWrittenDocuments: two documents written by hand are compared as they
// are: what the revision lacks is gone, not unexercised.
func TestWrittenDocuments(t *testing.T) {
	const base = `openapi: 3.0.3
info: {title: api, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: string}}}
  /b:
    get:
      responses:
        "200": {description: ok}
`
	rev := strings.Replace(base[:strings.Index(base, "  /b:")], "required: [id], properties: {id: {type: string}}", "properties: {name: {type: string}}", 1)
	b, err := gate.ParseDoc([]byte(base), "base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := gate.ParseDoc([]byte(rev), "rev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := gate.Run(gate.Input{Baselines: []*gate.Doc{b}, Current: []*gate.Doc{r}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range breaking(rep) {
		ids[c.ID] = true
	}
	if !ids["api-path-removed-without-deprecation"] && !ids["api-removed-without-deprecation"] || !ids["response-required-property-removed"] {
		t.Errorf("written documents:%s", dump(rep))
	}
}

// TestLoadURL: a baseline served over HTTP; a missing one is one line.
func TestLoadURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/openapi.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("openapi: 3.0.3\ninfo: {title: served, version: '1'}\npaths: {}\n"))
	}))
	defer srv.Close()
	docs, err := gate.LoadDocs(context.Background(), srv.URL+"/openapi.yaml")
	if err != nil || len(docs) != 1 || docs[0].Service != "served" {
		t.Fatalf("docs %v, err %v", docs, err)
	}
	_, err = gate.LoadDocs(context.Background(), srv.URL+"/nope.yaml")
	if err == nil || !strings.Contains(err.Error(), "404 Not Found") || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing baseline: %v", err)
	}
}

// TestRenameByValues: a property renamed to an unrelated name is still a
// rename when it carries the same few values.
func TestRenameByValues(t *testing.T) {
	base := recorded(t, "users")
	cur := mutate(base, nil, replace(`"role":`, `"kind":`))
	rep := run(t, base, cur, nil)
	b := breaking(rep)
	if len(b) != 1 || b[0].Kind != gate.KindRenamed || b[0].From != "role" || b[0].To != "kind" {
		t.Errorf("role renamed to kind:%s", dump(rep))
	}
}

// TestMissedNode: a capture that could not look somewhere (a kind node
// that disappeared) makes an otherwise passing run inconclusive, naming
// the place; a breaking change seen elsewhere still fails the run.
func TestMissedNode(t *testing.T) {
	base := recorded(t, "todos")
	judge := func(cur []*capture.Exchange, missed ...string) *gate.Report {
		r, err := gate.Run(gate.Input{Baselines: []*gate.Doc{doc(t, base)}, Current: []*gate.Doc{doc(t, cur)},
			Health: &gate.Health{Exchanges: int64(len(cur)), Missed: missed}, Today: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := judge(base); r.Verdict != gate.Pass {
		t.Fatalf("same traffic, nothing missed: %s: %s", r.Verdict, r.Summary)
	}
	r := judge(base, "kind-worker2: disappeared at 12:03:04 (after 17 exchanges)")
	if r.Verdict != gate.Inconclusive || !strings.Contains(r.Summary, "kind-worker2") || strings.Contains(r.Summary, "12:03") {
		t.Errorf("missed node: %s: %q, want inconclusive naming the node", r.Verdict, r.Summary)
	}
	renamed := mutate(base, nil, replace(`"title":`, `"titel":`))
	if r := judge(renamed, "kind-worker2: cannot enter its network namespace"); r.Verdict != gate.Fail {
		t.Errorf("breaking change and a missed node: %s: %s", r.Verdict, r.Summary)
	}
}
