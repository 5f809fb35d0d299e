package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	oasload "github.com/oasdiff/oasdiff/load"

	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/infer"
	"github.com/specgate/specgate/internal/specgen"
)

const (
	// gateOps is the size of the gate benchmark's spec pair.
	gateOps = 1500
	// gateSeed seeds the pair.
	gateSeed = 1
	// gateRuns is how many times each side runs; the best run counts.
	gateRuns = 3
	// oasdiffModule is the oasdiff CLI the gate is compared with; its
	// version is the one go.mod requires.
	oasdiffModule = "github.com/oasdiff/oasdiff"
)

// gateBench measures specgate's gate on a generated spec pair of ops
// operations (gateOps when ops <= 0) beside 'oasdiff breaking' on the same
// files, and prints where specgate's time goes.
func gateBench(dir string, ops int) error {
	if ops <= 0 {
		ops = gateOps
	}
	basePath := filepath.Join(dir, "gate-base.yaml")
	revPath := filepath.Join(dir, "gate-rev.yaml")
	if err := writeSpecPair(basePath, revPath, ops); err != nil {
		return err
	}
	fi, err := os.Stat(basePath)
	if err != nil {
		return err
	}
	fmt.Printf("\n== gate on a spec pair of %d operations (%s, %.1f MB each)\n", ops, basePath, float64(fi.Size())/1e6)
	if ops < gateOps {
		fmt.Printf("(fewer than the %d operations the target is set for)\n", gateOps)
	}

	var od result
	odChanges := -1
	oasdiff, err := buildOasdiff(dir)
	if err != nil {
		fmt.Printf("oasdiff: %v\noasdiff: not available, no ratio\n", err)
	} else {
		for range gateRuns {
			r, err := measure(oasdiff, "breaking", basePath, revPath)
			if err != nil {
				return err
			}
			if od.wall == 0 || r.wall < od.wall {
				od = r
			}
		}
		if odChanges, err = oasdiffChanges(oasdiff, basePath, revPath); err != nil {
			return err
		}
	}

	sg, err := timeGate(basePath, revPath, gateRuns)
	if err != nil {
		return err
	}
	// No peak RSS for oasdiff: a child's maxrss includes this process's
	// high-water mark, which holds the generated pair.
	fmt.Printf("%-40s %8s %9s\n", "", "seconds", "changes")
	if od.wall > 0 {
		fmt.Printf("%-40s %8.2f %9d\n", "oasdiff breaking (CLI, best of 3)", od.wall.Seconds(), odChanges)
	}
	fmt.Printf("%-40s %8.2f %9d   (%.0f MB allocated)\n", "specgate gate (in process, best of 3)", sg.wall.Seconds(), sg.changes, float64(sg.alloc)/1e6)
	fmt.Printf("specgate: %d breaking of %d changes at every level; oasdiff counts warning and above\n", sg.breaking, sg.changes)

	ph, err := gatePhases(basePath, revPath, gateRuns)
	if err != nil {
		return err
	}
	fmt.Println("specgate gate, by phase (each the best of 3, timed apart):")
	row := func(name string, d time.Duration) {
		fmt.Printf("  %-52s %6.3f s %4.0f%%\n", name, d.Seconds(), 100*d.Seconds()/sg.wall.Seconds())
	}
	row("read the baseline file", ph.read)
	row("parse the baseline (infer.LoadDocument)", ph.parse)
	row("validate the baseline (infer.Validate)", ph.validate)
	row("gate.Run: prune, diff, checks, classify, policy", ph.run)
	row("  oasdiff diff alone, on unpruned copies", ph.diff)
	row("  oasdiff checks alone, on that diff", ph.checks)
	row("  the rest of gate.Run (prune, classify, policy)", max(ph.run-ph.diff-ph.checks, 0))
	fmt.Println("  (prune is unexported: its share is inside the rest, not timed on its own)")
	if od.wall > 0 {
		fmt.Printf("ratio specgate gate / oasdiff breaking: %.2f (target <= 0.5)\n", sg.wall.Seconds()/od.wall.Seconds())
	}
	return nil
}

// writeSpecPair writes the generated pair, unless files of the same size
// and seed are there already.
func writeSpecPair(basePath, revPath string, ops int) error {
	header := fmt.Sprintf("# specgen: %d operations, seed %d\n", ops, gateSeed)
	if firstLine(basePath) == header && firstLine(revPath) == header {
		return nil
	}
	fmt.Printf("generating %s and %s (%d operations)\n", basePath, revPath, ops)
	base, rev, err := specgen.Pair(ops, gateSeed)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{basePath, base}, {revPath, rev}} {
		if err := os.WriteFile(f.path, append([]byte(header), f.data...), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// firstLine returns a file's first line with its newline, or "".
func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return ""
	}
	return line
}

// buildOasdiff builds the oasdiff CLI at the version go.mod requires
// into dir, unless it is there already, and returns its path.
func buildOasdiff(dir string) (string, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "oasdiff"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	version := oasdiffVersion()
	fmt.Printf("building the oasdiff CLI %s into %s\n", version, bin)
	tmp, err := os.MkdirTemp("", "benchoasdiff")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for _, args := range [][]string{
		{"mod", "init", "benchoasdiff"},
		{"get", oasdiffModule + "@" + version},
		{"build", "-trimpath", "-o", bin, oasdiffModule},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.Join(strings.Fields(string(out)), " "))
		}
	}
	return bin, nil
}

