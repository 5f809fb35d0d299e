package trafficgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/redact"
)

// generate returns the NDJSON of n exchanges from seed.
func generate(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, n, seed); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadBack reads the output with specgate's HAR reader and compares
// every exchange with the one a second generator of the same seed makes.
func TestReadBack(t *testing.T) {
	const n, seed = 3000, 7
	out := generate(t, n, seed)
	if lines := bytes.Count(out, []byte("\n")); lines != n {
		t.Fatalf("%d lines, want %d", lines, n)
	}
	rd, err := har.NewReader(bytes.NewReader(out), "traffic.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if rd.Format() != har.FormatNDJSON {
		t.Fatalf("read as %v, want ndjson", rd.Format())
	}
	g := New(seed)
	for i := 0; ; i++ {
		got, err := rd.Next()
		if err == io.EOF {
			if i != n {
				t.Fatalf("read %d exchanges, want %d", i, n)
			}
			break
		}
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		want := g.Next()
		if !sameExchange(got, want) {
			t.Fatalf("exchange %d reads back as\n%+v\nwant\n%+v", i, *got, *want)
		}
	}
	if rd.SkippedCount() != 0 {
		t.Errorf("reader skipped %d entries: %v", rd.SkippedCount(), rd.Skipped())
	}
}

// sameExchange compares two exchanges field by field, times by instant.
func sameExchange(a, b *capture.Exchange) bool {
	ta, tb := a.Timing, b.Timing
	if !ta.RequestStart.Equal(tb.RequestStart) || !ta.RequestEnd.Equal(tb.RequestEnd) ||
		!ta.ResponseStart.Equal(tb.ResponseStart) || !ta.ResponseEnd.Equal(tb.ResponseEnd) {
		return false
	}
	x, y := *a, *b
	x.Timing, y.Timing = capture.Timing{}, capture.Timing{}
	return reflect.DeepEqual(x, y)
}

func TestDeterministic(t *testing.T) {
	a := generate(t, 2000, 42)
	b := generate(t, 2000, 42)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gives different bytes")
	}
	if c := generate(t, 2000, 43); bytes.Equal(a, c) {
		t.Fatal("seeds 42 and 43 give the same bytes")
	}
	// A shorter run is a prefix of a longer one.
	if short := generate(t, 500, 42); !bytes.HasPrefix(a, short) {
		t.Fatal("500 exchanges are not the first 500 of 2000")
	}
}

func TestHAR(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, 300, 5, har.FormatHAR); err != nil {
		t.Fatal(err)
	}
	rd, err := har.NewReader(&buf, "traffic.har")
	if err != nil {
		t.Fatal(err)
	}
	if rd.Format() != har.FormatHAR {
		t.Fatalf("read as %v, want har", rd.Format())
	}
	g := New(5)
	n := 0
	for {
		x, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := g.Next(); !sameExchange(x, want) {
			t.Fatalf("exchange %d differs", n)
		}
		n++
	}
	if n != 300 {
		t.Fatalf("read %d exchanges, want 300", n)
	}
}

func TestCounts(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(&buf, -1, 1); err == nil {
		t.Error("no error for a negative count")
	}
	if err := Generate(&buf, 0, 1); err != nil || buf.Len() != 0 {
		t.Errorf("zero exchanges: %d bytes, %v", buf.Len(), err)
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	err := Generate(&failWriter{after: 1 << 20}, 10000, 1)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want one naming the write failure", err)
	}
}

