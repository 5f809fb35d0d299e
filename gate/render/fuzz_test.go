package render

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/specgate/specgate/gate"
)

// fragments are the pieces random strings are made of: what each format
// must escape, and ordinary words.
var fragments = []string{
	"|", "`", "``", "<", ">", "&", "<script>", "</details>", "<!--", "-->", Marker, "\n", "\r", "\r\n", "\t",
	"%", "%0A", "%25", ":", ",", "::", "::error::", "]]>", "<![CDATA[", "\x00", "\x1b[31m", "\u202e", "\u2028",
	"\xff", "\xc3", "@", "@all", "#", "$", "*", "_", "~", "[", "](", "\\", "- ", "1. ", "'", "\"", " ",
	"ü", "日本", "😀", "\ufffe", "GET", "/todos/{todoId}", "descripton", "description", "todo-service",
}

func randomString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(6) {
		b.WriteString(fragments[rng.IntN(len(fragments))])
	}
	return b.String()
}

// randomReport is a report whose strings are random and whose structure
// is consistent: a verdict that matches its changes.
func randomReport(rng *rand.Rand, str func() string) *gate.Report {
	levels := []gate.Level{gate.LevelError, gate.LevelWarning, gate.LevelInfo}
	kinds := []gate.Kind{gate.KindRemoved, gate.KindRenamed, gate.KindTypeChanged, gate.KindAdded, gate.KindChanged, gate.KindNotExercised, gate.KindNoLongerExercised}
	r := &gate.Report{SchemaVersion: gate.SchemaVersion, Summary: str()}
	var names []string
	for range rng.IntN(4) {
		names = append(names, str())
	}
	names = append(names, "todo-service")
	for range rng.IntN(12) {
		c := gate.Change{
			ID: str(), Level: levels[rng.IntN(3)], Breaking: rng.IntN(2) == 0, Kind: kinds[rng.IntN(len(kinds))],
			Service: names[rng.IntN(len(names))], Operation: str(), Path: str(), Location: str(),
			From: str(), To: str(), Message: str(), Fingerprint: str(),
		}
		for range rng.IntN(3) {
			c.Callers = append(c.Callers, str())
		}
		if rng.IntN(4) == 0 {
			c.Accepted = &gate.Acceptance{Reason: str(), Expires: str()}
		}
		if blocking(c) {
			r.Breaking++
		}
		r.Changes = append(r.Changes, c)
	}
	verdicts := []gate.Verdict{gate.Pass, gate.Fail, gate.Inconclusive}
	for _, n := range names[:rng.IntN(len(names)+1)] {
		s := gate.Service{Name: n, Baseline: str(), Verdict: verdicts[rng.IntN(3)], Reason: str()}
		r.Services = append(r.Services, s)
		cov := gate.Coverage{Service: n, Operations: rng.IntN(20)}
		cov.Exercised = rng.IntN(cov.Operations + 1)
		for range cov.Operations - cov.Exercised {
			cov.NotExercised = append(cov.NotExercised, str())
		}
		r.Coverage = append(r.Coverage, cov)
	}
	switch {
	case r.Breaking > 0:
		r.Verdict = gate.Fail
	case rng.IntN(2) == 0:
		r.Verdict = gate.Pass
	default:
		r.Verdict = gate.Inconclusive
	}
	if rng.IntN(2) == 0 {
		r.Capture = &gate.Health{Exchanges: rng.Int64N(1000), Lost: rng.Int64N(10)}
		if r.Capture.Exchanges > 0 {
			r.Capture.LostRatio = float64(r.Capture.Lost) / float64(r.Capture.Exchanges)
		}
		for range rng.IntN(3) {
			r.Capture.Notes = append(r.Capture.Notes, str())
		}
	}
	return r
}

// randomOptions draws options, SpecFile naming some services' documents
// with strings as odd as the rest.
func randomOptions(rng *rand.Rand, str func() string) Options {
	o := Options{Color: rng.IntN(2) == 0, Title: str(), MaxChanges: rng.IntN(8) - 1, Version: str(), Tool: str()}
	if rng.IntN(3) > 0 {
		file := str()
		o.SpecFile = func(service string) string {
			if len(service)%2 == 0 {
				return file
			}
			return ""
		}
	}
	return o
}

// TestRandomReports renders random reports in every format: each output
// is valid, and the same report renders to the same bytes.
func TestRandomReports(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string { return randomString(rng) }
	for i := range 500 {
		r := randomReport(rng, str)
		o := randomOptions(rng, str)
		a := renderAll(t, r, o)
		checkAll(t, r, o, a)
		b := renderAll(t, deepCopy(t, r), o)
		for _, f := range Formats() {
			if !bytes.Equal(a[f], b[f]) {
				t.Errorf("report %d, %s: two renderings differ", i, f)
			}
		}
		if t.Failed() {
			t.Fatalf("report %d: %+v", i, r)
		}
	}
}

// FuzzRender puts fuzzed strings in every string of a report: every format
// renders it without error and stays valid.
func FuzzRender(f *testing.F) {
	f.Add("descripton", "description", "todo-service", uint64(1))
	f.Add(hostile, "|`<script>`|", "%0A\r\n::error::", uint64(2))
	f.Add("", "", "", uint64(3))
	f.Add("\xff\xfe", "\x00\x1b]]>", "@all 1. - x", uint64(4))
	f.Fuzz(func(t *testing.T, a, b, c string, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		pool := []string{a, b, c, a + b, b + c, ""}
		str := func() string { return pool[rng.IntN(len(pool))] }
		r := randomReport(rng, str)
		o := randomOptions(rng, str)
		checkAll(t, r, o, renderAll(t, r, o))
	})
}