// oasdiffVersion is the oasdiff version this program was built with,
// which is the one go.mod requires.
func oasdiffVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == oasdiffModule {
				if m.Replace != nil {
					m = m.Replace
				}
				return m.Version
			}
		}
	}
	return "v1.37.0"
}

// oasdiffChanges runs 'oasdiff breaking' once more and counts the changes
// it prints.
func oasdiffChanges(oasdiff, basePath, revPath string) (int, error) {
	out, err := exec.Command(oasdiff, "breaking", basePath, revPath).Output()
	if err != nil {
		return 0, fmt.Errorf("oasdiff breaking: %v", err)
	}
	return countOasdiffChanges(out), nil
}

// countOasdiffChanges counts the changes in the text 'oasdiff breaking'
// prints: each starts with its level at the start of a line ("error\t[id]
// at ..."), the lines under it are indented.
func countOasdiffChanges(out []byte) int {
	n := 0
	for _, line := range bytes.Split(out, []byte("\n")) {
		for _, level := range []string{"error\t", "warning\t", "info\t"} {
			if bytes.HasPrefix(line, []byte(level)) {
				n++
			}
		}
	}
	return n
}

// gateResult is the best of several gate runs.
type gateResult struct {
	wall     time.Duration
	alloc    uint64 // bytes allocated by the best run
	changes  int
	breaking int
}

// timeGate runs the gate as 'specgate check' does: the current document
// is in memory already (parsed untimed, afresh for every run, as the gate
// prunes it in place); reading and parsing the baseline and the gate
// itself are timed.
func timeGate(basePath, revPath string, runs int) (gateResult, error) {
	revData, err := os.ReadFile(revPath)
	if err != nil {
		return gateResult{}, err
	}
	var best gateResult
	for range runs {
		cur, err := gate.ParseDoc(revData, revPath)
		if err != nil {
			return gateResult{}, err
		}
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		t0 := time.Now()
		data, err := os.ReadFile(basePath)
		if err != nil {
			return gateResult{}, err
		}
		base, err := gate.ParseDoc(data, basePath)
		if err != nil {
			return gateResult{}, err
		}
		rep, err := gate.Run(gate.Input{Baselines: []*gate.Doc{base}, Current: []*gate.Doc{cur}, Policy: gate.DefaultPolicy(), Today: time.Now()})
		if err != nil {
			return gateResult{}, err
		}
		wall := time.Since(t0)
		runtime.ReadMemStats(&m1)
		if best.wall == 0 || wall < best.wall {
			best = gateResult{wall: wall, alloc: m1.TotalAlloc - m0.TotalAlloc, changes: len(rep.Changes), breaking: rep.Breaking}
		}
	}
	return best, nil
}

// phases is where the gate's time goes, each the best of several runs.
type phases struct {
	read, parse, validate, run time.Duration
	// diff and checks are oasdiff's parts of run, timed alone.
	diff, checks time.Duration
}

// gatePhases times the gate's phases one by one, from outside the gate
// package: what gate.ParseDoc and gate.Run do, split where their parts
// are exported.
func gatePhases(basePath, revPath string, runs int) (phases, error) {
	revData, err := os.ReadFile(revPath)
	if err != nil {
		return phases{}, err
	}
	ctx := context.Background()
	var best phases
	keep := func(d *time.Duration, t time.Duration) {
		if *d == 0 || t < *d {
			*d = t
		}
	}
	for range runs {
		runtime.GC()
		t0 := time.Now()
		data, err := os.ReadFile(basePath)
		if err != nil {
			return phases{}, err
		}
		keep(&best.read, time.Since(t0))

		runtime.GC()
		t0 = time.Now()
		spec, err := infer.LoadDocument(data, basePath)
		if err != nil {
			return phases{}, err
		}
		keep(&best.parse, time.Since(t0))

		runtime.GC()
		t0 = time.Now()
		if err := infer.Validate(ctx, spec); err != nil {
			return phases{}, err
		}
		keep(&best.validate, time.Since(t0))

		cur, err := gate.ParseDoc(revData, revPath)
		if err != nil {
			return phases{}, err
		}
		base := gate.NewDoc(spec, basePath, "")
		runtime.GC()
		t0 = time.Now()
		if _, err := gate.Run(gate.Input{Baselines: []*gate.Doc{base}, Current: []*gate.Doc{cur}, Policy: gate.DefaultPolicy(), Today: time.Now()}); err != nil {
			return phases{}, err
		}
		keep(&best.run, time.Since(t0))

		// oasdiff's diff and checks alone, on fresh unpruned documents.
		b, err := infer.LoadDocument(data, basePath)
		if err != nil {
			return phases{}, err
		}
		c, err := infer.LoadDocument(revData, revPath)
		if err != nil {
			return phases{}, err
		}
		runtime.GC()
		t0 = time.Now()
		d, srcs, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), &oasload.SpecInfo{Url: basePath, Spec: b}, &oasload.SpecInfo{Url: revPath, Spec: c})
		if err != nil {
			return phases{}, fmt.Errorf("diff: %v", err)
		}
		keep(&best.diff, time.Since(t0))
		t0 = time.Now()
		checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, srcs, checker.INFO)
		keep(&best.checks, time.Since(t0))
	}
	return best, nil
}
