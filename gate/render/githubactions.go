package render

import (
	"bytes"
	"io"
	"strings"

	"github.com/specgate/specgate/gate"
)

// GitHubActions writes the report as GitHub Actions workflow commands,
// which the runner turns into annotations: one per change (::error for a
// breaking change the policy did not accept and for error-level changes,
// ::warning, ::notice for the rest and for accepted changes), with the
// service's document from o.SpecFile as file= when known, then a last
// ::notice with the verdict. Each command is one line: messages escape %,
// CR and LF, and properties also : and ,, as the runner unescapes them.
func GitHubActions(w io.Writer, r *gate.Report, o Options) error {
	return emit(w, "githubactions", r, func(b *bytes.Buffer) error {
		for _, c := range r.Changes {
			var props []string
			if f := o.specFile(c.Service); f != "" {
				props = append(props, "file="+workflowProperty(f))
			}
			props = append(props, "title="+workflowProperty(actionsTitle(c, o)))
			workflowCommand(b, actionsLevel(c), props, actionsMessage(c))
		}
		workflowCommand(b, "notice", []string{"title=" + workflowProperty(o.title()+": "+verdictWord(r.Verdict))}, verdictLine(r, o))
		return nil
	})
}

func workflowCommand(b *bytes.Buffer, cmd string, props []string, msg string) {
	b.WriteString("::" + cmd)
	if len(props) > 0 {
		b.WriteString(" " + strings.Join(props, ","))
	}
	b.WriteString("::" + workflowData(msg) + "\n")
}

func actionsLevel(c gate.Change) string {
	switch {
	case c.Accepted != nil:
		return "notice"
	case c.Breaking, c.Level == gate.LevelError:
		return "error"
	case c.Level == gate.LevelWarning:
		return "warning"
	}
	return "notice"
}

// actionsTitle heads an annotation: "specgate: renamed (breaking) in
// todo-service GET /todos/{id}".
func actionsTitle(c gate.Change, o Options) string {
	what := changeKind(c)
	switch {
	case c.Accepted != nil:
		what += " (accepted)"
	case c.Breaking:
		what += " (breaking)"
	}
	return o.title() + ": " + what + " in " + strings.Join(nonEmpty([]string{serviceName(c.Service), c.Operation}), " ")
}

// actionsMessage is an annotation's text: the change's message, then where,
// what changed, who called it and its fingerprint, a line each.
func actionsMessage(c gate.Change) string {
	lines := []string{orElse(c.Message, changeKind(c))}
	if c.Location != "" {
		lines = append(lines, "at "+c.Location)
	}
	if ft := fromTo(c.From, c.To); ft != "" {
		lines = append(lines, ft)
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
	if c.Fingerprint != "" {
		lines = append(lines, "fingerprint: "+c.Fingerprint)
	}
	return strings.Join(lines, "\n")
}
