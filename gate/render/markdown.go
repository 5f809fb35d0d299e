package render

import (
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/specgate/specgate/gate"
)

// maxCommentBytes keeps a markdown report under GitHub's limit on a
// comment's length (65536 characters); GitLab's is larger.
const maxCommentBytes = 60000

// Markdown writes the report as the body of a pull or merge request
// comment, for GitHub and GitLab alike. The first line is Marker; the
// second the verdict. With breaking changes there follow a table of them
// (service, operation, change, from → to, callers), the other changes in a
// collapsed section, coverage per service (the operations not exercised
// collapsed), the capture's health and the changes the policy accepted;
// without any, everything after the verdict is collapsed. Tables and
// lists show at most o.MaxChanges entries each; when the body would
// still be too long for a comment, fewer, and long strings are shortened.
// Every string from the report is escaped: it cannot break a table, open
// HTML, a link or a code span, or mention anyone.
func Markdown(w io.Writer, r *gate.Report, o Options) error {
	return emit(w, "markdown", r, func(b *bytes.Buffer) error {
		limit, width := o.maxChanges(), 300
		for {
			b.Reset()
			m := mdWriter{b: b, limit: limit, width: width}
			m.report(r, o)
			if b.Len() <= maxCommentBytes || limit <= 1 && width <= 40 {
				return nil
			}
			limit, width = max(1, min(limit, 64)/2), max(40, width/2)
		}
	})
}

type mdWriter struct {
	b     *bytes.Buffer
	limit int // entries per table or list
	width int // runes per string from the report
}

func (m mdWriter) text(s string) string { return mdText(clip(s, m.width)) }
func (m mdWriter) code(s string) string { return mdCode(clip(s, m.width)) }

func (m mdWriter) para(lines ...string) {
	for _, l := range lines {
		m.b.WriteString(l)
		m.b.WriteByte('\n')
	}
	m.b.WriteByte('\n')
}

func (m mdWriter) report(r *gate.Report, o Options) {
	gs := groups(r)
	var blockingN int
	for _, g := range gs {
		blockingN += len(g.blocking)
	}
	m.b.WriteString(Marker + "\n")
	head := "**" + m.text(o.title()) + ": " + m.text(verdictWord(r.Verdict)) + "**"
	if s := summary(r); s != "" {
		head += " — " + m.text(s)
	}
	m.para(head)
	m.reasons(gs)
	if blockingN > 0 {
		m.breaking(gs, blockingN)
		if n := m.countOther(gs); n > 0 {
			m.details(plural(n, "other change", "other changes"), func() { m.other(gs, false) })
		}
		m.coverage(gs)
		m.capture(r.Capture)
		m.accepted(gs)
		return
	}
	if r.Verdict == gate.Inconclusive {
		m.capture(r.Capture)
	}
	var parts []string
	if n := m.countAccepted(gs); n > 0 {
		parts = append(parts, plural(n, "accepted change", "accepted changes"))
	}
	if n := m.countOther(gs); n > 0 {
		parts = append(parts, plural(n, "other change", "other changes"))
	}
	if m.hasCoverage(gs) {
		parts = append(parts, "coverage")
	}
	if r.Capture != nil && r.Verdict != gate.Inconclusive {
		parts = append(parts, "capture")
	}
	if len(parts) == 0 {
		return
	}
	m.details("Details: "+strings.Join(parts, ", "), func() {
		m.accepted(gs)
		m.other(gs, true)
		m.coverage(gs)
		if r.Verdict != gate.Inconclusive {
			m.capture(r.Capture)
		}
	})
}

// details writes a collapsed section; blank lines around its body let both
// GitHub and GitLab render the markdown inside.
func (m mdWriter) details(summary string, body func()) {
	m.para("<details><summary>" + summary + "</summary>")
	body()
	m.para("</details>")
}

// more writes "and N more ..." after a list or table cut at the limit.
func (m mdWriter) more(total int, what string) {
	if total > m.limit {
		m.para("and " + strconv.Itoa(total-m.limit) + " more " + what)
	}
}

func (m mdWriter) reasons(gs []*group) {
	var lines []string
	for _, g := range gs {
		s := g.service
		if s == nil || s.Reason == "" || s.Verdict == gate.Pass || s.Verdict == gate.Fail && len(g.blocking) > 0 {
			continue
		}
		lines = append(lines, "- "+m.code(serviceName(g.name))+" "+m.text(verdictWord(s.Verdict))+": "+m.text(s.Reason))
	}
	if len(lines) == 0 {
		return
	}
	n := len(lines)
	m.para(lines[:min(n, m.limit)]...)
	m.more(n, "services")
}

