package render

import (
	"fmt"

	"github.com/specgate/specgate/gate"
)

// The hand-built reports every format is tested on.

// testOptions are the options of the golden files: the todo service's
// document is known, the others' are not.
func testOptions() Options {
	return Options{
		Title:   "specgate",
		Tool:    "specgate",
		Version: "1.2.3",
		SpecFile: func(service string) string {
			if service == "todo-service" {
				return "specs/todo-service.yaml"
			}
			return ""
		},
	}
}

type namedReport struct {
	name string
	r    *gate.Report
}

func testReports() []namedReport {
	return []namedReport{
		{"pass", passReport()},
		{"fail", failReport()},
		{"inconclusive", inconclusiveReport()},
		{"many", manyReport()},
		{"hostile", hostileReport()},
		{"empty", &gate.Report{SchemaVersion: gate.SchemaVersion, Verdict: gate.Inconclusive}},
	}
}

func passReport() *gate.Report {
	return &gate.Report{
		SchemaVersion: gate.SchemaVersion,
		Verdict:       gate.Pass,
		Summary:       "no breaking changes in 2 services",
		Services: []gate.Service{
			{Name: "todo-service", Baseline: "specs/todo-service.yaml", Verdict: gate.Pass},
			{Name: "stats-service", Baseline: "git:main:specs/stats-service.yaml", Verdict: gate.Pass},
		},
		Coverage: []gate.Coverage{
			{Service: "todo-service", Operations: 5, Exercised: 5},
			{Service: "stats-service", Operations: 2, Exercised: 2},
		},
		Capture: &gate.Health{Exchanges: 1234},
	}
}

func failReport() *gate.Report {
	return &gate.Report{
		SchemaVersion: gate.SchemaVersion,
		Verdict:       gate.Fail,
		Summary:       "1 breaking change in todo-service",
		Breaking:      1,
		Services: []gate.Service{
			{Name: "todo-service", Baseline: "specs/todo-service.yaml", Verdict: gate.Fail, Reason: "1 breaking change", Breaking: 1},
			{Name: "stats-service", Baseline: "specs/stats-service.yaml", Verdict: gate.Pass},
		},
		Changes: []gate.Change{
			{
				ID: "response-property-renamed", Level: gate.LevelError, Breaking: true, Kind: gate.KindRenamed,
				Service: "todo-service", Operation: "GET /todos/{todoId}", Path: "/todos/{todoId}",
				Location: "response 200 body: descripton", From: "descripton", To: "description",
				Message:     "renamed the response property 'descripton' to 'description'",
				Fingerprint: "3f1c9a0d5e7b2c48",
				Callers:     []string{"billing-service/2.3", "web-frontend"},
			},
			{
				ID: "endpoint-added", Level: gate.LevelInfo, Kind: gate.KindAdded,
				Service: "todo-service", Operation: "POST /todos/{todoId}/tags", Path: "/todos/{todoId}/tags",
				Message: "added the operation", Fingerprint: "8a2e61f0c3d94b57",
			},
			{
				ID: "operation-not-exercised", Level: gate.LevelInfo, Kind: gate.KindNotExercised,
				Service: "todo-service", Operation: "DELETE /todos/{todoId}", Path: "/todos/{todoId}",
				Message: "the baseline has the operation; this run did not call it", Fingerprint: "c0ffee0000000001",
			},
			{
				ID: "request-parameter-removed", Level: gate.LevelWarning, Breaking: true, Kind: gate.KindRemoved,
				Service: "stats-service", Operation: "GET /stats", Path: "/stats",
				Location: "query parameter: window", From: "window",
				Message:     "removed the query parameter 'window'",
				Fingerprint: "51a7e2bb90d3c6f4",
				Callers:     []string{"todo-service"},
				Accepted:    &gate.Acceptance{Reason: "no client sends it any more", Expires: "2030-01-31"},
			},
		},
		Coverage: []gate.Coverage{
			{Service: "todo-service", Operations: 14, Exercised: 12, NotExercised: []string{"DELETE /todos/{todoId}", "GET /health"}},
			{Service: "stats-service", Operations: 3, Exercised: 3},
		},
		Capture: &gate.Health{Exchanges: 1234, Lost: 2, LostRatio: 2.0 / 1234},
	}
}

func inconclusiveReport() *gate.Report {
	return &gate.Report{
		SchemaVersion: gate.SchemaVersion,
		Verdict:       gate.Inconclusive,
		Summary:       "no traffic reached todo-service: nothing to judge it by",
		Services: []gate.Service{
			{Name: "todo-service", Baseline: "specs/todo-service.yaml", Verdict: gate.Inconclusive, Reason: "no traffic reached the service"},
		},
		Coverage: []gate.Coverage{
			{Service: "todo-service", Operations: 3, Exercised: 0, NotExercised: []string{"GET /todos", "GET /todos/{todoId}", "POST /todos"}},
		},
		Capture: &gate.Health{
			Exchanges: 0, Lost: 420, LostRatio: 0,
			Notes: []string{
				"10.0.0.7:8443: TLS (SNI api.internal), 42 connections: specgate cannot see inside TLS; capture inside the pod or behind the TLS terminator",
				"10.0.0.9:8080: HTTP/2, 3 connections: specgate reads HTTP/1.x only",
				"kernel dropped 420 packets: raise --buffer-size",
			},
			Missed: []string{"kind-worker2: disappeared at 12:03:04 (after 17 exchanges)"},
		},
	}
}

