package render

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/specgate/specgate/gate"
)

// Format-specific validity checks, shared by the fixed reports, the random
// ones and the fuzz target. Each returns the problems it finds.

func renderAll(t testing.TB, r *gate.Report, o Options) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range Formats() {
		var b bytes.Buffer
		if err := Render(&b, f, r, o); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = b.Bytes()
	}
	return out
}

func checkAll(t testing.TB, r *gate.Report, o Options, out map[string][]byte) {
	t.Helper()
	checks := map[string]func(*gate.Report, Options, []byte) []string{
		"text":          checkText,
		"markdown":      checkMarkdown,
		"json":          checkJSON,
		"junit":         checkJUnit,
		"sarif":         checkSARIF,
		"githubactions": checkActions,
		"codequality":   checkCodeQuality,
	}
	for _, f := range Formats() {
		for _, p := range checks[f](r, o, out[f]) {
			t.Errorf("%s: %s", f, p)
		}
	}
}

// valid is what a string from the report becomes in formats that keep it
// whole: invalid UTF-8 replaced.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// jsonText is what a string becomes in JSON: encoding/json replaces each
// byte of invalid UTF-8.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	var out string
	if json.Unmarshal(b, &out) != nil {
		return "unreadable"
	}
	return out
}

func checkText(r *gate.Report, o Options, out []byte) []string {
	var bad []string
	s := string(out)
	if !utf8.ValidString(s) {
		bad = append(bad, "invalid UTF-8")
	}
	first, _, _ := strings.Cut(s, "\n")
	if want := visible(o.title()) + ": "; !strings.HasPrefix(first, want) {
		bad = append(bad, fmt.Sprintf("first line %q does not start with %q", first, want))
	}
	if !strings.Contains(first, verdictWord(r.Verdict)) {
		bad = append(bad, fmt.Sprintf("first line %q has no %s", first, verdictWord(r.Verdict)))
	}
	for _, c := range s {
		if c == '\n' || c == 0x1b && o.Color {
			continue
		}
		if invisible(c) {
			bad = append(bad, fmt.Sprintf("raw %U in text", c))
			break
		}
	}
	if !o.Color && strings.Contains(s, "\x1b") {
		bad = append(bad, "escape sequence without Color")
	}
	if !strings.HasSuffix(s, "\n") {
		bad = append(bad, "no trailing newline")
	}
	return bad
}

// mdAllowedTags are the only HTML tags a markdown report may contain.
var mdAllowedTags = []string{Marker, "<details>", "</details>", "<summary>", "</summary>", "<br>", "<code>", "</code>"}

func checkMarkdown(r *gate.Report, o Options, out []byte) []string {
	var bad []string
	s := string(out)
	if !utf8.ValidString(s) {
		bad = append(bad, "invalid UTF-8")
	}
	lines := strings.Split(s, "\n")
	if lines[0] != Marker {
		bad = append(bad, fmt.Sprintf("first line %q, want the marker", lines[0]))
	}
	if n := strings.Count(s, Marker); n != 1 {
		bad = append(bad, fmt.Sprintf("marker %d times", n))
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "**") || !strings.Contains(lines[1], ": "+verdictWord(r.Verdict)+"**") {
		bad = append(bad, fmt.Sprintf("second line %q is not the verdict", lines[min(1, len(lines)-1)]))
	}
	if len(out) > maxCommentBytes {
		bad = append(bad, fmt.Sprintf("%d bytes, more than a comment holds", len(out)))
	}
	// Tables: every row has the header's cells, and is followed by a row
	// or a blank line (a newline inside a row would start a paragraph).
	cells := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "|") {
			if cells > 0 && l != "" {
				bad = append(bad, fmt.Sprintf("line %d %q follows a table", i+1, l))
			}
			cells = 0
			continue
		}
		n := strings.Count(l, "|")
		if cells == 0 {
			cells = n
		} else if n != cells {
			bad = append(bad, fmt.Sprintf("line %d has %d pipes, the header %d: %q", i+1, n, cells, l))
		}
		if !strings.HasSuffix(l, " |") {
			bad = append(bad, fmt.Sprintf("line %d does not end the row: %q", i+1, l))
		}
	}
	// HTML: only the report's own tags; markdown: no unescaped code span,
	// link, emphasis or math opener.
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '<':
			ok := false
			for _, tag := range mdAllowedTags {
				if strings.HasPrefix(s[i:], tag) {
					ok = true
				}
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("raw HTML at %q", s[i:min(len(s), i+20)]))
				return bad
			}
		case '`', '[', ']', '$', '~', '_':
			bad = append(bad, fmt.Sprintf("unescaped %q at %q", s[i], s[max(0, i-10):min(len(s), i+10)]))
			return bad
		}
	}
	for _, pair := range [][2]string{{"<details>", "</details>"}, {"<summary>", "</summary>"}, {"<code>", "</code>"}} {
		if a, b := strings.Count(s, pair[0]), strings.Count(s, pair[1]); a != b {
			bad = append(bad, fmt.Sprintf("%d %s, %d %s", a, pair[0], b, pair[1]))
		}
	}
	return bad
}

