// Package render writes a gate.Report in the formats people and CI systems
// read: text, markdown, json, junit, sarif, githubactions and codequality.
package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/specgate/specgate/gate"
)

// Marker is the first line of every markdown report: an HTML comment that
// GitHub and GitLab hide, by which a publisher finds the comment it wrote
// before and edits it instead of adding another.
const Marker = "<!-- specgate-report -->"

// DefaultMaxChanges is how many rows a markdown table shows when
// Options.MaxChanges is zero.
const DefaultMaxChanges = 50

// Options tune a rendering. The zero value is usable.
type Options struct {
	// Color turns on ANSI colours in the text format; the caller decides,
	// from whether the output is a terminal. Other formats ignore it.
	Color bool
	// Title starts the verdict line ("specgate: FAIL — ...") and names
	// JUnit's root; "specgate" when empty.
	Title string
	// MaxChanges caps the rows of each markdown table (and the items of
	// each markdown list), the rest summed up as "and N more":
	// DefaultMaxChanges when zero, no cap when negative.
	MaxChanges int
	// SpecFile gives the path, in the repository, of the document
	// inferred for a service, for the locations of SARIF results, Code
	// Quality issues and workflow annotations. It may be nil, and may
	// return "" for a service it does not know.
	SpecFile func(service string) string
	// Tool and Version name the program in SARIF's driver (and Tool in
	// Code Quality's engine_name); Tool is "specgate" when empty.
	Tool    string
	Version string
}

// Renderer writes a report in one format.
type Renderer func(w io.Writer, r *gate.Report, o Options) error

// Formats lists the format names Render takes, in a fixed order.
func Formats() []string {
	return []string{"text", "markdown", "json", "junit", "sarif", "githubactions", "codequality"}
}

// Lookup gives the renderer of a format named as Formats names it.
func Lookup(format string) (Renderer, bool) {
	switch format {
	case "text":
		return Text, true
	case "markdown":
		return Markdown, true
	case "json":
		return JSON, true
	case "junit":
		return JUnit, true
	case "sarif":
		return SARIF, true
	case "githubactions":
		return GitHubActions, true
	case "codequality":
		return CodeQuality, true
	}
	return nil, false
}

// Render writes r to w in the named format.
func Render(w io.Writer, format string, r *gate.Report, o Options) error {
	fn, ok := Lookup(format)
	if !ok {
		return fmt.Errorf("render: unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	return fn(w, r, o)
}

// emit runs build into a buffer and writes the result to w in one call, so
// a failed rendering writes nothing.
func emit(w io.Writer, format string, r *gate.Report, build func(*bytes.Buffer) error) error {
	if r == nil {
		return fmt.Errorf("render %s: nil report", format)
	}
	var buf bytes.Buffer
	if err := build(&buf); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("render %s: write: %w", format, err)
	}
	return nil
}

func (o Options) title() string {
	if o.Title == "" {
		return "specgate"
	}
	return o.Title
}

func (o Options) tool() string {
	if o.Tool == "" {
		return "specgate"
	}
	return o.Tool
}

func (o Options) maxChanges() int {
	switch {
	case o.MaxChanges == 0:
		return DefaultMaxChanges
	case o.MaxChanges < 0:
		return int(^uint(0) >> 1)
	}
	return o.MaxChanges
}

// specFile is the document path of a service, "" when unknown.
func (o Options) specFile(service string) string {
	if o.SpecFile == nil {
		return ""
	}
	return o.SpecFile(service)
}

// verdictWord is the verdict as a status word: PASS, FAIL, INCONCLUSIVE.
func verdictWord(v gate.Verdict) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(string(v))
}

// summary is the report's one-line summary, or one made from its counts
// when the report has none.
func summary(r *gate.Report) string {
	if r.Summary != "" {
		return r.Summary
	}
	switch r.Verdict {
	case gate.Fail:
		n := r.Breaking
		if n == 0 {
			for _, c := range r.Changes {
				if blocking(c) {
					n++
				}
			}
		}
		var names []string
		for _, s := range r.Services {
			if s.Verdict == gate.Fail || s.Breaking > 0 {
				names = append(names, s.Name)
			}
		}
		msg := plural(n, "breaking change", "breaking changes")
		if len(names) > 0 {
			msg += " in " + strings.Join(names, ", ")
		}
		return msg
	case gate.Pass:
		if len(r.Services) == 0 {
			return "no breaking changes"
		}
		return "no breaking changes in " + plural(len(r.Services), "service", "services")
	case gate.Inconclusive:
		var reasons []string
		for _, s := range r.Services {
			if s.Verdict == gate.Inconclusive && s.Reason != "" {
				reasons = append(reasons, s.Name+": "+s.Reason)
			}
		}
		if len(reasons) > 0 {
			return strings.Join(reasons, "; ")
		}
		if len(r.Services) == 0 {
			return "no traffic to judge by"
		}
		return "the capture lost data"
	}
	return ""
}

