package gate

// SchemaVersion is the version of the JSON report's schema; it changes
// only when a field changes meaning or goes away.
const SchemaVersion = 1

// Verdict is the outcome of a gate run.
type Verdict string

// The verdicts, and the exit codes 'specgate check' gives them.
const (
	Pass         Verdict = "pass"         // exit 0
	Fail         Verdict = "fail"         // exit 1: breaking changes
	Inconclusive Verdict = "inconclusive" // exit 3: nothing to judge by, or lost data
)

// Level grades a change, as oasdiff does.
type Level string

// The levels, from the most severe.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelInfo    Level = "info"
)

// Rank orders levels: error 3, warning 2, info 1, anything else 0.
func (l Level) Rank() int {
	switch l {
	case LevelError:
		return 3
	case LevelWarning:
		return 2
	case LevelInfo:
		return 1
	}
	return 0
}

// Kind says what happened, for people.
type Kind string

// The kinds of change.
const (
	KindRemoved           Kind = "removed"             // the baseline has it, the run shows it gone
	KindRenamed           Kind = "renamed"             // one property replaced by a similar one
	KindTypeChanged       Kind = "type-changed"        // a type or format changed
	KindAdded             Kind = "added"               // new in this run
	KindChanged           Kind = "changed"             // anything else: required, enums, media types
	KindNotExercised      Kind = "not-exercised"       // the baseline has it, this run did not call it
	KindNoLongerExercised Kind = "no-longer-exercised" // the baseline run called it, this run did not
)

// Change is one difference between a baseline and this run, classified.
type Change struct {
	// ID names the check: oasdiff's ids ("response-property-removed") and
	// specgate's own ("response-property-renamed", "operation-not-exercised").
	ID       string `json:"id"`
	Level    Level  `json:"level"`
	Breaking bool   `json:"breaking"`
	Kind     Kind   `json:"kind"`
	Service  string `json:"service"`
	// Operation is "METHOD /path/{template}", when the change is in one.
	Operation string `json:"operation,omitempty"`
	Path      string `json:"path,omitempty"`
	// Location says where in the operation: "response 200 body: descripton".
	Location string `json:"location,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Message  string `json:"message"`
	// Fingerprint identifies the change across runs (a policy accepts
	// changes by it): a hash of service, id, operation, location, from, to.
	Fingerprint string `json:"fingerprint"`
	// Callers are the clients this run (or the baseline's) saw calling the
	// operation.
	Callers []string `json:"callers,omitempty"`
	// Accepted is set when the policy accepts the change.
	Accepted *Acceptance `json:"accepted,omitempty"`
}

// Acceptance records why a policy lets a change through.
type Acceptance struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"` // YYYY-MM-DD
}

// Coverage says how much of a service's baseline this run exercised.
type Coverage struct {
	Service      string   `json:"service"`
	Operations   int      `json:"operations"` // in the baseline
	Exercised    int      `json:"exercised"`  // of those, called in this run
	NotExercised []string `json:"notExercised,omitempty"`
}

// Ratio is Exercised / Operations, 1 for an empty baseline.
func (c Coverage) Ratio() float64 {
	if c.Operations == 0 {
		return 1
	}
	return float64(c.Exercised) / float64(c.Operations)
}

// Health summarises the capture the run judged by.
type Health struct {
	Exchanges int64 `json:"exchanges"`
	// Lost counts what the capture could not read in full: kernel drops,
	// truncated and incomplete messages, unmatched requests and responses.
	Lost int64 `json:"lost"`
	// LostRatio is Lost over Exchanges.
	LostRatio float64 `json:"lostRatio"`
	// Notes are the capture's one-line explanations (TLS, HTTP/2, drops).
	Notes []string `json:"notes,omitempty"`
	// Missed names where the capture could not look, each as "NAME:
	// REASON": a kind node or a pod whose network namespace could not be
	// entered, or that disappeared during the run.
	Missed []string `json:"missed,omitempty"`
}

// Service is the result for one service.
type Service struct {
	Name string `json:"name"`
	// Baseline names where the baseline came from (a file, git:REF:PATH,
	// an artifact and run).
	Baseline string  `json:"baseline"`
	Verdict  Verdict `json:"verdict"`
	// Reason explains an inconclusive or failing verdict in one line.
	Reason   string `json:"reason,omitempty"`
	Breaking int    `json:"breaking"`
}

// Report is what a gate run found: the input of every renderer and the
// JSON report itself.
type Report struct {
	SchemaVersion int     `json:"schemaVersion"`
	Verdict       Verdict `json:"verdict"`
	// Summary is the verdict in one line, for people.
	Summary  string     `json:"summary"`
	Breaking int        `json:"breaking"`
	Services []Service  `json:"services"`
	Changes  []Change   `json:"changes"`
	Coverage []Coverage `json:"coverage"`
	Capture  *Health    `json:"capture,omitempty"`
}
