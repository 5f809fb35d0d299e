package render

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/specgate/specgate/gate"
)

// defaultSpecPath is the location of a Code Quality issue whose service's
// document o.SpecFile does not know; GitLab requires a path.
const defaultSpecPath = "openapi.yaml"

// CodeQuality writes the report as a GitLab Code Quality report: a JSON
// array with an issue per change, its fingerprint unique within the
// report, its severity blocker for a breaking error the policy did not
// accept, major for other errors and breaking warnings, minor for
// warnings and info otherwise, located at line 1 of the service's document
// (o.SpecFile, else "openapi.yaml").
func CodeQuality(w io.Writer, r *gate.Report, o Options) error {
	return emit(w, "codequality", r, func(b *bytes.Buffer) error {
		fps := fingerprints(r.Changes)
		issues := make([]cqIssue, 0, len(r.Changes))
		for i, c := range r.Changes {
			issues = append(issues, cqIssue{
				Type:        "issue",
				CheckName:   ruleID(c),
				Description: cqDescription(c),
				Categories:  []string{"Compatibility"},
				Severity:    cqSeverity(c),
				Fingerprint: fps[i],
				Location: cqLocation{
					Path:  orElse(o.specFile(c.Service), defaultSpecPath),
					Lines: cqLines{Begin: 1},
				},
				Engine: o.tool(),
			})
		}
		enc := json.NewEncoder(b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(issues)
	})
}

type cqIssue struct {
	Type        string     `json:"type"`
	CheckName   string     `json:"check_name"`
	Description string     `json:"description"`
	Categories  []string   `json:"categories"`
	Severity    string     `json:"severity"`
	Fingerprint string     `json:"fingerprint"`
	Location    cqLocation `json:"location"`
	Engine      string     `json:"engine_name"`
}

type cqLocation struct {
	Path  string  `json:"path"`
	Lines cqLines `json:"lines"`
}

type cqLines struct {
	Begin int `json:"begin"`
}

func cqSeverity(c gate.Change) string {
	switch {
	case blocking(c) && c.Level == gate.LevelError:
		return "blocker"
	case c.Level == gate.LevelError, blocking(c):
		return "major"
	case c.Level == gate.LevelWarning:
		return "minor"
	}
	return "info"
}

// cqDescription is one line for GitLab's widget: service and operation,
// then the message.
func cqDescription(c gate.Change) string {
	s := sarifText(c)
	if c.Accepted != nil {
		s += " [accepted: " + c.Accepted.Reason + "]"
	}
	return s
}
