package github

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testToken is planted in every fake: no error, log line, comment or
// output may hold it.
const testToken = "ghs_PLANTEDs3cr3tT0k3nV4lu3xyzzy0123456789"

// fastRetry keeps the retries' waits short in tests.
func fastRetry() retryPolicy {
	return retryPolicy{attempts: 4, base: time.Millisecond, max: 8 * time.Millisecond, budget: 2 * time.Second}
}

type fakeUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

var (
	octocat = fakeUser{Login: "octocat", ID: 1, Type: "User"}
	alice   = fakeUser{Login: "alice", ID: 2, Type: "User"}
	actions = fakeUser{Login: "github-actions[bot]", ID: 41898282, Type: "Bot"}
)

type fakeComment struct {
	ID      int64
	Issue   int
	Body    string
	User    fakeUser
	Created time.Time
	Updated time.Time
}

type fakeRun struct {
	ID                 int64
	Branch, SHA, Event string
	Conclusion         string
	HeadRepoID         int64
}

type fakeArtifact struct {
	ID         int64
	Name       string
	Expired    bool
	Gone       bool // listed, but the zip endpoint answers 410
	Created    time.Time
	Run        int64
	Branch     string
	SHA        string
	HeadRepoID int64
	Zip        []byte
}

type fault struct {
	status int
	header map[string]string
	body   string
}

type recorded struct {
	Method, Path, Query, Auth string
	Body                      string
}

// fakeGitHub speaks the documented shapes of the REST endpoints the
// package calls, for one repository, and records every request.
type fakeGitHub struct {
	t       *testing.T
	api     *httptest.Server
	storage *httptest.Server
	prefix  string // "" for github.com, "/api/v3" for Enterprise Server
	owner   string
	repo    string
	repoID  int64

	mu sync.Mutex
	// me answers GET /user; nil answers 403 as an installation token gets.
	me *fakeUser
	// writer is the author of the comments the token writes.
	writer fakeUser
	// maxPerPage caps per_page (GitHub: 100).
	maxPerPage int
	// denyWrite, when set, answers POST and PATCH of comments.
	denyWrite int
	// echoToken puts the request's Authorization header in error messages.
	echoToken bool
	faults    map[string][]fault
	comments  []*fakeComment
	nextID    int64
	artifacts []*fakeArtifact
	runs      map[int64]*fakeRun
	reqs      []recorded
	blobs     []recorded
}

func newFake(t *testing.T, prefix string, tls bool) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{
		t: t, prefix: prefix, owner: "octo-org", repo: "app", repoID: 1296269,
		me: &octocat, writer: octocat, maxPerPage: 100, nextID: 1000,
		faults: map[string][]fault{}, runs: map[int64]*fakeRun{},
	}
	mux := http.NewServeMux()
	p := prefix + "/repos/{owner}/{repo}"
	mux.HandleFunc("GET "+prefix+"/user", f.getUser)
	mux.HandleFunc("GET "+p+"/issues/{number}/comments", f.listComments)
	mux.HandleFunc("POST "+p+"/issues/{number}/comments", f.createComment)
	mux.HandleFunc("PATCH "+p+"/issues/comments/{id}", f.editComment)
	mux.HandleFunc("GET "+p+"/actions/artifacts", f.listArtifacts)
	mux.HandleFunc("GET "+p+"/actions/runs/{id}", f.getRun)
	mux.HandleFunc("GET "+p+"/actions/artifacts/{id}/zip", f.downloadArtifact)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.fail(w, r, http.StatusNotFound, "Not Found")
	})
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
		key := r.Method + " " + strings.TrimPrefix(r.URL.Path, prefix)
		var ft *fault
		if q := f.faults[key]; len(q) > 0 {
			ft, f.faults[key] = &q[0], q[1:]
		}
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			f.fail(w, r, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if ft != nil {
			for k, v := range ft.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(ft.status)
			_, _ = io.WriteString(w, ft.body)
			return
		}
		mux.ServeHTTP(w, r)
	})
	if tls {
		f.api = httptest.NewTLSServer(front)
	} else {
		f.api = httptest.NewServer(front)
	}
	t.Cleanup(f.api.Close)
	f.storage = httptest.NewServer(http.HandlerFunc(f.blob))
	t.Cleanup(f.storage.Close)
	return f
}

// env is the job environment pointing at the fake.
func (f *fakeGitHub) env() Env {
	return Env{APIURL: f.api.URL + f.prefix + "/", Repository: f.owner + "/" + f.repo, Owner: f.owner, Repo: f.repo, Token: testToken}
}

