package gitlab

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeGitLab is a GitLab instance's REST API v4 as far as specgate uses
// it, speaking the documented shapes: the merge request notes list with
// offset pagination (X-Page, X-Per-Page, X-Total, X-Total-Pages,
// X-Next-Page, X-Prev-Page and Link), note creation and editing, and the
// job artifacts download by ref. Errors are GitLab's JSON bodies
// ({"message": "404 Not found"}).
type fakeGitLab struct {
	t   *testing.T
	srv *httptest.Server

	token    string // accepted as PRIVATE-TOKEN
	jobToken string // accepted as JOB-TOKEN, for artifacts only
	project  string // the project's id
	mr       int64  // the merge request's iid

	mu sync.Mutex
	// notes of the merge request, oldest first.
	notes  []fakeNote
	nextID int64
	// readOnly answers 403 to note writes, as for a token without the api
	// scope.
	readOnly bool
	// linkOnly leaves out the X- pagination headers, as keyset
	// pagination and some proxies do, so that only Link tells the next
	// page.
	linkOnly bool
	// failures are statuses answered, first to last, before the real
	// answer, keyed by "METHOD route" (route: notes, note, artifacts).
	failures map[string][]fakeFailure
	// loseCreate creates the note but answers the POST with a 502, as a
	// proxy that lost the answer does.
	loseCreate int
	// artifacts[ref][job] is a zip archive; disposition its
	// Content-Disposition file name.
	artifacts   map[string]map[string][]byte
	disposition string
	// redirect, when set, answers the download with a 302 to it.
	redirect string
	// echoToken makes error messages repeat the token received, as a
	// careless proxy might.
	echoToken bool
	// requests logs "METHOD path?query" of every request, and auths the
	// token header each came with ("PRIVATE-TOKEN", "JOB-TOKEN" or "").
	requests []string
	auths    []string
}

type fakeNote struct {
	id     int64
	body   string
	system bool
	author string
}

type fakeFailure struct {
	status     int
	retryAfter string
}

func newFakeGitLab(t *testing.T) *fakeGitLab {
	f := &fakeGitLab{
		t:         t,
		token:     "glpat-" + "Qx7fL2mN9pR4sT6vW8yZ",
		jobToken:  "glcbt-" + "64_Hk3Jd8Ls2Mw5Nq7Pt",
		project:   "4242",
		mr:        17,
		nextID:    1000,
		failures:  map[string][]fakeFailure{},
		artifacts: map[string]map[string][]byte{},
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// env is a merge request pipeline's environment for this instance.
func (f *fakeGitLab) env() Env {
	return Env{
		APIURL:          f.srv.URL + "/api/v4",
		ProjectID:       f.project,
		ProjectURL:      "https://gitlab.example.com/group/project",
		MergeRequestIID: f.mr,
		DefaultBranch:   "main",
		RefName:         "feature/rename",
		TargetBranch:    "main",
		JobName:         "api-gate",
		Token:           f.token,
		JobToken:        f.jobToken,
	}
}

// client is a client of this instance with fast retries.
func (f *fakeGitLab) client(env Env, logs *[]string) *Client {
	c := NewClient(env, f.srv.Client())
	c.BaseDelay = time.Millisecond
	c.MaxDelay = 200 * time.Millisecond
	var mu sync.Mutex
	c.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if logs != nil {
			*logs = append(*logs, fmt.Sprintf(format, args...))
		}
	}
	return c
}

func (f *fakeGitLab) addNote(body string, system bool) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.notes = append(f.notes, fakeNote{id: f.nextID, body: body, system: system, author: "alice"})
	return f.nextID
}

func (f *fakeGitLab) fail(route string, fs ...fakeFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[route] = append(f.failures[route], fs...)
}