// reportSchemaCompiled is the JSON schema, compiled once for all tests.
var reportSchemaCompiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("report.schema.json")
})

func checkJSON(r *gate.Report, _ Options, out []byte) []string {
	var bad []string
	if !bytes.HasSuffix(out, []byte("}\n")) || bytes.HasSuffix(out, []byte("\n\n")) {
		bad = append(bad, "does not end with one newline")
	}
	if !bytes.HasPrefix(out, []byte("{\n  \"schemaVersion\": ")) {
		bad = append(bad, "not indented by two spaces from schemaVersion")
	}
	// Top-level keys in declaration order.
	last := -1
	for _, k := range []string{"schemaVersion", "verdict", "summary", "breaking", "services", "changes", "coverage", "capture"} {
		i := bytes.Index(out, []byte("\n  \""+k+"\": "))
		if i < 0 {
			if k != "capture" || r.Capture != nil {
				bad = append(bad, "no key "+k)
			}
			continue
		}
		if i < last {
			bad = append(bad, "key "+k+" out of order")
		}
		last = i
	}
	var back gate.Report
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		return append(bad, "does not parse back: "+err.Error())
	}
	if want, err := validReport(normalized(r)); err != nil {
		bad = append(bad, err.Error())
	} else if !reflect.DeepEqual(&back, want) {
		bad = append(bad, fmt.Sprintf("parses back as\n%+v\nwant\n%+v", back, *want))
	}
	sch, err := reportSchemaCompiled()
	if err != nil {
		return append(bad, "schema: "+err.Error())
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		return append(bad, err.Error())
	}
	if err := sch.Validate(doc); err != nil {
		bad = append(bad, "does not validate: "+err.Error())
	}
	return bad
}

