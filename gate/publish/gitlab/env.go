package gitlab

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Env is what a GitLab CI job tells specgate through its environment.
type Env struct {
	// APIURL is CI_API_V4_URL without a trailing slash, such as
	// https://gitlab.example.com/api/v4.
	APIURL string
	// ProjectID is CI_PROJECT_ID: the project's numeric id (a
	// "namespace/project" path works too; it is escaped in URLs).
	ProjectID string
	// ProjectURL is CI_PROJECT_URL, the project's web page, for links to
	// the note; empty when unset.
	ProjectURL string
	// MergeRequestIID is CI_MERGE_REQUEST_IID, the merge request's number
	// within the project: 0 outside merge request pipelines.
	MergeRequestIID int64
	// DefaultBranch is CI_DEFAULT_BRANCH, RefName CI_COMMIT_REF_NAME,
	// TargetBranch CI_MERGE_REQUEST_TARGET_BRANCH_NAME (empty outside
	// merge request pipelines) and JobName CI_JOB_NAME.
	DefaultBranch string
	RefName       string
	TargetBranch  string
	JobName       string
	// Token is SPECGATE_GITLAB_TOKEN: a project or personal access token
	// with the api scope, sent as PRIVATE-TOKEN. Writing notes needs it.
	Token string `json:"-"`
	// JobToken is CI_JOB_TOKEN, sent as JOB-TOKEN when Token is empty; it
	// can download artifacts but not write notes.
	JobToken string `json:"-"`
}

// String describes the environment without the tokens.
func (e Env) String() string {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("api=%s project=%s mr=%d default=%s ref=%s target=%s job=%s token=%s job-token=%s",
		e.APIURL, e.ProjectID, e.MergeRequestIID, e.DefaultBranch, e.RefName, e.TargetBranch, e.JobName,
		set(e.Token), set(e.JobToken))
}

// GoString is String, so that %#v does not print the tokens either.
func (e Env) GoString() string { return "gitlab.Env{" + e.String() + "}" }

// BaselineRefs lists the branches whose job artifacts may hold this
// pipeline's baseline, the likeliest first: a merge request's target
// branch, then the default branch.
func (e Env) BaselineRefs() []string {
	var refs []string
	for _, r := range []string{e.TargetBranch, e.DefaultBranch} {
		if r != "" && (len(refs) == 0 || refs[0] != r) {
			refs = append(refs, r)
		}
	}
	return refs
}

// EnvFrom reads the job's environment through getenv (os.Getenv, or a map
// in tests). CI_API_V4_URL, CI_PROJECT_ID and a token (SPECGATE_GITLAB_TOKEN,
// else CI_JOB_TOKEN) are required; every other value is checked when set.
func EnvFrom(getenv func(string) string) (Env, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	e := Env{
		ProjectID:     get("CI_PROJECT_ID"),
		ProjectURL:    strings.TrimRight(get("CI_PROJECT_URL"), "/"),
		DefaultBranch: get("CI_DEFAULT_BRANCH"),
		RefName:       get("CI_COMMIT_REF_NAME"),
		TargetBranch:  get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
		JobName:       get("CI_JOB_NAME"),
		Token:         get("SPECGATE_GITLAB_TOKEN"),
		JobToken:      get("CI_JOB_TOKEN"),
	}
	var missing []string
	api := get("CI_API_V4_URL")
	if api == "" {
		missing = append(missing, "CI_API_V4_URL")
	}
	if e.ProjectID == "" {
		missing = append(missing, "CI_PROJECT_ID")
	}
	if e.Token == "" && e.JobToken == "" {
		missing = append(missing, "SPECGATE_GITLAB_TOKEN (or CI_JOB_TOKEN, for downloads only)")
	}
	if len(missing) > 0 {
		return Env{}, fmt.Errorf("gitlab: %s not set: is this a GitLab CI job?", strings.Join(missing, ", "))
	}
	var err error
	if e.APIURL, err = normalizeAPIURL(api); err != nil {
		return Env{}, err
	}
	if e.ProjectID == "." || e.ProjectID == ".." {
		return Env{}, fmt.Errorf("gitlab: CI_PROJECT_ID %q is not a project", e.ProjectID)
	}
	if s := get("CI_MERGE_REQUEST_IID"); s != "" {
		iid, err := strconv.ParseInt(s, 10, 64)
		if err != nil || iid <= 0 {
			return Env{}, fmt.Errorf("gitlab: CI_MERGE_REQUEST_IID %q is not a merge request number", s)
		}
		e.MergeRequestIID = iid
	}
	return e, nil
}

// normalizeAPIURL checks the API's base URL and drops its trailing slash.
// It never repeats a URL that carries credentials.
func normalizeAPIURL(s string) (string, error) {
	if strings.Contains(s, "@") {
		return "", fmt.Errorf("gitlab: CI_API_V4_URL must not carry credentials")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("gitlab: CI_API_V4_URL %q is not an http(s) URL", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