func (f *fakeGitLab) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// specgateNotes are the notes that are not system notes and start with
// the marker.
func (f *fakeGitLab) specgateNotes() []fakeNote {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeNote
	for _, n := range f.notes {
		if !n.system && strings.HasPrefix(n.body, "<!-- specgate-report -->") {
			out = append(out, n)
		}
	}
	return out
}

func (f *fakeGitLab) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake gitlab: %v", err)
	}
}

func (f *fakeGitLab) message(w http.ResponseWriter, status int, msg string) {
	f.writeJSON(w, status, map[string]any{"message": msg})
}

func (f *fakeGitLab) noteJSON(n fakeNote) map[string]any {
	return map[string]any{
		"id":         n.id,
		"type":       nil,
		"body":       n.body,
		"attachment": nil,
		"author": map[string]any{
			"id": 1, "username": n.author, "name": n.author, "state": "active",
			"avatar_url": "https://gitlab.example.com/uploads/avatar.png",
			"web_url":    "https://gitlab.example.com/" + n.author,
		},
		"created_at":    "2026-01-02T03:04:05.000Z",
		"updated_at":    "2026-01-02T03:04:05.000Z",
		"system":        n.system,
		"noteable_id":   9001,
		"noteable_type": "MergeRequest",
		"noteable_iid":  f.mr,
		"resolvable":    false,
		"confidential":  false,
		"internal":      false,
	}
}

// ServeHTTP routes a request as GitLab does under /api/v4.
func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())

	// Authentication: PRIVATE-TOKEN for everything, JOB-TOKEN for
	// artifacts. Never both, never in the query.
	priv, job := r.Header.Get("PRIVATE-TOKEN"), r.Header.Get("JOB-TOKEN")
	switch {
	case priv != "":
		f.auths = append(f.auths, "PRIVATE-TOKEN")
	case job != "":
		f.auths = append(f.auths, "JOB-TOKEN")
	default:
		f.auths = append(f.auths, "")
	}
	if priv != "" && job != "" {
		f.t.Errorf("fake gitlab: %s %s: both PRIVATE-TOKEN and JOB-TOKEN sent", r.Method, r.URL.Path)
	}
	if q := r.URL.RawQuery; strings.Contains(q, "token") {
		f.t.Errorf("fake gitlab: %s %s: a token in the query", r.Method, r.URL.Path)
	}
	authed := priv != "" && priv == f.token
	jobAuthed := job != "" && job == f.jobToken
	if !authed && !jobAuthed {
		msg := "401 Unauthorized"
		if f.echoToken {
			msg += ": invalid token " + priv + job
		}
		f.message(w, http.StatusUnauthorized, msg)
		return
	}

	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/v4/"), "/")
	if len(parts) < 2 || parts[0] != "projects" || parts[1] != url.PathEscape(f.project) {
		f.writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
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
		f.writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	}
	if fs := f.failures[r.Method+" "+route]; len(fs) > 0 {
		f.failures[r.Method+" "+route] = fs[1:]
		if fs[0].retryAfter != "" {
			w.Header().Set("Retry-After", fs[0].retryAfter)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fs[0].status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", fs[0].status, http.StatusText(fs[0].status))
		return
	}
	if route == "artifacts" {
		f.download(w, r, rest[2])
		return
	}
	if !authed {
		msg := "403 Forbidden"
		if f.echoToken {
			msg += ": job token " + job + " cannot read notes"
		}
		f.message(w, http.StatusForbidden, msg)
		return
	}
	if iid, err := strconv.ParseInt(rest[1], 10, 64); err != nil || iid != f.mr {
		f.message(w, http.StatusNotFound, "404 Not found")
		return
	}
	switch {
	case route == "notes" && r.Method == http.MethodGet:
		f.list(w, r)
	case route == "notes" && r.Method == http.MethodPost:
		f.create(w, r)
	case route == "note" && r.Method == http.MethodPut:
		f.update(w, r, rest[3])
	default:
		f.writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
	}
}

