package cifake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHubToken is the only token the GitHub fake accepts (as
// "Authorization: Bearer ..."). No error, log line, comment or output may
// hold it.
const GitHubToken = "ghs_PLANTEDs3cr3tT0k3nV4lu3xyzzy0123456789"

// The GitHub fake's one repository.
const (
	GitHubOwner  = "octo-org"
	GitHubRepo   = "app"
	GitHubRepoID = 1296269
)

// Logins of the users the GitHub fake knows.
const (
	Octocat    = "octocat"
	Alice      = "alice"
	ActionsBot = "github-actions[bot]"
)

// User is a GitHub account as the API shows it.
type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

// userOf gives the account of a login: the three known ones with their
// ids, any other as a user with id 0.
func userOf(login string) User {
	switch login {
	case Octocat:
		return User{Login: login, ID: 1, Type: "User"}
	case Alice:
		return User{Login: login, ID: 2, Type: "User"}
	case ActionsBot:
		return User{Login: login, ID: 41898282, Type: "Bot"}
	}
	return User{Login: login, Type: "User"}
}

// Comment is an issue or pull request comment the fake holds.
type Comment struct {
	ID      int64
	Issue   int
	Body    string
	User    User
	Created time.Time
	Updated time.Time
}

// Run is a workflow run.
type Run struct {
	ID                 int64
	Branch, SHA, Event string
	// Conclusion is "success", "failure", "cancelled", ...
	Conclusion string
	// HeadRepoID is the run's head repository; 0 is the fake's own, any
	// other a fork.
	HeadRepoID int64
}

// Artifact is a workflow run's artifact.
type Artifact struct {
	ID      int64
	Name    string
	Expired bool
	// Gone lists the artifact, but its zip endpoint answers 410.
	Gone    bool
	Created time.Time
	// Run, Branch, SHA and HeadRepoID describe the run that uploaded it
	// (HeadRepoID 0: the fake's own repository).
	Run        int64
	Branch     string
	SHA        string
	HeadRepoID int64
	// Zip is the archive the storage host serves.
	Zip []byte
}

// Fault is an answer given instead of the real one.
type Fault struct {
	Status int
	Header map[string]string
	Body   string
}

// Request is a request the fake received.
type Request struct {
	Method, Path, Query string
	// Auth is the Authorization header.
	Auth string
	Body string
}

// GitHubOption configures a GitHub fake.
type GitHubOption func(*GitHub)

// EnterprisePrefix serves the API under prefix ("/api/v3"), as GitHub
// Enterprise Server does.
func EnterprisePrefix(prefix string) GitHubOption { return func(g *GitHub) { g.prefix = prefix } }

// WithTLS serves the API over HTTPS with httptest's certificate; Client
// trusts it.
func WithTLS() GitHubOption { return func(g *GitHub) { g.tls = true } }

// GitHub is GitHub's REST API for one repository (octo-org/app) as far as
// specgate calls it: the authenticated user, issue comments (listed with
// Link pagination, created and edited), artifacts (listed and downloaded
// through a redirect to a storage host) and workflow runs. It records
// every request.
type GitHub struct {
	t       testing.TB
	api     *httptest.Server
	storage *httptest.Server
	prefix  string
	tls     bool

	mu         sync.Mutex
	me         string // "" answers GET /user with 403, as for an installation token
	writer     string
	maxPerPage int
	denyWrite  int
	echoToken  bool
	faults     map[string][]Fault
	comments   []*Comment
	nextID     int64
	artifacts  []*Artifact
	runs       map[int64]*Run
	reqs       []Request
	blobs      []Request
}

// NewGitHub starts a GitHub fake, closed when the test ends. The token's
// user is Octocat, who writes the comments; a page holds at most 100
// items.
func NewGitHub(t testing.TB, opts ...GitHubOption) *GitHub {
	t.Helper()
	g := &GitHub{
		t: t, me: Octocat, writer: Octocat, maxPerPage: 100, nextID: 1000,
		faults: map[string][]Fault{}, runs: map[int64]*Run{},
	}
	for _, o := range opts {
		o(g)
	}
	mux := http.NewServeMux()
	p := g.prefix + "/repos/{owner}/{repo}"
	mux.HandleFunc("GET "+g.prefix+"/user", g.getUser)
	mux.HandleFunc("GET "+p+"/issues/{number}/comments", g.listComments)
	mux.HandleFunc("POST "+p+"/issues/{number}/comments", g.createComment)
	mux.HandleFunc("PATCH "+p+"/issues/comments/{id}", g.editComment)
	mux.HandleFunc("GET "+p+"/actions/artifacts", g.listArtifacts)
	mux.HandleFunc("GET "+p+"/actions/runs/{id}", g.getRun)
	mux.HandleFunc("GET "+p+"/actions/artifacts/{id}/zip", g.downloadArtifact)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g.fail(w, r, http.StatusNotFound, "Not Found")
	})
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		g.mu.Lock()
		g.reqs = append(g.reqs, Request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
		key := r.Method + " " + strings.TrimPrefix(r.URL.Path, g.prefix)
		var ft *Fault
		if q := g.faults[key]; len(q) > 0 {
			ft, g.faults[key] = &q[0], q[1:]
		}
		g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+GitHubToken {
			g.fail(w, r, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if ft != nil {
			for k, v := range ft.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(ft.Status)
			_, _ = io.WriteString(w, ft.Body)
			return
		}
		mux.ServeHTTP(w, r)
	})
	if g.tls {
		g.api = httptest.NewTLSServer(front)
	} else {
		g.api = httptest.NewServer(front)
	}
	t.Cleanup(g.api.Close)
	g.storage = httptest.NewServer(http.HandlerFunc(g.blob))
	t.Cleanup(g.storage.Close)
	return g
}

