package gitlab

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/specgate/specgate/gate/render"
)

// MaxNoteChars is GitLab's limit on the length of a note, in characters.
const MaxNoteChars = 1_000_000

// maxNotePages bounds the pages of notes UpsertNote reads: 100,000 notes.
const maxNotePages = 1000

// maxPageBytes bounds one page of the notes list.
const maxPageBytes = 512 << 20

// trimmedNote ends a body cut to fit MaxNoteChars.
const trimmedNote = "\n\n---\n*specgate: this report was cut to fit GitLab's limit of 1,000,000 characters in a comment; the job's log has all of it.*\n"

// Action says what UpsertNote did.
type Action string

// The actions.
const (
	// Created: there was no specgate note on the merge request; one was added.
	Created Action = "created"
	// Updated: the note from an earlier run was edited to the new body.
	Updated Action = "updated"
	// Unchanged: the note already had the body; nothing was sent.
	Unchanged Action = "unchanged"
)

// Result tells what UpsertNote did.
type Result struct {
	Action Action
	// NoteID is the note's id.
	NoteID int64
	// URL links to the note on the merge request's page; empty when
	// Env.ProjectURL is.
	URL string
	// Trimmed reports that the body was cut to fit MaxNoteChars.
	Trimmed bool
}

// note is the part of GitLab's note object that UpsertNote reads.
type note struct {
	ID     int64    `json:"id"`
	Body   noteBody `json:"body"`
	System bool     `json:"system"`
}

// noteBody keeps of a note's body only whether it starts with
// render.Marker and its digest, so that a page of long notes is not held
// in memory.
type noteBody struct {
	marked bool
	sum    [sha256.Size]byte
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *noteBody) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b.marked = strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), render.Marker)
	b.sum = sha256.Sum256([]byte(s))
	return nil
}

// UpsertNote writes body as the merge request's specgate note: it edits
// the first note that is not a system note and starts with render.Marker,
// or creates one when there is none. A body without the marker gets it as
// its first line; one over MaxNoteChars is cut, with a line saying so.
// Errors for want of rights wrap ErrCannotWrite.
func (c *Client) UpsertNote(ctx context.Context, body string) (Result, error) {
	if c.env.MergeRequestIID <= 0 {
		return Result{}, fmt.Errorf("gitlab: %w: not a merge request pipeline (CI_MERGE_REQUEST_IID is not set)", ErrCannotWrite)
	}
	if c.env.Token == "" {
		return Result{}, fmt.Errorf("gitlab: %w: SPECGATE_GITLAB_TOKEN is not set (CI_JOB_TOKEN cannot write notes); set it to a project or personal access token with the api scope", ErrCannotWrite)
	}
	body, trimmed := prepareBody(body)
	payload, err := json.Marshal(struct {
		Body string `json:"body"`
	}{body})
	if err != nil {
		return Result{}, fmt.Errorf("gitlab: note body: %v", err)
	}
	sum := sha256.Sum256([]byte(body))
	notes := c.notesPath()
	// A POST that failed may still have created the note: each attempt
	// looks for it again before creating it.
	posted := false
	for attempt := 0; ; attempt++ {
		found, err := c.findNote(ctx)
		if err != nil {
			return Result{}, err
		}
		if found != nil {
			res := Result{Action: Unchanged, NoteID: found.ID, URL: c.noteURL(found.ID), Trimmed: trimmed}
			if found.Body.sum == sum {
				if posted {
					res.Action = Created // the POST went through; its answer was lost
				}
				return res, nil
			}
			k := call{method: http.MethodPut, path: notes + "/" + strconv.FormatInt(found.ID, 10), body: payload, retry: true, write: true}
			if _, err := c.writeNote(ctx, k, http.StatusOK); err != nil {
				return Result{}, err
			}
			res.Action = Updated
			return res, nil
		}
		k := call{method: http.MethodPost, path: notes, body: payload, write: true}
		resp, err := c.send(ctx, k)
		if err == nil && (resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK) {
			n, err := c.readNote(resp, k)
			if err != nil {
				return Result{}, err
			}
			return Result{Action: Created, NoteID: n.ID, URL: c.noteURL(n.ID), Trimmed: trimmed}, nil
		}
		if err != nil && ctx.Err() != nil {
			return Result{}, err
		}
		wait, again := c.retryWait(resp, err, attempt, k)
		if !again {
			if err != nil {
				return Result{}, err
			}
			return Result{}, c.noteError(resp, k)
		}
		posted = posted || resp == nil || resp.StatusCode != http.StatusTooManyRequests
		drain(resp)
		if err := sleep(ctx, wait); err != nil {
			return Result{}, fmt.Errorf("gitlab: %s %s: %w", k.method, k.path, err)
		}
	}
}

