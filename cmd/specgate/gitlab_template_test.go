package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/specgate/specgate/internal/cifake"
)

// TestGitLabTemplateOnDemo runs the script of ci/gitlab/specgate.gitlab-ci.yml
// as a GitLab runner would, with the real specgate, on the demo system
// through reverse-proxy taps (no privileges): a default-branch pipeline
// records the baseline, which the fake GitLab then serves as that job's
// artifacts; a merge request pipeline with v2 fails and leaves one note
// naming the rename.
func TestGitLabTemplateOnDemo(t *testing.T) {
	var tpl map[string]struct {
		Variables    map[string]string `yaml:"variables"`
		BeforeScript []string          `yaml:"before_script"`
		Script       []string          `yaml:"script"`
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "ci", "gitlab", "specgate.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &tpl); err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	job, ok := tpl[".specgate"]
	if !ok || len(job.Script) == 0 {
		t.Fatal("the template has no .specgate job with a script")
	}

	d := newDemoSystem(t)
	d.taps = [2]int{freePort(t), freePort(t)}
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "specgate"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build specgate: %v\n%s", err, out)
	}
	gl := cifake.NewGitLab(t)

	// run runs the job's before_script and script in one shell, as the
	// runner does, in workspace, with the pipeline's variables.
	run := func(workspace, version string, pipeline []string) (int, string) {
		t.Helper()
		script := "set -e\n" + strings.Join(append(append([]string{}, job.BeforeScript...), job.Script...), "\n")
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = workspace
		env := []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
		for k, v := range job.Variables {
			env = append(env, k+"="+v)
		}
		env = append(env,
			"SPECGATE_VERSION=", // specgate is on PATH: no install
			fmt.Sprintf("SPECGATE_TEST_COMMAND=%s -version %s -todo http://127.0.0.1:%d -stats http://127.0.0.1:%d",
				filepath.Join(d.bin, "client"), version, d.taps[0], d.taps[1]),
			fmt.Sprintf("SPECGATE_CHECK_ARGS=--proxy 127.0.0.1:%d=http://127.0.0.1:%d --proxy 127.0.0.1:%d=http://127.0.0.1:%d",
				d.taps[0], d.todoPort, d.taps[1], d.statsPort))
		cmd.Env = append(env, pipeline...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String()
	}

	// The default branch records the baseline as the job's artifacts.
	main := t.TempDir()
	d.start("v1")
	var mainEnv []string
	for _, kv := range gl.Environ() {
		if !strings.HasPrefix(kv, "CI_MERGE_REQUEST_") && !strings.HasPrefix(kv, "CI_COMMIT_REF_NAME=") {
			mainEnv = append(mainEnv, kv)
		}
	}
	mainEnv = append(mainEnv, "CI_PIPELINE_SOURCE=push", "CI_COMMIT_BRANCH=main", "CI_COMMIT_REF_NAME=main")
	if code, out := run(main, "v1", mainEnv); code != 0 {
		t.Fatalf("default branch: exit %d\n%s", code, out)
	}
	specs, err := filepath.Glob(filepath.Join(main, "api", "specs", "*.yaml"))
	if err != nil || len(specs) != 2 {
		t.Fatalf("the default branch recorded %v (%v), want two documents under api/specs", specs, err)
	}
	entries := []cifake.ZipEntry{{Name: "api/"}, {Name: "api/specs/"}}
	for _, s := range specs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, cifake.ZipEntry{Name: "api/specs/" + filepath.Base(s), Body: string(b)})
	}
	gl.SetArtifact("main", "api-gate", cifake.Zip(t, entries...))

	// A merge request with v2: the gate fails and notes the rename once.
	d.start("v2")
	mr := append(gl.Environ(), "CI_PIPELINE_SOURCE=merge_request_event", "CI_COMMIT_BRANCH=")
	code, out := run(t.TempDir(), "v2", mr)
	if code != 1 {
		t.Fatalf("merge request: exit %d, want 1\n%s", code, out)
	}
	notes := gl.MarkedNotes()
	if len(notes) != 1 || !strings.Contains(notes[0].Body, "<code>descripton</code> → <code>description</code>") {
		t.Fatalf("notes %+v\n%s", notes, out)
	}
	token, jobToken := gl.Tokens()
	for _, tok := range []string{token, jobToken} {
		if tok != "" && (strings.Contains(out, tok) || strings.Contains(notes[0].Body, tok)) {
			t.Errorf("a token is in the job log or the note")
		}
	}
}
