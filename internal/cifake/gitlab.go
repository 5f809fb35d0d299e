package cifake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/specgate/specgate/gate/render"
)

// The tokens a GitLab fake accepts unless SetTokens says otherwise: a
// project access token (PRIVATE-TOKEN) and a job token (JOB-TOKEN, for
// artifact downloads only). No error, log line, note or output may hold
// them.
const (
	GitLabToken    = "glpat-" + "Qx7fL2mN9pR4sT6vW8yZ"
	GitLabJobToken = "glcbt-" + "64_Hk3Jd8Ls2Mw5Nq7Pt"
)

// The GitLab fake's project and merge request.
const (
	GitLabProject = "4242"
	GitLabMR      = 17
)

// Note is a merge request note the GitLab fake holds.
type Note struct {
	ID     int64
	Body   string
	System bool
	Author string
}

// Failure is an answer given, as an HTML error page, instead of the real
// one.
type Failure struct {
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// GitLab is a GitLab instance's REST API v4 as far as specgate uses it,
// speaking the documented shapes: the merge request notes list with
// offset pagination (X-Page, X-Per-Page, X-Total, X-Total-Pages,
// X-Next-Page, X-Prev-Page and Link), note creation and editing, and the
// job artifacts download by ref. Errors are GitLab's JSON bodies
// ({"message": "404 Not found"}). It serves one project (GitLabProject)
// with one merge request (GitLabMR), and records every request.
type GitLab struct {
	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	token       string
	jobToken    string
	notes       []Note
	nextID      int64
	readOnly    bool
	linkOnly    bool
	failures    map[string][]Failure
	loseCreate  int
	artifacts   map[string]map[string][]byte
	disposition string
	redirect    string
	echoToken   bool
	requests    []string
	auths       []string
}

// NewGitLab starts a GitLab fake, closed when the test ends.
func NewGitLab(t testing.TB) *GitLab {
	t.Helper()
	g := &GitLab{
		t:         t,
		token:     GitLabToken,
		jobToken:  GitLabJobToken,
		nextID:    1000,
		failures:  map[string][]Failure{},
		artifacts: map[string]map[string][]byte{},
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// URL is the server's root URL (no /api/v4).
func (g *GitLab) URL() string { return g.srv.URL }

// APIURL is the API's base URL, as CI_API_V4_URL gives it.
func (g *GitLab) APIURL() string { return g.srv.URL + "/api/v4" }

// Client is an HTTP client of the server.
func (g *GitLab) Client() *http.Client { return g.srv.Client() }

// Environ is a merge request pipeline's environment for this instance,
// as KEY=VALUE pairs: GITLAB_CI, the CI_* variables (the merge request
// feature/rename targets main; the job is api-gate) and
// SPECGATE_GITLAB_TOKEN.
func (g *GitLab) Environ() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return []string{
		"GITLAB_CI=true",
		"CI_API_V4_URL=" + g.APIURL(),
		"CI_PROJECT_ID=" + GitLabProject,
		"CI_PROJECT_URL=https://gitlab.example.com/group/project",
		"CI_MERGE_REQUEST_IID=" + strconv.Itoa(GitLabMR),
		"CI_DEFAULT_BRANCH=main",
		"CI_COMMIT_REF_NAME=feature/rename",
		"CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main",
		"CI_JOB_NAME=api-gate",
		"SPECGATE_GITLAB_TOKEN=" + g.token,
		"CI_JOB_TOKEN=" + g.jobToken,
	}
}

// SetTokens changes the tokens accepted as PRIVATE-TOKEN and JOB-TOKEN.
func (g *GitLab) SetTokens(token, jobToken string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.token, g.jobToken = token, jobToken
}

// Tokens gives the tokens accepted as PRIVATE-TOKEN and JOB-TOKEN.
func (g *GitLab) Tokens() (token, jobToken string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.token, g.jobToken
}

// SetReadOnly answers note writes with 403, as for a token without the
// api scope.
func (g *GitLab) SetReadOnly(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.readOnly = on
}

// ReadOnly reports whether note writes are refused.
func (g *GitLab) ReadOnly() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readOnly
}

// SetLinkOnly leaves out the X- pagination headers, as keyset pagination
// and some proxies do, so that only Link tells the next page.
func (g *GitLab) SetLinkOnly(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.linkOnly = on
}

// LoseCreates makes the next n note creations create the note but answer
// with a 502, as a proxy that lost the answer does.
func (g *GitLab) LoseCreates(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.loseCreate = n
}

// SetArtifact stores the zip archive of job's artifacts on ref; nil
// archive bytes still count as there (for SetRedirect).
func (g *GitLab) SetArtifact(ref, job string, archive []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.artifacts[ref] == nil {
		g.artifacts[ref] = map[string][]byte{}
	}
	g.artifacts[ref][job] = archive
}

// SetDisposition names the archive in the download's
// Content-Disposition header.
func (g *GitLab) SetDisposition(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.disposition = name
}

// SetRedirect answers artifact downloads with a 302 to target, as an
// instance with object storage does.
func (g *GitLab) SetRedirect(target string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.redirect = target
}

// EchoToken makes error messages repeat the token received, as a careless
// proxy might.
func (g *GitLab) EchoToken(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.echoToken = on
}

// AddNote adds a note by alice (system: a system note) and gives its id.
func (g *GitLab) AddNote(body string, system bool) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	g.notes = append(g.notes, Note{ID: g.nextID, Body: body, System: system, Author: "alice"})
	return g.nextID
}

