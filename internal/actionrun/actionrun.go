// Package actionrun runs a composite GitHub Action's steps the way a GitHub
// runner does, on this machine, for tests: it takes the action's directory
// (its action.yml) and the inputs, environment and event of a run, and
// gives each step's outcome and outputs, the job summary and the action's
// outputs.
//
// It parses action.yml, evaluates the ${{ }} expressions it uses (see
// expr.go for the part of the language it knows; anything else is an
// error), runs each run: step with its shell in a workspace with the
// GITHUB_* and RUNNER_* variables a runner sets, reads each step's
// GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY files,
// honours if: and continue-on-error:, and hands uses: steps to the stubs a
// test registers (a uses: step without one is skipped and reported).
package actionrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Options describe the run an action is part of.
type Options struct {
	// Inputs are the values of the action's inputs (its with:); inputs
	// left out take their defaults. An input the action does not declare
	// is an error.
	Inputs map[string]string
	// Env is the job's environment. Its GITHUB_* and RUNNER_* variables
	// describe the run (GITHUB_EVENT_NAME, GITHUB_REF, GITHUB_REPOSITORY,
	// GITHUB_API_URL, ...) and fill the github and runner contexts; the
	// others are the env context. Run sets GITHUB_ACTION_PATH,
	// GITHUB_WORKSPACE, GITHUB_EVENT_PATH, RUNNER_TEMP and the per-step
	// file variables itself. The rest of the environment is this
	// process's, less its GITHUB_*, RUNNER_* and ACTIONS_* variables.
	Env map[string]string
	// Event is the webhook payload: github.event, and the file at
	// GITHUB_EVENT_PATH.
	Event map[string]any
	// Token is github.token.
	Token string
	// Workspace is GITHUB_WORKSPACE and the steps' working directory
	// (default: a new directory under Temp).
	Workspace string
	// Temp is RUNNER_TEMP (default: a new directory, removed when Run
	// returns).
	Temp string
	// Stubs run uses: steps, by the exact text of their uses:.
	Stubs map[string]func(Step) error
	// Log, when set, receives every step's output as it is written.
	Log io.Writer
}

// Step is a uses: step as its stub sees it.
type Step struct {
	ID, Name, Uses string
	// With are the step's inputs, evaluated.
	With map[string]string
	// Env is the step's env:, evaluated.
	Env map[string]string
	// Workspace is GITHUB_WORKSPACE.
	Workspace string
	// Outputs receives the step's outputs.
	Outputs map[string]string
}

// Result is what a run of the action gave.
type Result struct {
	// Outputs are the action's outputs, evaluated after its last step.
	Outputs map[string]string
	Steps   []StepResult
	// Summary is what the steps appended to GITHUB_STEP_SUMMARY.
	Summary string
	// Failed is set when a step failed without continue-on-error: the
	// job would fail.
	Failed bool
}

// StepResult is what one step did.
type StepResult struct {
	Index    int
	ID, Name string
	Uses     string
	// Skipped is set when the step did not run; SkipReason says why:
	// its if: was false, or it is a uses: step without a stub.
	Skipped    bool
	SkipReason string
	// ExitCode is the run: step's exit status (1 for a stub's error).
	ExitCode int
	// Outcome is success, failure or skipped.
	Outcome string
	Outputs map[string]string
	// Log is what the step wrote to stdout and stderr.
	Log string
}

// Step returns the result of the step with id, or nil.
func (r *Result) Step(id string) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return &r.Steps[i]
		}
	}
	return nil
}

// runner is one run of an action.
type runner struct {
	o          Options
	act        *actionFile
	temp       string
	workspace  string
	baseEnv    map[string]string // the process environment and the runner's variables
	jobEnv     map[string]string // the env context: the job's env and GITHUB_ENV's
	paths      []string          // GITHUB_PATH entries, newest first
	sc         *scope
	steps      map[string]any
	summary    strings.Builder
	stepNumber int
}

// Run runs the composite action in actionDir. A step that fails makes
// Result.Failed, not an error; errors are for what stops the run itself:
// an invalid action.yml, an unknown input, an expression outside what
// this package evaluates, a shell that cannot start.
func Run(ctx context.Context, actionDir string, o Options) (*Result, error) {
	act, err := load(actionDir)
	if err != nil {
		return nil, err
	}
	actionDir, err = filepath.Abs(actionDir)
	if err != nil {
		return nil, fmt.Errorf("action directory: %w", err)
	}
	r := &runner{o: o, act: act, temp: o.Temp, workspace: o.Workspace, steps: map[string]any{}}
	if r.temp == "" {
		if r.temp, err = os.MkdirTemp("", "actionrun-*"); err != nil {
			return nil, fmt.Errorf("runner temp: %w", err)
		}
		defer os.RemoveAll(r.temp)
	}
	if r.workspace == "" {
		r.workspace = filepath.Join(r.temp, "_workspace")
	}
	for _, d := range []string{r.temp, r.workspace, filepath.Join(r.temp, "_runner_file_commands"), filepath.Join(r.temp, "_github_workflow")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("runner directories: %w", err)
		}
	}
	if err := r.setup(actionDir); err != nil {
		return nil, err
	}
	if err := r.inputs(); err != nil {
		return nil, err
	}
	res := &Result{Outputs: map[string]string{}}
	for i, s := range act.Runs.Steps {
		sr, err := r.step(ctx, i, s)
		if err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", i+1, stepLabel(s), err)
		}
		res.Steps = append(res.Steps, *sr)
	}
	res.Failed = r.sc.failed
	res.Summary = r.summary.String()
	names := make([]string, 0, len(act.Outputs))
	for n := range act.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, err := r.sc.interpolate(act.Outputs[n].Value)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", n, err)
		}
		res.Outputs[n] = v
	}
	return res, nil
}