// client is a client of the fake with short retries.
func (f *fakeGitHub) client(t *testing.T) *Client {
	t.Helper()
	c, err := newClient(context.Background(), f.env(), f.api.Client(), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inject queues answers for the next requests to "METHOD /path" (the
// path without the Enterprise prefix).
func (f *fakeGitHub) inject(key string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[key] = append(f.faults[key], fs...)
}

// requests gives the API requests so far whose "METHOD path" starts with prefix.
func (f *fakeGitHub) requests(prefix string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.reqs {
		if strings.HasPrefix(r.Method+" "+strings.TrimPrefix(r.Path, f.prefix), prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeGitHub) issueComments(issue int) []*fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeComment
	for _, c := range f.comments {
		if c.Issue == issue {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out
}

func (f *fakeGitHub) addComment(issue int, user fakeUser, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(f.nextID) * time.Minute)
	f.comments = append(f.comments, &fakeComment{ID: f.nextID, Issue: issue, Body: body, User: user, Created: at, Updated: at})
	return f.nextID
}

func (f *fakeGitHub) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake: encode: %v", err)
	}
}

// fail answers with GitHub's error shape.
func (f *fakeGitHub) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if f.echoToken {
		msg += " (" + r.Header.Get("Authorization") + ")"
	}
	f.writeJSON(w, status, map[string]any{
		"message":           msg,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
}

// ours checks the owner and repository of a /repos path.
func (f *fakeGitHub) ours(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("owner") != f.owner || r.PathValue("repo") != f.repo {
		f.fail(w, r, http.StatusNotFound, "Not Found")
		return false
	}
	return true
}

func (f *fakeGitHub) base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + f.prefix
}

// page cuts n items into the requested page and sets the Link header.
func (f *fakeGitHub) page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int, ok bool) {
	q := r.URL.Query()
	per, page := 30, 1
	if s := q.Get("per_page"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			f.fail(w, r, http.StatusUnprocessableEntity, "Invalid per_page")
			return 0, 0, false
		}
		per = v
	}
	per = min(per, f.maxPerPage)
	if s := q.Get("page"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			f.fail(w, r, http.StatusUnprocessableEntity, "Invalid page")
			return 0, 0, false
		}
		page = v
	}
	last := max(1, (n+per-1)/per)
	link := func(p int, rel string) string {
		qq := r.URL.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", f.base(r), strings.TrimPrefix(r.URL.Path, f.prefix), qq.Encode(), rel)
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

func (f *fakeGitHub) getUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	me := f.me
	f.mu.Unlock()
	if me == nil {
		f.fail(w, r, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	f.writeJSON(w, http.StatusOK, map[string]any{"login": me.Login, "id": me.ID, "type": me.Type, "site_admin": false})
}

func (f *fakeGitHub) commentJSON(r *http.Request, c *fakeComment) map[string]any {
	return map[string]any{
		"id":                 c.ID,
		"node_id":            "IC_kwDO" + strconv.FormatInt(c.ID, 10),
		"url":                fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", f.base(r), f.owner, f.repo, c.ID),
		"html_url":           fmt.Sprintf("https://github.example/%s/%s/pull/%d#issuecomment-%d", f.owner, f.repo, c.Issue, c.ID),
		"issue_url":          fmt.Sprintf("%s/repos/%s/%s/issues/%d", f.base(r), f.owner, f.repo, c.Issue),
		"body":               c.Body,
		"user":               c.User,
		"created_at":         c.Created.Format(time.RFC3339),
		"updated_at":         c.Updated.Format(time.RFC3339),
		"author_association": "CONTRIBUTOR",
	}
}

func (f *fakeGitHub) listComments(w http.ResponseWriter, r *http.Request) {
	if !f.ours(w, r) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		f.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	all := f.issueComments(n)
	lo, hi, ok := f.page(w, r, len(all))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, c := range all[lo:hi] {
		out = append(out, f.commentJSON(r, c))
	}
	f.writeJSON(w, http.StatusOK, out)
}

// commentBody reads {"body": "..."}, answering 422 when it is not there.
func (f *fakeGitHub) commentBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
		f.fail(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.")
		return "", false
	}
	if len([]rune(*in.Body)) > 65536 {
		f.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed: body is too long (maximum is 65536 characters)")
		return "", false
	}
	return *in.Body, true
}

func (f *fakeGitHub) createComment(w http.ResponseWriter, r *http.Request) {
	if !f.ours(w, r) {
		return
	}
	if f.denyWrite != 0 {
		f.fail(w, r, f.denyWrite, "Resource not accessible by integration")
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		f.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	body, ok := f.commentBody(w, r)
	if !ok {
		return
	}
	id := f.addComment(n, f.writer, body)
	f.mu.Lock()
	c := *f.comments[len(f.comments)-1]
	f.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s/issues/comments/%d", f.base(r), f.owner, f.repo, id))
	f.writeJSON(w, http.StatusCreated, f.commentJSON(r, &c))
}

func (f *fakeGitHub) editComment(w http.ResponseWriter, r *http.Request) {
	if !f.ours(w, r) {
		return
	}
	if f.denyWrite != 0 {
		f.fail(w, r, f.denyWrite, "Resource not accessible by integration")
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, ok := f.commentBody(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	var found *fakeComment
	for _, c := range f.comments {
		if c.ID == id {
			found = c
		}
	}
	if found != nil {
		found.Body = body
		found.Updated = found.Updated.Add(time.Hour)
	}
	var c fakeComment
	if found != nil {
		c = *found
	}
	f.mu.Unlock()
	if found == nil {
		f.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	f.writeJSON(w, http.StatusOK, f.commentJSON(r, &c))
}

func (f *fakeGitHub) addRun(run fakeRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[run.ID] = &run
}

func (f *fakeGitHub) addArtifact(a fakeArtifact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.HeadRepoID == 0 {
		a.HeadRepoID = f.repoID
	}
	f.artifacts = append(f.artifacts, &a)
}

func (f *fakeGitHub) artifactJSON(r *http.Request, a *fakeArtifact) map[string]any {
	api := fmt.Sprintf("%s/repos/%s/%s/actions/artifacts/%d", f.base(r), f.owner, f.repo, a.ID)
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
			"repository_id":      f.repoID,
			"head_repository_id": a.HeadRepoID,
			"head_branch":        a.Branch,
			"head_sha":           a.SHA,
		},
	}
}

func (f *fakeGitHub) listArtifacts(w http.ResponseWriter, r *http.Request) {
	if !f.ours(w, r) {
		return
	}
	name := r.URL.Query().Get("name")
	f.mu.Lock()
	var match []*fakeArtifact
	for _, a := range f.artifacts {
		if name == "" || a.Name == name {
			match = append(match, a)
		}
	}
	f.mu.Unlock()
	lo, hi, ok := f.page(w, r, len(match))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, a := range match[lo:hi] {
		out = append(out, f.artifactJSON(r, a))
	}
	f.writeJSON(w, http.StatusOK, map[string]any{"total_count": len(match), "artifacts": out})
}

func (f *fakeGitHub) getRun(w http.ResponseWriter, r *http.Request) {
	if !f.ours(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	run := f.runs[id]
	f.mu.Unlock()
	if run == nil {
		f.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	repo := map[string]any{"id": f.repoID, "name": f.repo, "full_name": f.owner + "/" + f.repo, "fork": false}
	head := repo
	if run.HeadRepoID != 0 && run.HeadRepoID != f.repoID {
		head = map[string]any{"id": run.HeadRepoID, "name": f.repo, "full_name": "someone/" + f.repo, "fork": true}
	}
	f.writeJSON(w, http.StatusOK, map[string]any{
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
		"url":             fmt.Sprintf("%s/repos/%s/%s/actions/runs/%d", f.base(r), f.owner, f.repo, run.ID),
		"html_url":        fmt.Sprintf("https://github.example/%s/%s/actions/runs/%d", f.owner, f.repo, run.ID),
		"created_at":      "2025-03-01T10:00:00Z",
		"updated_at":      "2025-03-01T10:05:00Z",
		"repository":      repo,
		"head_repository": head,
	})
}

func (f *fakeGitHub) downloadArtifact(w http.ResponseWriter, r *http.Request) {
	if !f.ours(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	var a *fakeArtifact
	for _, x := range f.artifacts {
		if x.ID == id {
			a = x
		}
	}
	f.mu.Unlock()
	switch {
	case a == nil:
		f.fail(w, r, http.StatusNotFound, "Not Found")
	case a.Expired || a.Gone:
		f.fail(w, r, http.StatusGone, "Artifact has expired")
	default:
		w.Header().Set("Location", fmt.Sprintf("%s/blob/%d.zip?sig=signed-%d&se=2099-01-01", f.storage.URL, id, id))
		w.WriteHeader(http.StatusFound)
	}
}

// blob is the storage host: it serves a zip at a signed URL, and needs
// no token.
func (f *fakeGitHub) blob(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.blobs = append(f.blobs, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")})
	var a *fakeArtifact
	for _, x := range f.artifacts {
		if r.URL.Path == fmt.Sprintf("/blob/%d.zip", x.ID) {
			a = x
		}
	}
	f.mu.Unlock()
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

type zipEntry struct {
	name string
	body string
	mode fs.FileMode // 0: a regular file
}

// makeZip builds a real zip archive.
func makeZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// redirectTo makes an http.Client that reaches host:443 at the fake's
// listener, trusting its certificate, so that a test can call an API at
// a name no resolver knows.
func (f *fakeGitHub) redirectTo(t *testing.T, host string) *http.Client {
	t.Helper()
	tr := f.api.Client().Transport.(*http.Transport).Clone()
	addr := f.api.Listener.Addr().String()
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
