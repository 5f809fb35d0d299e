package actionrun

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/secrettest"
)

// TestMain makes the test binary double as a stub specgate, which the go
// shim of the action tests puts where the action builds specgate.
func TestMain(m *testing.M) {
	if os.Getenv("ACTIONRUN_STUB") == "specgate" {
		os.Exit(stubSpecgate(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// stubCall is what the stub specgate records of one call.
type stubCall struct {
	Args []string `json:"args"`
	// TokenSHA256 is the hash of GITHUB_TOKEN as specgate got it: the
	// token itself is written nowhere.
	TokenSHA256 string `json:"tokenSHA256"`
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// stubReport is the report the stub writes: two breaking changes when
// verdict is fail.
func stubReport(verdict string) *gate.Report {
	r := &gate.Report{SchemaVersion: gate.SchemaVersion, Verdict: gate.Verdict(verdict), Summary: "stub report"}
	r.Services = []gate.Service{{Name: "todo.test:8080", Baseline: "artifact:specgate-baseline", Verdict: r.Verdict}}
	if verdict == "fail" {
		r.Breaking = 2
		r.Services[0].Breaking = 2
		for _, id := range []string{"response-property-renamed", "response-property-removed"} {
			r.Changes = append(r.Changes, gate.Change{
				ID: id, Level: gate.LevelError, Breaking: true, Kind: gate.KindRenamed, Service: "todo.test:8080",
				Operation: "GET /todos/{todoId}", From: "descripton", To: "description",
				Message: "renamed descripton to description", Fingerprint: "662cf45d76947ff3",
			})
		}
	}
	return r
}

// stubSpecgate records its call, writes the reports its --format flags
// ask for (from stubReport), writes a document into --specs or the
// --update-baseline directory, runs the command after -- and exits with
// the command's status, else with ACTIONRUN_STUB_EXIT.
func stubSpecgate(args []string) int {
	call := stubCall{Args: args, TokenSHA256: sha(os.Getenv("GITHUB_TOKEN"))}
	line, _ := json.Marshal(call)
	f, err := os.OpenFile(os.Getenv("ACTIONRUN_STUB_LOG"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stub specgate:", err)
		return 99
	}
	fmt.Fprintf(f, "%s\n", line)
	f.Close()

	var command []string
	for i, a := range args {
		if a == "--" {
			args, command = args[:i], args[i+1:]
			break
		}
	}
	report := stubReport(os.Getenv("ACTIONRUN_STUB_VERDICT"))
	update := false
	for _, a := range args {
		update = update || a == "--update-baseline"
	}
	for i, a := range args {
		var format string
		switch {
		case strings.HasPrefix(a, "--format="):
			format = strings.TrimPrefix(a, "--format=")
		case a == "--format" && i+1 < len(args):
			format = args[i+1]
		case a == "--comment":
			// As check --comment does: the outputs the action writes
			// after it must win.
			if err := appendFile(os.Getenv("GITHUB_OUTPUT"), "verdict=written-by-specgate\n"); err != nil {
				return 99
			}
		case strings.HasPrefix(a, "--specs="), update && strings.HasPrefix(a, "--baseline="):
			dir := a[strings.Index(a, "=")+1:]
			if err := os.WriteFile(filepath.Join(dir, "todo.test_8080.yaml"), []byte("openapi: 3.0.3\n"), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "stub specgate:", err)
				return 99
			}
		}
		name, file, ok := strings.Cut(format, "=")
		if format == "" {
			continue
		}
		var buf bytes.Buffer
		if err := render.Render(&buf, name, report, render.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, "stub specgate:", err)
			return 99
		}
		if !ok {
			os.Stdout.Write(buf.Bytes())
			continue
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "stub specgate:", err)
			return 99
		}
	}
	if len(command) > 0 {
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		var ee *exec.ExitError
		if err := cmd.Run(); errors.As(err, &ee) {
			return ee.ExitCode()
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "stub specgate:", err)
			return 99
		}
	}
	code, _ := strconv.Atoi(os.Getenv("ACTIONRUN_STUB_EXIT"))
	return code
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Shims put first on PATH. go writes the stub specgate where the action
// builds specgate; id answers with $SHIM_UID; sudo records its call and
// runs the command after its options, as the real one would as root.
const (
	goShim = `#!/bin/sh
printf 'cwd=%s cgo=%s gowork=%s goflags=%s args=%s\n' "$PWD" "$CGO_ENABLED" "$GOWORK" "$GOFLAGS" "$*" >>"$SHIM_LOGS/go.log"
out=
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then out=$2; fi
  shift
done
cp "$ACTIONRUN_STUB_BINARY" "$out"
`
	idShim = `#!/bin/sh
case "$*" in
  -u | -g) echo "$SHIM_UID" ;;
  -un) echo runner ;;
  *) echo "id shim: unexpected arguments: $*" >&2; exit 1 ;;
esac
`
	sudoShim = `#!/bin/sh
n=$(ls "$SHIM_LOGS" | grep -c '^sudo\.' || true)
printf '%s\0' "$@" >"$SHIM_LOGS/sudo.$n"
while [ $# -gt 0 ]; do
  case "$1" in
    -E) shift ;;
    -u) shift 2 ;;
    -*) echo "sudo shim: unexpected option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
exec "$@"
`
)

// actionCase is one run of the repository's action.yml.
type actionCase struct {
	inputs      map[string]string
	eventName   string
	ref         string
	uid         string // what id -u says
	stubVerdict string
	stubExit    int
}

// actionRun is what running action.yml gave.
type actionRun struct {
	res      *Result
	calls    []stubCall
	sudo     [][]string
	goLog    string
	uploaded *Step
	ws, temp string
}

const plantedToken = "ghs_PlantedActionTokenZq7Xv9Lm3Nw5Rt8Yp2"

func runAction(t *testing.T, c actionCase) *actionRun {
	t.Helper()
	for _, tool := range []string{"bash", "sed", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH", tool)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	ar := &actionRun{ws: filepath.Join(root, "workspace"), temp: filepath.Join(root, "runner temp")}
	shims, logs := filepath.Join(root, "shims"), filepath.Join(root, "logs")
	for _, d := range []string{ar.ws, ar.temp, shims, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"go": goShim, "id": idShim, "sudo": sudoShim} {
		if err := os.WriteFile(filepath.Join(shims, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if c.ref == "" {
		c.ref = "refs/pull/7/merge"
	}
	if c.eventName == "" {
		c.eventName = "pull_request"
	}
	refName := strings.TrimPrefix(strings.TrimPrefix(c.ref, "refs/heads/"), "refs/pull/")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ar.res, err = Run(ctx, filepath.Join("..", ".."), Options{
		Inputs: c.inputs,
		Env: map[string]string{
			"PATH":                   shims + string(os.PathListSeparator) + os.Getenv("PATH"),
			"SHIM_LOGS":              logs,
			"SHIM_UID":               c.uid,
			"ACTIONRUN_STUB":         "specgate",
			"ACTIONRUN_STUB_BINARY":  self,
			"ACTIONRUN_STUB_LOG":     filepath.Join(logs, "specgate.jsonl"),
			"ACTIONRUN_STUB_VERDICT": c.stubVerdict,
			"ACTIONRUN_STUB_EXIT":    strconv.Itoa(c.stubExit),
			"GITHUB_EVENT_NAME":      c.eventName,
			"GITHUB_REF":             c.ref,
			"GITHUB_REF_NAME":        refName,
			"GITHUB_REF_TYPE":        "branch",
			"GITHUB_REPOSITORY":      "octo/widgets",
			"GITHUB_API_URL":         "http://127.0.0.1:9",
		},
		Event:     map[string]any{"repository": map[string]any{"full_name": "octo/widgets", "default_branch": "main"}},
		Token:     plantedToken,
		Workspace: ar.ws,
		Temp:      ar.temp,
		Stubs: map[string]func(Step) error{
			"actions/upload-artifact@v4": func(s Step) error {
				ar.uploaded = &s
				return nil
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(logs, "specgate.jsonl")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var call stubCall
			if err := json.Unmarshal(sc.Bytes(), &call); err != nil {
				t.Fatal(err)
			}
			ar.calls = append(ar.calls, call)
		}
	}
	for i := 0; ; i++ {
		data, err := os.ReadFile(filepath.Join(logs, "sudo."+strconv.Itoa(i)))
		if err != nil {
			break
		}
		ar.sudo = append(ar.sudo, strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00"))
	}
	if data, err := os.ReadFile(filepath.Join(logs, "go.log")); err == nil {
		ar.goLog = string(data)
	}
	// Whatever ran, the token is nowhere but in specgate's environment.
	var everything strings.Builder
	for _, s := range ar.res.Steps {
		everything.WriteString(s.Log)
		for _, v := range s.Outputs {
			everything.WriteString(v)
		}
	}
	for _, v := range ar.res.Outputs {
		everything.WriteString(v)
	}
	everything.WriteString(ar.res.Summary)
	for _, path := range []string{logs, ar.ws, filepath.Join(ar.temp, "specgate-report")} {
		filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := os.ReadFile(p)
				everything.Write(data)
			}
			return nil
		})
	}
	for _, sp := range secrettest.Spellings(plantedToken) {
		if strings.Contains(everything.String(), sp.Text) {
			t.Errorf("the token (%s) appears in a log, output, report or file", sp.Name)
		}
	}
	return ar
}

// hostile inputs: each must reach specgate as one argument, as written.
var hostile = map[string]string{
	"baseline":          "git:origin/main:api specs/$(touch PWNED)",
	"baseline-fallback": "dir/`touch PWNED`;x'y\"z\nsecond line",
	"netns":             "/var/run/netns/my ns; touch PWNED",
	"config":            "policies/it's ${{ github.token }} $HOME.yaml",
	"fail-on":           "warning",
	"interfaces":        "lo, eth0",
}

// commandLine is the tests' command: it records how it was run.
const commandLine = `printf '%s\n' "two  spaces" "${GITHUB_TOKEN:-no token}" "${SG_COMMAND:-no SG_COMMAND}" >"$GITHUB_WORKSPACE/command.out"`

func withInputs(extra map[string]string) map[string]string {
	in := map[string]string{"command": commandLine}
	for k, v := range hostile {
		in[k] = v
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func checkNoInjection(t *testing.T, ar *actionRun) {
	t.Helper()
	filepath.WalkDir(filepath.Dir(ar.ws), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "PWNED" {
			t.Errorf("an input ran as a command: %s exists", p)
		}
		return nil
	})
	out, err := os.ReadFile(filepath.Join(ar.ws, "command.out"))
	if err != nil {
		t.Fatalf("the tests' command did not run: %v", err)
	}
	if string(out) != "two  spaces\nno token\nno SG_COMMAND\n" {
		t.Errorf("the command printed %q", out)
	}
}

// gateArgs is the command line the action gives specgate to gate.
func gateArgs(ar *actionRun, specs string, comment bool) []string {
	reports := filepath.Join(ar.temp, "specgate-report")
	args := []string{"check",
		"--baseline=" + hostile["baseline"],
		"--baseline-fallback=" + hostile["baseline-fallback"],
		"--fail-on=warning",
		"--format", "text", "--format", "githubactions",
		"--format=json=" + reports + "/report.json", "--format=markdown=" + reports + "/report.md",
		"--specs=" + specs}
	if comment {
		args = append(args, "--comment")
	}
	return append(args, "--policy="+hostile["config"], "--interface=lo", "--interface=eth0", "--netns="+hostile["netns"], "--")
}

func TestActionPullRequestAsRoot(t *testing.T) {
	specs := filepath.Join(t.TempDir(), "specs $(touch PWNED)")
	ar := runAction(t, actionCase{inputs: withInputs(map[string]string{"specs-dir": specs}), uid: "0", stubVerdict: "fail", stubExit: 1})

	if !strings.Contains(ar.goLog, "cgo=0 gowork=off goflags= args=build -o "+ar.temp+"/specgate ./cmd/specgate") {
		t.Errorf("go was called as: %s", ar.goLog)
	}
	abs, _ := filepath.Abs(filepath.Join("..", ".."))
	if !strings.HasPrefix(ar.goLog, "cwd="+abs+" ") {
		t.Errorf("go did not build in the action's directory %s: %s", abs, ar.goLog)
	}
	if len(ar.calls) != 1 {
		t.Fatalf("specgate ran %d times, want once", len(ar.calls))
	}
	want := append(gateArgs(ar, specs, true), "env", "-u", "GITHUB_TOKEN", "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", commandLine)
	if got := ar.calls[0].Args; !reflect.DeepEqual(got, want) {
		t.Errorf("specgate's arguments:\n got %q\nwant %q", got, want)
	}
	if ar.calls[0].TokenSHA256 != sha(plantedToken) {
		t.Error("specgate did not get the token in GITHUB_TOKEN")
	}
	if len(ar.sudo) != 0 {
		t.Errorf("sudo ran as root: %q", ar.sudo)
	}
	checkNoInjection(t, ar)

	// The verdict fails the job, after the outputs are written; the
	// baseline is not uploaded.
	run := ar.res.Step("run")
	if !ar.res.Failed || run.ExitCode != 1 {
		t.Errorf("failed %v, run step exit %d, want a failure with specgate's 1", ar.res.Failed, run.ExitCode)
	}
	if ar.uploaded != nil || ar.res.Step("mode").Outputs["update"] != "false" {
		t.Errorf("a pull request uploaded the baseline (update=%q)", ar.res.Step("mode").Outputs["update"])
	}
	wantOutputs := map[string]string{"verdict": "fail", "breaking-count": "2", "report-json": filepath.Join(ar.temp, "specgate-report", "report.json")}
	if !reflect.DeepEqual(ar.res.Outputs, wantOutputs) {
		t.Errorf("outputs:\n got %q\nwant %q", ar.res.Outputs, wantOutputs)
	}
	var parsed gate.Report
	if data, err := os.ReadFile(ar.res.Outputs["report-json"]); err != nil || json.Unmarshal(data, &parsed) != nil || parsed.Breaking != 2 {
		t.Errorf("report-json does not name the report (%v)", err)
	}
	if !strings.Contains(run.Log, "::error ") || !strings.Contains(run.Log, "specgate: FAIL") {
		t.Errorf("the text report and annotations are not in the log:\n%s", run.Log)
	}
	if ar.res.Summary != "" {
		t.Errorf("with comment: true the summary is specgate's to write, got %q", ar.res.Summary)
	}
	if fi, err := os.Stat(specs); err != nil || !fi.IsDir() {
		t.Errorf("specs-dir %q was not made: %v", specs, err)
	}
}

func TestActionPullRequestWithSudo(t *testing.T) {
	ar := runAction(t, actionCase{inputs: withInputs(map[string]string{"comment": "false"}), uid: "1001", stubVerdict: "pass"})
	if ar.res.Failed {
		t.Fatalf("a passing gate failed the job: %+v", ar.res.Steps)
	}
	if len(ar.calls) != 1 || len(ar.sudo) != 2 {
		t.Fatalf("specgate ran %d times, sudo %d times; want 1 and 2", len(ar.calls), len(ar.sudo))
	}
	specs := filepath.Join(ar.temp, "specgate-specs")
	args := gateArgs(ar, specs, false)
	wantRoot := append([]string{"-E", filepath.Join(ar.temp, "specgate")}, args...)
	userPrefix := []string{"sudo", "-E", "-u", "#1001", "env", "-u", "GITHUB_TOKEN"}
	if got := ar.sudo[0]; !reflect.DeepEqual(got[:len(wantRoot)], wantRoot) || !reflect.DeepEqual(got[len(wantRoot):len(wantRoot)+len(userPrefix)], userPrefix) {
		t.Errorf("sudo for specgate:\n got %q\nwant %q then %q", got, wantRoot, userPrefix)
	}
	user := ar.sudo[1]
	if !reflect.DeepEqual(user[:6], userPrefix[1:]) || !strings.HasPrefix(user[6], "PATH=") || !strings.HasPrefix(user[7], "HOME=") ||
		!reflect.DeepEqual(user[8:], []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", commandLine}) {
		t.Errorf("sudo for the tests: %q", user)
	}
	checkNoInjection(t, ar)
	if ar.res.Outputs["verdict"] != "pass" || ar.res.Outputs["breaking-count"] != "0" || ar.res.Outputs["report-json"] != filepath.Join(ar.temp, "specgate-report", "report.json") {
		t.Errorf("outputs: %q", ar.res.Outputs)
	}
	if !strings.HasPrefix(ar.res.Summary, render.Marker+"\n") || !strings.Contains(ar.res.Summary, "PASS") {
		t.Errorf("with comment: false the summary holds the markdown report, got %q", ar.res.Summary)
	}
}

func TestActionDefaultBranch(t *testing.T) {
	tests := []struct {
		name      string
		event     string
		ref       string
		update    string
		wantSaved bool
	}{
		{"push to the default branch", "push", "refs/heads/main", "", true},
		{"schedule on the default branch", "schedule", "refs/heads/main", "", true},
		{"push to another branch", "push", "refs/heads/feature", "", false},
		{"pull_request_target on the default branch", "pull_request_target", "refs/heads/main", "", false},
		{"default branch, update-baseline false", "push", "refs/heads/main", "false", false},
		{"another branch, update-baseline true", "push", "refs/heads/feature", "true", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs := filepath.Join(t.TempDir(), "specs")
			in := map[string]string{"command": "true", "specs-dir": specs, "artifact-name": "api-baseline", "update-baseline": tt.update}
			ar := runAction(t, actionCase{inputs: in, eventName: tt.event, ref: tt.ref, uid: "0", stubVerdict: "pass"})
			if ar.res.Failed || len(ar.calls) != 1 {
				t.Fatalf("failed %v, %d specgate calls: %+v", ar.res.Failed, len(ar.calls), ar.res.Steps)
			}
			args := ar.calls[0].Args
			if !tt.wantSaved {
				if ar.uploaded != nil {
					t.Errorf("uploaded the baseline")
				}
				for _, s := range ar.res.Steps {
					if s.Uses == "actions/upload-artifact@v4" && (!s.Skipped || !strings.HasPrefix(s.SkipReason, "if: ")) {
						t.Errorf("the upload step was not skipped by its if: %+v", s)
					}
				}
				if args[1] != "--baseline=artifact:specgate-baseline" {
					t.Errorf("gate arguments %q", args)
				}
				return
			}
			want := []string{"check", "--baseline=" + specs + "/", "--update-baseline", "--interface=lo", "--", "env", "-u", "GITHUB_TOKEN", "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "true"}
			if !reflect.DeepEqual(args, want) {
				t.Errorf("specgate's arguments:\n got %q\nwant %q", args, want)
			}
			if ar.uploaded == nil {
				t.Fatal("the baseline was not uploaded")
			}
			wantWith := map[string]string{"name": "api-baseline", "path": specs, "if-no-files-found": "error", "overwrite": "true"}
			if !reflect.DeepEqual(ar.uploaded.With, wantWith) {
				t.Errorf("upload-artifact with %q, want %q", ar.uploaded.With, wantWith)
			}
			if _, err := os.Stat(filepath.Join(specs, "todo.test_8080.yaml")); err != nil {
				t.Errorf("the baseline is not in specs-dir: %v", err)
			}
			if ar.res.Outputs["verdict"] != "" {
				t.Errorf("recording the baseline gave a verdict %q", ar.res.Outputs["verdict"])
			}
		})
	}
}

func TestActionBadInputs(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]string
		step   string
		want   string
	}{
		{"update-baseline", map[string]string{"command": "true", "update-baseline": "yes please $(touch PWNED)"}, "mode", "the update-baseline input must be true, false or empty"},
		{"comment", map[string]string{"command": "true", "comment": "yes"}, "run", "the comment input must be true or false"},
		{"empty command", map[string]string{"command": ""}, "run", "the command input is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ar := runAction(t, actionCase{inputs: tt.inputs, uid: "0", stubVerdict: "pass"})
			s := ar.res.Step(tt.step)
			if !ar.res.Failed || s.ExitCode != 2 || !strings.Contains(s.Log, "::error title=specgate::"+tt.want) {
				t.Errorf("step %s: exit %d, log %q", tt.step, s.ExitCode, s.Log)
			}
			if strings.Contains(s.Log, "yes") {
				t.Errorf("the error repeats the input: %q", s.Log)
			}
			if len(ar.calls) != 0 || ar.uploaded != nil {
				t.Errorf("specgate ran %d times, uploaded %v", len(ar.calls), ar.uploaded != nil)
			}
		})
	}
}

// TestActionScriptsTakeNoExpressions reads action.yml: no run: script
// holds ${{ }}, which the runner would paste into the script before the
// shell reads it; inputs reach the scripts through env: only.
func TestActionScriptsTakeNoExpressions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	runs := 0
	for i, s := range a.Runs.Steps {
		if s.Run == "" {
			continue
		}
		runs++
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %d (%s): its run: script holds an expression", i+1, stepLabel(s))
		}
		if s.Shell != "bash" {
			t.Errorf("step %d: shell %q, want bash", i+1, s.Shell)
		}
	}
	if runs < 3 {
		t.Errorf("%d run: steps, want the build, the mode and the run", runs)
	}
	for _, name := range []string{"command", "baseline", "baseline-fallback", "interfaces", "netns", "fail-on", "config", "comment", "github-token", "update-baseline", "artifact-name", "specs-dir"} {
		if _, ok := a.Inputs[name]; !ok {
			t.Errorf("input %s missing", name)
		}
	}
}