// manyReport has more changes, services and uncalled operations than a
// markdown table shows.
func manyReport() *gate.Report {
	r := &gate.Report{SchemaVersion: gate.SchemaVersion, Verdict: gate.Fail}
	levels := []gate.Level{gate.LevelError, gate.LevelWarning, gate.LevelInfo}
	kinds := []gate.Kind{gate.KindRemoved, gate.KindTypeChanged, gate.KindChanged, gate.KindAdded}
	for s := range 3 {
		name := fmt.Sprintf("service-%d", s)
		svc := gate.Service{Name: name, Baseline: "specs/" + name + ".yaml", Verdict: gate.Pass}
		for i := range 40 {
			c := gate.Change{
				ID:          fmt.Sprintf("check-%d", i%7),
				Level:       levels[i%3],
				Breaking:    i%3 == 0,
				Kind:        kinds[i%4],
				Service:     name,
				Operation:   fmt.Sprintf("GET /items/{itemId}/part%d", i),
				Location:    fmt.Sprintf("response 200 body: field%d", i),
				From:        "string",
				To:          "integer",
				Message:     fmt.Sprintf("change %d of %s", i, name),
				Fingerprint: fmt.Sprintf("fp-%d-%d", s, i),
			}
			if i%10 == 9 {
				c.Accepted = &gate.Acceptance{Reason: "migration " + fmt.Sprint(i)}
			} else if c.Breaking {
				svc.Breaking++
			}
			r.Changes = append(r.Changes, c)
		}
		if svc.Breaking > 0 {
			svc.Verdict = gate.Fail
		}
		r.Breaking += svc.Breaking
		r.Services = append(r.Services, svc)
		cov := gate.Coverage{Service: name, Operations: 200, Exercised: 120}
		for i := range 80 {
			cov.NotExercised = append(cov.NotExercised, fmt.Sprintf("GET /unused/%d", i))
		}
		r.Coverage = append(r.Coverage, cov)
	}
	// A change of a service the report does not list, and two changes
	// sharing a fingerprint.
	r.Changes = append(r.Changes,
		gate.Change{ID: "check-x", Level: gate.LevelInfo, Kind: gate.KindChanged, Service: "orphan", Message: "orphan", Fingerprint: "same"},
		gate.Change{ID: "check-x", Level: gate.LevelInfo, Kind: gate.KindChanged, Service: "orphan", Message: "orphan again", Fingerprint: "same"},
	)
	return r
}

// hostile is every character that means something to one of the formats.
const hostile = "a|b `c` ``d`` <script>alert(1)</script> <!-- specgate-report --> &amp; [x](http://e) *e* _u_ ~s~ #1 $x$ @all @team\nline2\r\nline3 100% %0A %25 a:b,c ::error::x ]]> \x1b[31mred\x1b[0m \u202eevil \x00nul ünïcødé 日本 😀 \\| \\"

func hostileReport() *gate.Report {
	return &gate.Report{
		SchemaVersion: gate.SchemaVersion,
		Verdict:       gate.Fail,
		Summary:       hostile,
		Breaking:      1,
		Services: []gate.Service{
			{Name: "todo-service", Baseline: hostile, Verdict: gate.Fail, Reason: hostile, Breaking: 1},
			{Name: hostile, Baseline: hostile, Verdict: gate.Inconclusive, Reason: hostile},
		},
		Changes: []gate.Change{
			{
				ID: hostile, Level: gate.LevelError, Breaking: true, Kind: gate.KindRenamed, Service: "todo-service",
				Operation: "GET /" + hostile, Path: hostile, Location: hostile, From: hostile, To: hostile,
				Message: hostile, Fingerprint: hostile, Callers: []string{hostile, "-1. list"},
			},
			{
				ID: "x-" + hostile, Level: gate.LevelWarning, Kind: gate.KindChanged, Service: hostile,
				Operation: hostile, Location: hostile, From: hostile, Message: hostile, Fingerprint: hostile,
				Accepted: &gate.Acceptance{Reason: hostile, Expires: hostile},
			},
			{
				ID: "y", Level: gate.LevelInfo, Kind: gate.KindNotExercised, Service: hostile,
				Operation: hostile, Message: "- " + hostile,
			},
		},
		Coverage: []gate.Coverage{{Service: hostile, Operations: 2, Exercised: 1, NotExercised: []string{hostile}}},
		Capture:  &gate.Health{Exchanges: 10, Lost: 1, LostRatio: 0.1, Notes: []string{hostile, "1. " + hostile}},
	}
}
