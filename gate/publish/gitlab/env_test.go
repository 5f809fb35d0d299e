package gitlab

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// ciEnv is a merge request pipeline's environment, as GitLab Runner sets it.
func ciEnv() map[string]string {
	return map[string]string{
		"CI_API_V4_URL":                       "https://gitlab.example.com/api/v4",
		"CI_PROJECT_ID":                       "4242",
		"CI_PROJECT_URL":                      "https://gitlab.example.com/group/project",
		"CI_MERGE_REQUEST_IID":                "17",
		"CI_DEFAULT_BRANCH":                   "main",
		"CI_COMMIT_REF_NAME":                  "feature/rename",
		"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "release/2.x",
		"CI_JOB_NAME":                         "api-gate",
		"SPECGATE_GITLAB_TOKEN":               "glpat-Zz9Yy8Xx7Ww6Vv5Uu4Tt",
		"CI_JOB_TOKEN":                        "glcbt-64_Ss3Rr2Qq1Pp0Oo9Nn",
	}
}

func TestEnvFrom(t *testing.T) {
	e, err := EnvFrom(func(k string) string { return ciEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Env{
		APIURL: "https://gitlab.example.com/api/v4", ProjectID: "4242", ProjectURL: "https://gitlab.example.com/group/project",
		MergeRequestIID: 17, DefaultBranch: "main", RefName: "feature/rename", TargetBranch: "release/2.x", JobName: "api-gate",
		Token: "glpat-Zz9Yy8Xx7Ww6Vv5Uu4Tt", JobToken: "glcbt-64_Ss3Rr2Qq1Pp0Oo9Nn",
	}
	if e != want {
		t.Errorf("EnvFrom = %#v\nwant %#v", e, want)
	}
	if got := e.BaselineRefs(); !slices.Equal(got, []string{"release/2.x", "main"}) {
		t.Errorf("BaselineRefs = %q", got)
	}
}

func TestEnvFromVariants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   map[string]string // "" unsets
		check func(t *testing.T, e Env)
	}{
		{"trailing slash", map[string]string{"CI_API_V4_URL": "http://gitlab.internal:8080/api/v4/"}, func(t *testing.T, e Env) {
			if e.APIURL != "http://gitlab.internal:8080/api/v4" {
				t.Errorf("APIURL %q", e.APIURL)
			}
		}},
		{"branch pipeline", map[string]string{"CI_MERGE_REQUEST_IID": "", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": ""}, func(t *testing.T, e Env) {
			if e.MergeRequestIID != 0 || e.TargetBranch != "" || !slices.Equal(e.BaselineRefs(), []string{"main"}) {
				t.Errorf("%v: refs %q", e, e.BaselineRefs())
			}
		}},
		{"target is the default branch", map[string]string{"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}, func(t *testing.T, e Env) {
			if !slices.Equal(e.BaselineRefs(), []string{"main"}) {
				t.Errorf("refs %q", e.BaselineRefs())
			}
		}},
		{"job token only", map[string]string{"SPECGATE_GITLAB_TOKEN": ""}, func(t *testing.T, e Env) {
			if e.Token != "" || e.JobToken == "" {
				t.Errorf("%v", e)
			}
		}},
		{"project path", map[string]string{"CI_PROJECT_ID": "group/sub/project"}, func(t *testing.T, e Env) {
			if e.ProjectID != "group/sub/project" {
				t.Errorf("%v", e)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := ciEnv()
			for k, v := range tc.set {
				env[k] = v
			}
			e, err := EnvFrom(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
}

func TestEnvFromErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want []string
	}{
		{"outside CI", map[string]string{"CI_API_V4_URL": "", "CI_PROJECT_ID": "", "SPECGATE_GITLAB_TOKEN": "", "CI_JOB_TOKEN": ""},
			[]string{"CI_API_V4_URL, CI_PROJECT_ID, SPECGATE_GITLAB_TOKEN (or CI_JOB_TOKEN, for downloads only) not set"}},
		{"no token", map[string]string{"SPECGATE_GITLAB_TOKEN": "", "CI_JOB_TOKEN": ""}, []string{"SPECGATE_GITLAB_TOKEN"}},
		{"no project", map[string]string{"CI_PROJECT_ID": " "}, []string{"CI_PROJECT_ID not set"}},
		{"URL without scheme", map[string]string{"CI_API_V4_URL": "gitlab.example.com/api/v4"}, []string{"CI_API_V4_URL", "not an http(s) URL"}},
		{"URL of another scheme", map[string]string{"CI_API_V4_URL": "ftp://gitlab.example.com/api/v4"}, []string{"not an http(s) URL"}},
		{"URL with a query", map[string]string{"CI_API_V4_URL": "https://gitlab.example.com/api/v4?x=1"}, []string{"not an http(s) URL"}},
		{"URL with credentials", map[string]string{"CI_API_V4_URL": "https://bot:glpat-InTheUrl12345678@gitlab.example.com/api/v4"}, []string{"must not carry credentials"}},
		{"IID not a number", map[string]string{"CI_MERGE_REQUEST_IID": "!17"}, []string{`CI_MERGE_REQUEST_IID "!17"`}},
		{"IID zero", map[string]string{"CI_MERGE_REQUEST_IID": "0"}, []string{"CI_MERGE_REQUEST_IID"}},
		{"project dot-dot", map[string]string{"CI_PROJECT_ID": ".."}, []string{"CI_PROJECT_ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := ciEnv()
			for k, v := range tc.set {
				env[k] = v
			}
			_, err := EnvFrom(func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("err = %q, want %q in it", msg, w)
				}
			}
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "gitlab: ") || strings.Contains(msg, "glpat-") {
				t.Errorf("err = %q: want one line, no token", msg)
			}
		})
	}
}

func TestEnvHidesTokens(t *testing.T) {
	e, err := EnvFrom(func(k string) string { return ciEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{e.String(), e.GoString(), fmt.Sprintf("%v %+v %#v %s", e, e, e, e), fmt.Sprint(&e), string(j)} {
		if strings.Contains(out, e.Token) || strings.Contains(out, e.JobToken) {
			t.Errorf("a token in %q", out)
		}
	}
	if !strings.Contains(e.String(), "token=set job-token=set") {
		t.Errorf("String() = %q", e.String())
	}
}
