package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/cifake"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// ciFixtures are the inputs of a CI job's gate: the recorded traffic as
// NDJSON, the same traffic with the property name renamed to nmae, and
// the baseline documents inferred from it.
type ciFixtures struct {
	dir      string
	good     string // users.pcap as NDJSON
	broken   string // the same, every "name": sent as "nmae":
	specs    string // the baseline directory (what --baseline-fallback names)
	specFile string // its one document's name
	spec     string // its one document
}

func newCIFixtures(t *testing.T) *ciFixtures {
	t.Helper()
	dir := t.TempDir()
	fx := &ciFixtures{dir: dir, good: filepath.Join(dir, "users.ndjson"), broken: filepath.Join(dir, "broken.ndjson"), specs: filepath.Join(dir, "specs")}
	pcap, err := filepath.Abs(filepath.Join("..", "..", "infer", "testdata", "traffic", "users.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if r := runCI(t, dir, nil, "capture", "-r", pcap, "-w", fx.good); r.code != 0 {
		t.Fatalf("capture: exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(fx.good)
	if err != nil {
		t.Fatal(err)
	}
	// The bodies are JSON strings inside the NDJSON: their quotes are
	// escaped.
	from, to := []byte(`\"name\":`), []byte(`\"nmae\":`)
	if n := bytes.Count(data, from); n < 100 {
		t.Fatalf("the traffic sends %q only %d times", from, n)
	}
	if err := os.WriteFile(fx.broken, bytes.ReplaceAll(data, from, to), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCI(t, dir, nil, "check", "--baseline", fx.specs+"/", "--update-baseline", "--read", fx.good, "-q"); r.code != 0 {
		t.Fatalf("check --update-baseline: exit %d: %s", r.code, r.stderr)
	}
	ents, err := os.ReadDir(fx.specs)
	if err != nil || len(ents) != 1 {
		t.Fatalf("baseline directory: %v, %v; want one document", ents, err)
	}
	fx.specFile = ents[0].Name()
	b, err := os.ReadFile(filepath.Join(fx.specs, fx.specFile))
	if err != nil {
		t.Fatal(err)
	}
	fx.spec = string(b)
	return fx
}

// zip is the baseline as an artifact archive, its document under dir
// ("" or a slash-terminated path such as "api/specs/").
func (fx *ciFixtures) zip(t *testing.T, dir string) []byte {
	t.Helper()
	var entries []cifake.ZipEntry
	for i := range len(dir) {
		if dir[i] == '/' {
			entries = append(entries, cifake.ZipEntry{Name: dir[:i+1]})
		}
	}
	return cifake.Zip(t, append(entries,
		cifake.ZipEntry{Name: dir + fx.specFile, Body: fx.spec},
		cifake.ZipEntry{Name: "coverage.txt", Body: "not a document"})...)
}

// ciResult is one run of specgate.
type ciResult struct {
	code           int
	stdout, stderr string
}

// ciVars are the variables a CI system sets; a job's environment starts
// without the test machine's own.
var ciVars = regexp.MustCompile(`^(GITHUB_|GITLAB_|CI_|RUNNER_|SPECGATE_GITLAB_TOKEN=|ACTIONS_)`)

// runCI runs the test binary as specgate in dir with the job's
// environment env, and gives its exit code and output.
func runCI(t *testing.T, dir string, env []string, args ...string) ciResult {
	t.Helper()
	cmd := specgateCommand(args...)
	cmd.Dir = dir
	var base []string
	for _, kv := range cmd.Env {
		if !ciVars.MatchString(kv) {
			base = append(base, kv)
		}
	}
	cmd.Env = append(base, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start specgate: %v", err)
	}
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	r := ciResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("specgate %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ciJob is one job of the gate: its report files, and for GitHub its
// summary and output files.
type ciJob struct {
	dir                             string
	summary, output, json, markdown string
}

func newCIJob(t *testing.T) *ciJob {
	dir := t.TempDir()
	return &ciJob{dir: dir, summary: filepath.Join(dir, "summary.md"), output: filepath.Join(dir, "output.txt"),
		json: filepath.Join(dir, "report.json"), markdown: filepath.Join(dir, "report.md")}
}

// checkArgs are the arguments of specgate check --comment reading traffic.
func (j *ciJob) checkArgs(traffic string, baseline ...string) []string {
	args := []string{"check", "--read", traffic, "-q", "--comment",
		"--format", "text", "--format", "json=" + j.json, "--format", "markdown=" + j.markdown}
	for _, b := range baseline {
		args = append(args, "--baseline", b)
	}
	return args
}

// files gives the contents of the job's files that exist.
func (j *ciJob) files(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range []string{j.summary, j.output, j.json, j.markdown} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// outputs parses a GITHUB_OUTPUT file: name=value lines, and
// name<<DELIMITER ... DELIMITER for values of several lines.
func outputs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		if name, v, ok := strings.Cut(lines[i], "="); ok && !strings.Contains(name, "<<") {
			out[name] = v
			continue
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			t.Fatalf("output line %q is neither name=value nor name<<DELIMITER", lines[i])
		}
		var v []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			v = append(v, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("output %s: delimiter %q never closes", name, delim)
		}
		out[name] = strings.Join(v, "\n")
	}
	return out
}

// checkGolden compares a comment's body with testdata/publish/NAME, or
// rewrites it with -update. Nothing in the body is run-specific but the
// version, which it is given as VERSION.
func checkGolden(t *testing.T, name, body string) {
	t.Helper()
	if version != "" {
		body = strings.ReplaceAll(body, version, "VERSION")
	}
	path := filepath.Join("testdata", "publish", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if body != string(want) {
		t.Errorf("body differs from %s (go test -update rewrites it):\n%s", path, body)
	}
}

// leakScan collects every output of the runs, to search for the tokens.
type leakScan struct{ outputs map[string]string }

func (l *leakScan) add(what, s string) {
	if l.outputs == nil {
		l.outputs = map[string]string{}
	}
	l.outputs[fmt.Sprintf("%03d %s", len(l.outputs), what)] = s
}

func (l *leakScan) run(what string, r ciResult, j *ciJob, t *testing.T) {
	l.add(what+" stdout", r.stdout)
	l.add(what+" stderr", r.stderr)
	for name, s := range j.files(t) {
		l.add(what+" "+name, s)
	}
}

// check fails the test when any output holds a token, or a tell-tale half
// of one.
func (l *leakScan) check(t *testing.T, tokens ...string) {
	t.Helper()
	if len(l.outputs) < 10 {
		t.Fatalf("only %d outputs searched", len(l.outputs))
	}
	for what, s := range l.outputs {
		for _, tok := range tokens {
			for _, piece := range []string{tok, tok[:len(tok)/2], tok[len(tok)/2:]} {
				if strings.Contains(s, piece) {
					t.Errorf("%s holds the token (or %q of it)", what, piece)
				}
			}
		}
	}
}

// lines gives the lines of s that contain sub.
func lines(s, sub string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

const renamed = "<code>name</code> → <code>nmae</code>"

func TestCheckCommentGitHub(t *testing.T) {
	fx := newCIFixtures(t)
	gh := cifake.NewGitHub(t)
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
	gh.AddRun(cifake.Run{ID: 7301, Branch: "main", SHA: sha, Event: "push", Conclusion: "success"})
	gh.AddRun(cifake.Run{ID: 7302, Branch: "main", SHA: "0000000000000000000000000000000000000000", Event: "push", Conclusion: "failure"})
	gh.AddArtifact(cifake.Artifact{ID: 8801, Name: "specgate-baseline", Created: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
		Run: 7301, Branch: "main", SHA: sha, Zip: fx.zip(t, "")})
	// A newer artifact of a failed run is passed over.
	gh.AddArtifact(cifake.Artifact{ID: 8802, Name: "specgate-baseline", Created: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC),
		Run: 7302, Branch: "main", Zip: cifake.Zip(t, cifake.ZipEntry{Name: fx.specFile, Body: "not the baseline"})})
	gh.AddComment(42, cifake.Alice, "Please have a look at the gate.")

	event := func(head string) string {
		p := filepath.Join(t.TempDir(), "event.json")
		payload := fmt.Sprintf(`{"action":"synchronize","number":42,"pull_request":{"number":42,`+
			`"base":{"ref":"main","repo":{"full_name":"octo-org/app"}},`+
			`"head":{"ref":"feature/rename","repo":{"full_name":%q,"fork":%t}}}}`, head, head != "octo-org/app")
		if err := os.WriteFile(p, []byte(payload), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pr, fork := event("octo-org/app"), event("someone/app")
	jobEnv := func(j *ciJob, eventPath string) []string {
		return append(gh.Environ(), "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+eventPath,
			"GITHUB_REF_NAME=42/merge", "GITHUB_SHA=1111111111111111111111111111111111111111", "GITHUB_RUN_ID=7400",
			"GITHUB_STEP_SUMMARY="+j.summary, "GITHUB_OUTPUT="+j.output)
	}
	var scan leakScan
	ours := func() []cifake.Comment {
		var out []cifake.Comment
		for _, c := range gh.Comments(42) {
			if strings.HasPrefix(c.Body, render.Marker) {
				out = append(out, c)
			}
		}
		return out
	}
	baselineLine := "specgate: baseline: artifact specgate-baseline of run 7301 on main (commit 9f86d081884c)"

	// Run 1: the rename fails the gate and posts the comment.
	j := newCIJob(t)
	r := runCI(t, j.dir, jobEnv(j, pr), j.checkArgs(fx.broken, "artifact:specgate-baseline")...)
	scan.run("run 1", r, j, t)
	if r.code != 1 {
		t.Fatalf("run 1: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, baselineLine) {
		t.Errorf("run 1: stderr does not say which baseline:\n%s", r.stderr)
	}
	if len(lines(r.stderr, "pull request comment created: https://github.example/octo-org/app/pull/42#issuecomment-")) != 1 {
		t.Errorf("run 1: stderr does not give the new comment:\n%s", r.stderr)
	}
	cs := ours()
	if len(cs) != 1 || len(gh.Comments(42)) != 2 {
		t.Fatalf("run 1: %d specgate comments of %d, want 1 of 2", len(cs), len(gh.Comments(42)))
	}
	first := cs[0]
	firstURL := fmt.Sprintf("https://github.example/octo-org/app/pull/42#issuecomment-%d", first.ID)
	if !strings.HasPrefix(first.Body, render.Marker+"\n**specgate: FAIL**") || !strings.Contains(first.Body, renamed) {
		t.Errorf("run 1: comment does not name the rename:\n%s", first.Body)
	}
	checkGolden(t, "comment-fail.md", first.Body)
	scan.add("comment 1", first.Body)
	files := j.files(t)
	if s := files["summary.md"]; !strings.Contains(s, "**specgate: FAIL**") || !strings.Contains(s, renamed) {
		t.Errorf("run 1: summary:\n%s", s)
	}
	out := outputs(t, j.output)
	if out["verdict"] != "fail" || out["breaking-count"] != "1" || out["report-json"] != j.json {
		t.Errorf("run 1: outputs %q", out)
	}
	if !strings.Contains(files["report.json"], `"nmae"`) || !strings.Contains(r.stdout, "nmae") {
		t.Errorf("run 1: the reports do not name nmae:\nstdout:\n%s", r.stdout)
	}

	// Run 2: the same traffic finds the same comment; nothing to write.
	j = newCIJob(t)
	r = runCI(t, j.dir, jobEnv(j, pr), j.checkArgs(fx.broken, "artifact:specgate-baseline")...)
	scan.run("run 2", r, j, t)
	if r.code != 1 || !strings.Contains(r.stderr, "pull request comment unchanged: "+firstURL) {
		t.Errorf("run 2: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if cs := ours(); len(cs) != 1 || cs[0].ID != first.ID || cs[0].Body != first.Body {
		t.Errorf("run 2: comments %+v, want comment %d as it was", cs, first.ID)
	}

	// Run 3: the fix turns the same comment into the short pass body.
	j = newCIJob(t)
	r = runCI(t, j.dir, jobEnv(j, pr), j.checkArgs(fx.good, "artifact:specgate-baseline")...)
	scan.run("run 3", r, j, t)
	if r.code != 0 || !strings.Contains(r.stderr, "pull request comment updated: "+firstURL) {
		t.Errorf("run 3: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	cs = ours()
	if len(cs) != 1 || cs[0].ID != first.ID || !strings.HasPrefix(cs[0].Body, render.Marker+"\n**specgate: PASS**") || strings.Contains(cs[0].Body, "nmae") {
		t.Fatalf("run 3: comments %+v, want comment %d passing", cs, first.ID)
	}
	checkGolden(t, "comment-pass.md", cs[0].Body)
	scan.add("comment 3", cs[0].Body)
	if out := outputs(t, j.output); out["verdict"] != "pass" || out["breaking-count"] != "0" {
		t.Errorf("run 3: outputs %q", out)
	}
	if n := len(gh.Requests("POST ")); n != 1 {
		t.Errorf("%d comments posted in three runs, want 1", n)
	}
	if n := len(gh.Requests(fmt.Sprintf("PATCH /repos/octo-org/app/issues/comments/%d", first.ID))); n != 1 {
		t.Errorf("%d edits in three runs, want 1 (the fix)", n)
	}

	// A fork's pull request: the token cannot comment; the verdict still
	// decides the exit, the summary carries the report.
	gh.SetUser("")
	gh.DenyWrites(403)
	j = newCIJob(t)
	r = runCI(t, j.dir, jobEnv(j, fork), j.checkArgs(fx.broken, "artifact:specgate-baseline")...)
	scan.run("fork", r, j, t)
	if r.code != 1 {
		t.Errorf("fork: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if n := lines(r.stderr, "cannot comment on this pull request"); len(n) != 1 || strings.Contains(r.stderr, "warning") {
		t.Errorf("fork: want one notice line; stderr:\n%s", r.stderr)
	}
	if s := j.files(t)["summary.md"]; !strings.Contains(s, "**specgate: FAIL**") || !strings.Contains(s, renamed) {
		t.Errorf("fork: summary:\n%s", s)
	}
	if cs := ours(); len(cs) != 1 || cs[0].Body == first.Body || !strings.Contains(cs[0].Body, "**specgate: PASS**") {
		t.Errorf("fork: the comment changed: %+v", cs)
	}
	gh.SetUser(cifake.Octocat)
	gh.DenyWrites(0)

	// No artifact of that name: the fallback stands in, and says so.
	j = newCIJob(t)
	r = runCI(t, j.dir, jobEnv(j, pr), append(j.checkArgs(fx.broken, "artifact:no-such-baseline"), "--baseline-fallback", fx.specs)...)
	scan.run("fallback", r, j, t)
	if r.code != 1 || len(lines(r.stderr, "using --baseline-fallback "+fx.specs)) != 1 || !strings.Contains(j.files(t)["report.md"], renamed) {
		t.Errorf("fallback: exit %d, want 1 judged by the fallback; stderr:\n%s", r.code, r.stderr)
	}
	// Without one there is nothing to judge by: inconclusive, with a hint.
	j = newCIJob(t)
	r = runCI(t, j.dir, jobEnv(j, pr), j.checkArgs(fx.broken, "artifact:no-such-baseline")...)
	scan.run("no baseline", r, j, t)
	if r.code != 3 || !strings.Contains(r.stderr, "no-such-baseline") || !strings.Contains(r.stderr, "run the default branch with --update-baseline first") {
		t.Errorf("no baseline: exit %d, want 3 with a hint; stderr:\n%s", r.code, r.stderr)
	}
	if out := outputs(t, j.output); out["verdict"] != "inconclusive" {
		t.Errorf("no baseline: outputs %q", out)
	}

	for _, c := range gh.Comments(42) {
		scan.add("comment", c.Body)
	}
	scan.check(t, cifake.GitHubToken)
	reqs := gh.Requests("")
	if len(reqs) < 10 {
		t.Fatalf("only %d API requests", len(reqs))
	}
	for _, q := range reqs {
		if q.Auth != "Bearer "+cifake.GitHubToken {
			t.Errorf("%s %s: Authorization %q", q.Method, q.Path, q.Auth)
		}
		if strings.Contains(q.Path+q.Query+q.Body, cifake.GitHubToken) {
			t.Errorf("%s %s: the token was sent outside Authorization", q.Method, q.Path)
		}
	}
	for _, b := range gh.Blobs() {
		if b.Auth != "" {
			t.Errorf("the artifact storage got Authorization %q", b.Auth)
		}
	}
}

func TestCheckCommentGitLab(t *testing.T) {
	fx := newCIFixtures(t)
	gl := cifake.NewGitLab(t)
	gl.SetArtifact("main", "api-gate", fx.zip(t, "api/specs/"))
	gl.SetDisposition("specgate-5f2c9a.zip")
	gl.AddNote("Please have a look at the gate.", false)
	gl.AddNote("added 1 commit", true)
	var scan leakScan
	env := gl.Environ()
	baselineLine := "specgate: baseline: gitlab-artifact:api-gate on main (specgate-5f2c9a.zip)"
	noteURL := "https://gitlab.example.com/group/project/-/merge_requests/17#note_"

	// Run 1: the rename fails the gate and posts the note.
	j := newCIJob(t)
	r := runCI(t, j.dir, env, j.checkArgs(fx.broken, "gitlab-artifact:api-gate")...)
	scan.run("run 1", r, j, t)
	if r.code != 1 {
		t.Fatalf("run 1: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, baselineLine) || len(lines(r.stderr, "merge request note created: "+noteURL)) != 1 {
		t.Errorf("run 1: stderr:\n%s", r.stderr)
	}
	ns := gl.MarkedNotes()
	if len(ns) != 1 || len(gl.Notes()) != 3 {
		t.Fatalf("run 1: %d specgate notes of %d, want 1 of 3", len(ns), len(gl.Notes()))
	}
	first := ns[0]
	if !strings.HasPrefix(first.Body, render.Marker+"\n**specgate: FAIL**") || !strings.Contains(first.Body, renamed) {
		t.Errorf("run 1: note does not name the rename:\n%s", first.Body)
	}
	// The same report as on GitHub.
	checkGolden(t, "comment-fail.md", first.Body)

	// Run 2: the same note, left as it is.
	j = newCIJob(t)
	r = runCI(t, j.dir, env, j.checkArgs(fx.broken, "gitlab-artifact:api-gate")...)
	scan.run("run 2", r, j, t)
	if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("merge request note unchanged: %s%d", noteURL, first.ID)) {
		t.Errorf("run 2: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if ns := gl.MarkedNotes(); len(ns) != 1 || ns[0].ID != first.ID || ns[0].Body != first.Body {
		t.Errorf("run 2: notes %+v", ns)
	}

	// Run 3: the fix edits the note to the pass body.
	j = newCIJob(t)
	r = runCI(t, j.dir, env, j.checkArgs(fx.good, "gitlab-artifact:api-gate")...)
	scan.run("run 3", r, j, t)
	if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("merge request note updated: %s%d", noteURL, first.ID)) {
		t.Errorf("run 3: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	ns = gl.MarkedNotes()
	if len(ns) != 1 || ns[0].ID != first.ID {
		t.Fatalf("run 3: notes %+v", ns)
	}
	checkGolden(t, "comment-pass.md", ns[0].Body)
	posts, puts := 0, 0
	for _, l := range gl.Log() {
		posts += strings.Count(l, "POST ")
		puts += strings.Count(l, "PUT ")
	}
	if posts != 1 || puts != 1 {
		t.Errorf("%d POSTs and %d PUTs in three runs, want 1 and 1: %q", posts, puts, gl.Log())
	}

	// A token that may not write notes: the verdict still decides.
	gl.SetReadOnly(true)
	j = newCIJob(t)
	r = runCI(t, j.dir, env, j.checkArgs(fx.broken, "gitlab-artifact:api-gate")...)
	scan.run("read-only", r, j, t)
	if r.code != 1 || len(lines(r.stderr, "cannot comment on this merge request")) != 1 || strings.Contains(r.stderr, "warning") {
		t.Errorf("read-only: exit %d, want 1 with one notice; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(j.files(t)["report.md"], renamed) {
		t.Error("read-only: the report file does not hold the rename")
	}
	if ns := gl.MarkedNotes(); len(ns) != 1 || !strings.Contains(ns[0].Body, "**specgate: PASS**") {
		t.Errorf("read-only: the note changed: %+v", ns)
	}
	gl.SetReadOnly(false)

	// No artifacts of that job: the fallback, or inconclusive.
	j = newCIJob(t)
	r = runCI(t, j.dir, env, append(j.checkArgs(fx.broken, "gitlab-artifact:other-job"), "--baseline-fallback", fx.specs)...)
	scan.run("fallback", r, j, t)
	if r.code != 1 || len(lines(r.stderr, "using --baseline-fallback "+fx.specs)) != 1 {
		t.Errorf("fallback: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	j = newCIJob(t)
	r = runCI(t, j.dir, env, j.checkArgs(fx.broken, "gitlab-artifact:other-job")...)
	scan.run("no baseline", r, j, t)
	if r.code != 3 || !strings.Contains(r.stderr, "other-job") || !strings.Contains(r.stderr, "run the default branch with --update-baseline first") {
		t.Errorf("no baseline: exit %d, want 3 with a hint; stderr:\n%s", r.code, r.stderr)
	}

	for _, n := range gl.Notes() {
		scan.add("note", n.Body)
	}
	token, jobToken := gl.Tokens()
	scan.check(t, token, jobToken)
	for i, a := range gl.Auths() {
		if a != "PRIVATE-TOKEN" {
			t.Errorf("request %d (%s) authenticated with %q", i, gl.Log()[i], a)
		}
	}
	for _, l := range gl.Log() {
		if strings.Contains(l, token) || strings.Contains(l, jobToken) {
			t.Errorf("a token in the request line %q", l)
		}
	}
}
