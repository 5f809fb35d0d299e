package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/specgate/specgate/gate"
)

func TestMdText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a|b", "a&#124;b"},
		{"`code`", "\\`code\\`"},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"a & b", "a &amp; b"},
		{"line1\nline2", "line1<br>line2"},
		{"line1\r\nline2", "line1<br>line2"},
		{"*em* _u_ ~s~ [l](u) #1 $x$", "\\*em\\* \\_u\\_ \\~s\\~ \\[l\\](u) \\#1 \\$x\\$"},
		{`back\slash`, `back\\slash`},
		{"@all and @team-x and a@", "@&#8203;all and @&#8203;team-x and a@"},
		{"- item", "\\- item"},
		{"12. item", "12\\. item"},
		{"10.0.0.7:8443", "10.0.0.7:8443"},
		{"ok 1. x", "ok 1. x"},
		{"esc\x1b[31m", "esc\\x1b\\[31m"},
		{"\u202eevil", "\\u202eevil"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"日本 😀", "日本 😀"},
	}
	for _, tt := range tests {
		if got := mdText(tt.in); got != tt.want {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// In code, @ stays and a newline shows as \n.
	if got, want := mdCode("@type\nx|y"), "<code>@type\\nx&#124;y</code>"; got != want {
		t.Errorf("mdCode = %q, want %q", got, want)
	}
	if mdCode("") != "" {
		t.Error("mdCode of nothing is not empty")
	}
}

func TestWorkflowEscapes(t *testing.T) {
	tests := []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"},
		{"a:b,c", "a:b,c", "a%3Ab%2Cc"},
		{"%0A", "%250A", "%250A"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	}
	for _, tt := range tests {
		if got := workflowData(tt.in); got != tt.data {
			t.Errorf("workflowData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := workflowProperty(tt.in); got != tt.prop {
			t.Errorf("workflowProperty(%q) = %q, want %q", tt.in, got, tt.prop)
		}
		for _, prop := range []bool{false, true} {
			esc := workflowData(tt.in)
			if prop {
				esc = workflowProperty(tt.in)
			}
			if back, err := unescapeWorkflow(esc, prop); err != nil || back != tt.in {
				t.Errorf("%q → %q → %q, %v", tt.in, esc, back, err)
			}
		}
	}
	// An escape sequence and raw controls never reach the log.
	if got := workflowData("\x1b[31m"); got != `\x1b[31m` {
		t.Errorf("workflowData(ESC) = %q", got)
	}
}

func TestMarkdownShortWhenPassing(t *testing.T) {
	var b bytes.Buffer
	r := failReport()
	// Accept the breaking change: the report passes, and everything after
	// the verdict is collapsed.
	r.Changes[0].Accepted = &gate.Acceptance{Reason: "typo fix, clients updated"}
	r.Verdict, r.Breaking, r.Summary = gate.Pass, 0, ""
	r.Services[0].Verdict, r.Services[0].Breaking = gate.Pass, 0
	if err := Markdown(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	want := []string{Marker, "**specgate: PASS** — no breaking changes in 2 services", "", "<details><summary>Details: 2 accepted changes, 1 other change, coverage, capture</summary>"}
	if !reflect.DeepEqual(lines[:4], want) {
		t.Errorf("short body starts\n%q\nwant\n%q", lines[:4], want)
	}
	if !strings.HasSuffix(b.String(), "</details>\n\n") {
		t.Errorf("something after the details:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "typo fix, clients updated") {
		t.Error("accepted change's reason missing")
	}
}

func TestMarkdownCaps(t *testing.T) {
	r := manyReport()
	var b bytes.Buffer
	if err := Markdown(&b, r, Options{MaxChanges: 5}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// 3 services × 40 changes: 12 breaking each, 4 accepted each, the
	// rest other (24 each, plus 2 orphans).
	for _, want := range []string{
		"and 31 more breaking changes",
		"and 7 more accepted changes",
		"and 69 more changes",
		"and 75 more operations",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q", want)
		}
	}
	rows := 0
	inBreaking := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "#### Breaking changes":
			inBreaking = true
		case strings.HasPrefix(l, "| <code>") && inBreaking:
			rows++
		case strings.HasPrefix(l, "and "):
			inBreaking = false
		}
	}
	if rows != 5 {
		t.Errorf("%d rows of breaking changes, want 5", rows)
	}
	// Without a cap everything is there.
	b.Reset()
	if err := Markdown(&b, r, Options{MaxChanges: -1}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), " more ") {
		t.Error("\"more\" without a cap")
	}
}

// TestMarkdownFitsAComment: a report far too big for one comment is cut
// until it fits, and stays valid.
func TestMarkdownFitsAComment(t *testing.T) {
	long := strings.Repeat("|<`x`>", 2000)
	r := &gate.Report{Verdict: gate.Fail, Breaking: 500}
	for i := range 500 {
		r.Changes = append(r.Changes, gate.Change{ID: "id", Breaking: true, Level: gate.LevelError, Service: "s", Operation: long, Message: long, Callers: []string{long, long}})
		r.Coverage = append(r.Coverage, gate.Coverage{Service: long + string(rune('a'+i%26)), Operations: 2, NotExercised: []string{long}})
	}
	r.Capture = &gate.Health{Notes: []string{long, long, long}}
	var b bytes.Buffer
	o := Options{MaxChanges: -1, Title: long}
	if err := Markdown(&b, r, o); err != nil {
		t.Fatal(err)
	}
	if b.Len() > maxCommentBytes {
		t.Errorf("%d bytes", b.Len())
	}
	for _, p := range checkMarkdown(r, o, b.Bytes()) {
		t.Error(p)
	}
}

func TestJUnitCases(t *testing.T) {
	var b bytes.Buffer
	if err := JUnit(&b, failReport(), testOptions()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`<testcase name="GET /todos/{todoId}: response 200 body: descripton [response-property-renamed]" classname="todo-service" file="specs/todo-service.yaml" time="0">`,
		`<failure message="renamed the response property &#39;descripton&#39; to &#39;description&#39;" type="response-property-renamed">`,
		// The uncalled operation is one skipped testcase, not two.
		`<testcase name="DELETE /todos/{todoId} [operation-not-exercised]"`,
		`<testcase name="GET /health" classname="todo-service"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	if n := strings.Count(out, "DELETE /todos/{todoId}"); n != 2 { // the testcase name and its system-out
		t.Errorf("DELETE /todos/{todoId} %d times", n)
	}
}

func TestSARIFWithoutFile(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, failReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	var doc xSARIF
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, res := range doc.Runs[0].Results {
		loc := res.Locations[0]
		if loc.PhysicalLocation != nil || len(loc.LogicalLocations) != 1 {
			t.Errorf("location without a file: %+v", loc)
		}
	}
	if got := doc.Runs[0].Results[0].Locations[0].LogicalLocations[0]; got.Name != "GET /todos/{todoId}" || got.Kind != "function" {
		t.Errorf("logical location %+v", got)
	}
}

func TestFileURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"specs/todo.yaml", "specs/todo.yaml"},
		{"specs/todo service.yaml", "specs/todo%20service.yaml"},
		{"specs/100%.yaml", "specs/100%25.yaml"},
		{"a:b/c.yaml", "./a:b/c.yaml"},
		{"specs/#1.yaml", "specs/%231.yaml"},
	}
	for _, tt := range tests {
		if got := fileURI(tt.in); got != tt.want {
			t.Errorf("fileURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCodeQualitySeverity(t *testing.T) {
	tests := []struct {
		c    gate.Change
		want string
	}{
		{gate.Change{Breaking: true, Level: gate.LevelError}, "blocker"},
		{gate.Change{Breaking: true, Level: gate.LevelWarning}, "major"},
		{gate.Change{Breaking: true, Level: gate.LevelError, Accepted: &gate.Acceptance{}}, "major"},
		{gate.Change{Level: gate.LevelWarning}, "minor"},
		{gate.Change{Level: gate.LevelInfo}, "info"},
	}
	for _, tt := range tests {
		if got := cqSeverity(tt.c); got != tt.want {
			t.Errorf("cqSeverity(%+v) = %s, want %s", tt.c, got, tt.want)
		}
	}
	var b bytes.Buffer
	if err := CodeQuality(&b, passReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Errorf("no changes gives %q, want an empty array", b.String())
	}
}

// TestSchemaDescribesReport walks gate.Report: every JSON field is a
// property of the schema, required exactly when it is not omitempty.
func TestSchemaDescribesReport(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(JSONSchema(), &schema); err != nil {
		t.Fatal(err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema %v", schema["$schema"])
	}
	defs, _ := schema["$defs"].(map[string]any)
	resolve := func(node map[string]any) map[string]any {
		if ref, ok := node["$ref"].(string); ok {
			d, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			return d
		}
		return node
	}
	var walk func(path string, typ reflect.Type, node map[string]any)
	walk = func(path string, typ reflect.Type, node map[string]any) {
		node = resolve(node)
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if items, ok := node["items"].(map[string]any); ok {
				node = resolve(items)
			}
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		props, _ := node["properties"].(map[string]any)
		required := map[string]bool{}
		if req, ok := node["required"].([]any); ok {
			for _, r := range req {
				required[r.(string)] = true
			}
		}
		if len(props) != typ.NumField() {
			t.Errorf("%s: %d properties in the schema, %d fields", path, len(props), typ.NumField())
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: not in the schema", path, name)
				continue
			}
			if omit := strings.Contains(opts, "omitempty"); omit == required[name] {
				t.Errorf("%s.%s: omitempty %v but required %v", path, name, omit, required[name])
			}
			walk(path+"."+name, f.Type, p)
		}
	}
	walk("report", reflect.TypeFor[gate.Report](), schema)
	if _, err := reportSchemaCompiled(); err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
}

// TestSchemaRejects makes sure the schema checks something: reports that
// break it are refused.
func TestSchemaRejects(t *testing.T) {
	sch, err := reportSchemaCompiled()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		`{}`,
		`{"schemaVersion": 1, "verdict": "maybe", "summary": "", "breaking": 0, "services": [], "changes": [], "coverage": []}`,
		`{"schemaVersion": 2, "verdict": "pass", "summary": "", "breaking": 0, "services": [], "changes": [], "coverage": []}`,
		`{"schemaVersion": 1, "verdict": "pass", "summary": "", "breaking": 0, "services": [], "changes": [{"id": "x"}], "coverage": []}`,
		`{"schemaVersion": 1, "verdict": "pass", "summary": "", "breaking": -1, "services": [], "changes": [], "coverage": []}`,
		`{"schemaVersion": 1, "verdict": "pass", "summary": "", "breaking": 0, "services": null, "changes": [], "coverage": []}`,
	} {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		if sch.Validate(v) == nil {
			t.Errorf("the schema accepts %s", doc)
		}
	}
}

// TestChecksCatch feeds the validity checks broken outputs: each must
// complain, or the checks prove nothing.
func TestChecksCatch(t *testing.T) {
	r, o := failReport(), testOptions()
	out := renderAll(t, r, o)
	replace := func(f, old, new string) []byte {
		s := string(out[f])
		if !strings.Contains(s, old) {
			t.Fatalf("%s has no %q", f, old)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	tests := []struct {
		name  string
		check func(*gate.Report, Options, []byte) []string
		out   []byte
	}{
		{"markdown without marker", checkMarkdown, replace("markdown", Marker+"\n", "")},
		{"markdown newline in a row", checkMarkdown, replace("markdown", "<br>renamed", "\nrenamed")},
		{"markdown pipe in a cell", checkMarkdown, replace("markdown", "GET /todos/{todoId}", "GET |todos")},
		{"markdown raw HTML", checkMarkdown, replace("markdown", "descripton</code>", "<script></code>")},
		{"markdown code span", checkMarkdown, replace("markdown", "<code>web-frontend</code>", "`web-frontend`")},
		{"text raw escape", checkText, replace("text", "descripton", "\x1b[2J")},
		{"text verdict", checkText, replace("text", "FAIL", "PASS")},
		{"json field", checkJSON, replace("json", `"descripton"`, `"description"`)},
		{"json schema", checkJSON, replace("json", `"level": "error"`, `"level": "fatal"`)},
		{"junit count", checkJUnit, replace("junit", `failures="1"`, `failures="2"`)},
		{"junit failure", checkJUnit, replace("junit", "<failure ", "<error ")},
		{"junit xml", checkJUnit, replace("junit", "</testsuites>", "")},
		{"sarif fingerprint", checkSARIF, replace("sarif", `"specgate/v1": "3f1c9a0d5e7b2c48"`, `"specgate/v1": "8a2e61f0c3d94b57"`)},
		{"sarif level", checkSARIF, replace("sarif", `"level": "error"`, `"level": "fatal"`)},
		{"sarif location", checkSARIF, replace("sarif", `"uri": "specs/todo-service.yaml"`, `"uri": ""`)},
		{"actions newline", checkActions, replace("githubactions", "%0A", "\n")},
		{"actions stray percent", checkActions, replace("githubactions", "%0A", "%")},
		{"actions level", checkActions, replace("githubactions", "::error ", "::notice ")},
		{"codequality fingerprint", checkCodeQuality, replace("codequality", `"fingerprint": "8a2e61f0c3d94b57"`, `"fingerprint": "3f1c9a0d5e7b2c48"`)},
		{"codequality severity", checkCodeQuality, replace("codequality", `"severity": "blocker"`, `"severity": "minor"`)},
	}
	for _, tt := range tests {
		if len(tt.check(r, o, tt.out)) == 0 {
			t.Errorf("%s: not caught", tt.name)
		}
	}
	for _, f := range Formats() {
		if p := map[string]func(*gate.Report, Options, []byte) []string{
			"text": checkText, "markdown": checkMarkdown, "json": checkJSON, "junit": checkJUnit,
			"sarif": checkSARIF, "githubactions": checkActions, "codequality": checkCodeQuality,
		}[f](r, o, out[f]); len(p) > 0 {
			t.Errorf("%s: the unbroken output fails: %v", f, p)
		}
	}
}