// Fail queues failures for the next requests of "METHOD route", first
// to last (route: notes, note or artifacts).
func (g *GitLab) Fail(route string, fs ...Failure) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures[route] = append(g.failures[route], fs...)
}

// Log gives "METHOD path?query" of every request so far.
func (g *GitLab) Log() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// Auths gives the token header each request came with: "PRIVATE-TOKEN",
// "JOB-TOKEN" or "".
func (g *GitLab) Auths() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.auths...)
}

// Notes gives the merge request's notes, oldest first.
func (g *GitLab) Notes() []Note {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Note(nil), g.notes...)
}

// MarkedNotes gives the notes that are not system notes and start with
// render.Marker: specgate's.
func (g *GitLab) MarkedNotes() []Note {
	var out []Note
	for _, n := range g.Notes() {
		if !n.System && strings.HasPrefix(n.Body, render.Marker) {
			out = append(out, n)
		}
	}
	return out
}

func (g *GitLab) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		g.t.Errorf("cifake: gitlab: %v", err)
	}
}

func (g *GitLab) message(w http.ResponseWriter, status int, msg string) {
	g.writeJSON(w, status, map[string]any{"message": msg})
}

func (g *GitLab) noteJSON(n Note) map[string]any {
	return map[string]any{
		"id":         n.ID,
		"type":       nil,
		"body":       n.Body,
		"attachment": nil,
		"author": map[string]any{
			"id": 1, "username": n.Author, "name": n.Author, "state": "active",
			"avatar_url": "https://gitlab.example.com/uploads/avatar.png",
			"web_url":    "https://gitlab.example.com/" + n.Author,
		},
		"created_at":    "2026-01-02T03:04:05.000Z",
		"updated_at":    "2026-01-02T03:04:05.000Z",
		"system":        n.System,
		"noteable_id":   9001,
		"noteable_type": "MergeRequest",
		"noteable_iid":  GitLabMR,
		"resolvable":    false,
		"confidential":  false,
		"internal":      false,
	}
}

// serve routes a request as GitLab does under /api/v4.
func (g *GitLab) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.RequestURI())

	// Authentication: PRIVATE-TOKEN for everything, JOB-TOKEN for
	// artifacts. Never both, never in the query.
	priv, job := r.Header.Get("PRIVATE-TOKEN"), r.Header.Get("JOB-TOKEN")
	switch {
	case priv != "":
		g.auths = append(g.auths, "PRIVATE-TOKEN")
	case job != "":
		g.auths = append(g.auths, "JOB-TOKEN")
	default:
		g.auths = append(g.auths, "")
	}
	if priv != "" && job != "" {
		g.t.Errorf("cifake: gitlab: %s %s: both PRIVATE-TOKEN and JOB-TOKEN sent", r.Method, r.URL.Path)
	}
	if q := r.URL.RawQuery; strings.Contains(q, "token") {
		g.t.Errorf("cifake: gitlab: %s %s: a token in the query", r.Method, r.URL.Path)
	}
	authed := priv != "" && priv == g.token
	jobAuthed := job != "" && job == g.jobToken
	if !authed && !jobAuthed {
		msg := "401 Unauthorized"
		if g.echoToken {
			msg += ": invalid token " + priv + job
		}
		g.message(w, http.StatusUnauthorized, msg)
		return
	}

	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/v4/"), "/")
	if len(parts) < 2 || parts[0] != "projects" || parts[1] != url.PathEscape(GitLabProject) {
		g.writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	}
	rest := parts[2:]
	var route string
	switch {
	case len(rest) == 3 && rest[0] == "merge_requests" && rest[2] == "notes":
		route = "notes"
	case len(rest) == 4 && rest[0] == "merge_requests" && rest[2] == "notes":
		route = "note"
	case len(rest) == 4 && rest[0] == "jobs" && rest[1] == "artifacts" && rest[3] == "download":
		route = "artifacts"
	default:
		g.writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	}
	if fs := g.failures[r.Method+" "+route]; len(fs) > 0 {
		g.failures[r.Method+" "+route] = fs[1:]
		if fs[0].RetryAfter != "" {
			w.Header().Set("Retry-After", fs[0].RetryAfter)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fs[0].Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", fs[0].Status, http.StatusText(fs[0].Status))
		return
	}
	if route == "artifacts" {
		g.download(w, r, rest[2])
		return
	}
	if !authed {
		msg := "403 Forbidden"
		if g.echoToken {
			msg += ": job token " + job + " cannot read notes"
		}
		g.message(w, http.StatusForbidden, msg)
		return
	}
	if iid, err := strconv.ParseInt(rest[1], 10, 64); err != nil || iid != GitLabMR {
		g.message(w, http.StatusNotFound, "404 Not found")
		return
	}
	switch {
	case route == "notes" && r.Method == http.MethodGet:
		g.list(w, r)
	case route == "notes" && r.Method == http.MethodPost:
		g.create(w, r)
	case route == "note" && r.Method == http.MethodPut:
		g.update(w, r, rest[3])
	default:
		g.writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
	}
}