func stepLabel(s stepSpec) string {
	switch {
	case s.ID != "":
		return s.ID
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return s.Uses
	}
	return "run"
}

// setup builds the environment and the github and runner contexts.
func (r *runner) setup(actionDir string) error {
	r.baseEnv = map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !runnerVar(k) && !strings.HasPrefix(k, "ACTIONS_") && !strings.HasPrefix(k, "INPUT_") {
			r.baseEnv[k] = v
		}
	}
	event := r.o.Event
	if event == nil {
		event = map[string]any{}
	}
	eventJSON, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	eventPath := filepath.Join(r.temp, "_github_workflow", "event.json")
	if err := os.WriteFile(eventPath, eventJSON, 0o644); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	// github.event is the payload as JSON gives it, so that its numbers
	// and nesting are what expressions see.
	var eventValue any
	if err := json.Unmarshal(eventJSON, &eventValue); err != nil {
		return fmt.Errorf("event: %w", err)
	}

	vars := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
		"GITHUB_RUN_ID":      "1", "GITHUB_RUN_NUMBER": "1", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_JOB": "test", "GITHUB_WORKFLOW": "test", "GITHUB_ACTOR": "octocat",
		"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": strings.Repeat("0", 40),
		"RUNNER_OS": runnerOS(), "RUNNER_ARCH": runnerArch(), "RUNNER_NAME": "actionrun",
		"RUNNER_ENVIRONMENT": "self-hosted", "RUNNER_TOOL_CACHE": filepath.Join(r.temp, "_tool"),
	}
	if repo, ok := lookup(lookup(event, "repository"), "full_name").(string); ok {
		vars["GITHUB_REPOSITORY"] = repo
	}
	r.jobEnv = map[string]string{}
	for k, v := range r.o.Env {
		if runnerVar(k) {
			vars[k] = v
		} else {
			r.jobEnv[k] = v
		}
	}
	if _, ok := vars["GITHUB_REF_NAME"]; !ok && vars["GITHUB_REF"] != "" {
		ref := vars["GITHUB_REF"]
		for _, p := range []string{"refs/heads/", "refs/tags/", "refs/pull/"} {
			ref = strings.TrimPrefix(ref, p)
		}
		vars["GITHUB_REF_NAME"] = ref
	}
	if owner, _, ok := strings.Cut(vars["GITHUB_REPOSITORY"], "/"); ok {
		if _, set := vars["GITHUB_REPOSITORY_OWNER"]; !set {
			vars["GITHUB_REPOSITORY_OWNER"] = owner
		}
	}
	vars["GITHUB_ACTION_PATH"] = actionDir
	vars["GITHUB_WORKSPACE"] = r.workspace
	vars["GITHUB_EVENT_PATH"] = eventPath
	vars["RUNNER_TEMP"] = r.temp
	vars["RUNNER_WORKSPACE"] = filepath.Dir(r.workspace)

	github := map[string]any{"event": eventValue, "token": r.o.Token}
	runnerCtx := map[string]any{}
	for k, v := range vars {
		r.baseEnv[k] = v
		switch {
		case strings.HasPrefix(k, "GITHUB_"):
			github[strings.ToLower(strings.TrimPrefix(k, "GITHUB_"))] = v
		case strings.HasPrefix(k, "RUNNER_"):
			runnerCtx[strings.ToLower(strings.TrimPrefix(k, "RUNNER_"))] = v
		}
	}
	r.sc = &scope{contexts: map[string]any{
		"github": github, "runner": runnerCtx, "steps": r.steps,
		"inputs": map[string]any{}, "env": r.envContext(nil),
	}}
	return nil
}

// runnerVar reports whether an environment variable belongs to the runner
// rather than to the job.
func runnerVar(k string) bool {
	return strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || k == "CI"
}

func runnerOS() string {
	switch runtime.GOOS {
	case "darwin":
		return "macOS"
	case "windows":
		return "Windows"
	}
	return "Linux"
}

func runnerArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "X64"
	case "arm64":
		return "ARM64"
	case "386":
		return "X86"
	case "arm":
		return "ARM"
	}
	return strings.ToUpper(runtime.GOARCH)
}

// inputs fills the inputs context: the given values, else the defaults.
func (r *runner) inputs() error {
	declared := map[string]string{}
	for name := range r.act.Inputs {
		declared[strings.ToLower(name)] = name
	}
	var unknown []string
	for name := range r.o.Inputs {
		if _, ok := declared[strings.ToLower(name)]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("the action has no input %s", strings.Join(unknown, ", "))
	}
	given := map[string]string{}
	for name, v := range r.o.Inputs {
		given[strings.ToLower(name)] = v
	}
	inputs := map[string]any{}
	for lower, name := range declared {
		if v, ok := given[lower]; ok {
			inputs[lower] = v
			continue
		}
		v, err := r.sc.interpolate(r.act.Inputs[name].Default)
		if err != nil {
			return fmt.Errorf("default of input %s: %w", name, err)
		}
		inputs[lower] = v
	}
	r.sc.contexts["inputs"] = inputs
	return nil
}

// envContext is the env context: the job's env, what GITHUB_ENV set, and
// the step's own env.
func (r *runner) envContext(step map[string]string) map[string]any {
	env := map[string]any{}
	for k, v := range r.jobEnv {
		env[k] = v
	}
	for k, v := range step {
		env[k] = v
	}
	return env
}
