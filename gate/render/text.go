package render

import (
	"bytes"
	"io"
	"strings"

	"github.com/specgate/specgate/gate"
)

// ANSI styles of the text format.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// Text writes the report for a terminal or a log: the verdict on the first
// line; then, per service, its breaking changes (level, kind, operation,
// location, from → to, message, callers), accepted and other changes and
// its coverage; then the capture's health. Colours only with o.Color.
// Every string from the report is shown with its control characters
// escaped, so none can drive the terminal.
func Text(w io.Writer, r *gate.Report, o Options) error {
	return emit(w, "text", r, func(b *bytes.Buffer) error {
		t := textWriter{b: b, color: o.Color}
		t.verdict(r, o)
		for _, g := range groups(r) {
			b.WriteByte('\n')
			t.group(g)
		}
		if h := r.Capture; h != nil {
			b.WriteByte('\n')
			t.line(t.style(ansiBold, "capture")+": "+healthLine(h), 0)
			for _, n := range append(missedNotes(h), h.Notes...) {
				t.line("- "+visible(n), 2)
			}
		}
		return nil
	})
}

type textWriter struct {
	b     *bytes.Buffer
	color bool
}

func (t textWriter) style(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t textWriter) line(s string, indent int) {
	t.b.WriteString(strings.Repeat(" ", indent))
	t.b.WriteString(s)
	t.b.WriteByte('\n')
}

func (t textWriter) verdictStyle(v gate.Verdict) string {
	switch v {
	case gate.Pass:
		return ansiGreen + ansiBold
	case gate.Fail:
		return ansiRed + ansiBold
	}
	return ansiYellow + ansiBold
}

func (t textWriter) verdict(r *gate.Report, o Options) {
	line := visible(o.title()) + ": " + t.style(t.verdictStyle(r.Verdict), visible(verdictWord(r.Verdict)))
	if s := summary(r); s != "" {
		line += " — " + visible(s)
	}
	t.line(line, 0)
}

func (t textWriter) group(g *group) {
	head := t.style(ansiBold, visible(serviceName(g.name)))
	if s := g.service; s != nil {
		head += ": " + t.style(t.verdictStyle(s.Verdict), visible(verdictWord(s.Verdict)))
		if s.Reason != "" {
			head += " — " + visible(s.Reason)
		}
	}
	t.line(head, 0)
	if s := g.service; s != nil && s.Baseline != "" {
		t.line("baseline: "+visible(s.Baseline), 2)
	}
	other := g.shownOther()
	if len(g.blocking)+len(g.accepted)+len(other) == 0 {
		t.line("no changes", 2)
	}
	t.changes("breaking changes", g.blocking, true)
	t.changes("accepted changes", g.accepted, false)
	t.changes("other changes", other, false)
	if c := g.coverage; c != nil {
		line := "coverage: " + coverageLine(*c)
		if len(c.NotExercised) > 0 {
			ops := make([]string, len(c.NotExercised))
			for i, op := range c.NotExercised {
				ops[i] = visible(op)
			}
			line += "; not exercised: " + strings.Join(ops, ", ")
		}
		t.line(line, 2)
	}
}

func (t textWriter) changes(title string, cs []gate.Change, fingerprint bool) {
	if len(cs) == 0 {
		return
	}
	t.line(title+":", 2)
	for _, c := range cs {
		head := []string{t.levelStyle(c.Level, visible(strings.ToUpper(string(c.Level)))), visible(changeKind(c))}
		for _, s := range []string{c.Operation, c.Location} {
			if s != "" {
				head = append(head, visible(s))
			}
		}
		if c.ID != "" && string(c.Kind) != c.ID {
			head = append(head, t.style(ansiDim, "["+visible(c.ID)+"]"))
		}
		t.line(strings.Join(nonEmpty(head), "  "), 4)
		if ft := fromTo(c.From, c.To); ft != "" {
			t.line(visible(ft), 6)
		}
		if c.Message != "" {
			t.line(visible(c.Message), 6)
		}
		if len(c.Callers) > 0 {
			callers := make([]string, len(c.Callers))
			for i, s := range c.Callers {
				callers[i] = visible(s)
			}
			t.line("callers: "+strings.Join(callers, ", "), 6)
		}
		if a := c.Accepted; a != nil {
			line := "accepted: " + visible(a.Reason)
			if a.Expires != "" {
				line += " (until " + visible(a.Expires) + ")"
			}
			t.line(line, 6)
		}
		if fingerprint && c.Fingerprint != "" {
			t.line(t.style(ansiDim, "fingerprint: "+visible(c.Fingerprint)), 6)
		}
	}
}

func (t textWriter) levelStyle(l gate.Level, s string) string {
	switch l {
	case gate.LevelError:
		return t.style(ansiRed, s)
	case gate.LevelWarning:
		return t.style(ansiYellow, s)
	case gate.LevelInfo:
		return t.style(ansiCyan, s)
	}
	return s
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
