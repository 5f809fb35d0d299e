package render

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/specgate/specgate/gate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// extensions of the golden files, per format.
var goldenExt = map[string]string{
	"text":          "txt",
	"markdown":      "md",
	"json":          "json",
	"junit":         "xml",
	"sarif":         "sarif",
	"githubactions": "gha",
	"codequality":   "codequality.json",
}

func TestGolden(t *testing.T) {
	o := testOptions()
	for _, tr := range testReports() {
		out := renderAll(t, tr.r, o)
		for _, f := range Formats() {
			golden(t, tr.name+"."+goldenExt[f], out[f])
		}
		co := o
		co.Color = true
		var b bytes.Buffer
		if err := Text(&b, tr.r, co); err != nil {
			t.Fatal(err)
		}
		golden(t, tr.name+".color.txt", b.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update and review the diff):\n%s", name, got)
	}
}

func TestValidity(t *testing.T) {
	for _, o := range []Options{testOptions(), {}, {Color: true, MaxChanges: 3, Title: "gate | <b>"}} {
		for _, tr := range testReports() {
			t.Run(tr.name, func(t *testing.T) {
				checkAll(t, tr.r, o, renderAll(t, tr.r, o))
			})
		}
	}
}

// TestDeterministic renders every report twice, and once more from a deep
// copy: the bytes are the same.
func TestDeterministic(t *testing.T) {
	o := testOptions()
	for _, tr := range testReports() {
		a := renderAll(t, tr.r, o)
		b := renderAll(t, tr.r, o)
		c := renderAll(t, deepCopy(t, tr.r), o)
		for _, f := range Formats() {
			if !bytes.Equal(a[f], b[f]) || !bytes.Equal(a[f], c[f]) {
				t.Errorf("%s %s: two renderings differ", tr.name, f)
			}
		}
	}
}

func deepCopy(t *testing.T, r *gate.Report) *gate.Report {
	t.Helper()
	c := *r
	c.Services = append([]gate.Service(nil), r.Services...)
	c.Changes = nil
	for _, ch := range r.Changes {
		ch.Callers = append([]string(nil), ch.Callers...)
		if ch.Accepted != nil {
			a := *ch.Accepted
			ch.Accepted = &a
		}
		c.Changes = append(c.Changes, ch)
	}
	c.Coverage = nil
	for _, cv := range r.Coverage {
		cv.NotExercised = append([]string(nil), cv.NotExercised...)
		c.Coverage = append(c.Coverage, cv)
	}
	if r.Capture != nil {
		h := *r.Capture
		h.Notes = append([]string(nil), h.Notes...)
		c.Capture = &h
	}
	return &c
}

// TestNoMutation checks that rendering leaves the report as it was.
func TestNoMutation(t *testing.T) {
	for _, tr := range testReports() {
		before := deepCopy(t, tr.r)
		renderAll(t, tr.r, testOptions())
		if !reflect.DeepEqual(before, deepCopy(t, tr.r)) {
			t.Errorf("%s: rendering changed the report", tr.name)
		}
	}
}