// APIURL is the API's base URL with its trailing slash, as GITHUB_API_URL
// gives it.
func (g *GitHub) APIURL() string { return g.api.URL + g.prefix + "/" }

// Client is an HTTP client of the API (it trusts the certificate under
// WithTLS).
func (g *GitHub) Client() *http.Client { return g.api.Client() }

// Environ is a GitHub Actions job's environment for this repository, as
// KEY=VALUE pairs: GITHUB_ACTIONS, GITHUB_API_URL, GITHUB_REPOSITORY and
// GITHUB_TOKEN. The caller adds the event, summary and output files.
func (g *GitHub) Environ() []string {
	return []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_API_URL=" + g.APIURL(),
		"GITHUB_REPOSITORY=" + GitHubOwner + "/" + GitHubRepo,
		"GITHUB_TOKEN=" + GitHubToken,
	}
}

// Inject queues answers for the next requests to "METHOD /path" (the
// path without the Enterprise prefix), one answer a request.
func (g *GitHub) Inject(key string, faults ...Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults[key] = append(g.faults[key], faults...)
}

// SetUser makes GET /user answer with login, or with 403 (as for an
// installation token) when login is "".
func (g *GitHub) SetUser(login string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.me = login
}

// SetWriter makes login the author of the comments the token writes.
func (g *GitHub) SetWriter(login string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writer = login
}

// SetMaxPerPage caps per_page (GitHub's cap is 100).
func (g *GitHub) SetMaxPerPage(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maxPerPage = n
}

// DenyWrites answers comment creation and edits with status (403 as a
// fork's read-only token gets); 0 allows them again.
func (g *GitHub) DenyWrites(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.denyWrite = status
}

// EchoToken makes error messages repeat the request's Authorization
// header, as a careless proxy might.
func (g *GitHub) EchoToken(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.echoToken = on
}

