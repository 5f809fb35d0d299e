package gitlab

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/specgate/specgate/gate/render"
)

// ciJob is the part of a GitLab CI job definition that the template may
// use; decoding with known fields only fails on anything else.
type ciJob struct {
	Variables    map[string]string     `yaml:"variables"`
	Rules        []struct{ If string } `yaml:"rules"`
	BeforeScript []string              `yaml:"before_script"`
	Script       []string              `yaml:"script"`
	Artifacts    struct {
		When     string   `yaml:"when"`
		ExpireIn string   `yaml:"expire_in"`
		Name     string   `yaml:"name"`
		Paths    []string `yaml:"paths"`
		Reports  struct {
			CodeQuality string `yaml:"codequality"`
			JUnit       string `yaml:"junit"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

// moduleRoot finds the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// loadTemplate decodes ci/gitlab/specgate.gitlab-ci.yml.
func loadTemplate(t *testing.T) ciJob {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "ci", "gitlab", "specgate.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var jobs map[string]ciJob
	if err := dec.Decode(&jobs); err != nil {
		t.Fatalf("the template: %v", err)
	}
	for name := range jobs {
		if !strings.HasPrefix(name, ".") {
			t.Errorf("the template defines the job %q: an included template may only hold hidden jobs", name)
		}
	}
	job, ok := jobs[".specgate"]
	if !ok {
		t.Fatal("the template has no .specgate job")
	}
	return job
}

// checkFlags lists the flags of `specgate check`, from its --help, with
// whether each takes a value.
func checkFlags(t *testing.T) map[string]bool {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to run specgate check --help")
	}
	cmd := exec.Command("go", "run", "./cmd/specgate", "check", "--help")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("specgate check --help: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("specgate check --help: %v", err)
	}
	flags := map[string]bool{}
	re := regexp.MustCompile(`(?m)^\s+(?:-(\w), )?--([\w-]+)(?: (\w+))?\s{2,}`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		takes := m[3] != ""
		flags["--"+m[2]] = takes
		if m[1] != "" {
			flags["-"+m[1]] = takes
		}
	}
	for _, f := range []string{"--baseline", "--update-baseline", "--format"} {
		if _, ok := flags[f]; !ok {
			t.Fatalf("specgate check --help lists no %s: %s", f, out)
		}
	}
	return flags
}

func TestTemplateStructure(t *testing.T) {
	job := loadTemplate(t)
	for k, want := range map[string]string{"SPECGATE_BASELINE": "artifact", "SPECGATE_BASELINE_DIR": "api/specs", "SPECGATE_TEST_COMMAND": ""} {
		if got, ok := job.Variables[k]; !ok || got != want {
			t.Errorf("variables: %s = %q (set: %v), want %q", k, got, ok, want)
		}
	}
	if _, ok := job.Variables["SPECGATE_VERSION"]; !ok {
		t.Error("variables: no SPECGATE_VERSION")
	}
	var rules []string
	for _, r := range job.Rules {
		rules = append(rules, r.If)
	}
	for _, want := range []string{`$CI_PIPELINE_SOURCE == "merge_request_event"`, `$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH`} {
		if !slices.Contains(rules, want) {
			t.Errorf("rules %q: no %q", rules, want)
		}
	}
	a := job.Artifacts
	if a.When != "always" || !regexp.MustCompile(`^\d+ (days?|weeks?)$`).MatchString(a.ExpireIn) {
		t.Errorf("artifacts: when %q, expire_in %q", a.When, a.ExpireIn)
	}
	if !slices.Contains(a.Paths, "$SPECGATE_BASELINE_DIR/") {
		t.Errorf("artifacts: paths %q lack the baseline directory", a.Paths)
	}
	before := strings.Join(job.BeforeScript, "\n")
	if !strings.Contains(before, "go install github.com/specgate/specgate/cmd/specgate@${SPECGATE_VERSION}") {
		t.Errorf("before_script does not install specgate: %s", before)
	}
	script := strings.Join(job.Script, "\n")
	if !strings.Contains(script, `"gitlab-artifact:$CI_JOB_NAME"`) {
		t.Error("script: the merge request baseline is not gitlab-artifact:$CI_JOB_NAME")
	}
	// The reports the merge request's check writes are the ones declared.
	var mr, main string
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "specgate check") && strings.Contains(line, "--comment"):
			mr = line
		case strings.HasPrefix(line, "specgate check") && strings.Contains(line, "--update-baseline"):
			main = line
		}
	}
	if mr == "" || main == "" {
		t.Fatalf("script: want a merge request check and a default-branch check:\n%s", script)
	}
	for _, want := range []string{"--format codequality=" + a.Reports.CodeQuality, "--format junit=" + a.Reports.JUnit, `--baseline "${SPECGATE_BASELINE_REF}"`} {
		if a.Reports.CodeQuality == "" || a.Reports.JUnit == "" || !strings.Contains(mr, want) {
			t.Errorf("merge request check %q: no %q", mr, want)
		}
	}
	if !strings.Contains(main, `--baseline "$SPECGATE_BASELINE_DIR/" --update-baseline`) {
		t.Errorf("default-branch check %q", main)
	}
	for _, line := range []string{mr, main} {
		if !strings.HasSuffix(line, `-- sh -c "$SPECGATE_TEST_COMMAND"`) {
			t.Errorf("%q does not run the test command last", line)
		}
	}
}

func TestTemplateScriptsParse(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	job := loadTemplate(t)
	for i, s := range append(append([]string(nil), job.BeforeScript...), job.Script...) {
		f := filepath.Join(t.TempDir(), "script.sh")
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sh, "-n", f).CombinedOutput(); err != nil {
			t.Errorf("script entry %d: sh -n: %v: %s\n%s", i, err, out, s)
		}
	}
}

// TestTemplateRuns runs the template's before_script and script as GitLab
// Runner does, one shell for both, with stand-ins for go and specgate
// that record their arguments, in each kind of pipeline; the arguments
// specgate gets must be flags that `specgate check --help` lists.
func TestTemplateRuns(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	mkdir, err := exec.LookPath("mkdir")
	if err != nil {
		t.Skip("no mkdir")
	}
	job := loadTemplate(t)
	flags := checkFlags(t)
	script := "set -e\n" + strings.Join(append(append([]string(nil), job.BeforeScript...), job.Script...), "\n")
	const testCommand = `go test -run 'TestAPI|TestTodo' ./integration/... && echo "done"`

	for _, tc := range []struct {
		name     string
		vars     map[string]string
		goThere  bool     // go is in the image: go install puts specgate in GOPATH/bin
		onPath   bool     // specgate is in the image
		want     []string // specgate's arguments; nil: not run
		wantGo   string   // go's arguments; "": not run
		wantExit int
	}{
		{
			name:    "merge request, installed with go",
			vars:    map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event", "SPECGATE_VERSION": "v1.2.3", "SPECGATE_CHECK_ARGS": "-i eth0 --include-host todo"},
			goThere: true,
			want: []string{"check", "--baseline", "gitlab-artifact:api-gate", "--comment", "--format", "text",
				"--format", "codequality=gl-code-quality-report.json", "--format", "junit=specgate-junit.xml",
				"-i", "eth0", "--include-host", "todo", "--", "sh", "-c", testCommand},
			wantGo: "install github.com/specgate/specgate/cmd/specgate@v1.2.3 CGO_ENABLED=0",
		},
		{
			name:   "merge request against a committed baseline",
			vars:   map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event", "SPECGATE_BASELINE": "git:origin/main:api/specs"},
			onPath: true,
			want: []string{"check", "--baseline", "git:origin/main:api/specs", "--comment", "--format", "text",
				"--format", "codequality=gl-code-quality-report.json", "--format", "junit=specgate-junit.xml",
				"--", "sh", "-c", testCommand},
		},
		{
			name:    "default branch",
			vars:    map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"},
			goThere: true,
			want:    []string{"check", "--baseline", "api/specs/", "--update-baseline", "--", "sh", "-c", testCommand},
			wantGo:  "install github.com/specgate/specgate/cmd/specgate@latest CGO_ENABLED=0",
		},
		{
			name: "specgate in the image",
			vars: map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "SPECGATE_VERSION": ""},
			// go is there, but an empty version asks for the installed one
			goThere: true,
			onPath:  true,
			want:    []string{"check", "--baseline", "api/specs/", "--update-baseline", "--", "sh", "-c", testCommand},
		},
		{
			name:     "breaking changes fail the job",
			vars:     map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event", "FAKE_EXIT": "1"},
			onPath:   true,
			want:     []string{"check", "--baseline", "gitlab-artifact:api-gate", "--comment", "--format", "text", "--format", "codequality=gl-code-quality-report.json", "--format", "junit=specgate-junit.xml", "--", "sh", "-c", testCommand},
			wantExit: 1,
		},
		{
			name:   "tag pipeline",
			vars:   map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.0"},
			onPath: true,
		},
		{
			name:     "no test command",
			vars:     map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event", "SPECGATE_TEST_COMMAND": ""},
			onPath:   true,
			wantExit: 2,
		},
		{
			name:     "neither go nor specgate",
			vars:     map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event"},
			wantExit: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			bin, gopath, work := filepath.Join(tmp, "bin"), filepath.Join(tmp, "gopath"), filepath.Join(tmp, "work")
			for _, d := range []string{bin, filepath.Join(gopath, "bin"), work} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			argsFile, goFile := filepath.Join(tmp, "specgate.args"), filepath.Join(tmp, "go.args")
			fakeSpecgate := "#!/bin/sh\nprintf '%s\\0' \"$@\" > \"$SPECGATE_ARGS_FILE\"\nexit \"${FAKE_EXIT:-0}\"\n"
			fakeGo := "#!/bin/sh\ncase \"$1\" in\ninstall) echo \"$* CGO_ENABLED=$CGO_ENABLED\" > \"$GO_ARGS_FILE\" ;;\nenv) echo \"$FAKE_GOPATH\" ;;\nesac\n"
			write := func(p, s string) {
				if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tc.goThere {
				write(filepath.Join(bin, "go"), fakeGo)
				write(filepath.Join(gopath, "bin", "specgate"), fakeSpecgate)
			}
			if tc.onPath {
				write(filepath.Join(bin, "specgate"), fakeSpecgate)
			}
			// PATH holds the stand-ins and mkdir, nothing else: never a
			// real go that would fetch modules.
			if err := os.Symlink(mkdir, filepath.Join(bin, "mkdir")); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{
				"PATH":               bin,
				"HOME":               tmp,
				"CI":                 "true",
				"CI_JOB_NAME":        "api-gate",
				"CI_DEFAULT_BRANCH":  "main",
				"CI_COMMIT_REF_NAME": "feature/rename",
				"SPECGATE_ARGS_FILE": argsFile,
				"GO_ARGS_FILE":       goFile,
				"FAKE_GOPATH":        gopath,
			}
			for k, v := range job.Variables {
				vars[k] = v
			}
			vars["SPECGATE_TEST_COMMAND"] = testCommand
			for k, v := range tc.vars {
				vars[k] = v
			}
			var env []string
			for k, v := range vars {
				env = append(env, k+"="+v)
			}
			cmd := exec.Command(sh, "-c", script)
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.CombinedOutput()
			exit := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tc.wantExit {
				t.Fatalf("exit %d, want %d:\n%s", exit, tc.wantExit, out)
			}
			data, err := os.ReadFile(argsFile)
			switch {
			case tc.want == nil && err == nil:
				t.Errorf("specgate ran: %q", data)
			case tc.want != nil && err != nil:
				t.Fatalf("specgate did not run:\n%s", out)
			case tc.want != nil:
				got := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
				if !slices.Equal(got, tc.want) {
					t.Errorf("specgate %q\nwant     %q", got, tc.want)
				}
				checkArgs(t, flags, got)
			}
			goArgs, err := os.ReadFile(goFile)
			if got := strings.TrimSpace(string(goArgs)); got != tc.wantGo || (err != nil) != (tc.wantGo == "") {
				t.Errorf("go %q, want %q", got, tc.wantGo)
			}
			if slices.Contains(tc.want, "--update-baseline") {
				if fi, err := os.Stat(filepath.Join(work, vars["SPECGATE_BASELINE_DIR"])); err != nil || !fi.IsDir() {
					t.Errorf("the baseline directory was not made: %v", err)
				}
			}
		})
	}
}

// checkArgs checks that the arguments of specgate check before "--" are
// flags its --help lists, with values where they take one. It tolerates
// --comment and the gitlab-artifact: baseline, which the CLI is gaining.
func checkArgs(t *testing.T, flags map[string]bool, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "check" {
		t.Fatalf("not specgate check: %q", args)
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return
		}
		name, value, hasValue := strings.Cut(a, "=")
		takes, known := flags[name]
		if name == "--comment" {
			known, takes = true, false
		}
		if !known {
			t.Errorf("specgate check %s: not a flag that check --help lists", a)
			continue
		}
		if !takes {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				t.Errorf("%s without a value", a)
				return
			}
			i++
			value = args[i]
		}
		switch name {
		case "--format":
			format, _, _ := strings.Cut(value, "=")
			if !slices.Contains(render.Formats(), format) {
				t.Errorf("--format %s: not a format render knows", value)
			}
		case "--baseline":
			if strings.HasPrefix(value, "gitlab-artifact:") && strings.TrimPrefix(value, "gitlab-artifact:") == "" {
				t.Errorf("--baseline %s: no job name", value)
			}
		}
	}
	t.Errorf("specgate check %q: no -- before the test command", args)
}
