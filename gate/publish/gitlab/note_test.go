package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/cifake"
)

var (
	failBody = render.Marker + "\n**specgate: FAIL** — 1 breaking change in todo.internal:8080\n\n| service | operation | change |\n| --- | --- | --- |\n| todo | GET /todos/{todoId} | response-property-renamed descripton → description |\n"
	passBody = render.Marker + "\n**specgate: PASS** — no breaking changes in 1 service\n"
)

// count counts the requests of the fake whose "METHOD path" starts with prefix.
func count(f *cifake.GitLab, prefix string) int {
	n := 0
	for _, r := range f.Log() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestUpsertNoteCreatesThenEdits(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.AddNote("Looks good to me", false)
	f.AddNote("added 1 commit", true)
	c := fakeClient(f, fakeEnv(f), nil)
	ctx := context.Background()
	notes := "/api/v4/projects/4242/merge_requests/17/notes"

	res, err := c.UpsertNote(ctx, failBody)
	if err != nil {
		t.Fatal(err)
	}
	sg := f.MarkedNotes()
	if res.Action != Created || len(sg) != 1 || sg[0].ID != res.NoteID || sg[0].Body != failBody || res.Trimmed {
		t.Fatalf("first run: %+v; specgate notes %+v", res, sg)
	}
	if want := fmt.Sprintf("https://gitlab.example.com/group/project/-/merge_requests/17#note_%d", res.NoteID); res.URL != want {
		t.Errorf("URL = %q, want %q", res.URL, want)
	}
	if n := count(f, "POST "+notes); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if got := f.Log()[0]; got != "GET "+notes+"?per_page=100&sort=asc" {
		t.Errorf("first request %q", got)
	}

	again, err := c.UpsertNote(ctx, failBody)
	if err != nil {
		t.Fatal(err)
	}
	if again.Action != Unchanged || again.NoteID != res.NoteID {
		t.Errorf("same body again: %+v", again)
	}
	if count(f, "PUT ") != 0 || count(f, "POST ") != 1 {
		t.Errorf("an unchanged note was written: %v", f.Log())
	}

	pass, err := c.UpsertNote(ctx, passBody)
	if err != nil {
		t.Fatal(err)
	}
	sg = f.MarkedNotes()
	if pass.Action != Updated || pass.NoteID != res.NoteID || len(sg) != 1 || sg[0].Body != passBody {
		t.Fatalf("pass run: %+v; specgate notes %+v", pass, sg)
	}
	if n := count(f, fmt.Sprintf("PUT %s/%d", notes, res.NoteID)); n != 1 {
		t.Errorf("%d PUTs of the note, want 1: %v", n, f.Log())
	}
	if all := f.Notes(); len(all) != 3 || all[0].Body != "Looks good to me" || all[1].Body != "added 1 commit" {
		t.Errorf("other notes changed: %+v", all)
	}
}

func TestUpsertNoteAddsMarker(t *testing.T) {
	f := cifake.NewGitLab(t)
	c := fakeClient(f, fakeEnv(f), nil)
	res, err := c.UpsertNote(context.Background(), "**specgate: PASS**\n")
	if err != nil {
		t.Fatal(err)
	}
	sg := f.MarkedNotes()
	if res.Action != Created || len(sg) != 1 || sg[0].Body != render.Marker+"\n**specgate: PASS**\n" {
		t.Fatalf("%+v %+v", res, sg)
	}
	// Found again by the marker it was given.
	if res, err := c.UpsertNote(context.Background(), passBody); err != nil || res.Action != Updated {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestUpsertNoteFindsItsNote(t *testing.T) {
	for _, tc := range []struct {
		name string
		// notes before the specgate note, and after it
		before, after int
		linkOnly      bool
		wantPages     int
	}{
		{name: "first page", before: 3, after: 3, wantPages: 1},
		{name: "page 2 of 2", before: 120, after: 40, wantPages: 2},
		{name: "page 2 of 2 by Link only", before: 120, after: 40, linkOnly: true, wantPages: 2},
		{name: "last of 3 pages", before: 250, after: 0, wantPages: 3},
		{name: "last of 3 pages by Link only", before: 250, after: 0, linkOnly: true, wantPages: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			f.SetLinkOnly(tc.linkOnly)
			for i := range tc.before {
				f.AddNote(fmt.Sprintf("comment %d", i), i%7 == 0)
			}
			id := f.AddNote(failBody, false)
			for i := range tc.after {
				f.AddNote(fmt.Sprintf("later comment %d", i), false)
			}
			c := fakeClient(f, fakeEnv(f), nil)
			res, err := c.UpsertNote(context.Background(), passBody)
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != Updated || res.NoteID != id {
				t.Fatalf("%+v, want note %d updated", res, id)
			}
			if sg := f.MarkedNotes(); len(sg) != 1 || sg[0].Body != passBody {
				t.Errorf("specgate notes: %+v", sg)
			}
			if n := count(f, "GET "); n != tc.wantPages {
				t.Errorf("read %d pages, want %d: %v", n, tc.wantPages, f.Log())
			}
			if tc.wantPages > 1 && !slices.ContainsFunc(f.Log(), func(r string) bool { return strings.Contains(r, fmt.Sprintf("page=%d", tc.wantPages)) }) {
				t.Errorf("page %d never asked for: %v", tc.wantPages, f.Log())
			}
		})
	}
}

func TestUpsertNoteIgnoresSystemAndQuotedNotes(t *testing.T) {
	f := cifake.NewGitLab(t)
	sys := f.AddNote(failBody, true) // a system note that happens to start with the marker
	f.AddNote("> "+failBody, false)  // a reply quoting the report
	f.AddNote("see "+render.Marker, false)
	c := fakeClient(f, fakeEnv(f), nil)
	res, err := c.UpsertNote(context.Background(), passBody)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Created || res.NoteID == sys {
		t.Fatalf("%+v: want a new note", res)
	}
	if count(f, "PUT ") != 0 {
		t.Errorf("a note was edited: %v", f.Log())
	}
}

func TestUpsertNoteCannotWrite(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(f *cifake.GitLab, e *Env)
		wantCalls bool
		want      string
	}{
		{"403 on create", func(f *cifake.GitLab, e *Env) { f.SetReadOnly(true) }, true, "403 Forbidden"},
		{"403 on edit", func(f *cifake.GitLab, e *Env) { f.SetReadOnly(true); f.AddNote(passBody, false) }, true, "403 Forbidden"},
		{"401 bad token", func(f *cifake.GitLab, e *Env) { e.Token = "glpat-notTheRightOne123" }, true, "401 Unauthorized"},
		{"job token only", func(f *cifake.GitLab, e *Env) { e.Token = "" }, false, "SPECGATE_GITLAB_TOKEN is not set"},
		{"not a merge request", func(f *cifake.GitLab, e *Env) { e.MergeRequestIID = 0 }, false, "not a merge request pipeline"},
		{"merge request not visible", func(f *cifake.GitLab, e *Env) { e.MergeRequestIID = 99 }, true, "404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			env := fakeEnv(f)
			tc.setup(f, &env)
			_, err := fakeClient(f, env, nil).UpsertNote(context.Background(), failBody)
			if !errors.Is(err, ErrCannotWrite) {
				t.Fatalf("err = %v, want ErrCannotWrite", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("err = %q, want one line with %q", msg, tc.want)
			}
			if called := len(f.Log()) > 0; called != tc.wantCalls {
				t.Errorf("API called: %v, want %v", called, tc.wantCalls)
			}
			if count(f, "POST ")+count(f, "PUT ") > 0 && !f.ReadOnly() {
				t.Errorf("wrote anyway: %v", f.Log())
			}
		})
	}
}

func TestUpsertNoteOtherErrorsAreNotCannotWrite(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.Fail("GET notes", cifake.Failure{Status: 500}, cifake.Failure{Status: 500}, cifake.Failure{Status: 500}, cifake.Failure{Status: 500})
	_, err := fakeClient(f, fakeEnv(f), nil).UpsertNote(context.Background(), failBody)
	if err == nil || errors.Is(err, ErrCannotWrite) || !strings.Contains(err.Error(), "500 Internal Server Error") {
		t.Fatalf("err = %v", err)
	}
	if n := count(f, "GET "); n != DefaultRetries+1 {
		t.Errorf("%d attempts, want %d", n, DefaultRetries+1)
	}
}

func TestUpsertNoteRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(f *cifake.GitLab)
		want     Action
		requests []string // methods of the requests, in order
	}{
		{"502 then 200 on the list", func(f *cifake.GitLab) {
			f.Fail("GET notes", cifake.Failure{Status: 502})
		}, Created, []string{"GET", "GET", "POST"}},
		{"429 with Retry-After 0", func(f *cifake.GitLab) {
			f.Fail("GET notes", cifake.Failure{Status: 429, RetryAfter: "0"})
		}, Created, []string{"GET", "GET", "POST"}},
		{"503 on the edit", func(f *cifake.GitLab) {
			f.AddNote(failBody, false)
			f.Fail("PUT note", cifake.Failure{Status: 503}, cifake.Failure{Status: 504})
		}, Updated, []string{"GET", "PUT", "PUT", "PUT"}},
		{"502 on a create that never happened", func(f *cifake.GitLab) {
			f.Fail("POST notes", cifake.Failure{Status: 502})
		}, Created, []string{"GET", "POST", "GET", "POST"}},
		{"a create whose answer was lost", func(f *cifake.GitLab) {
			f.LoseCreates(1)
		}, Created, []string{"GET", "POST", "GET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			tc.setup(f)
			var logs []string
			res, err := fakeClient(f, fakeEnv(f), &logs).UpsertNote(context.Background(), passBody)
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != tc.want {
				t.Errorf("action %s, want %s", res.Action, tc.want)
			}
			var methods []string
			for _, r := range f.Log() {
				methods = append(methods, strings.Fields(r)[0])
			}
			if !slices.Equal(methods, tc.requests) {
				t.Errorf("requests %v, want %v", f.Log(), tc.requests)
			}
			if sg := f.MarkedNotes(); len(sg) != 1 || sg[0].Body != passBody {
				t.Errorf("specgate notes: %+v", sg)
			}
			if len(logs) == 0 || !strings.Contains(logs[0], "retry 1 of 3") {
				t.Errorf("retry not logged: %q", logs)
			}
		})
	}
}

