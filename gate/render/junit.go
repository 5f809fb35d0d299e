package render

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/specgate/specgate/gate"
)

// JUnit writes the report as JUnit XML, as GitLab's test reports and
// Jenkins read it: a testsuite per service, a testcase per change (a
// breaking change the policy did not accept is a failure; the others pass,
// with the change in system-out), a skipped testcase per operation the run
// did not exercise, and an error for an inconclusive service. A service
// with nothing to report has one passing testcase. When the report's
// verdict is not told by any service's testcases, or the capture has
// notes, a last testsuite named after o.Title says so.
func JUnit(w io.Writer, r *gate.Report, o Options) error {
	return emit(w, "junit", r, func(b *bytes.Buffer) error {
		root := junitSuites{Name: o.title(), Time: "0"}
		for _, g := range groups(r) {
			root.add(junitService(g, o))
		}
		if s, ok := junitReport(r, o, root); ok {
			root.add(s)
		}
		b.WriteString(xml.Header)
		enc := xml.NewEncoder(b)
		enc.Indent("", "  ")
		if err := enc.Encode(root); err != nil {
			return err
		}
		b.WriteByte('\n')
		return nil
	})
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Properties *junitProperties `xml:"properties"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	List []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped"`
	Error     *junitProblem `xml:"error"`
	Failure   *junitProblem `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

func (s *junitSuite) property(name, value string) {
	if s.Properties == nil {
		s.Properties = &junitProperties{}
	}
	s.Properties.List = append(s.Properties.List, junitProperty{Name: name, Value: xmlAttr(value)})
}

func (s *junitSuites) add(suite junitSuite) {
	for _, c := range suite.Cases {
		suite.Tests++
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Error != nil:
			suite.Errors++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	s.Tests += suite.Tests
	s.Failures += suite.Failures
	s.Errors += suite.Errors
	s.Skipped += suite.Skipped
	s.Suites = append(s.Suites, suite)
}

// xmlAttr makes a string safe for an attribute; the encoder escapes
// markup and line ends and replaces invalid characters itself.
func xmlAttr(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func cdata(s string) *junitText { return &junitText{Text: xmlSafe(s)} }

func junitService(g *group, o Options) junitSuite {
	name := serviceName(g.name)
	suite := junitSuite{Name: xmlAttr(name), Time: "0"}
	if s := g.service; s != nil {
		suite.property("verdict", string(s.Verdict))
		if s.Baseline != "" {
			suite.property("baseline", s.Baseline)
		}
	}
	file := xmlAttr(o.specFile(g.name))
	names := map[string]int{}
	newCase := func(title string) junitCase {
		if title == "" {
			title = "(unnamed)"
		}
		names[title]++
		if n := names[title]; n > 1 {
			title += " #" + strconv.Itoa(n)
		}
		return junitCase{Name: xmlAttr(title), Classname: xmlAttr(name), File: file, Time: "0"}
	}
	if s := g.service; s != nil && s.Verdict == gate.Inconclusive {
		c := newCase("verdict")
		c.Error = &junitProblem{Message: xmlAttr(orElse(s.Reason, "inconclusive")), Type: "inconclusive", Text: xmlSafe(s.Reason)}
		suite.Cases = append(suite.Cases, c)
	}
	if s := g.service; s != nil && s.Verdict == gate.Fail && len(g.blocking) == 0 {
		c := newCase("verdict")
		c.Failure = &junitProblem{Message: xmlAttr(orElse(s.Reason, "fail")), Type: "fail", Text: xmlSafe(s.Reason)}
		suite.Cases = append(suite.Cases, c)
	}
	for _, ch := range g.blocking {
		c := newCase(caseName(ch))
		c.Failure = &junitProblem{Message: xmlAttr(orElse(ch.Message, changeKind(ch))), Type: xmlAttr(ch.ID), Text: xmlSafe(changeBody(ch))}
		suite.Cases = append(suite.Cases, c)
	}
	for _, ch := range append(append([]gate.Change(nil), g.accepted...), g.other...) {
		c := newCase(caseName(ch))
		if notExercised(ch) && ch.Accepted == nil {
			c.Skipped = &junitSkipped{Message: xmlAttr(orElse(ch.Message, changeKind(ch)))}
		}
		c.SystemOut = cdata(changeBody(ch))
		suite.Cases = append(suite.Cases, c)
	}
	if cov := g.coverage; cov != nil {
		shown := map[string]bool{}
		for _, ch := range g.other {
			if g.listed(ch) {
				shown[ch.Operation] = true
			}
		}
		for _, op := range cov.NotExercised {
			if shown[op] {
				continue
			}
			shown[op] = true
			c := newCase(op)
			c.Skipped = &junitSkipped{Message: "not exercised in this run"}
			suite.Cases = append(suite.Cases, c)
		}
	}
	if len(suite.Cases) == 0 {
		suite.Cases = append(suite.Cases, newCase("no breaking changes"))
	}
	if cov := g.coverage; cov != nil {
		suite.property("coverage", coverageLine(*cov))
	}
	return suite
}

// junitReport is the testsuite for what no service tells: the capture's
// health, and a verdict that no service's testcase explains.
func junitReport(r *gate.Report, o Options, root junitSuites) (junitSuite, bool) {
	name := xmlAttr(o.title())
	suite := junitSuite{Name: name, Time: "0"}
	told := false
	switch r.Verdict {
	case gate.Fail:
		told = root.Failures > 0
	case gate.Inconclusive:
		told = root.Errors > 0
	default:
		told = true
	}
	if !told {
		c := junitCase{Name: "verdict", Classname: name, Time: "0"}
		p := &junitProblem{Message: xmlAttr(orElse(summary(r), string(r.Verdict))), Type: xmlAttr(string(r.Verdict)), Text: xmlSafe(summary(r))}
		if r.Verdict == gate.Fail {
			c.Failure = p
		} else {
			c.Error = p
		}
		suite.Cases = append(suite.Cases, c)
	}
	if h := r.Capture; h != nil {
		c := junitCase{Name: "capture", Classname: name, Time: "0"}
		c.SystemOut = cdata(strings.Join(append(append([]string{healthLine(h)}, missedNotes(h)...), h.Notes...), "\n"))
		suite.Cases = append(suite.Cases, c)
	}
	return suite, len(suite.Cases) > 0
}

// caseName names a change's testcase: "GET /x: response 200 body: a [id]".
func caseName(c gate.Change) string {
	name := strings.Join(nonEmpty([]string{c.Operation, c.Location}), ": ")
	id := orElse(c.ID, changeKind(c))
	if name == "" {
		return id
	}
	return name + " [" + id + "]"
}

// changeBody tells a change in plain lines, for failures and system-out.
func changeBody(c gate.Change) string {
	lines := []string{strings.Join(nonEmpty([]string{string(c.Level), changeKind(c), c.Operation, c.Location}), " ")}
	if ft := fromTo(c.From, c.To); ft != "" {
		lines = append(lines, ft)
	}
	if c.Message != "" {
		lines = append(lines, c.Message)
	}
	if len(c.Callers) > 0 {
		lines = append(lines, "callers: "+strings.Join(c.Callers, ", "))
	}
	if a := c.Accepted; a != nil {
		line := "accepted: " + a.Reason
		if a.Expires != "" {
			line += " (until " + a.Expires + ")"
		}
		lines = append(lines, line)
	}
	if c.ID != "" {
		lines = append(lines, "id: "+c.ID)
	}
	if c.Fingerprint != "" {
		lines = append(lines, "fingerprint: "+c.Fingerprint)
	}
	return strings.Join(lines, "\n")
}

func orElse(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
