package github

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/specgate/specgate/internal/oserr"
)

// DefaultAPIURL is the API of github.com, used when GITHUB_API_URL is unset.
const DefaultAPIURL = "https://api.github.com/"

// maxEventBytes bounds the event payload file that EnvFrom reads.
const maxEventBytes = 64 << 20

// Env is what a GitHub Actions job tells a step through its environment.
type Env struct {
	// APIURL is the REST API's base URL, always with a trailing slash:
	// GITHUB_API_URL, or DefaultAPIURL. On GitHub Enterprise Server it
	// is https://HOST/api/v3/.
	APIURL string
	// Repository is GITHUB_REPOSITORY ("owner/name"), and Owner and Repo
	// its two halves.
	Repository  string
	Owner, Repo string
	// EventName is GITHUB_EVENT_NAME ("pull_request", "push", ...), and
	// EventPath GITHUB_EVENT_PATH, the file holding the event's payload.
	EventName string
	EventPath string
	// PR is the pull request's number from the payload
	// (pull_request.number), 0 when the event has no pull request.
	PR int
	// BaseRef is the branch the pull request merges into
	// (pull_request.base.ref).
	BaseRef string
	// Fork is true when the pull request's head is in another repository
	// than its base (or that repository was deleted): the job's token
	// then cannot write comments.
	Fork bool
	// RefName is GITHUB_REF_NAME, SHA GITHUB_SHA, RunID GITHUB_RUN_ID.
	RefName string
	SHA     string
	RunID   int64
	// StepSummary is GITHUB_STEP_SUMMARY and Output GITHUB_OUTPUT: the
	// files AppendSummary and SetOutputs write.
	StepSummary string
	Output      string
	// Token authenticates API calls. EnvFrom sets it from GITHUB_TOKEN
	// when that is set; a caller with a token input sets it instead. It
	// never appears in String, GoString or any error.
	Token string
}

// String describes the environment without the token.
func (e Env) String() string {
	tok := "unset"
	if e.Token != "" {
		tok = "set"
	}
	return fmt.Sprintf("api=%s repository=%s event=%s pr=%d base=%s fork=%t ref=%s sha=%s run=%d token=%s",
		e.APIURL, e.Repository, e.EventName, e.PR, e.BaseRef, e.Fork, e.RefName, e.SHA, e.RunID, tok)
}

// GoString is String, so that %#v does not print the token either.
func (e Env) GoString() string { return "github.Env{" + e.String() + "}" }

// EnvFrom reads the job's environment through getenv (os.Getenv, or a map
// in tests) and the event payload file it names. GITHUB_REPOSITORY is
// required; every other value is checked when it is set.
func EnvFrom(getenv func(string) string) (Env, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var e Env
	api, err := normalizeAPIURL(get("GITHUB_API_URL"))
	if err != nil {
		return Env{}, err
	}
	e.APIURL = api
	e.Repository = get("GITHUB_REPOSITORY")
	if e.Repository == "" {
		return Env{}, fmt.Errorf("GITHUB_REPOSITORY is not set")
	}
	owner, repo, ok := strings.Cut(e.Repository, "/")
	if !ok || owner == "" || repo == "" || strings.ContainsAny(repo, "/ ") || strings.ContainsAny(owner, " ") {
		return Env{}, fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", e.Repository)
	}
	e.Owner, e.Repo = owner, repo
	e.EventName = get("GITHUB_EVENT_NAME")
	e.RefName = get("GITHUB_REF_NAME")
	e.SHA = get("GITHUB_SHA")
	if s := get("GITHUB_RUN_ID"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return Env{}, fmt.Errorf("GITHUB_RUN_ID %q is not a run id", s)
		}
		e.RunID = id
	}
	e.StepSummary = get("GITHUB_STEP_SUMMARY")
	e.Output = get("GITHUB_OUTPUT")
	e.Token = get("GITHUB_TOKEN")
	e.EventPath = get("GITHUB_EVENT_PATH")
	if e.EventPath != "" {
		if err := e.readEvent(); err != nil {
			return Env{}, err
		}
	}
	return e, nil
}

// event holds the parts of an event payload that Env keeps.
type event struct {
	PullRequest *struct {
		Number int `json:"number"`
		Base   struct {
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
		Head struct {
			Repo *struct {
				FullName string `json:"full_name"`
				Fork     bool   `json:"fork"`
			} `json:"repo"`
		} `json:"head"`
	} `json:"pull_request"`
}

// readEvent fills PR, BaseRef and Fork from the payload at EventPath.
func (e *Env) readEvent() error {
	f, err := os.Open(e.EventPath)
	if err != nil {
		return fmt.Errorf("GITHUB_EVENT_PATH %s: %w", e.EventPath, oserr.Cause(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEventBytes+1))
	if err != nil {
		return fmt.Errorf("GITHUB_EVENT_PATH %s: %w", e.EventPath, oserr.Cause(err))
	}
	if len(data) > maxEventBytes {
		return fmt.Errorf("GITHUB_EVENT_PATH %s: payload over %d bytes", e.EventPath, maxEventBytes)
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("GITHUB_EVENT_PATH %s: not a JSON event payload: %s", e.EventPath, oneLine(err.Error()))
	}
	pr := ev.PullRequest
	if pr == nil {
		if strings.HasPrefix(e.EventName, "pull_request") {
			return fmt.Errorf("GITHUB_EVENT_PATH %s: %s event without pull_request", e.EventPath, e.EventName)
		}
		return nil
	}
	if pr.Number <= 0 {
		return fmt.Errorf("GITHUB_EVENT_PATH %s: pull_request.number is missing", e.EventPath)
	}
	e.PR = pr.Number
	e.BaseRef = pr.Base.Ref
	switch head := pr.Head.Repo; {
	case head == nil:
		e.Fork = true // the head repository was deleted
	case head.FullName != "" && pr.Base.Repo != nil && pr.Base.Repo.FullName != "":
		e.Fork = !strings.EqualFold(head.FullName, pr.Base.Repo.FullName)
	case head.FullName != "":
		e.Fork = !strings.EqualFold(head.FullName, e.Repository)
	default:
		e.Fork = head.Fork
	}
	return nil
}

// normalizeAPIURL checks an API base URL and gives it a trailing slash;
// empty means DefaultAPIURL.
func normalizeAPIURL(s string) (string, error) {
	if s == "" {
		return DefaultAPIURL, nil
	}
	if strings.Contains(s, "@") {
		return "", fmt.Errorf("GITHUB_API_URL must not hold credentials")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("GITHUB_API_URL %q is not an http(s) URL", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u.String(), nil
}