// validReport is r with its strings as JSON carries them: invalid UTF-8
// replaced, as encoding/json replaces it, byte by byte.
func validReport(r *gate.Report) (*gate.Report, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var out gate.Report
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// The JUnit XML as a reader of it sees it.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped   *struct{} `xml:"skipped"`
			SystemOut *string   `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func checkJUnit(r *gate.Report, _ Options, out []byte) []string {
	var bad []string
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		bad = append(bad, "no XML declaration")
	}
	var doc xSuites
	dec := xml.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&doc); err != nil {
		return append(bad, "does not parse: "+err.Error())
	}
	var tests, failures, errors, skipped int
	failed := map[string]int{}
	for _, s := range doc.Suites {
		var st, sf, se, ss int
		for _, c := range s.Cases {
			st++
			n := 0
			if c.Failure != nil {
				sf++
				n++
				failed[c.Failure.Type]++
			}
			if c.Error != nil {
				se++
				n++
			}
			if c.Skipped != nil {
				ss++
				n++
			}
			if n > 1 {
				bad = append(bad, fmt.Sprintf("testcase %q is failed, errored or skipped at once", c.Name))
			}
			if c.Name == "" || c.Classname == "" {
				bad = append(bad, "testcase without a name or classname")
			}
		}
		if st == 0 {
			bad = append(bad, fmt.Sprintf("testsuite %q is empty", s.Name))
		}
		if st != s.Tests || sf != s.Failures || se != s.Errors || ss != s.Skipped {
			bad = append(bad, fmt.Sprintf("testsuite %q counts %d/%d/%d/%d, has %d/%d/%d/%d", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, st, sf, se, ss))
		}
		tests, failures, errors, skipped = tests+st, failures+sf, errors+se, skipped+ss
	}
	if tests != doc.Tests || failures != doc.Failures || errors != doc.Errors || skipped != doc.Skipped {
		bad = append(bad, fmt.Sprintf("testsuites counts %d/%d/%d/%d, has %d/%d/%d/%d", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errors, skipped))
	}
	// Every breaking change the policy did not accept is a failure.
	want := map[string]int{}
	for _, c := range r.Changes {
		if blocking(c) {
			want[valid(c.ID)]++
		}
	}
	for id, n := range want {
		if got := failed[xmlSafe(id)]; got < n {
			bad = append(bad, fmt.Sprintf("%d failures of type %q, want %d", got, id, n))
		}
	}
	mayFail := len(want) > 0 || r.Verdict == gate.Fail
	for _, s := range r.Services {
		mayFail = mayFail || s.Verdict == gate.Fail
	}
	if r.Verdict == gate.Fail && doc.Failures == 0 || !mayFail && doc.Failures > 0 {
		bad = append(bad, fmt.Sprintf("verdict %s with %d failures", r.Verdict, doc.Failures))
	}
	if r.Verdict == gate.Inconclusive && doc.Errors == 0 {
		bad = append(bad, "inconclusive without an error")
	}
	return bad
}

// The SARIF log as GitHub code scanning reads it.
type xSARIF struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					Name string `json:"name"`
					Kind string `json:"kind"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Suppressions        []struct {
				Kind string `json:"kind"`
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

var sarifLevels = map[string]bool{"error": true, "warning": true, "note": true}

func checkSARIF(r *gate.Report, o Options, out []byte) []string {
	var bad []string
	var doc xSARIF
	if err := json.Unmarshal(out, &doc); err != nil {
		return []string{"does not parse: " + err.Error()}
	}
	if doc.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || doc.Version != "2.1.0" {
		bad = append(bad, fmt.Sprintf("$schema %q version %q", doc.Schema, doc.Version))
	}
	if len(doc.Runs) != 1 {
		return append(bad, fmt.Sprintf("%d runs", len(doc.Runs)))
	}
	run := doc.Runs[0]
	d := run.Tool.Driver
	if d.Name == "" || d.InformationURI != "https://github.com/specgate/specgate" || d.Version != jsonText(o.Version) {
		bad = append(bad, fmt.Sprintf("driver %q %q %q", d.Name, d.Version, d.InformationURI))
	}
	rules := map[string]int{}
	for i, rule := range d.Rules {
		if _, dup := rules[rule.ID]; dup || rule.ID == "" {
			bad = append(bad, fmt.Sprintf("rule id %q empty or repeated", rule.ID))
		}
		rules[rule.ID] = i
		if rule.ShortDescription.Text == "" || !sarifLevels[rule.DefaultConfiguration.Level] {
			bad = append(bad, fmt.Sprintf("rule %q: description %q level %q", rule.ID, rule.ShortDescription.Text, rule.DefaultConfiguration.Level))
		}
	}
	if len(run.Results) != len(r.Changes) {
		return append(bad, fmt.Sprintf("%d results for %d changes", len(run.Results), len(r.Changes)))
	}
	seen := map[string]bool{}
	for i, res := range run.Results {
		c := r.Changes[i]
		if idx, ok := rules[res.RuleID]; !ok || idx != res.RuleIndex {
			bad = append(bad, fmt.Sprintf("result %d: rule %q index %d not in the driver", i, res.RuleID, res.RuleIndex))
		}
		if c.ID != "" && res.RuleID != valid(c.ID) {
			bad = append(bad, fmt.Sprintf("result %d: rule %q, want %q", i, res.RuleID, c.ID))
		}
		if !sarifLevels[res.Level] || blocking(c) && res.Level != "error" {
			bad = append(bad, fmt.Sprintf("result %d: level %q", i, res.Level))
		}
		if res.Message.Text == "" || !strings.Contains(res.Message.Text, jsonText(c.Message)) {
			bad = append(bad, fmt.Sprintf("result %d: message %q lacks %q", i, res.Message.Text, c.Message))
		}
		if len(res.Locations) != 1 {
			bad = append(bad, fmt.Sprintf("result %d: %d locations", i, len(res.Locations)))
			continue
		}
		loc := res.Locations[0]
		if f := o.specFile(c.Service); f != "" {
			if loc.PhysicalLocation == nil || loc.PhysicalLocation.ArtifactLocation.URI == "" {
				bad = append(bad, fmt.Sprintf("result %d: no physical location for %q", i, f))
			}
		} else if loc.PhysicalLocation != nil {
			bad = append(bad, fmt.Sprintf("result %d: a physical location without a file", i))
		}
		if len(loc.LogicalLocations) != 1 || loc.LogicalLocations[0].Name == "" {
			bad = append(bad, fmt.Sprintf("result %d: logical locations %+v", i, loc.LogicalLocations))
		}
		fp := res.PartialFingerprints["specgate/v1"]
		if fp == "" || seen[fp] {
			bad = append(bad, fmt.Sprintf("result %d: fingerprint %q empty or repeated", i, fp))
		}
		seen[fp] = true
		if (c.Accepted != nil) != (len(res.Suppressions) == 1) {
			bad = append(bad, fmt.Sprintf("result %d: %d suppressions, accepted %v", i, len(res.Suppressions), c.Accepted != nil))
		}
	}
	return bad
}

// unescapeWorkflow undoes a workflow command's escapes, strictly: every %
// starts one of the runner's escapes.
func unescapeWorkflow(s string, property bool) (string, error) {
	codes := map[string]string{"%25": "%", "%0D": "\r", "%0A": "\n"}
	if property {
		codes["%3A"] = ":"
		codes["%2C"] = ","
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) || codes[s[i:i+3]] == "" {
			return "", fmt.Errorf("stray %% in %q", s)
		}
		b.WriteString(codes[s[i:i+3]])
		i += 2
	}
	return b.String(), nil
}

// workflowCmd is a parsed workflow command.
type workflowCmd struct {
	name  string
	props map[string]string
	msg   string
}

func parseWorkflow(line string) (workflowCmd, error) {
	var c workflowCmd
	rest, ok := strings.CutPrefix(line, "::")
	if !ok {
		return c, fmt.Errorf("line %q is no command", line)
	}
	head, msg, ok := strings.Cut(rest, "::")
	if !ok {
		return c, fmt.Errorf("line %q has no message", line)
	}
	name, props, _ := strings.Cut(head, " ")
	c.name, c.props = name, map[string]string{}
	if props != "" {
		for _, p := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return c, fmt.Errorf("property %q has no value", p)
			}
			u, err := unescapeWorkflow(v, true)
			if err != nil {
				return c, err
			}
			c.props[k] = u
		}
	}
	m, err := unescapeWorkflow(msg, false)
	c.msg = m
	return c, err
}