// notesPath is the path of the merge request's notes.
func (c *Client) notesPath() string {
	return "/projects/" + url.PathEscape(c.env.ProjectID) + "/merge_requests/" + strconv.FormatInt(c.env.MergeRequestIID, 10) + "/notes"
}

// noteURL links to a note, or is empty without the project's URL.
func (c *Client) noteURL(id int64) string {
	if c.env.ProjectURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/-/merge_requests/%d#note_%d", c.env.ProjectURL, c.env.MergeRequestIID, id)
}

// findNote reads the merge request's notes, oldest first, page by page,
// until it meets the specgate note; nil when there is none.
func (c *Client) findNote(ctx context.Context) (*note, error) {
	k := call{
		method: http.MethodGet,
		path:   c.notesPath(),
		query:  url.Values{"per_page": {"100"}, "sort": {"asc"}},
		retry:  true,
		write:  true,
	}
	seen := map[string]bool{}
	for range maxNotePages {
		seen[k.target(c.env.APIURL)] = true
		resp, err := c.send(ctx, k)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, c.noteError(resp, k)
		}
		found, err := c.scanNotes(resp, k)
		if err != nil || found != nil {
			return found, err
		}
		next, ok, err := c.nextPage(resp, k)
		if err != nil || !ok {
			return nil, err
		}
		if seen[next.target(c.env.APIURL)] {
			return nil, fmt.Errorf("gitlab: %s %s: the next page is one already read", k.method, k.path)
		}
		k = next
	}
	return nil, fmt.Errorf("gitlab: %s %s: more than %d pages of notes", k.method, k.path, maxNotePages)
}

// scanNotes reads one page of notes, one note at a time, and returns the
// first specgate note on it. It closes the answer.
func (c *Client) scanNotes(resp *http.Response, k call) (*note, error) {
	defer drain(resp)
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxPageBytes))
	bad := func(err error) error {
		return fmt.Errorf("gitlab: %s %s: not a list of notes: %s", k.method, k.path, c.redact(oneLine(err.Error())))
	}
	if tok, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, bad(errors.New("want a JSON array"))
	}
	for dec.More() {
		var n note
		if err := dec.Decode(&n); err != nil {
			return nil, bad(err)
		}
		if !n.System && n.Body.marked && n.ID > 0 {
			return &n, nil
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad(err)
	}
	return nil, nil
}

// nextPage gives the call for the page after resp's: from X-Next-Page
// (offset pagination), else from the Link header's rel="next" (keyset
// pagination, or a proxy that drops X- headers). It reports false on the
// last page.
func (c *Client) nextPage(resp *http.Response, k call) (call, bool, error) {
	if s := strings.TrimSpace(resp.Header.Get("X-Next-Page")); s != "" {
		n, err := strconv.Atoi(s)
		cur, _ := strconv.Atoi(k.query.Get("page"))
		if err != nil || n <= max(cur, 1) {
			return call{}, false, fmt.Errorf("gitlab: %s %s: X-Next-Page %q does not follow page %d", k.method, k.path, shorten(s, 20), max(cur, 1))
		}
		next := k
		next.next = ""
		next.query = url.Values{}
		for key, v := range k.query {
			next.query[key] = v
		}
		next.query.Set("page", strconv.Itoa(n))
		return next, true, nil
	}
	link := nextLink(resp.Header.Values("Link"))
	if link == "" {
		return call{}, false, nil
	}
	u, err := resp.Request.URL.Parse(link)
	if err != nil || !c.sameOrigin(u) || !strings.HasPrefix(u.EscapedPath(), strings.TrimSuffix(c.basePath(), "/")+k.path) {
		return call{}, false, fmt.Errorf("gitlab: %s %s: refusing a next-page link outside the notes of this merge request", k.method, k.path)
	}
	next := k
	next.next = u.String()
	return next, true, nil
}