// list answers GET /projects/:id/merge_requests/:iid/notes.
func (g *GitLab) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 {
		perPage = 20
	}
	perPage = min(perPage, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	notes := append([]Note(nil), g.notes...)
	if q.Get("sort") != "asc" {
		for i, j := 0, len(notes)-1; i < j; i, j = i+1, j-1 {
			notes[i], notes[j] = notes[j], notes[i]
		}
	}
	total := len(notes)
	pages := max((total+perPage-1)/perPage, 1)
	from, to := min((page-1)*perPage, total), min(page*perPage, total)
	out := []map[string]any{}
	for _, n := range notes[from:to] {
		out = append(out, g.noteJSON(n))
	}
	link := func(p int) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		return u.String()
	}
	var links []string
	h := w.Header()
	next, prev := "", ""
	if page < pages {
		next = strconv.Itoa(page + 1)
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, link(page+1)))
	}
	if page > 1 {
		prev = strconv.Itoa(page - 1)
		links = append(links, fmt.Sprintf(`<%s>; rel="prev"`, link(page-1)))
	}
	links = append(links, fmt.Sprintf(`<%s>; rel="first"`, link(1)), fmt.Sprintf(`<%s>; rel="last"`, link(pages)))
	h.Set("Link", strings.Join(links, ", "))
	if !g.linkOnly {
		h.Set("X-Page", strconv.Itoa(page))
		h.Set("X-Per-Page", strconv.Itoa(perPage))
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		h.Set("X-Next-Page", next)
		h.Set("X-Prev-Page", prev)
	}
	g.writeJSON(w, http.StatusOK, out)
}

// noteBody reads the body attribute of a note's POST or PUT, sent as
// JSON or as a form.
func (g *GitLab) noteBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var body string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var in struct {
			Body *string `json:"body"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
			g.message(w, http.StatusBadRequest, "400 Bad request - body is missing")
			return "", false
		}
		body = *in.Body
	} else {
		body = r.FormValue("body")
	}
	if strings.TrimSpace(body) == "" {
		g.message(w, http.StatusBadRequest, "400 Bad request - body is missing")
		return "", false
	}
	if utf8.RuneCountInString(body) > 1_000_000 {
		g.writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"note": []string{"is too long (maximum is 1000000 characters)"}}})
		return "", false
	}
	return body, true
}

// create answers POST /projects/:id/merge_requests/:iid/notes.
func (g *GitLab) create(w http.ResponseWriter, r *http.Request) {
	if g.readOnly {
		g.message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	body, ok := g.noteBody(w, r)
	if !ok {
		return
	}
	g.nextID++
	n := Note{ID: g.nextID, Body: body, Author: "specgate-bot"}
	g.notes = append(g.notes, n)
	if g.loseCreate > 0 {
		g.loseCreate--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	g.writeJSON(w, http.StatusCreated, g.noteJSON(n))
}

// update answers PUT /projects/:id/merge_requests/:iid/notes/:note_id.
func (g *GitLab) update(w http.ResponseWriter, r *http.Request, idText string) {
	if g.readOnly {
		g.message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	for i := range g.notes {
		if g.notes[i].ID != id {
			continue
		}
		if g.notes[i].System {
			g.message(w, http.StatusForbidden, "403 Forbidden")
			return
		}
		body, ok := g.noteBody(w, r)
		if !ok {
			return
		}
		g.notes[i].Body = body
		g.writeJSON(w, http.StatusOK, g.noteJSON(g.notes[i]))
		return
	}
	g.message(w, http.StatusNotFound, "404 Not found")
}

// download answers GET /projects/:id/jobs/artifacts/:ref_name/download?job=NAME.
func (g *GitLab) download(w http.ResponseWriter, r *http.Request, escapedRef string) {
	ref, err := url.PathUnescape(escapedRef)
	if err != nil {
		g.message(w, http.StatusBadRequest, "400 Bad request - ref_name is invalid")
		return
	}
	job := r.URL.Query().Get("job")
	if job == "" {
		g.writeJSON(w, http.StatusBadRequest, map[string]any{"error": "job is missing"})
		return
	}
	archive, ok := g.artifacts[ref][job]
	if !ok {
		g.message(w, http.StatusNotFound, "404 Not found")
		return
	}
	if g.redirect != "" {
		http.Redirect(w, r, g.redirect, http.StatusFound)
		return
	}
	if g.disposition != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, g.disposition, url.PathEscape(g.disposition)))
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
	_, _ = w.Write(archive)
}
