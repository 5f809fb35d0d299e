package actionrun

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// runComposite runs testdata/composite with inputs, recording what the
// upload-artifact stub was given.
func runComposite(t *testing.T, inputs map[string]string, stubErr error) (*Result, *Step, string) {
	t.Helper()
	ws, temp := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var uploaded *Step
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, filepath.Join("testdata", "composite"), Options{
		Inputs: inputs,
		Env: map[string]string{
			"JOB_VAR": "from the job", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "push",
		},
		Event:     map[string]any{"repository": map[string]any{"full_name": "octo/widgets", "default_branch": "main"}},
		Workspace: ws,
		Temp:      temp,
		Stubs: map[string]func(Step) error{
			"actions/upload-artifact@v4": func(s Step) error {
				uploaded = &s
				s.Outputs["id"] = "artifact-42"
				return stubErr
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, uploaded, temp
}

func TestRunComposite(t *testing.T) {
	res, uploaded, temp := runComposite(t, map[string]string{"who": "a \"quoted\" $(name)"}, nil)
	if res.Failed {
		t.Errorf("failed, want success: %+v", res.Steps)
	}
	wantOutputs := map[string]string{
		"greeting": `hello a "quoted" $(name)`,
		"letter":   "Dear reader,\na=b <<not a delimiter",
		"flagged":  "not flagged",
		"stubbed":  "artifact-42",
		"outcome":  "skipped",
	}
	if !reflect.DeepEqual(res.Outputs, wantOutputs) {
		t.Errorf("outputs:\n got %q\nwant %q", res.Outputs, wantOutputs)
	}
	greet := res.Step("greet")
	if greet.Outputs["where"] != temp+"/where" || greet.Outputs["cwd"] == "" || !strings.Contains(greet.Log, `said hello to a "quoted" $(name)`) {
		t.Errorf("greet: %q, log %q", greet.Outputs, greet.Log)
	}
	read := res.Step("read-env").Outputs
	want := map[string]string{
		"from-env":       "set by a step",
		"from-context":   "set by a step",
		"job":            "from the job",
		"tool":           "tool ran",
		"ref":            "main event=push repo=octo/widgets",
		"default-branch": "main",
	}
	for k, v := range want {
		if read[k] != v {
			t.Errorf("read-env %s = %q, want %q", k, read[k], v)
		}
	}
	var event map[string]any
	if err := json.Unmarshal([]byte(read["event-file"]), &event); err != nil || lookup(lookup(event, "repository"), "full_name") != "octo/widgets" {
		t.Errorf("GITHUB_EVENT_PATH holds %q (%v)", read["event-file"], err)
	}
	if uploaded == nil || uploaded.With["name"] != `hello a "quoted" $(name)` || uploaded.With["path"] != temp+"/out" {
		t.Errorf("upload stub got %+v", uploaded)
	}
	if s := res.Step("unstubbed"); !s.Skipped || !strings.Contains(s.SkipReason, "./elsewhere has no stub") {
		t.Errorf("unstubbed: %+v", s)
	}
	if s := res.Step("flagged"); !s.Skipped || s.Outcome != "skipped" {
		t.Errorf("flagged: %+v", s)
	}
	if s := res.Step("soft"); s.ExitCode != 4 || s.Outcome != "failure" || s.Skipped {
		t.Errorf("soft: %+v", s)
	}
	if s := res.Step("after"); s.Skipped || s.Outputs["ran"] != "yes" {
		t.Errorf("after, with only a continue-on-error failure before it: %+v", s)
	}
	if s := res.Step("on-failure"); !s.Skipped {
		t.Errorf("on-failure ran without a failure: %+v", s)
	}
	if s := res.Step("always"); s.Skipped || !strings.HasSuffix(s.Outputs["cwd"], "/sub") {
		t.Errorf("always: %+v", s)
	}
	if res.Summary != "## greeted a \"quoted\" $(name)\n" {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestRunCompositeFailure(t *testing.T) {
	res, _, _ := runComposite(t, map[string]string{"fail": "true", "flag": "true"}, nil)
	if !res.Failed {
		t.Fatal("not failed")
	}
	fail := res.Step("fail")
	if fail.ExitCode != 3 || fail.Outcome != "failure" || fail.Outputs["partial"] != "yes" {
		t.Errorf("fail: %+v", fail)
	}
	if s := res.Step("after"); !s.Skipped || s.SkipReason != "a step before it failed" {
		t.Errorf("after: %+v", s)
	}
	if s := res.Step("on-failure"); s.Skipped {
		t.Errorf("on-failure skipped")
	}
	if s := res.Step("always"); s.Skipped {
		t.Errorf("always skipped")
	}
	if res.Outputs["flagged"] != "yes" || res.Outputs["outcome"] != "failure" {
		t.Errorf("outputs %q", res.Outputs)
	}
	if !strings.HasSuffix(res.Summary, "failure seen\n") {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestRunCompositeStubError(t *testing.T) {
	res, uploaded, _ := runComposite(t, nil, errors.New("quota exceeded"))
	if uploaded == nil || !res.Failed {
		t.Fatalf("stub error did not fail the run: %+v", res.Steps)
	}
	up := res.Step("upload")
	if up.ExitCode != 1 || up.Outcome != "failure" || !strings.Contains(up.Log, "quota exceeded") {
		t.Errorf("upload: %+v", up)
	}
	if res.Outputs["greeting"] != "hello world" {
		t.Errorf("greeting %q", res.Outputs["greeting"])
	}
}

func TestRunErrors(t *testing.T) {
	write := func(body string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	steps := func(s string) string {
		return "name: x\ndescription: x\ninputs:\n  in:\n    description: x\nruns:\n  using: composite\n  steps:\n" + s
	}
	tests := []struct {
		name, dir string
		inputs    map[string]string
		want      string
	}{
		{"missing", t.TempDir(), nil, "read action"},
		{"node action", write("name: x\ndescription: x\nruns:\n  using: node20\n  main: index.js\n"), nil, "only composite"},
		{"unknown key", write(steps("    - run: echo\n      shell: bash\n      shel: bash\n")), nil, "field shel not found"},
		{"no shell", write(steps("    - run: echo\n")), nil, "needs a shell"},
		{"run and uses", write(steps("    - run: echo\n      shell: bash\n      uses: a/b@v1\n")), nil, "exactly one of run and uses"},
		{"unknown input", write(steps("    - run: echo\n      shell: bash\n")), map[string]string{"ni": "x"}, "the action has no input ni"},
		{"bad expression", write(steps("    - run: echo ${{ secrets.X }}\n      shell: bash\n")), nil, `step 1 (run): run: expression " secrets.X "`},
		{"bad if", write(steps("    - if: github.event_name =! 'push'\n      run: echo\n      shell: bash\n")), nil, "if: expression"},
		{"bad shell", write(steps("    - run: echo\n      shell: fish\n")), nil, `shell "fish"`},
		{"no such shell", write(steps("    - run: echo\n      shell: /nonexistent/shell {0}\n")), nil, "run /nonexistent/shell"},
	}
	for _, tt := range tests {
		_, err := Run(context.Background(), tt.dir, Options{Inputs: tt.inputs})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tt.name, err)
		}
	}
}

// TestRunEnvironment checks the variables a step sees: the runner's, the
// job's, none of this process's GITHUB_* ones, and the interpolated
// script (a run: script takes ${{ }} as the runner does, which is why
// actions pass inputs through env instead).
func TestRunEnvironment(t *testing.T) {
	t.Setenv("GITHUB_HEAD_REF", "leaked-from-the-outer-runner")
	dir := t.TempDir()
	action := `name: x
description: x
inputs:
  in:
    description: x
runs:
  using: composite
  steps:
    - id: s
      shell: bash
      run: |
        echo 'interpolated=${{ inputs.in }}' >>"$GITHUB_OUTPUT"
        for v in CI GITHUB_ACTIONS GITHUB_ACTION_PATH GITHUB_WORKSPACE GITHUB_REPOSITORY GITHUB_REPOSITORY_OWNER GITHUB_REF_NAME GITHUB_API_URL RUNNER_TEMP RUNNER_OS GITHUB_HEAD_REF; do
          echo "$v=${!v-unset}" >>"$GITHUB_OUTPUT"
        done
        echo "pwd=$PWD" >>"$GITHUB_OUTPUT"
`
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte(action), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), dir, Options{
		Inputs: map[string]string{"in": "x"},
		Env:    map[string]string{"GITHUB_REPOSITORY": "octo/repo", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_API_URL": "http://127.0.0.1:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Step("s").Outputs
	abs, _ := filepath.Abs(dir)
	checks := map[string]string{
		"interpolated": "x", "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_ACTION_PATH": abs,
		"GITHUB_REPOSITORY": "octo/repo", "GITHUB_REPOSITORY_OWNER": "octo", "GITHUB_REF_NAME": "7/merge",
		"GITHUB_API_URL": "http://127.0.0.1:1", "RUNNER_OS": "Linux", "GITHUB_HEAD_REF": "unset",
	}
	for k, v := range checks {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got["pwd"] != got["GITHUB_WORKSPACE"] || got["RUNNER_TEMP"] == "" {
		t.Errorf("pwd %q, workspace %q, temp %q", got["pwd"], got["GITHUB_WORKSPACE"], got["RUNNER_TEMP"])
	}
	if _, err := os.Stat(got["RUNNER_TEMP"]); !os.IsNotExist(err) {
		t.Errorf("the runner temp directory %s outlived Run (%v)", got["RUNNER_TEMP"], err)
	}
}
