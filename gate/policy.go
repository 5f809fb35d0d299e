package gate

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/oasdiff/oasdiff/checker"
	"go.yaml.in/yaml/v3"

	"github.com/specgate/specgate/internal/match"
	"github.com/specgate/specgate/internal/oserr"
)

// Policy is what a repository's .specgate.yaml says about its gate.
type Policy struct {
	// FailOn is the lowest level that fails the gate (default error).
	FailOn Level `yaml:"fail-on"`
	// MinSamples is the fewest samples on each side for the traffic to
	// count as evidence of a removal or of a change of required-ness
	// (default 5).
	MinSamples int `yaml:"min-samples"`
	// Severity overrides the level of checks by id (oasdiff's and
	// specgate's own).
	Severity map[string]Level `yaml:"severity"`
	// Accept lets known changes through, by fingerprint.
	Accept []Accepted `yaml:"accept"`
	// Include and Exclude select services and paths (regular expressions).
	Include Selection `yaml:"include"`
	Exclude Selection `yaml:"exclude"`
	// Inconclusive says what an inconclusive verdict exits as: "fail",
	// "pass" or "inconclusive" (default, exit 3).
	Inconclusive string `yaml:"inconclusive"`
	// MaxLost is the share of exchanges the capture may lose before the
	// verdict is inconclusive (default 0.01).
	MaxLost float64 `yaml:"max-lost"`

	include, exclude selection
}

// Accepted is a change the team has accepted.
type Accepted struct {
	Fingerprint string `yaml:"fingerprint"`
	Reason      string `yaml:"reason"`
	Expires     string `yaml:"expires"` // YYYY-MM-DD, optional
}

// Selection names services and paths by regular expression.
type Selection struct {
	Services []string `yaml:"services"`
	Paths    []string `yaml:"paths"`
}

type selection struct{ services, paths []*regexp.Regexp }

// DefaultPolicy returns the policy of a repository without .specgate.yaml.
func DefaultPolicy() *Policy {
	p := &Policy{}
	if err := p.complete(); err != nil {
		panic(err) // the defaults are valid
	}
	return p
}

// LoadPolicy reads a policy file; a missing file is an error (the caller
// decides whether the file is optional).
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, oserr.Cause(err))
	}
	return ParsePolicy(data, path)
}

// ParsePolicy parses a policy; name is used in errors.
func ParsePolicy(data []byte, name string) (*Policy, error) {
	p := &Policy{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("policy %s: %s", name, oneLine(err.Error()))
	}
	if err := p.complete(); err != nil {
		return nil, fmt.Errorf("policy %s: %v", name, err)
	}
	return p, nil
}

// complete checks the policy and fills in defaults.
func (p *Policy) complete() error {
	if p.FailOn == "" {
		p.FailOn = LevelError
	}
	if p.FailOn.Rank() == 0 {
		return fmt.Errorf("fail-on %q: want error, warning or info", p.FailOn)
	}
	if p.MinSamples == 0 {
		p.MinSamples = 5
	}
	if p.MinSamples < 1 {
		return fmt.Errorf("min-samples %d: want 1 or more", p.MinSamples)
	}
	if p.MaxLost == 0 {
		p.MaxLost = 0.01
	}
	if p.MaxLost < 0 || p.MaxLost > 1 {
		return fmt.Errorf("max-lost %v: want a share between 0 and 1", p.MaxLost)
	}
	switch p.Inconclusive {
	case "":
		p.Inconclusive = "inconclusive"
	case "inconclusive", "pass", "fail":
	default:
		return fmt.Errorf("inconclusive %q: want inconclusive, pass or fail", p.Inconclusive)
	}
	known := knownChecks()
	var ids []string
	for id := range p.Severity {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !known[id] {
			return fmt.Errorf("severity: unknown check id %q (see 'specgate checks' for the list)", id)
		}
		if p.Severity[id].Rank() == 0 {
			return fmt.Errorf("severity of %s: %q: want error, warning or info", id, p.Severity[id])
		}
	}
	for i, a := range p.Accept {
		if a.Fingerprint == "" {
			return fmt.Errorf("accept[%d]: no fingerprint", i)
		}
		if strings.TrimSpace(a.Reason) == "" {
			return fmt.Errorf("accept[%d] (%s): give a reason", i, a.Fingerprint)
		}
		if a.Expires != "" {
			if _, err := time.Parse(time.DateOnly, a.Expires); err != nil {
				return fmt.Errorf("accept[%d] (%s): expires %q: want YYYY-MM-DD", i, a.Fingerprint, a.Expires)
			}
		}
	}
	var err error
	if p.include, err = compile("include", p.Include); err != nil {
		return err
	}
	if p.exclude, err = compile("exclude", p.Exclude); err != nil {
		return err
	}
	return nil
}

func compile(what string, s Selection) (selection, error) {
	var out selection
	for _, x := range []struct {
		name string
		in   []string
		out  *[]*regexp.Regexp
	}{{"services", s.Services, &out.services}, {"paths", s.Paths, &out.paths}} {
		for _, e := range x.in {
			re, err := regexp.Compile(e)
			if err != nil {
				return out, fmt.Errorf("%s.%s %q: %v", what, x.name, e, err)
			}
			*x.out = append(*x.out, re)
		}
	}
	return out, nil
}

// Check is a check id and its default level.
type Check struct {
	ID    string
	Level Level
}

// Checks lists every check a policy's severity may name, sorted by id:
// oasdiff's and specgate's own.
func Checks() []Check {
	seen := map[string]bool{}
	var out []Check
	for _, r := range checker.GetAllRules() {
		if !seen[r.Id] {
			seen[r.Id] = true
			out = append(out, Check{r.Id, levelOf(r.Level)})
		}
	}
	for id, l := range OwnChecks {
		if !seen[id] {
			seen[id] = true
			out = append(out, Check{id, l})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// knownChecks returns every check id a severity may name.
func knownChecks() map[string]bool {
	m := map[string]bool{}
	for _, c := range Checks() {
		m[c.ID] = true
	}
	return m
}

// Service reports whether the policy selects a service.
func (p *Policy) Service(name string) bool {
	return match.Keep(name, p.include.services, p.exclude.services)
}

// Path reports whether the policy selects a path.
func (p *Policy) Path(path string) bool {
	return match.Keep(path, p.include.paths, p.exclude.paths)
}

// apply sets each change's level from the severity overrides, whether it
// breaks the gate, and whether an unexpired acceptance covers it.
func (p *Policy) apply(cs []Change, today time.Time) []Change {
	out := cs[:0]
	for _, ch := range cs {
		if ch.Path != "" && !p.Path(ch.Path) {
			continue
		}
		if l, ok := p.Severity[ch.ID]; ok {
			ch.Level = l
		}
		ch.Breaking = ch.Level.Rank() >= p.FailOn.Rank()
		for _, a := range p.Accept {
			if a.Fingerprint != ch.Fingerprint {
				continue
			}
			if a.Expires != "" {
				exp, _ := time.Parse(time.DateOnly, a.Expires)
				if !today.Before(exp.AddDate(0, 0, 1)) {
					continue
				}
			}
			ch.Accepted = &Acceptance{Reason: a.Reason, Expires: a.Expires}
			ch.Breaking = false
		}
		out = append(out, ch)
	}
	return out
}
