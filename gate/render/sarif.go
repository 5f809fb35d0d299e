package render

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/specgate/specgate/gate"
)

// The SARIF log's fixed parts.
const (
	sarifSchema      = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion     = "2.1.0"
	informationURI   = "https://github.com/specgate/specgate"
	fingerprintKey   = "specgate/v1"
	logicalKindOp    = "function"
	logicalKindSvc   = "module"
	sarifLevelError  = "error"
	sarifLevelWarn   = "warning"
	sarifLevelNote   = "note"
	sarifSuppression = "external"
)

// SARIF writes the report as a SARIF 2.1.0 log for GitHub code scanning:
// one run whose driver lists a rule per change id present, and a result
// per change with the change's level (error, warning, note), its message,
// the service's document from o.SpecFile as the location (a logical
// location naming the operation besides), and the change's fingerprint.
// A change the policy accepted carries a suppression with the reason.
// GitHub code scanning rejects results without a file, so a caller
// uploading there must give o.SpecFile for every service; without one a
// result has the logical location only.
func SARIF(w io.Writer, r *gate.Report, o Options) error {
	return emit(w, "sarif", r, func(b *bytes.Buffer) error {
		run := sarifRun{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           o.tool(),
				Version:        o.Version,
				InformationURI: informationURI,
				Rules:          []sarifRule{},
			}},
			Results: []sarifResult{},
		}
		rules := map[string]int{} // rule id → its index in Rules
		var ids []string
		for _, c := range r.Changes {
			id := ruleID(c)
			if _, ok := rules[id]; !ok {
				rules[id] = 0
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for i, id := range ids {
			rules[id] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
				ID:                   id,
				Name:                 ruleName(id),
				ShortDescription:     sarifMessage{Text: ruleDescription(id)},
				DefaultConfiguration: sarifConfig{Level: sarifLevelNote},
			})
		}
		fps := fingerprints(r.Changes)
		for i, c := range r.Changes {
			level := sarifLevel(c)
			rule := &run.Tool.Driver.Rules[rules[ruleID(c)]]
			if levelRank(level) > levelRank(rule.DefaultConfiguration.Level) {
				rule.DefaultConfiguration.Level = level
			}
			res := sarifResult{
				RuleID:              ruleID(c),
				RuleIndex:           rules[ruleID(c)],
				Level:               level,
				Message:             sarifMessage{Text: sarifText(c)},
				Locations:           []sarifLocation{sarifLocate(c, o)},
				PartialFingerprints: map[string]string{fingerprintKey: fps[i]},
				Properties: &sarifResultProps{
					Service:   c.Service,
					Operation: c.Operation,
					Kind:      string(c.Kind),
					Breaking:  c.Breaking,
					Callers:   c.Callers,
				},
			}
			if a := c.Accepted; a != nil {
				just := a.Reason
				if a.Expires != "" {
					just += " (until " + a.Expires + ")"
				}
				res.Suppressions = []sarifSuppressionT{{Kind: sarifSuppression, Status: "accepted", Justification: just}}
			}
			run.Results = append(run.Results, res)
		}
		enc := json.NewEncoder(b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
	})
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name,omitempty"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string              `json:"ruleId"`
	RuleIndex           int                 `json:"ruleIndex"`
	Level               string              `json:"level"`
	Message             sarifMessage        `json:"message"`
	Locations           []sarifLocation     `json:"locations"`
	PartialFingerprints map[string]string   `json:"partialFingerprints"`
	Suppressions        []sarifSuppressionT `json:"suppressions,omitempty"`
	Properties          *sarifResultProps   `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

type sarifSuppressionT struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

type sarifResultProps struct {
	Service   string   `json:"service"`
	Operation string   `json:"operation,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Breaking  bool     `json:"breaking"`
	Callers   []string `json:"callers,omitempty"`
}

// ruleID is a change's check id, or its kind when it has none, as valid
// UTF-8 (ids that differ only in invalid bytes are one rule).
func ruleID(c gate.Change) string {
	return strings.ToValidUTF8(orElse(c.ID, changeKind(c)), "\uFFFD")
}

// ruleName is an id in UpperCamelCase, as SARIF's rule names are written:
// response-property-renamed → ResponsePropertyRenamed.
func ruleName(id string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(id, func(r rune) bool { return !isAlnum(r) }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// ruleDescription is an id as a phrase: "Response property renamed".
func ruleDescription(id string) string {
	s := strings.ReplaceAll(id, "-", " ")
	if s == "" {
		return "Change"
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	return s
}

// sarifLevel maps a change's level: error, warning, note. A breaking
// change the policy did not accept is an error whatever its level.
func sarifLevel(c gate.Change) string {
	if blocking(c) {
		return sarifLevelError
	}
	switch c.Level {
	case gate.LevelError:
		return sarifLevelError
	case gate.LevelWarning:
		return sarifLevelWarn
	}
	return sarifLevelNote
}

func levelRank(l string) int {
	switch l {
	case sarifLevelError:
		return 3
	case sarifLevelWarn:
		return 2
	}
	return 1
}

// sarifText is a result's message: the change's, then where and what
// changed, and who called it.
func sarifText(c gate.Change) string {
	msg := orElse(c.Message, changeKind(c))
	var where []string
	where = append(where, strings.Join(nonEmpty([]string{serviceName(c.Service), c.Operation}), " "))
	if c.Location != "" {
		where = append(where, c.Location)
	}
	if ft := fromTo(c.From, c.To); ft != "" {
		where = append(where, ft)
	}
	if len(c.Callers) > 0 {
		where = append(where, "callers: "+strings.Join(c.Callers, ", "))
	}
	if c.Breaking {
		msg = "Breaking: " + msg
	}
	return msg + " (" + strings.Join(where, "; ") + ")"
}

// sarifLocate places a result: the service's document when o.SpecFile
// knows it, and the operation as a logical location.
func sarifLocate(c gate.Change, o Options) sarifLocation {
	var loc sarifLocation
	if f := o.specFile(c.Service); f != "" {
		loc.PhysicalLocation = &sarifPhysical{
			ArtifactLocation: sarifArtifact{URI: fileURI(f)},
			Region:           &sarifRegion{StartLine: 1},
		}
	}
	svc := serviceName(c.Service)
	if c.Operation != "" {
		loc.LogicalLocations = []sarifLogical{{Name: c.Operation, FullyQualifiedName: svc + " " + c.Operation, Kind: logicalKindOp}}
	} else {
		loc.LogicalLocations = []sarifLogical{{Name: svc, Kind: logicalKindSvc}}
	}
	return loc
}

// fileURI writes a repository path as a relative URI reference: forward
// slashes, and what a URI cannot hold percent-encoded.
func fileURI(path string) string {
	u := url.URL{Path: filepath.ToSlash(path)}
	return u.String()
}