func TestRetryAfterOverMaxDelayIsNotWaited(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.Fail("GET notes", cifake.Failure{Status: 429, RetryAfter: "3600"})
	var logs []string
	start := time.Now()
	_, err := fakeClient(f, fakeEnv(f), &logs).UpsertNote(context.Background(), failBody)
	if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waited %s", d)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "not retrying") {
		t.Errorf("logs %q", logs)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.Fail("GET notes", cifake.Failure{Status: 429, RetryAfter: "1"})
	c := fakeClient(f, fakeEnv(f), nil)
	c.MaxDelay = 5 * time.Second
	start := time.Now()
	if _, err := c.UpsertNote(context.Background(), failBody); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %s, before the second Retry-After asked for", d)
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.Fail("GET notes", cifake.Failure{Status: 503})
	c := fakeClient(f, fakeEnv(f), nil)
	c.BaseDelay, c.MaxDelay = 30*time.Second, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.UpsertNote(ctx, failBody)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %s", d)
	}
}

func TestUpsertNoteTrimsLongBodies(t *testing.T) {
	f := cifake.NewGitLab(t)
	var b strings.Builder
	b.WriteString(render.Marker + "\n**specgate: FAIL**\n\n<details><summary>Details</summary>\n\n")
	line := strings.Repeat("é", 99) + "\n" // two bytes, one character each
	for b.Len() < 2*MaxNoteChars+4000 {
		b.WriteString(line)
	}
	body := b.String()
	res, err := fakeClient(f, fakeEnv(f), nil).UpsertNote(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	sg := f.MarkedNotes()
	if !res.Trimmed || len(sg) != 1 {
		t.Fatalf("%+v, %d notes", res, len(sg))
	}
	got := sg[0].Body
	if n := utf8.RuneCountInString(got); n > MaxNoteChars || n < MaxNoteChars-2000 {
		t.Errorf("trimmed to %d characters", n)
	}
	if !strings.HasPrefix(got, render.Marker+"\n") || !strings.HasSuffix(got, trimmedNote) || !strings.Contains(got, "</details>") {
		t.Errorf("trimmed body starts %q, ends %q", got[:60], got[len(got)-200:])
	}
	if !utf8.ValidString(got) || !strings.Contains(got, "\n"+strings.Repeat("é", 99)+"\n</details>") {
		t.Errorf("not cut at a line's end")
	}
	short, trimmed := prepareBody(passBody)
	if trimmed || short != passBody {
		t.Errorf("prepareBody(short) = %q, %v", short, trimmed)
	}
}

func TestNextLink(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{`<https://g.example/api/v4/x?page=2>; rel="next", <https://g.example/api/v4/x?page=1>; rel="first"`}, "https://g.example/api/v4/x?page=2"},
		{[]string{`<https://g.example/a?page=1>; rel="prev"`, `<https://g.example/a?page=3>; rel="next"`}, "https://g.example/a?page=3"},
		{[]string{`<https://g.example/a?cursor=x,y>; rel="first", <https://g.example/a?cursor=z>; rel=next`}, "https://g.example/a?cursor=z"},
		{[]string{`<https://g.example/a>; rel="prev next"`}, "https://g.example/a"},
		{[]string{`<https://g.example/a?page=9>; rel="last"`}, ""},
		{[]string{`garbage`, `<unterminated; rel="next"`}, ""},
		{nil, ""},
	} {
		if got := nextLink(tc.in); got != tc.want {
			t.Errorf("nextLink(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNextLinkOffOriginIsRefused(t *testing.T) {
	f := cifake.NewGitLab(t)
	other := cifake.NewGitLab(t)
	for range 101 {
		f.AddNote("x", false)
	}
	f.SetLinkOnly(true)
	// The fake's links name the host it was asked at; rewrite them.
	c := fakeClient(f, fakeEnv(f), nil)
	c.hc.Transport = rewriteLink{base: c.hc.Transport, from: f.URL(), to: other.URL()}
	_, err := c.UpsertNote(context.Background(), passBody)
	if err == nil || !strings.Contains(err.Error(), "refusing a next-page link") {
		t.Fatalf("err = %v", err)
	}
	if len(other.Log()) != 0 {
		t.Errorf("the other host was called: %v", other.Log())
	}
}

// rewriteLink rewrites the Link headers of answers, from one origin to
// another.
type rewriteLink struct {
	base     http.RoundTripper
	from, to string
}

func (r rewriteLink) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err == nil {
		if l := resp.Header.Get("Link"); l != "" {
			resp.Header.Set("Link", strings.ReplaceAll(l, r.from, r.to))
		}
	}
	return resp, err
}