// basePath is the escaped path of the API's base URL.
func (c *Client) basePath() string {
	u, err := url.Parse(c.env.APIURL)
	if err != nil {
		return ""
	}
	return u.EscapedPath()
}

// nextLink finds the target of rel="next" in Link header values
// (RFC 8288: <URI>; rel="next", <URI>; rel="last").
func nextLink(values []string) string {
	for _, v := range values {
		for v != "" {
			open := strings.IndexByte(v, '<')
			if open < 0 {
				break
			}
			end := strings.IndexByte(v[open:], '>')
			if end < 0 {
				break
			}
			target := v[open+1 : open+end]
			rest := v[open+end+1:]
			params := rest
			if i := strings.IndexByte(rest, '<'); i >= 0 {
				params = rest[:i]
			}
			for p := range strings.SplitSeq(params, ";") {
				name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `",`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
			v = rest
		}
	}
	return ""
}

// writeNote sends a note's PUT and returns the note GitLab answers with.
func (c *Client) writeNote(ctx context.Context, k call, want int) (*note, error) {
	resp, err := c.send(ctx, k)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, c.noteError(resp, k)
	}
	return c.readNote(resp, k)
}

// readNote decodes the note in an answer and closes it.
func (c *Client) readNote(resp *http.Response, k call) (*note, error) {
	defer drain(resp)
	var n note
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPageBytes)).Decode(&n); err != nil || n.ID <= 0 {
		return nil, fmt.Errorf("gitlab: %s %s: %s: the answer is not a note", k.method, k.path, resp.Status)
	}
	return &n, nil
}

// noteError describes an unexpected answer to a notes request; 401, 403
// and 404 wrap ErrCannotWrite, with a hint.
func (c *Client) noteError(resp *http.Response, k call) error {
	code := resp.StatusCode
	err := c.statusError(resp, k)
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w (%w: SPECGATE_GITLAB_TOKEN needs the api scope and access to the project)", err, ErrCannotWrite)
	case http.StatusNotFound:
		return fmt.Errorf("%w (%w: the token cannot see merge request !%d)", err, ErrCannotWrite, c.env.MergeRequestIID)
	}
	return err
}

// prepareBody makes body valid UTF-8 that starts with render.Marker and
// fits MaxNoteChars, and reports whether it had to be cut.
func prepareBody(body string) (string, bool) {
	body = strings.ToValidUTF8(body, "\uFFFD")
	if !strings.HasPrefix(body, render.Marker) {
		body = render.Marker + "\n" + body
	}
	if utf8.RuneCountInString(body) <= MaxNoteChars {
		return body, false
	}
	// Room for the closing tags and fences, and the note saying so.
	budget := MaxNoteChars - utf8.RuneCountInString(trimmedNote) - 1000
	cut, n := 0, 0
	for i := range body {
		if n == budget {
			cut = i
			break
		}
		n++
	}
	kept := body[:cut]
	if i := strings.LastIndexByte(kept, '\n'); i > len(render.Marker) {
		kept = kept[:i]
	}
	var tail strings.Builder
	fences := 0
	for line := range strings.SplitSeq(kept, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fences++
		}
	}
	if fences%2 == 1 {
		tail.WriteString("\n```")
	}
	open := strings.Count(kept, "<details") - strings.Count(kept, "</details>")
	for range min(max(open, 0), 100) {
		tail.WriteString("\n</details>")
	}
	return kept + tail.String() + trimmedNote, true
}