func checkActions(r *gate.Report, o Options, out []byte) []string {
	var bad []string
	s := string(out)
	if !strings.HasSuffix(s, "\n") {
		bad = append(bad, "no trailing newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != len(r.Changes)+1 {
		return append(bad, fmt.Sprintf("%d lines for %d changes", len(lines), len(r.Changes)))
	}
	for i, l := range lines {
		if strings.ContainsRune(l, '\r') {
			bad = append(bad, fmt.Sprintf("line %d holds a CR", i+1))
		}
		c, err := parseWorkflow(l)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if i == len(lines)-1 {
			if c.name != "notice" || !strings.Contains(c.msg, verdictWord(r.Verdict)) {
				bad = append(bad, fmt.Sprintf("last command %s %q is not the verdict", c.name, c.msg))
			}
			continue
		}
		ch := r.Changes[i]
		// Control characters other than line ends and tabs arrive escaped.
		shown := func(s string) string { return visibleExcept(s, "\r\n\t") }
		for _, s := range []string{c.msg, c.props["title"], c.props["file"]} {
			if strings.ContainsFunc(s, func(r rune) bool { return invisible(r) && r != '\r' && r != '\n' && r != '\t' }) {
				bad = append(bad, fmt.Sprintf("line %d: control character in %q", i+1, s))
			}
		}
		switch c.name {
		case "error", "warning", "notice":
		default:
			bad = append(bad, "command "+c.name)
		}
		if blocking(ch) && c.name != "error" {
			bad = append(bad, fmt.Sprintf("line %d: breaking change as %s", i+1, c.name))
		}
		if f := o.specFile(ch.Service); c.props["file"] != shown(f) {
			bad = append(bad, fmt.Sprintf("line %d: file %q, want %q", i+1, c.props["file"], f))
		}
		if !strings.Contains(c.props["title"], shown(ch.Operation)) {
			bad = append(bad, fmt.Sprintf("line %d: title %q lacks the operation %q", i+1, c.props["title"], ch.Operation))
		}
		if !strings.Contains(c.msg, shown(ch.Message)) {
			bad = append(bad, fmt.Sprintf("line %d: message %q lacks %q", i+1, c.msg, ch.Message))
		}
	}
	return bad
}

type xIssue struct {
	Description string `json:"description"`
	CheckName   string `json:"check_name"`
	Fingerprint string `json:"fingerprint"`
	Severity    string `json:"severity"`
	Location    struct {
		Path  string `json:"path"`
		Lines struct {
			Begin int `json:"begin"`
		} `json:"lines"`
	} `json:"location"`
}

func checkCodeQuality(r *gate.Report, o Options, out []byte) []string {
	var bad []string
	var issues []xIssue
	if err := json.Unmarshal(out, &issues); err != nil {
		return []string{"does not parse: " + err.Error()}
	}
	if issues == nil {
		bad = append(bad, "not an array")
	}
	if len(issues) != len(r.Changes) {
		return append(bad, fmt.Sprintf("%d issues for %d changes", len(issues), len(r.Changes)))
	}
	severities := map[string]bool{"info": true, "minor": true, "major": true, "critical": true, "blocker": true}
	seen := map[string]bool{}
	for i, is := range issues {
		c := r.Changes[i]
		if is.Description == "" || is.CheckName == "" || !severities[is.Severity] || is.Location.Lines.Begin != 1 {
			bad = append(bad, fmt.Sprintf("issue %d: %+v", i, is))
		}
		if is.Fingerprint == "" || seen[is.Fingerprint] {
			bad = append(bad, fmt.Sprintf("issue %d: fingerprint %q empty or repeated", i, is.Fingerprint))
		}
		seen[is.Fingerprint] = true
		want := jsonText(o.specFile(c.Service))
		if want == "" {
			want = "openapi.yaml"
		}
		if is.Location.Path != want {
			bad = append(bad, fmt.Sprintf("issue %d: path %q, want %q", i, is.Location.Path, want))
		}
		if blocking(c) && c.Level == gate.LevelError && is.Severity != "blocker" {
			bad = append(bad, fmt.Sprintf("issue %d: breaking error as %s", i, is.Severity))
		}
		if !strings.Contains(is.Description, jsonText(c.Message)) {
			bad = append(bad, fmt.Sprintf("issue %d: description %q lacks %q", i, is.Description, c.Message))
		}
	}
	return bad
}
