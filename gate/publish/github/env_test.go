package github

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// prEvent is a pull_request payload, trimmed to what matters, in the
// documented shape.
const prEvent = `{
  "action": "synchronize",
  "number": 42,
  "pull_request": {
    "number": 42,
    "state": "open",
    "base": {"ref": "main", "sha": "b1", "repo": {"full_name": "octo-org/app", "fork": false}},
    "head": {"ref": "fix-typo", "sha": "h1", "repo": {"full_name": %s, "fork": %t}}
  },
  "repository": {"full_name": "octo-org/app"}
}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvFrom(t *testing.T) {
	same := writeFile(t, "same.json", fmt.Sprintf(prEvent, `"octo-org/app"`, false))
	fork := writeFile(t, "fork.json", fmt.Sprintf(prEvent, `"someone/app"`, true))
	forkOfFork := writeFile(t, "basefork.json", fmt.Sprintf(prEvent, `"octo-org/app"`, true))
	deleted := writeFile(t, "deleted.json", `{"pull_request": {"number": 5, "base": {"ref": "main"}, "head": {"repo": null}}}`)
	push := writeFile(t, "push.json", `{"ref": "refs/heads/main", "before": "a", "after": "b"}`)
	noNumber := writeFile(t, "nonumber.json", `{"pull_request": {"base": {"ref": "main"}}}`)
	broken := writeFile(t, "broken.json", `{"pull_request": `)
	base := map[string]string{
		"GITHUB_REPOSITORY":   "octo-org/app",
		"GITHUB_EVENT_NAME":   "pull_request",
		"GITHUB_EVENT_PATH":   same,
		"GITHUB_REF_NAME":     "42/merge",
		"GITHUB_SHA":          "ffac537e6cbbf934b08745a378932722df287a53",
		"GITHUB_RUN_ID":       "1658821493",
		"GITHUB_STEP_SUMMARY": "/home/runner/work/_temp/_runner_file_commands/step_summary_1",
		"GITHUB_OUTPUT":       "/home/runner/work/_temp/_runner_file_commands/set_output_1",
		"GITHUB_TOKEN":        testToken,
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "-" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, e Env)
		err   string
	}{
		{"pull request", base, func(t *testing.T, e Env) {
			want := Env{APIURL: DefaultAPIURL, Repository: "octo-org/app", Owner: "octo-org", Repo: "app",
				EventName: "pull_request", EventPath: same, PR: 42, BaseRef: "main", RefName: "42/merge",
				SHA: "ffac537e6cbbf934b08745a378932722df287a53", RunID: 1658821493,
				StepSummary: base["GITHUB_STEP_SUMMARY"], Output: base["GITHUB_OUTPUT"], Token: testToken}
			if e != want {
				t.Errorf("got  %s\nwant %s", e, want)
			}
		}, ""},
		{"fork", with("GITHUB_EVENT_PATH", fork), func(t *testing.T, e Env) {
			if !e.Fork || e.PR != 42 {
				t.Errorf("fork %t pr %d", e.Fork, e.PR)
			}
		}, ""},
		{"base repository is itself a fork", with("GITHUB_EVENT_PATH", forkOfFork), func(t *testing.T, e Env) {
			if e.Fork {
				t.Error("a branch of the same repository taken for a fork")
			}
		}, ""},
		{"head repository deleted", with("GITHUB_EVENT_PATH", deleted), func(t *testing.T, e Env) {
			if !e.Fork || e.PR != 5 {
				t.Errorf("fork %t pr %d", e.Fork, e.PR)
			}
		}, ""},
		{"push", with("GITHUB_EVENT_NAME", "push", "GITHUB_EVENT_PATH", push), func(t *testing.T, e Env) {
			if e.PR != 0 || e.Fork || e.BaseRef != "" {
				t.Errorf("push event gave %s", e)
			}
		}, ""},
		{"Enterprise Server", with("GITHUB_API_URL", "https://ghe.example/api/v3"), func(t *testing.T, e Env) {
			if e.APIURL != "https://ghe.example/api/v3/" {
				t.Errorf("APIURL %q", e.APIURL)
			}
		}, ""},
		{"no event file", with("GITHUB_EVENT_PATH", "-", "GITHUB_RUN_ID", "-", "GITHUB_TOKEN", "-"), func(t *testing.T, e Env) {
			if e.PR != 0 || e.RunID != 0 || e.Token != "" {
				t.Errorf("got %s", e)
			}
		}, ""},
		{"no repository", with("GITHUB_REPOSITORY", "-"), nil, "GITHUB_REPOSITORY is not set"},
		{"repository without owner", with("GITHUB_REPOSITORY", "app"), nil, `GITHUB_REPOSITORY "app" is not owner/name`},
		{"repository with three parts", with("GITHUB_REPOSITORY", "a/b/c"), nil, "is not owner/name"},
		{"repository with empty owner", with("GITHUB_REPOSITORY", "/app"), nil, "is not owner/name"},
		{"API URL not http", with("GITHUB_API_URL", "ftp://ghe.example/api/v3"), nil, `GITHUB_API_URL "ftp://ghe.example/api/v3" is not an http(s) URL`},
		{"API URL without host", with("GITHUB_API_URL", "https:///api"), nil, "is not an http(s) URL"},
		{"API URL with credentials", with("GITHUB_API_URL", "https://user:"+testToken+"@ghe.example/"), nil, "must not hold credentials"},
		{"run id", with("GITHUB_RUN_ID", "12x"), nil, `GITHUB_RUN_ID "12x" is not a run id`},
		{"event file missing", with("GITHUB_EVENT_PATH", "/nonexistent/event.json"), nil, "GITHUB_EVENT_PATH /nonexistent/event.json: no such file or directory"},
		{"event file broken", with("GITHUB_EVENT_PATH", broken), nil, "not a JSON event payload"},
		{"pull request without number", with("GITHUB_EVENT_PATH", noNumber), nil, "pull_request.number is missing"},
		{"pull_request event without pull request", with("GITHUB_EVENT_PATH", push), nil, "pull_request event without pull_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := EnvFrom(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), testToken) {
					t.Errorf("error %q is not one clean line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e)
		})
	}
}

func TestEnvPrintsNoToken(t *testing.T) {
	e := Env{Repository: "octo-org/app", Token: testToken, PR: 3}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(verb, e)
		if strings.Contains(s, testToken) || !strings.Contains(s, "token=set") {
			t.Errorf("%s prints %q", verb, s)
		}
	}
	if s := fmt.Sprintf("%v", &e); strings.Contains(s, testToken) {
		t.Errorf("a pointer prints %q", s)
	}
}

func TestNewClientNeeds(t *testing.T) {
	tests := []struct {
		name string
		env  Env
		err  string
	}{
		{"token", Env{Repository: "o/r"}, "no token"},
		{"repository", Env{Token: testToken, Repository: "o"}, `repository "o" is not owner/name`},
		{"api url", Env{Token: testToken, Repository: "o/r", APIURL: "gopher://x"}, "is not an http(s) URL"},
	}
	for _, tt := range tests {
		_, err := NewClient(context.Background(), tt.env, nil)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
		}
	}
	c, err := NewClient(context.Background(), Env{Token: testToken, Repository: "o/r"}, nil)
	if err != nil || c.api.BaseURL.String() != DefaultAPIURL {
		t.Errorf("default API URL: %v, %v", c, err)
	}
}