func TestRender(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, "yaml", passReport(), Options{}); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("unknown format: %v", err)
	}
	for _, f := range Formats() {
		if _, ok := Lookup(f); !ok {
			t.Errorf("Lookup(%q) fails", f)
		}
		if err := Render(&b, f, nil, Options{}); err == nil {
			t.Errorf("%s: no error for a nil report", f)
		}
		if err := Render(failWriter{}, f, failReport(), Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: write error lost: %v", f, err)
		}
	}
	if got := Formats(); len(got) != 7 || got[0] != "text" {
		t.Errorf("Formats() = %v", got)
	}
	Formats()[0] = "changed"
	if Formats()[0] != "text" {
		t.Error("Formats shares its slice")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestTextVerdictLine(t *testing.T) {
	tests := []struct {
		r    *gate.Report
		want string
	}{
		{failReport(), "specgate: FAIL — 1 breaking change in todo-service\n"},
		{passReport(), "specgate: PASS — no breaking changes in 2 services\n"},
		// Without a summary, one is made from the counts.
		{&gate.Report{Verdict: gate.Fail, Breaking: 2, Services: []gate.Service{{Name: "a", Verdict: gate.Fail, Breaking: 2}}}, "specgate: FAIL — 2 breaking changes in a\n"},
		{&gate.Report{Verdict: gate.Inconclusive}, "specgate: INCONCLUSIVE — no traffic to judge by\n"},
		{&gate.Report{Verdict: gate.Inconclusive, Services: []gate.Service{{Name: "a", Verdict: gate.Inconclusive, Reason: "no traffic"}}}, "specgate: INCONCLUSIVE — a: no traffic\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := Text(&b, tt.r, Options{}); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := strings.Cut(b.String(), "\n"); got+"\n" != tt.want {
			t.Errorf("verdict line %q, want %q", got, tt.want)
		}
	}
}

func TestTextContent(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, failReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"todo-service: FAIL — 1 breaking change",
		"  breaking changes:\n    ERROR  renamed  GET /todos/{todoId}  response 200 body: descripton  [response-property-renamed]\n      descripton → description\n",
		"callers: billing-service/2.3, web-frontend",
		"coverage: 12 of 14 operations exercised (86%); not exercised: DELETE /todos/{todoId}, GET /health",
		"accepted: no client sends it any more (until 2030-01-31)",
		"capture: 1234 exchanges, 2 lost (0.16%)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// The breaking change comes before the other changes, which come
	// before coverage; the not-exercised change is told once, by coverage.
	if i, j, k := strings.Index(out, "breaking changes:"), strings.Index(out, "other changes:"), strings.Index(out, "coverage:"); !(i < j && j < k) {
		t.Errorf("sections out of order:\n%s", out)
	}
	if strings.Count(out, "DELETE /todos/{todoId}") != 1 {
		t.Errorf("the uncalled operation is told more than once:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Error("colour without Color")
	}
	b.Reset()
	if err := Text(&b, failReport(), Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ansiRed+ansiBold+"FAIL"+ansiReset) {
		t.Errorf("no red FAIL with Color:\n%q", b.String())
	}
}

func TestTextEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, hostileReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x00\r\u202e") {
		t.Errorf("raw control characters in text:\n%q", out)
	}
	if !strings.Contains(out, `\x1b[31mred\x1b[0m \u202eevil \x00nul`) {
		t.Errorf("escapes not shown:\n%s", out)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		ex, ops, want int
	}{
		{12, 14, 86}, {14, 14, 100}, {0, 14, 0}, {199, 200, 99}, {1, 1000, 1}, {0, 0, 100}, {1, 2, 50}, {5, 3, 167},
	}
	for _, tt := range tests {
		if got := percent(gate.Coverage{Exercised: tt.ex, Operations: tt.ops}); got != tt.want {
			t.Errorf("percent(%d of %d) = %d, want %d", tt.ex, tt.ops, got, tt.want)
		}
	}
}

func TestFingerprintsUnique(t *testing.T) {
	cs := []gate.Change{
		{Fingerprint: "a"}, {Fingerprint: "a"}, {Fingerprint: "a"},
		{ID: "x", Service: "s"}, {ID: "x", Service: "s"}, {ID: "y", Service: "s"},
	}
	fps := fingerprints(cs)
	if fps[0] != "a" {
		t.Errorf("a change's own fingerprint is not kept: %q", fps[0])
	}
	seen := map[string]bool{}
	for i, fp := range fps {
		if fp == "" || seen[fp] {
			t.Errorf("fingerprint %d %q empty or repeated: %q", i, fp, fps)
		}
		seen[fp] = true
	}
	if again := fingerprints(cs); !reflect.DeepEqual(fps, again) {
		t.Errorf("fingerprints differ between calls: %q, %q", fps, again)
	}
}

func BenchmarkRender(b *testing.B) {
	r, o := manyReport(), testOptions()
	for _, f := range Formats() {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := Render(&buf, f, r, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