// Requests gives the API requests so far whose "METHOD path" (the path
// without the Enterprise prefix) starts with prefix.
func (g *GitHub) Requests(prefix string) []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Request
	for _, r := range g.reqs {
		if strings.HasPrefix(r.Method+" "+strings.TrimPrefix(r.Path, g.prefix), prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Blobs gives the requests the storage host received.
func (g *GitHub) Blobs() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request(nil), g.blobs...)
}

// Comments gives copies of an issue's comments, oldest first.
func (g *GitHub) Comments(issue int) []Comment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Comment
	for _, c := range g.comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// AddComment adds a comment by login to an issue and gives its id.
func (g *GitHub) AddComment(issue int, login, body string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addComment(issue, login, body).ID
}

func (g *GitHub) addComment(issue int, login, body string) *Comment {
	g.nextID++
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(g.nextID) * time.Minute)
	c := &Comment{ID: g.nextID, Issue: issue, Body: body, User: userOf(login), Created: at, Updated: at}
	g.comments = append(g.comments, c)
	return c
}

// AddRun adds a workflow run.
func (g *GitHub) AddRun(run Run) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.runs[run.ID] = &run
}

// AddArtifact adds an artifact.
func (g *GitHub) AddArtifact(a Artifact) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a.HeadRepoID == 0 {
		a.HeadRepoID = GitHubRepoID
	}
	g.artifacts = append(g.artifacts, &a)
}

// RedirectTo makes an http.Client that reaches host:443 at the fake's
// listener, trusting its certificate, so that a test can call an API at
// a name no resolver knows. The fake must have been started WithTLS.
func (g *GitHub) RedirectTo(host string) *http.Client {
	tr, ok := g.api.Client().Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		g.t.Fatalf("cifake: RedirectTo needs a fake started WithTLS")
	}
	tr = tr.Clone()
	addr := g.api.Listener.Addr().String()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a == host+":443" {
			a = addr
		}
		return d.DialContext(ctx, network, a)
	}
	tr.TLSClientConfig.ServerName = "example.com"
	return &http.Client{Transport: tr}
}

func (g *GitHub) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		g.t.Errorf("cifake: github: encode: %v", err)
	}
}

// fail answers with GitHub's error shape.
func (g *GitHub) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	g.mu.Lock()
	echo := g.echoToken
	g.mu.Unlock()
	if echo {
		msg += " (" + r.Header.Get("Authorization") + ")"
	}
	g.writeJSON(w, status, map[string]any{
		"message":           msg,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
}

// ours checks the owner and repository of a /repos path.
func (g *GitHub) ours(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("owner") != GitHubOwner || r.PathValue("repo") != GitHubRepo {
		g.fail(w, r, http.StatusNotFound, "Not Found")
		return false
	}
	return true
}

func (g *GitHub) base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + g.prefix
}

// page cuts n items into the requested page and sets the Link header.
func (g *GitHub) page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int, ok bool) {
	q := r.URL.Query()
	per, page := 30, 1
	if s := q.Get("per_page"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			g.fail(w, r, http.StatusUnprocessableEntity, "Invalid per_page")
			return 0, 0, false
		}
		per = v
	}
	g.mu.Lock()
	per = min(per, g.maxPerPage)
	g.mu.Unlock()
	if s := q.Get("page"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			g.fail(w, r, http.StatusUnprocessableEntity, "Invalid page")
			return 0, 0, false
		}
		page = v
	}
	last := max(1, (n+per-1)/per)
	link := func(p int, rel string) string {
		qq := r.URL.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", g.base(r), strings.TrimPrefix(r.URL.Path, g.prefix), qq.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min((page-1)*per, n)
	return lo, min(lo+per, n), true
}

