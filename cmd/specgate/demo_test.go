package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/internal/demo/redistest"
	"github.com/specgate/specgate/internal/testenv"
)

// demoSystem runs the demo system (internal/demo) on fixed loopback
// ports for one test, with the todo service on a real Redis.
type demoSystem struct {
	t                   *testing.T
	bin                 string // built programs
	todoPort, statsPort int
	taps                [2]int // with --proxy: the ports the tests call
	redis               string
	procs               []*exec.Cmd
}

func newDemo(t *testing.T) *demoSystem {
	testenv.NeedRoot(t)
	return newDemoSystem(t)
}

// newDemoSystem builds the demo system; tests that do not capture live
// need no privileges.
func newDemoSystem(t *testing.T) *demoSystem {
	d := &demoSystem{t: t, bin: t.TempDir(), redis: redistest.Start(t)}
	for _, p := range []string{"todo", "stats", "client"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(d.bin, p), "../../internal/demo/cmd/"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", p, err, out)
		}
	}
	d.todoPort, d.statsPort = freePort(t), freePort(t)
	// Services are named by address; reports list them in byte order. The
	// todo service comes first, whatever the ports, so reports compare.
	if fmt.Sprint(d.todoPort) > fmt.Sprint(d.statsPort) {
		d.todoPort, d.statsPort = d.statsPort, d.todoPort
	}
	t.Cleanup(d.stop)
	return d
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the statistics service and the todo service of a version.
func (d *demoSystem) start(version string) {
	d.t.Helper()
	d.stop()
	stats := exec.Command(filepath.Join(d.bin, "stats"), "-addr", fmt.Sprintf("127.0.0.1:%d", d.statsPort))
	statsURL := fmt.Sprintf("http://127.0.0.1:%d", d.statsPort)
	if d.taps[1] != 0 {
		statsURL = fmt.Sprintf("http://127.0.0.1:%d", d.taps[1]) // through the tap
	}
	todo := exec.Command(filepath.Join(d.bin, "todo"), "-addr", fmt.Sprintf("127.0.0.1:%d", d.todoPort),
		"-version", version, "-stats", statsURL)
	todo.Env = append(os.Environ(), "REDIS_URL="+d.redis)
	for _, c := range []*exec.Cmd{stats, todo} {
		if err := c.Start(); err != nil {
			d.t.Fatal(err)
		}
		d.procs = append(d.procs, c)
	}
	for _, port := range []int{d.statsPort, d.todoPort} {
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				d.t.Fatalf("%s did not come up: %v", url, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (d *demoSystem) stop() {
	for _, c := range d.procs {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	d.procs = nil
}

// check runs 'specgate check' capturing loopback while the client runs
// against version, and returns the JSON report and the exit code.
func (d *demoSystem) check(version, baseline string, extra ...string) (*gate.Report, int, string) {
	d.t.Helper()
	dir := d.t.TempDir()
	report := filepath.Join(dir, "report.json")
	args := []string{"check", "--baseline", baseline, "-q",
		"--format", "json=" + report, "--format", "markdown=" + filepath.Join(dir, "report.md")}
	todo, stats := d.todoPort, d.statsPort
	if d.taps[0] != 0 {
		args = append(args, "--proxy", fmt.Sprintf("127.0.0.1:%d=http://127.0.0.1:%d", d.taps[0], d.todoPort),
			"--proxy", fmt.Sprintf("127.0.0.1:%d=http://127.0.0.1:%d", d.taps[1], d.statsPort))
		todo, stats = d.taps[0], d.taps[1]
	} else {
		args = append(args, "-i", "lo", "-f", fmt.Sprintf("tcp port %d or tcp port %d", d.todoPort, d.statsPort))
	}
	args = append(args, extra...)
	args = append(args, "--", filepath.Join(d.bin, "client"), "-version", version,
		"-todo", fmt.Sprintf("http://127.0.0.1:%d", todo), "-stats", fmt.Sprintf("http://127.0.0.1:%d", stats))
	cmd := specgateCommand(args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatal(err)
	}
	if code == 2 {
		d.t.Fatalf("specgate check: exit 2:\n%s", stderr.Bytes())
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return nil, code, stderr.String()
	}
	var r gate.Report
	if err := json.Unmarshal(data, &r); err != nil {
		d.t.Fatalf("report: %v", err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	return &r, code, string(md)
}

// baseline records v1's baseline, as the default branch does.
func (d *demoSystem) baseline() string {
	d.t.Helper()
	dir := filepath.Join(d.t.TempDir(), "specs") + "/"
	d.start("v1")
	if _, code, out := d.check("v1", dir, "--update-baseline"); code != 0 {
		d.t.Fatalf("recording the baseline: exit %d\n%s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 2 {
		d.t.Fatalf("baseline: %d documents, want the todo and statistics services", len(files))
	}
	return dir
}

func breakingOf(r *gate.Report) []gate.Change {
	var out []gate.Change
	for _, c := range r.Changes {
		if c.Breaking {
			out = append(out, c)
		}
	}
	return out
}

func describe(r *gate.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Verdict, r.Summary)
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "\n  %s %s %s %s %s %s->%s", c.Level, c.Kind, c.ID, c.Operation, c.Location, c.From, c.To)
	}
	return b.String()
}

// TestDemoStory: the story specgate exists for, on the demo system with
// the todo service on Redis: v2 renames a field to fix a typo, its tests
// pass, and the gate names the rename and its callers; v3 adds an
// endpoint and passes.
func TestDemoStory(t *testing.T) {
	d := newDemo(t)
	base := d.baseline()

	d.start("v2")
	r, code, md := d.check("v2", base)
	b := breakingOf(r)
	if code != 1 || r.Verdict != gate.Fail || len(b) != 1 {
		t.Fatalf("v2: exit %d, %s", code, describe(r))
	}
	if c := b[0]; c.Kind != gate.KindRenamed || c.From != "descripton" || c.To != "description" || !strings.Contains(strings.Join(c.Callers, " "), "integration-tests") {
		t.Errorf("v2: %s", describe(r))
	}
	if !strings.Contains(md, "descripton") || !strings.Contains(md, "integration-tests") || !strings.HasPrefix(md, "<!-- specgate-report -->") {
		t.Errorf("v2 markdown report:\n%s", md)
	}

	d.start("v3")
	r, code, _ = d.check("v3", base)
	if code != 0 || r.Verdict != gate.Pass || len(breakingOf(r)) != 0 {
		t.Fatalf("v3: exit %d, %s", code, describe(r))
	}
	added := 0
	for _, c := range r.Changes {
		if c.Kind == gate.KindAdded && strings.HasPrefix(c.Operation, "DELETE /todos") {
			added++
		}
	}
	if added != 1 {
		t.Errorf("v3: %d added DELETE /todos changes, want 1: %s", added, describe(r))
	}
}

// TestDemoVariants: each kind of breaking change the demo's variants
// make is found. Their tests fail too (the client exits 1), and check
// exits with the tests' status after writing the report.
func TestDemoVariants(t *testing.T) {
	d := newDemo(t)
	base := d.baseline()
	for _, c := range []struct {
		version string
		want    func(gate.Change) bool
	}{
		{"v1-removed-field", func(c gate.Change) bool { return c.Kind == gate.KindRemoved && c.From == "priority" }},
		{"v1-type-change", func(c gate.Change) bool {
			return c.Kind == gate.KindTypeChanged && strings.Contains(c.Location+c.Message, "priority")
		}},
		{"v1-new-required", func(c gate.Change) bool {
			return c.ID == gate.IDRequestRejected && strings.HasPrefix(c.Operation, "POST /todos")
		}},
		{"v1-removed-op", func(c gate.Change) bool {
			return c.Kind == gate.KindRemoved && strings.HasPrefix(c.Operation, "PUT /todos/")
		}},
	} {
		d.start(c.version)
		r, code, _ := d.check(c.version, base)
		if r == nil {
			t.Errorf("%s: no report (exit %d)", c.version, code)
			continue
		}
		found := false
		for _, ch := range breakingOf(r) {
			found = found || c.want(ch)
		}
		if !found || r.Verdict != gate.Fail || code != 1 {
			t.Errorf("%s: exit %d, %s", c.version, code, describe(r))
		}
	}
}

// TestDemoStable: v1 again, with fresh random data each time, finds no
// breaking change against its own baseline; a run that leaves a service
// out is inconclusive, and one that leaves operations out reports them as
// not exercised.
func TestDemoStable(t *testing.T) {
	d := newDemo(t)
	base := d.baseline()
	runs := 20
	if testing.Short() {
		runs = 3
	}
	for i := 0; i < runs; i++ {
		d.start("v1")
		r, code, _ := d.check("v1", base)
		if code != 0 || r.Verdict != gate.Pass || len(breakingOf(r)) != 0 {
			t.Fatalf("run %d: exit %d, %s", i, code, describe(r))
		}
	}

	d.start("v1")
	r, code, _ := d.check("v1", base, "--exclude-path", "^/todos/")
	if code != 0 || r.Verdict != gate.Pass {
		t.Errorf("without item operations: exit %d, %s", code, describe(r))
	}
	var missing []string
	for _, c := range r.Coverage {
		missing = append(missing, c.NotExercised...)
	}
	if len(missing) == 0 {
		t.Errorf("no operation reported as not exercised: %s", describe(r))
	}
	for _, c := range r.Changes {
		if c.Kind == gate.KindRemoved {
			t.Errorf("an operation not exercised is reported as removed: %s", describe(r))
		}
	}

	r, code, _ = d.check("v1", base, "--exclude-host", ".")
	if code != 3 || r.Verdict != gate.Inconclusive {
		t.Errorf("no traffic: exit %d, %s", code, describe(r))
	}
}

// TestDemoThroughProxy: the story without privileges: check runs a
// reverse-proxy tap in front of each service while the tests run.
func TestDemoThroughProxy(t *testing.T) {
	d := newDemoSystem(t)
	d.taps = [2]int{freePort(t), freePort(t)}
	base := d.baseline()
	d.start("v2")
	r, code, _ := d.check("v2", base)
	b := breakingOf(r)
	if code != 1 || len(b) != 1 || b[0].Kind != gate.KindRenamed || b[0].From != "descripton" || b[0].To != "description" {
		t.Fatalf("v2 through the taps: exit %d, %s", code, describe(r))
	}
	if !strings.Contains(strings.Join(b[0].Callers, " "), "integration-tests") {
		t.Errorf("callers %v", b[0].Callers)
	}
	d.start("v1")
	if r, code, _ := d.check("v1", base); code != 0 || r.Verdict != gate.Pass {
		t.Errorf("v1 through the taps: exit %d, %s", code, describe(r))
	}
}
