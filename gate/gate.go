package gate

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Input is what one gate run judges.
type Input struct {
	// Baselines are the documents to compare against, one per service.
	Baselines []*Doc
	// Current are the documents inferred from this run's traffic.
	Current []*Doc
	// Health is the capture's, when the run captured traffic.
	Health *Health
	Policy *Policy
	// Today decides which acceptances have expired.
	Today time.Time
}

// Run compares every baselined service with this run and returns the
// report. The documents are changed in place.
func Run(in Input) (*Report, error) {
	pol := in.Policy
	if pol == nil {
		pol = DefaultPolicy()
	}
	r := &Report{SchemaVersion: SchemaVersion, Capture: in.Health, Changes: []Change{}, Coverage: []Coverage{}, Services: []Service{}}
	cur := map[string]*Doc{}
	for _, d := range in.Current {
		cur[d.Service] = d
	}
	// One hand-written baseline and one service: they are each other's,
	// whatever the baseline's title says. (An inferred baseline names its
	// service.)
	if len(in.Baselines) == 1 && len(in.Current) == 1 && !in.Baselines[0].Inferred {
		cur[in.Baselines[0].Service] = in.Current[0]
	}
	bases := append([]*Doc(nil), in.Baselines...)
	sort.Slice(bases, func(i, j int) bool { return bases[i].Service < bases[j].Service })
	seen := map[string]bool{}
	for _, b := range bases {
		if !pol.Service(b.Service) {
			continue
		}
		if seen[b.Service] {
			return nil, fmt.Errorf("two baselines for %s (%s)", b.Service, b.Source)
		}
		seen[b.Service] = true
		s := Service{Name: b.Service, Baseline: b.Source}
		c := cur[b.Service]
		if c == nil {
			s.Verdict = Inconclusive
			s.Reason = "no traffic reached " + b.Service + " in this run"
			r.Services = append(r.Services, s)
			continue
		}
		changes, cov, err := Compare(b, c, pol)
		if err != nil {
			return nil, err
		}
		changes = pol.apply(changes, in.Today)
		for _, ch := range changes {
			if ch.Breaking {
				s.Breaking++
			}
		}
		s.Verdict = Pass
		if s.Breaking > 0 {
			s.Verdict = Fail
			s.Reason = plural(s.Breaking, "breaking change")
		}
		r.Breaking += s.Breaking
		r.Changes = append(r.Changes, changes...)
		r.Coverage = append(r.Coverage, cov)
		r.Services = append(r.Services, s)
	}
	sortChanges(r.Changes)
	r.Verdict, r.Summary = verdict(r, pol)
	return r, nil
}

// verdict decides the run's verdict: breaking changes fail it, whatever
// else; a service without traffic, a capture that missed a node or pod,
// or one that lost more than the policy allows, makes it inconclusive;
// otherwise it passes.
func verdict(r *Report, pol *Policy) (Verdict, string) {
	var failed, silent []string
	for _, s := range r.Services {
		switch s.Verdict {
		case Fail:
			failed = append(failed, s.Name)
		case Inconclusive:
			silent = append(silent, s.Name)
		}
	}
	switch {
	case r.Breaking > 0:
		return Fail, fmt.Sprintf("%s in %s", plural(r.Breaking, "breaking change"), strings.Join(failed, ", "))
	case len(r.Services) == 0:
		return Inconclusive, "no baselined service to judge"
	case len(silent) > 0:
		return Inconclusive, "no traffic reached " + strings.Join(silent, ", ") + ": nothing to judge it by"
	case r.Capture != nil && len(r.Capture.Missed) > 0:
		names := make([]string, len(r.Capture.Missed))
		for i, m := range r.Capture.Missed {
			names[i], _, _ = strings.Cut(m, ":")
		}
		return Inconclusive, fmt.Sprintf("the capture missed %s: a breaking change could hide there", strings.Join(names, ", "))
	case r.Capture != nil && r.Capture.Exchanges > 0 && r.Capture.LostRatio > pol.MaxLost:
		return Inconclusive, fmt.Sprintf("the capture lost %.1f%% of the traffic (more than %.1f%%): a breaking change could hide there", 100*r.Capture.LostRatio, 100*pol.MaxLost)
	}
	return Pass, fmt.Sprintf("no breaking changes in %s", plural(len(r.Services), "service"))
}

// ExitCode is the exit status of a verdict under the policy: 0 pass, 1
// fail, 3 inconclusive (or as the policy maps it).
func ExitCode(v Verdict, pol *Policy) int {
	switch v {
	case Fail:
		return 1
	case Inconclusive:
		switch pol.Inconclusive {
		case "pass":
			return 0
		case "fail":
			return 1
		}
		return 3
	}
	return 0
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
