package actionrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file runs one step: its if:, env:, and its run: script or the
// stub of its uses:.

// step runs step i.
func (r *runner) step(ctx context.Context, i int, s stepSpec) (*StepResult, error) {
	sr := &StepResult{Index: i, ID: s.ID, Name: s.Name, Uses: s.Uses, Outputs: map[string]string{}}
	r.sc.contexts["env"] = r.envContext(nil)
	ok, err := r.sc.condition(s.If)
	if err != nil {
		return nil, fmt.Errorf("if: %w", err)
	}
	if !ok {
		sr.Skipped, sr.SkipReason, sr.Outcome = true, "if: "+strings.TrimSpace(s.If)+" is false", "skipped"
		if s.If == "" {
			sr.SkipReason = "a step before it failed"
		}
		r.record(s.ID, sr, "skipped")
		return sr, nil
	}
	stepEnv := map[string]string{}
	for k, v := range s.Env {
		x, err := r.sc.interpolate(v)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", k, err)
		}
		stepEnv[k] = x
	}
	r.sc.contexts["env"] = r.envContext(stepEnv)
	continueOnError := false
	if s.ContinueOnError != "" {
		v, err := r.sc.interpolate(s.ContinueOnError)
		if err != nil {
			return nil, fmt.Errorf("continue-on-error: %w", err)
		}
		if continueOnError, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("continue-on-error: want true or false")
		}
	}

	var failed bool
	if s.Uses != "" {
		failed, err = r.uses(s, stepEnv, sr)
	} else {
		failed, err = r.run(ctx, s, stepEnv, sr)
	}
	if err != nil {
		return nil, err
	}
	if sr.Skipped {
		r.record(s.ID, sr, "skipped")
		return sr, nil
	}
	outcome := "success"
	if failed {
		outcome = "failure"
	}
	sr.Outcome = outcome
	conclusion := outcome
	if failed && continueOnError {
		conclusion = "success"
	} else if failed {
		r.sc.failed = true
	}
	r.record(s.ID, sr, conclusion)
	return sr, nil
}

// record makes a step's outputs and outcome visible to later steps.
func (r *runner) record(id string, sr *StepResult, conclusion string) {
	if id == "" {
		return
	}
	outputs := map[string]any{}
	for k, v := range sr.Outputs {
		outputs[k] = v
	}
	r.steps[id] = map[string]any{"outputs": outputs, "outcome": sr.Outcome, "conclusion": conclusion}
}

// uses runs a uses: step's stub, or skips it.
func (r *runner) uses(s stepSpec, env map[string]string, sr *StepResult) (bool, error) {
	with := map[string]string{}
	for k, v := range s.With {
		x, err := r.sc.interpolate(v)
		if err != nil {
			return false, fmt.Errorf("with %s: %w", k, err)
		}
		with[k] = x
	}
	stub := r.o.Stubs[s.Uses]
	if stub == nil {
		sr.Skipped, sr.SkipReason, sr.Outcome = true, "uses: "+s.Uses+" has no stub", "skipped"
		return false, nil
	}
	err := stub(Step{ID: s.ID, Name: s.Name, Uses: s.Uses, With: with, Env: env, Workspace: r.workspace, Outputs: sr.Outputs})
	if err != nil {
		sr.ExitCode, sr.Log = 1, err.Error()+"\n"
		return true, nil
	}
	return false, nil
}

// run runs a run: step with its shell and reads its file commands.
func (r *runner) run(ctx context.Context, s stepSpec, stepEnv map[string]string, sr *StepResult) (bool, error) {
	script, err := r.sc.interpolate(s.Run)
	if err != nil {
		return false, fmt.Errorf("run: %w", err)
	}
	r.stepNumber++
	n := r.stepNumber
	files := map[string]string{}
	for v, name := range map[string]string{
		"GITHUB_OUTPUT": "set_output", "GITHUB_ENV": "set_env", "GITHUB_PATH": "add_path",
		"GITHUB_STEP_SUMMARY": "step_summary", "GITHUB_STATE": "save_state",
	} {
		files[v] = filepath.Join(r.temp, "_runner_file_commands", fmt.Sprintf("%s_%d", name, n))
		if err := os.WriteFile(files[v], nil, 0o666); err != nil {
			return false, fmt.Errorf("file commands: %w", err)
		}
	}
	scriptPath := filepath.Join(r.temp, fmt.Sprintf("step_%d.sh", n))
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		return false, fmt.Errorf("script: %w", err)
	}
	argv, err := shellCommand(s.Shell, scriptPath)
	if err != nil {
		return false, err
	}
	dir := r.workspace
	if s.WorkingDirectory != "" {
		wd, err := r.sc.interpolate(s.WorkingDirectory)
		if err != nil {
			return false, fmt.Errorf("working-directory: %w", err)
		}
		if !filepath.IsAbs(wd) {
			wd = filepath.Join(r.workspace, wd)
		}
		dir = wd
	}

	env := map[string]string{}
	for k, v := range r.baseEnv {
		env[k] = v
	}
	for k, v := range r.jobEnv {
		env[k] = v
	}
	for k, v := range stepEnv {
		env[k] = v
	}
	if len(r.paths) > 0 {
		env["PATH"] = strings.Join(append(append([]string{}, r.paths...), env["PATH"]), string(os.PathListSeparator))
	}
	for k, v := range files {
		env[k] = v
	}
	env["GITHUB_ACTION"] = fmt.Sprintf("__run_%d", n)
	if s.ID != "" {
		env["GITHUB_ACTION"] = s.ID
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)

	var out bytes.Buffer
	var w io.Writer = &out
	if r.o.Log != nil {
		w = io.MultiWriter(&out, r.o.Log)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, list, w, w
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	sr.Log = out.String()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		sr.ExitCode = ee.ExitCode()
	case err != nil:
		return false, fmt.Errorf("run %s: %w", argv[0], err)
	}

	outputs, _, err := readKeyValues(files["GITHUB_OUTPUT"], "GITHUB_OUTPUT")
	if err != nil {
		return false, err
	}
	for k, v := range outputs {
		sr.Outputs[k] = v
	}
	setEnv, _, err := readKeyValues(files["GITHUB_ENV"], "GITHUB_ENV")
	if err != nil {
		return false, err
	}
	for k, v := range setEnv {
		r.jobEnv[k] = v
	}
	if data, err := os.ReadFile(files["GITHUB_PATH"]); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				r.paths = append([]string{line}, r.paths...)
			}
		}
	}
	if data, err := os.ReadFile(files["GITHUB_STEP_SUMMARY"]); err == nil {
		r.summary.Write(data)
	}
	return sr.ExitCode != 0, nil
}

// shellCommand turns a step's shell: into the command that runs the
// script, as the runner does.
func shellCommand(shell, script string) ([]string, error) {
	var template string
	switch shell {
	case "bash":
		template = "bash --noprofile --norc -eo pipefail {0}"
	case "sh":
		template = "sh -e {0}"
	default:
		if !strings.Contains(shell, "{0}") {
			return nil, fmt.Errorf("shell %q: want bash, sh or a command with {0}", shell)
		}
		template = shell
	}
	argv := strings.Fields(template)
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "{0}", script)
	}
	return argv, nil
}