func (m mdWriter) table(header []string, rows [][]string) {
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	lines := []string{"| " + strings.Join(header, " | ") + " |", "| " + strings.Join(seps, " | ") + " |"}
	for _, row := range rows {
		lines = append(lines, "| "+strings.Join(row, " | ")+" |")
	}
	m.para(lines...)
}

// change is the "Change" cell: the kind in bold, where, and the message.
func (m mdWriter) change(c gate.Change) string {
	s := "**" + m.text(changeKind(c)) + "**"
	if c.Location != "" {
		s += " " + m.code(c.Location)
	}
	if c.Message != "" {
		s += "<br>" + m.text(c.Message)
	}
	return s
}

func (m mdWriter) fromTo(c gate.Change) string {
	if c.From == "" && c.To == "" {
		return ""
	}
	from, to := m.code(c.From), m.code(c.To)
	if from == "" {
		from = "—"
	}
	if to == "" {
		to = "—"
	}
	return from + " → " + to
}

func (m mdWriter) callers(cs []string) string {
	const shown = 10
	var out []string
	for i, c := range cs {
		if i == shown {
			out = append(out, "and "+strconv.Itoa(len(cs)-shown)+" more")
			break
		}
		out = append(out, m.code(c))
	}
	return strings.Join(out, ", ")
}

func (m mdWriter) breaking(gs []*group, total int) {
	m.para("#### Breaking changes")
	var rows [][]string
	for _, g := range gs {
		for _, c := range g.blocking {
			if len(rows) == m.limit {
				break
			}
			rows = append(rows, []string{m.code(serviceName(g.name)), m.code(c.Operation), m.change(c), m.fromTo(c), m.callers(c.Callers)})
		}
	}
	m.table([]string{"Service", "Operation", "Change", "From → To", "Callers"}, rows)
	m.more(total, "breaking changes")
}

func (m mdWriter) countOther(gs []*group) int {
	n := 0
	for _, g := range gs {
		n += len(g.shownOther())
	}
	return n
}

func (m mdWriter) countAccepted(gs []*group) int {
	n := 0
	for _, g := range gs {
		n += len(g.accepted)
	}
	return n
}

func (m mdWriter) hasCoverage(gs []*group) bool {
	for _, g := range gs {
		if g.coverage != nil {
			return true
		}
	}
	return false
}

func (m mdWriter) other(gs []*group, heading bool) {
	total := m.countOther(gs)
	if total == 0 {
		return
	}
	if heading {
		m.para("#### Other changes")
	}
	var rows [][]string
	for _, g := range gs {
		for _, c := range g.shownOther() {
			if len(rows) == m.limit {
				break
			}
			rows = append(rows, []string{m.code(serviceName(g.name)), m.code(c.Operation), m.text(string(c.Level)), m.change(c), m.fromTo(c)})
		}
	}
	m.table([]string{"Service", "Operation", "Level", "Change", "From → To"}, rows)
	m.more(total, "changes")
}

func (m mdWriter) accepted(gs []*group) {
	total := m.countAccepted(gs)
	if total == 0 {
		return
	}
	m.para("#### Accepted changes")
	var rows [][]string
	for _, g := range gs {
		for _, c := range g.accepted {
			if len(rows) == m.limit {
				break
			}
			rows = append(rows, []string{m.code(serviceName(g.name)), m.code(c.Operation), m.change(c), m.text(c.Accepted.Reason), m.text(c.Accepted.Expires)})
		}
	}
	m.table([]string{"Service", "Operation", "Change", "Reason", "Expires"}, rows)
	m.more(total, "accepted changes")
}

func (m mdWriter) coverage(gs []*group) {
	var covered []*group
	for _, g := range gs {
		if g.coverage != nil {
			covered = append(covered, g)
		}
	}
	if len(covered) == 0 {
		return
	}
	m.para("#### Coverage")
	for i, g := range covered {
		if i == m.limit {
			break
		}
		c := g.coverage
		m.para(m.code(serviceName(g.name)) + ": " + coverageLine(*c))
		if n := len(c.NotExercised); n > 0 {
			m.details(plural(n, "operation", "operations")+" not exercised", func() {
				var items []string
				for j, op := range c.NotExercised {
					if j == m.limit {
						break
					}
					items = append(items, "- "+m.code(op))
				}
				m.para(items...)
				m.more(n, "operations")
			})
		}
	}
	m.more(len(covered), "services")
}

func (m mdWriter) capture(h *gate.Health) {
	if h == nil {
		return
	}
	m.para("#### Capture")
	m.para(healthLine(h))
	notes := append(missedNotes(h), h.Notes...)
	if n := len(notes); n > 0 {
		var items []string
		for i, note := range notes {
			if i == m.limit {
				break
			}
			items = append(items, "- "+m.text(note))
		}
		m.para(items...)
		m.more(n, "notes")
	}
}