// Path templating independent of specgate's: UUIDs, integers and dates
// become placeholders.
var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	intRE  = regexp.MustCompile(`^[0-9]+$`)
	dateRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`)
)

func template(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case uuidRE.MatchString(s):
			segs[i] = "{uuid}"
		case intRE.MatchString(s):
			segs[i] = "{int}"
		case dateRE.MatchString(s):
			segs[i] = "{date}"
		}
	}
	return strings.Join(segs, "/")
}

// variety is what a run of the generator holds.
type variety struct {
	hosts, methods, agents, clients, queryNames map[string]int
	statuses                                    map[int]int
	templates                                   map[string]int // "METHOD host/template"
	targets                                     map[string]int
	headers                                     map[string]int // requests carrying each header
	n                                           int
}

func survey(t *testing.T, n int, seed uint64) *variety {
	t.Helper()
	v := &variety{hosts: map[string]int{}, methods: map[string]int{}, agents: map[string]int{}, clients: map[string]int{},
		queryNames: map[string]int{}, statuses: map[int]int{}, templates: map[string]int{}, targets: map[string]int{}, headers: map[string]int{}, n: n}
	g := New(seed)
	var last time.Time
	for i := range n {
		x := g.Next()
		q := &x.Request
		v.hosts[q.Host]++
		v.methods[q.Method]++
		v.agents[q.Header.Get("User-Agent")]++
		v.clients[x.Client.Addr().String()]++
		v.statuses[x.Response.Status]++
		path, query, _ := strings.Cut(q.Target, "?")
		v.templates[q.Method+" "+q.Host+template(path)]++
		v.targets[q.Target]++
		for pair := range strings.SplitSeq(query, "&") {
			if name, _, _ := strings.Cut(pair, "="); name != "" {
				v.queryNames[name]++
			}
		}
		seen := map[string]bool{}
		for _, f := range q.Header {
			if !seen[f.Name] {
				seen[f.Name] = true
				v.headers[f.Name]++
			}
		}
		if !x.Client.Addr().IsPrivate() || !x.Server.Addr().IsPrivate() {
			t.Fatalf("exchange %d: public address %v -> %v", i, x.Client, x.Server)
		}
		if q.Host != x.Server.String() && !strings.HasSuffix(q.Host, ".internal:"+itoa(int(x.Server.Port()))) {
			t.Fatalf("exchange %d: Host %s on server %v", i, q.Host, x.Server)
		}
		tm := x.Timing
		if tm.RequestStart.Before(last) || tm.RequestEnd.Before(tm.RequestStart) || tm.ResponseStart.Before(tm.RequestEnd) || tm.ResponseEnd.Before(tm.ResponseStart) {
			t.Fatalf("exchange %d: timing out of order: %+v after %v", i, tm, last)
		}
		last = tm.RequestStart
	}
	return v
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestVariety(t *testing.T) {
	v := survey(t, 20000, 3)
	if len(v.hosts) < 4 || len(v.hosts) > 6 {
		t.Errorf("%d hosts, want 4 to 6: %v", len(v.hosts), v.hosts)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if v.methods[m] == 0 {
			t.Errorf("no %s request", m)
		}
	}
	if v.methods["GET"] < v.n/2 {
		t.Errorf("%d GETs of %d: a test run reads more than it writes", v.methods["GET"], v.n)
	}
	var client4xx, server5xx int
	for s, c := range v.statuses {
		switch {
		case s >= 500:
			server5xx += c
		case s >= 400:
			client4xx += c
		}
	}
	for _, s := range []int{200, 201, 202, 204, 400, 401, 404, 422, 500} {
		if v.statuses[s] == 0 {
			t.Errorf("no %d response: %v", s, v.statuses)
		}
	}
	if client4xx < v.n/50 || client4xx > v.n/5 || server5xx == 0 || server5xx > v.n/50 {
		t.Errorf("%d 4xx and %d 5xx of %d responses", client4xx, server5xx, v.n)
	}
	for _, a := range []string{"Go-http-client/1.1", "integration-tests/1.0", "todo-service/1.4", "billing-service/2.3"} {
		if v.agents[a] == 0 {
			t.Errorf("no request from %s: %v", a, v.agents)
		}
	}
	if len(v.clients) < 3+4 {
		t.Errorf("%d client addresses: %v", len(v.clients), v.clients)
	}
	for _, q := range []string{"limit", "offset", "done", "sort", "q"} {
		if v.queryNames[q] == 0 {
			t.Errorf("no %s query parameter: %v", q, v.queryNames)
		}
	}
	// Bearer on most requests, API keys and cookies on a few.
	if a := v.headers["Authorization"]; a < v.n*6/10 || a == v.n {
		t.Errorf("Authorization on %d of %d requests", a, v.n)
	}
	for _, h := range []string{"X-Api-Key", "Cookie", "X-Tenant-Id", "X-Request-Id", "Traceparent"} {
		if c := v.headers[h]; c == 0 || c == v.n {
			t.Errorf("%s on %d of %d requests", h, c, v.n)
		}
	}
	if len(v.templates) < 30 || len(v.templates) > 60 {
		t.Errorf("%d operations, want 30 to 60", len(v.templates))
	}
	for _, want := range []string{"GET users.internal:8080/users/me", "GET users.internal:8080/users/{uuid}/orders/{int}", "GET stats.internal:8081/reports/{date}", "DELETE todo.internal:8080/todos/{uuid}"} {
		if v.templates[want] == 0 {
			t.Errorf("no %s", want)
		}
	}
	// Ids are fresh: a path with a UUID in it never repeats.
	for target, c := range v.targets {
		if c > 1 && strings.Contains(template(target), "{uuid}") {
			t.Errorf("%s requested %d times", target, c)
		}
	}
}

// TestBounded checks that the shapes stop growing: ten times the traffic,
// under another seed, shows no operation the first run did not.
func TestBounded(t *testing.T) {
	small := survey(t, 10000, 11)
	large := survey(t, 100000, 12)
	for k := range large.templates {
		if small.templates[k] == 0 {
			t.Errorf("%s appears only in the larger run", k)
		}
	}
	if len(large.templates) != len(ops) {
		t.Errorf("%d path templates in 100000 exchanges, want %d (one per operation)", len(large.templates), len(ops))
	}
	if len(large.statuses) > 16 || len(large.agents) != len(small.agents) || len(large.clients) != len(small.clients) {
		t.Errorf("statuses, agents or clients grow: %d/%d statuses, %d/%d agents, %d/%d clients",
			len(small.statuses), len(large.statuses), len(small.agents), len(large.agents), len(small.clients), len(large.clients))
	}
}

// TestBodies checks the bodies: valid JSON where the type says JSON, sizes
// mostly 200 B to 4 KB and never above 32 KB, lists of 0 to 20 items,
// objects of at most 20 fields (5 or more in most bodies), and optional
// fields in most but not all.
func TestBodies(t *testing.T) {
	g := New(9)
	var sizes []int
	presence := map[string][2]int{} // template key -> [samples, present]
	samples := map[string]int{}
	var objects, fitting, lists, requestBodies int
	for i := range 20000 {
		x := g.Next()
		for _, m := range []struct {
			h    capture.Header
			body []byte
		}{{x.Request.Header, x.Request.Body}, {x.Response.Header, x.Response.Body}} {
			ct := m.h.Get("Content-Type")
			if len(m.body) == 0 {
				if ct != "" {
					t.Fatalf("exchange %d: empty body of type %s", i, ct)
				}
				continue
			}
			if !strings.Contains(ct, "json") {
				if ct != "text/plain" {
					t.Fatalf("exchange %d: body of type %q", i, ct)
				}
				continue
			}
			if !json.Valid(m.body) {
				t.Fatalf("exchange %d: invalid JSON %s", i, m.body)
			}
			if m.h.Get("Content-Length") != itoa(len(m.body)) {
				t.Fatalf("exchange %d: Content-Length %s for %d bytes", i, m.h.Get("Content-Length"), len(m.body))
			}
		}
		if x.Request.Body != nil {
			requestBodies++
			if x.Request.Method == "GET" || x.Request.Method == "DELETE" {
				t.Fatalf("exchange %d: %s with a body", i, x.Request.Method)
			}
		}
		p := &x.Response
		if p.Status == 204 && p.Body != nil {
			t.Fatalf("exchange %d: 204 with a body", i)
		}
		if len(p.Body) > 0 {
			sizes = append(sizes, len(p.Body))
		}
		if p.Status >= 300 || len(p.Body) == 0 {
			continue
		}
		path, _, _ := strings.Cut(x.Request.Target, "?")
		key := x.Request.Method + " " + x.Request.Host + template(path)
		var v any
		if err := json.Unmarshal(p.Body, &v); err != nil {
			t.Fatal(err)
		}
		switch v := v.(type) {
		case []any:
			lists++
			if len(v) > 20 {
				t.Errorf("%s: list of %d", key, len(v))
			}
		case map[string]any:
			objects++
			if len(v) >= 5 && len(v) <= 20 {
				fitting++
			}
			if w := widest(v); w > 20 {
				t.Errorf("%s: an object of %d fields", key, w)
			}
			samples[key]++
			for k := range v {
				c := presence[key+" "+k]
				c[1]++
				presence[key+" "+k] = c
			}
		}
	}
	slices.Sort(sizes)
	median, p90, largest := sizes[len(sizes)/2], sizes[len(sizes)*9/10], sizes[len(sizes)-1]
	if median < 200 || median > 4096 || p90 > 8192 || largest > 32<<10 || largest < 16<<10 {
		t.Errorf("response bodies: median %d, 90th percentile %d, largest %d bytes", median, p90, largest)
	}
	if lists < 1000 || objects < 1000 || fitting < objects*2/3 || requestBodies < 2000 {
		t.Errorf("%d list and %d object responses (%d of 5 to 20 fields), %d request bodies", lists, objects, fitting, requestBodies)
	}
	optional := 0
	for k, c := range presence {
		key := k[:strings.LastIndexByte(k, ' ')]
		if samples[key] < 200 {
			continue
		}
		frac := float64(c[1]) / float64(samples[key])
		switch {
		case frac == 1:
		case frac >= 0.15 && frac <= 0.97:
			optional++
		default:
			t.Errorf("%s: present in %.3f of %d", k, frac, samples[key])
		}
	}
	if optional < 15 {
		t.Errorf("%d optional response fields, want some", optional)
	}
}

// widest returns the largest number of fields of an object in v.
func widest(v any) int {
	w := 0
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			w = max(w, widest(e))
		}
	case map[string]any:
		w = len(v)
		for _, e := range v {
			w = max(w, widest(e))
		}
	}
	return w
}

// TestRedacted checks that the traffic is what specgate capture writes:
// its redactor finds nothing left to redact, and the secrets it would have
// redacted read "REDACTED".
func TestRedacted(t *testing.T) {
	r := redact.New(redact.Options{})
	g := New(13)
	var secrets int
	for i := range 20000 {
		x := g.Next()
		secrets += strings.Count(x.Request.Header.Get("Authorization"), "REDACTED") + strings.Count(string(x.Request.Body), "REDACTED") +
			strings.Count(string(x.Response.Body), "REDACTED")
		before := r.Count()
		r.Exchange(x)
		if r.Count() != before {
			t.Fatalf("exchange %d: the redactor redacted %d values: %s %s\n%v\n%s\n%v\n%s", i, r.Count()-before,
				x.Request.Method, x.Request.Target, x.Request.Header, x.Request.Body, x.Response.Header, x.Response.Body)
		}
	}
	if secrets < 10000 {
		t.Errorf("%d redacted secrets in 20000 exchanges", secrets)
	}
}

// TestTables checks the tables the traffic comes from.
func TestTables(t *testing.T) {
	safe := regexp.MustCompile(`^[A-Za-z0-9_./:+ -]*$`)
	plain := regexp.MustCompile(`^[^"\\\x00-\x1f]*$`) // nothing to escape in JSON
	var check func(where string, f *field, top bool)
	check = func(where string, f *field, top bool) {
		where += "." + f.name
		if (f.name == "") != top || !safe.MatchString(f.name) || !safe.MatchString(f.pre) || f.pct > 100 || f.null > 100 || f.lo > f.hi || f.lo < 0 && f.kind != kInt {
			t.Errorf("%s: bad field %+v", where, *f)
		}
		if (f.kind == kEnum) != (len(f.enum) > 0) || (f.kind == kObject || f.kind == kArray) != (len(f.obj) > 0) {
			t.Errorf("%s: kind %d with %d enum values and %d fields", where, f.kind, len(f.enum), len(f.obj))
		}
		for _, e := range f.enum {
			if e == "" || !plain.MatchString(e) {
				t.Errorf("%s: enum value %q", where, e)
			}
		}
		names := map[string]bool{}
		for i := range f.obj {
			if names[f.obj[i].name] {
				t.Errorf("%s: %s twice", where, f.obj[i].name)
			}
			names[f.obj[i].name] = true
			check(where, &f.obj[i], false)
		}
	}
	word := regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	for _, w := range words {
		if !word.MatchString(w) {
			t.Errorf("word %q is not safe in a query", w)
		}
	}
	for _, w := range oddWords {
		if !json.Valid([]byte(`"` + w + `"`)) {
			t.Errorf("odd word %q is not a JSON string body", w)
		}
	}
	placeholder := regexp.MustCompile(`\{[^}]*\}`)
	for i := range ops {
		o := &ops[i]
		where := o.method + " " + o.path
		if o.weight <= 0 || o.svc < 0 || o.svc >= numServices || o.status < 200 || o.status > 204 || o.path[0] != '/' {
			t.Errorf("%s: bad operation", where)
		}
		for _, p := range append(placeholder.FindAllString(o.path, -1), placeholder.FindAllString(o.loc, -1)...) {
			if p != "{uuid}" && p != "{int}" && p != "{date}" {
				t.Errorf("%s: placeholder %s", where, p)
			}
		}
		if o.status == 204 && o.resp.kind != kNone || o.status != 204 && o.resp.kind == kNone {
			t.Errorf("%s: status %d with body kind %d", where, o.status, o.resp.kind)
		}
		for _, b := range []*field{&o.req, &o.resp} {
			if b.kind != kNone {
				check(where, b, true)
			}
		}
		for j := range o.query {
			check(where+"?", &o.query[j], false)
		}
	}
}

func TestAllocs(t *testing.T) {
	g := New(1)
	for range 1000 {
		g.Next()
	}
	// strings only (the target, the request id, lengths, trace context);
	// bodies and header lists are reused
	if a := testing.AllocsPerRun(2000, func() { g.Next() }); a > 6 {
		t.Errorf("%.1f allocations an exchange", a)
	}
}