// list answers GET /projects/:id/merge_requests/:iid/notes.
func (f *fakeGitLab) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 {
		perPage = 20
	}
	perPage = min(perPage, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	notes := append([]fakeNote(nil), f.notes...)
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
		out = append(out, f.noteJSON(n))
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
	if !f.linkOnly {
		h.Set("X-Page", strconv.Itoa(page))
		h.Set("X-Per-Page", strconv.Itoa(perPage))
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		h.Set("X-Next-Page", next)
		h.Set("X-Prev-Page", prev)
	}
	f.writeJSON(w, http.StatusOK, out)
}

// noteBody reads the body attribute of a note's POST or PUT, sent as
// JSON or as a form.
func (f *fakeGitLab) noteBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var body string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var in struct {
			Body *string `json:"body"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
			f.message(w, http.StatusBadRequest, "400 Bad request - body is missing")
			return "", false
		}
		body = *in.Body
	} else {
		body = r.FormValue("body")
	}
	if strings.TrimSpace(body) == "" {
		f.message(w, http.StatusBadRequest, "400 Bad request - body is missing")
		return "", false
	}
	if utf8.RuneCountInString(body) > 1_000_000 {
		f.writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"note": []string{"is too long (maximum is 1000000 characters)"}}})
		return "", false
	}
	return body, true
}

// create answers POST /projects/:id/merge_requests/:iid/notes.
func (f *fakeGitLab) create(w http.ResponseWriter, r *http.Request) {
	if f.readOnly {
		f.message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	body, ok := f.noteBody(w, r)
	if !ok {
		return
	}
	f.nextID++
	n := fakeNote{id: f.nextID, body: body, author: "specgate-bot"}
	f.notes = append(f.notes, n)
	if f.loseCreate > 0 {
		f.loseCreate--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	f.writeJSON(w, http.StatusCreated, f.noteJSON(n))
}

// update answers PUT /projects/:id/merge_requests/:iid/notes/:note_id.
func (f *fakeGitLab) update(w http.ResponseWriter, r *http.Request, idText string) {
	if f.readOnly {
		f.message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	for i := range f.notes {
		if f.notes[i].id != id {
			continue
		}
		if f.notes[i].system {
			f.message(w, http.StatusForbidden, "403 Forbidden")
			return
		}
		body, ok := f.noteBody(w, r)
		if !ok {
			return
		}
		f.notes[i].body = body
		f.writeJSON(w, http.StatusOK, f.noteJSON(f.notes[i]))
		return
	}
	f.message(w, http.StatusNotFound, "404 Not found")
}

// download answers GET /projects/:id/jobs/artifacts/:ref_name/download?job=NAME.
func (f *fakeGitLab) download(w http.ResponseWriter, r *http.Request, escapedRef string) {
	ref, err := url.PathUnescape(escapedRef)
	if err != nil {
		f.message(w, http.StatusBadRequest, "400 Bad request - ref_name is invalid")
		return
	}
	job := r.URL.Query().Get("job")
	if job == "" {
		f.writeJSON(w, http.StatusBadRequest, map[string]any{"error": "job is missing"})
		return
	}
	archive, ok := f.artifacts[ref][job]
	if !ok {
		f.message(w, http.StatusNotFound, "404 Not found")
		return
	}
	if f.redirect != "" {
		http.Redirect(w, r, f.redirect, http.StatusFound)
		return
	}
	if f.disposition != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, f.disposition, url.PathEscape(f.disposition)))
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
	_, _ = w.Write(archive)
}

// zipEntry is one entry of an archive makeZip writes.
type zipEntry struct {
	name    string
	body    []byte
	symlink bool
}

// makeZip writes a zip archive with archive/zip, as GitLab Runner uploads
// artifacts.
func makeZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		h.SetMode(0o644)
		if e.symlink {
			h.SetMode(fs.ModeSymlink | 0o777)
		}
		if strings.HasSuffix(e.name, "/") {
			h.SetMode(fs.ModeDir | 0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
