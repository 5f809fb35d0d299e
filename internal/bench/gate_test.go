package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGateBench runs the whole benchmark on a small pair, with a stand-in
// for the oasdiff CLI (building the real one needs the network).
func TestGateBench(t *testing.T) {
	dir := t.TempDir()
	fake := "#!/bin/sh\nprintf '1 changes: 1 error, 0 warning, 0 info\\nerror\\t[api-removed-without-deprecation] at a.yaml\\n\\tin API DELETE /a\\n'\n"
	if err := os.WriteFile(filepath.Join(dir, "oasdiff"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(dir, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	err = gateBench(dir, 200)
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"== gate on a spec pair of 200 operations",
		"fewer than the 1500 operations",
		"oasdiff breaking (CLI, best of 3)",
		"specgate gate (in process, best of 3)",
		"parse the baseline (infer.LoadDocument)",
		"ratio specgate gate / oasdiff breaking: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the output:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "oasdiff breaking (CLI") && strings.Fields(line)[7] != "1" {
			t.Errorf("oasdiff's changes are not counted: %s", line)
		}
	}
}

// TestGateOnSmallPair runs the specgate side of the gate benchmark on a
// small pair; the oasdiff side needs the network to build the CLI.
func TestGateOnSmallPair(t *testing.T) {
	dir := t.TempDir()
	base, rev := filepath.Join(dir, "gate-base.yaml"), filepath.Join(dir, "gate-rev.yaml")
	if err := writeSpecPair(base, rev, 200); err != nil {
		t.Fatal(err)
	}
	// A pair of the same size and seed is kept; another size is not.
	if err := os.WriteFile(rev, append([]byte(firstLine(rev)), "kept\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSpecPair(base, rev, 200); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(rev); string(b) != firstLine(rev)+"kept\n" {
		t.Fatal("an existing pair was written again")
	}
	if err := writeSpecPair(base, rev, 201); err != nil {
		t.Fatal(err)
	}
	if firstLine(rev) != "# specgen: 201 operations, seed 1\n" {
		t.Fatalf("a pair of another size was kept: %q", firstLine(rev))
	}

	r, err := timeGate(base, rev, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The revision adds a required request property (to one or two
	// operations) and changes a property's type: breaking whatever the
	// documents' counts; its additions are not.
	if r.wall <= 0 || r.breaking < 2 || r.changes <= r.breaking {
		t.Errorf("gate: %v, %d changes, %d breaking", r.wall, r.changes, r.breaking)
	}
	ph, err := gatePhases(base, rev, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ph.parse <= 0 || ph.validate <= 0 || ph.run <= 0 || ph.diff <= 0 {
		t.Errorf("phases: %+v", ph)
	}
}

func TestCountOasdiffChanges(t *testing.T) {
	out := "3 changes: 2 error, 1 warning, 0 info\n" +
		"error\t[api-removed-without-deprecation] at base.yaml\n\tin API DELETE /a/{id}\n\t\tAPI removed without deprecation\n\n" +
		"error\t[new-required-request-property] at rev.yaml\n\tin API POST /a\n\t\tadded the new required request property `error`\n\n" +
		"warning\t[response-property-enum-value-added] at rev.yaml\n\tin API GET /a\n\t\tadded the new `info` enum value\n\n"
	if n := countOasdiffChanges([]byte(out)); n != 3 {
		t.Fatalf("%d changes, want 3", n)
	}
	if n := countOasdiffChanges([]byte("No breaking changes\n")); n != 0 {
		t.Fatalf("%d changes, want 0", n)
	}
}