func (g *GitHub) getUser(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	me := g.me
	g.mu.Unlock()
	if me == "" {
		g.fail(w, r, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	u := userOf(me)
	g.writeJSON(w, http.StatusOK, map[string]any{"login": u.Login, "id": u.ID, "type": u.Type, "site_admin": false})
}

func (g *GitHub) commentJSON(r *http.Request, c Comment) map[string]any {
	return map[string]any{
		"id":                 c.ID,
		"node_id":            "IC_kwDO" + strconv.FormatInt(c.ID, 10),
		"url":                fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", g.base(r), GitHubOwner, GitHubRepo, c.ID),
		"html_url":           fmt.Sprintf("https://github.example/%s/%s/pull/%d#issuecomment-%d", GitHubOwner, GitHubRepo, c.Issue, c.ID),
		"issue_url":          fmt.Sprintf("%s/repos/%s/%s/issues/%d", g.base(r), GitHubOwner, GitHubRepo, c.Issue),
		"body":               c.Body,
		"user":               c.User,
		"created_at":         c.Created.Format(time.RFC3339),
		"updated_at":         c.Updated.Format(time.RFC3339),
		"author_association": "CONTRIBUTOR",
	}
}

func (g *GitHub) listComments(w http.ResponseWriter, r *http.Request) {
	if !g.ours(w, r) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		g.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	all := g.Comments(n)
	lo, hi, ok := g.page(w, r, len(all))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, c := range all[lo:hi] {
		out = append(out, g.commentJSON(r, c))
	}
	g.writeJSON(w, http.StatusOK, out)
}

// commentBody reads {"body": "..."}, answering 422 when it is not there
// or too long.
func (g *GitHub) commentBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
		g.fail(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.")
		return "", false
	}
	if len([]rune(*in.Body)) > 65536 {
		g.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed: body is too long (maximum is 65536 characters)")
		return "", false
	}
	return *in.Body, true
}

// writable answers a comment write with the denial status, if any.
func (g *GitHub) writable(w http.ResponseWriter, r *http.Request) bool {
	g.mu.Lock()
	deny := g.denyWrite
	g.mu.Unlock()
	if deny != 0 {
		g.fail(w, r, deny, "Resource not accessible by integration")
		return false
	}
	return true
}

func (g *GitHub) createComment(w http.ResponseWriter, r *http.Request) {
	if !g.ours(w, r) || !g.writable(w, r) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		g.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	body, ok := g.commentBody(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	c := *g.addComment(n, g.writer, body)
	g.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", g.base(r), GitHubOwner, GitHubRepo, c.ID))
	g.writeJSON(w, http.StatusCreated, g.commentJSON(r, c))
}

func (g *GitHub) editComment(w http.ResponseWriter, r *http.Request) {
	if !g.ours(w, r) || !g.writable(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, ok := g.commentBody(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	var found *Comment
	for _, c := range g.comments {
		if c.ID == id {
			found = c
		}
	}
	var c Comment
	if found != nil {
		found.Body = body
		found.Updated = found.Updated.Add(time.Hour)
		c = *found
	}
	g.mu.Unlock()
	if found == nil {
		g.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	g.writeJSON(w, http.StatusOK, g.commentJSON(r, c))
}

func (g *GitHub) artifactJSON(r *http.Request, a *Artifact) map[string]any {
	api := fmt.Sprintf("%s/repos/%s/%s/actions/artifacts/%d", g.base(r), GitHubOwner, GitHubRepo, a.ID)
	return map[string]any{
		"id":                   a.ID,
		"node_id":              "MDg6QXJ0aWZhY3Q" + strconv.FormatInt(a.ID, 10),
		"name":                 a.Name,
		"size_in_bytes":        len(a.Zip),
		"url":                  api,
		"archive_download_url": api + "/zip",
		"expired":              a.Expired,
		"created_at":           a.Created.Format(time.RFC3339),
		"updated_at":           a.Created.Format(time.RFC3339),
		"expires_at":           a.Created.Add(90 * 24 * time.Hour).Format(time.RFC3339),
		"workflow_run": map[string]any{
			"id":                 a.Run,
			"repository_id":      GitHubRepoID,
			"head_repository_id": a.HeadRepoID,
			"head_branch":        a.Branch,
			"head_sha":           a.SHA,
		},
	}
}

func (g *GitHub) listArtifacts(w http.ResponseWriter, r *http.Request) {
	if !g.ours(w, r) {
		return
	}
	name := r.URL.Query().Get("name")
	g.mu.Lock()
	var match []*Artifact
	for _, a := range g.artifacts {
		if name == "" || a.Name == name {
			match = append(match, a)
		}
	}
	g.mu.Unlock()
	lo, hi, ok := g.page(w, r, len(match))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, a := range match[lo:hi] {
		out = append(out, g.artifactJSON(r, a))
	}
	g.writeJSON(w, http.StatusOK, map[string]any{"total_count": len(match), "artifacts": out})
}

func (g *GitHub) getRun(w http.ResponseWriter, r *http.Request) {
	if !g.ours(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	g.mu.Lock()
	run := g.runs[id]
	g.mu.Unlock()
	if run == nil {
		g.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	repo := map[string]any{"id": GitHubRepoID, "name": GitHubRepo, "full_name": GitHubOwner + "/" + GitHubRepo, "fork": false}
	head := repo
	if run.HeadRepoID != 0 && run.HeadRepoID != GitHubRepoID {
		head = map[string]any{"id": run.HeadRepoID, "name": GitHubRepo, "full_name": "someone/" + GitHubRepo, "fork": true}
	}
	g.writeJSON(w, http.StatusOK, map[string]any{
		"id":              run.ID,
		"name":            "CI",
		"node_id":         "WFR_" + strconv.FormatInt(run.ID, 10),
		"head_branch":     run.Branch,
		"head_sha":        run.SHA,
		"run_number":      run.ID % 1000,
		"event":           run.Event,
		"status":          "completed",
		"conclusion":      run.Conclusion,
		"workflow_id":     159038,
		"url":             fmt.Sprintf("%s/repos/%s/%s/actions/runs/%d", g.base(r), GitHubOwner, GitHubRepo, run.ID),
		"html_url":        fmt.Sprintf("https://github.example/%s/%s/actions/runs/%d", GitHubOwner, GitHubRepo, run.ID),
		"created_at":      "2025-03-01T10:00:00Z",
		"updated_at":      "2025-03-01T10:05:00Z",
		"repository":      repo,
		"head_repository": head,
	})
}

func (g *GitHub) downloadArtifact(w http.ResponseWriter, r *http.Request) {
	if !g.ours(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	a := g.artifact(func(x *Artifact) bool { return x.ID == id })
	switch {
	case a == nil:
		g.fail(w, r, http.StatusNotFound, "Not Found")
	case a.Expired || a.Gone:
		g.fail(w, r, http.StatusGone, "Artifact has expired")
	default:
		w.Header().Set("Location", fmt.Sprintf("%s/blob/%d.zip?sig=signed-%d&se=2099-01-01", g.storage.URL, id, id))
		w.WriteHeader(http.StatusFound)
	}
}

// artifact finds the last artifact that match accepts.
func (g *GitHub) artifact(match func(*Artifact) bool) *Artifact {
	g.mu.Lock()
	defer g.mu.Unlock()
	var a *Artifact
	for _, x := range g.artifacts {
		if match(x) {
			a = x
		}
	}
	return a
}

// blob is the storage host: it serves a zip at a signed URL, and needs
// no token.
func (g *GitHub) blob(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.blobs = append(g.blobs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")})
	g.mu.Unlock()
	a := g.artifact(func(x *Artifact) bool { return r.URL.Path == fmt.Sprintf("/blob/%d.zip", x.ID) })
	if a == nil || r.URL.Query().Get("sig") != fmt.Sprintf("signed-%d", a.ID) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "<Error><Code>AuthenticationFailed</Code></Error>")
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Zip)))
	_, _ = w.Write(a.Zip)
}