// verdictLine is "TITLE: VERDICT — summary", unescaped.
func verdictLine(r *gate.Report, o Options) string {
	line := o.title() + ": " + verdictWord(r.Verdict)
	if s := summary(r); s != "" {
		line += " — " + s
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// blocking tells whether a change fails the gate: breaking and not
// accepted by the policy.
func blocking(c gate.Change) bool {
	return c.Breaking && c.Accepted == nil
}

// notExercised tells whether a change only says an operation went
// uncalled, which coverage already tells.
func notExercised(c gate.Change) bool {
	return c.Kind == gate.KindNotExercised || c.Kind == gate.KindNoLongerExercised
}

// group is one service's share of a report.
type group struct {
	name     string
	service  *gate.Service
	coverage *gate.Coverage
	blocking []gate.Change // breaking, not accepted
	accepted []gate.Change // accepted by the policy
	other    []gate.Change // not breaking
}

// groups splits a report by service: the services in the report's order,
// then services that only changes or coverage name, in order of first
// appearance. Within a group changes keep the report's order.
func groups(r *gate.Report) []*group {
	var out []*group
	index := map[string]*group{}
	get := func(name string) *group {
		g, ok := index[name]
		if !ok {
			g = &group{name: name}
			index[name] = g
			out = append(out, g)
		}
		return g
	}
	for i := range r.Services {
		g := get(r.Services[i].Name)
		if g.service == nil {
			g.service = &r.Services[i]
		}
	}
	for _, c := range r.Changes {
		g := get(c.Service)
		switch {
		case c.Accepted != nil:
			g.accepted = append(g.accepted, c)
		case c.Breaking:
			g.blocking = append(g.blocking, c)
		default:
			g.other = append(g.other, c)
		}
	}
	for i := range r.Coverage {
		g := get(r.Coverage[i].Service)
		if g.coverage == nil {
			g.coverage = &r.Coverage[i]
		}
	}
	return out
}

// listed reports whether op is in the group's not-exercised list, so a
// change saying so is not shown twice.
func (g *group) listed(c gate.Change) bool {
	if g.coverage == nil || !notExercised(c) || c.Breaking {
		return false
	}
	for _, op := range g.coverage.NotExercised {
		if op == c.Operation {
			return true
		}
	}
	return false
}

// shownOther is the group's non-breaking changes less those that coverage
// already lists.
func (g *group) shownOther() []gate.Change {
	var out []gate.Change
	for _, c := range g.other {
		if !g.listed(c) {
			out = append(out, c)
		}
	}
	return out
}

// serviceName names a service for people; a change without one belongs to
// "(no service)".
func serviceName(name string) string {
	if name == "" {
		return "(no service)"
	}
	return name
}

// percent is a coverage percentage, rounded, but never 100 short of full
// nor 0 above nothing.
func percent(c gate.Coverage) int {
	if c.Operations <= 0 {
		return 100
	}
	ex, ops := int64(c.Exercised), int64(c.Operations)
	p := (200*ex + ops) / (2 * ops)
	if p >= 100 && ex < ops {
		p = 99
	}
	if p <= 0 && ex > 0 {
		p = 1
	}
	return int(p)
}

// coverageLine is "12 of 14 operations exercised (86%)".
func coverageLine(c gate.Coverage) string {
	if c.Operations == 0 && c.Exercised == 0 {
		return "no operations in the baseline"
	}
	return fmt.Sprintf("%d of %s exercised (%d%%)", c.Exercised, plural(c.Operations, "operation", "operations"), percent(c))
}

// healthLine is "1234 exchanges, 12 lost (0.97%)".
// missedNotes gives a note per place the capture missed.
func missedNotes(h *gate.Health) []string {
	var out []string
	for _, m := range h.Missed {
		out = append(out, "missed "+m)
	}
	return out
}

func healthLine(h *gate.Health) string {
	s := strconv.FormatInt(h.Exchanges, 10) + " exchanges"
	if h.Exchanges == 1 {
		s = "1 exchange"
	}
	s += ", " + strconv.FormatInt(h.Lost, 10) + " lost"
	if h.Lost != 0 && h.Exchanges > 0 && !math.IsNaN(h.LostRatio) && !math.IsInf(h.LostRatio, 0) {
		s += " (" + strconv.FormatFloat(h.LostRatio*100, 'f', 2, 64) + "%)"
	}
	if n := len(h.Missed); n > 0 {
		s += ", " + strconv.Itoa(n) + " missed"
	}
	return s
}

// changeKind names what happened: the kind, else the id.
func changeKind(c gate.Change) string {
	if c.Kind != "" {
		return string(c.Kind)
	}
	if c.ID != "" {
		return c.ID
	}
	return "change"
}

// fromTo is "from → to", with "—" for a missing side; "" when both are.
func fromTo(from, to string) string {
	if from == "" && to == "" {
		return ""
	}
	if from == "" {
		from = "—"
	}
	if to == "" {
		to = "—"
	}
	return from + " → " + to
}

// fingerprints gives every change a fingerprint unique within the report:
// its own (as valid UTF-8, as JSON and XML carry it), or one made from
// what identifies it when it has none, and a derived one when an earlier
// change already took it.
func fingerprints(changes []gate.Change) []string {
	out := make([]string, len(changes))
	seen := make(map[string]bool, len(changes))
	for i, c := range changes {
		fp := strings.ToValidUTF8(c.Fingerprint, "\uFFFD")
		if fp == "" {
			fp = hash(c.Service, c.ID, c.Operation, c.Location, c.From, c.To)
		}
		for n := 2; seen[fp]; n++ {
			fp = hash(c.Fingerprint, c.Service, c.ID, c.Operation, c.Location, c.From, c.To, strconv.Itoa(n))
		}
		seen[fp] = true
		out[i] = fp
	}
	return out
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
