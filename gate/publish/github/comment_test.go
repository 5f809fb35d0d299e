package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/cifake"
)

// markdown renders a report the way specgate check does: a failing one
// with n breaking renames, or a passing one when n is 0.
func markdown(t *testing.T, n int, o render.Options) string {
	t.Helper()
	r := &gate.Report{SchemaVersion: gate.SchemaVersion, Verdict: gate.Pass, Summary: "no breaking changes",
		Services: []gate.Service{{Name: "todo", Baseline: "artifact specgate-baseline", Verdict: gate.Pass}},
		Coverage: []gate.Coverage{{Service: "todo", Operations: 3, Exercised: 3}},
		Capture:  &gate.Health{Exchanges: 120}}
	for i := range n {
		r.Changes = append(r.Changes, gate.Change{
			ID: "response-property-renamed", Level: gate.LevelError, Breaking: true, Kind: gate.KindRenamed,
			Service: "todo", Operation: fmt.Sprintf("GET /todos/{id}/items%d", i), Location: "response 200 body",
			From: fmt.Sprintf("description%d", i), To: fmt.Sprintf("descripton%d", i), Message: "renamed description to descripton",
			Fingerprint: fmt.Sprintf("fp%06d", i), Callers: []string{"stats"},
		})
	}
	if n > 0 {
		r.Verdict, r.Breaking, r.Summary = gate.Fail, n, fmt.Sprintf("%d breaking changes", n)
		r.Services[0].Verdict, r.Services[0].Breaking = gate.Fail, n
	}
	var b bytes.Buffer
	if err := render.Markdown(&b, r, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestUpsertCommentLifecycle(t *testing.T) {
	f := cifake.NewGitHub(t)
	f.AddComment(7, cifake.Alice, "LGTM, but the gate is red")
	f.AddComment(7, cifake.Alice, render.Marker+"\npasted by a person: not ours")
	f.AddComment(8, cifake.Octocat, render.Marker+"\nanother pull request's report")
	c := fakeClient(t, f)
	ctx := context.Background()

	fail1 := markdown(t, 1, render.Options{})
	res, err := c.UpsertComment(ctx, 7, fail1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Created || res.ID == 0 || res.Trimmed {
		t.Fatalf("first run: %+v, want a created comment", res)
	}
	if want := fmt.Sprintf("https://github.example/octo-org/app/pull/7#issuecomment-%d", res.ID); res.URL != want {
		t.Errorf("URL = %q, want %q", res.URL, want)
	}
	cs := f.Comments(7)
	if len(cs) != 3 || cs[2].Body != fail1 || cs[2].User.Login != cifake.Octocat {
		t.Fatalf("after the first run the pull request has %d comments, last %+v", len(cs), cs[len(cs)-1])
	}

	// The second run, with two renames now, edits the same comment.
	fail2 := markdown(t, 2, render.Options{})
	res2, err := c.UpsertComment(ctx, 7, fail2)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Action != Updated || res2.ID != res.ID || res2.URL != res.URL {
		t.Fatalf("second run: %+v, want comment %d updated", res2, res.ID)
	}
	cs = f.Comments(7)
	if len(cs) != 3 || cs[2].Body != fail2 {
		t.Fatalf("after the second run: %d comments, last body %q", len(cs), cs[len(cs)-1].Body)
	}

	// The same report again changes nothing.
	res3, err := c.UpsertComment(ctx, 7, fail2)
	if err != nil || res3.Action != Unchanged || res3.ID != res.ID {
		t.Fatalf("third run: %+v, %v; want unchanged", res3, err)
	}

	// The fix: the short pass body replaces the report.
	pass := markdown(t, 0, render.Options{})
	res4, err := c.UpsertComment(ctx, 7, pass)
	if err != nil || res4.Action != Updated {
		t.Fatalf("fixed run: %+v, %v", res4, err)
	}
	cs = f.Comments(7)
	if len(cs) != 3 || cs[2].Body != pass || !strings.Contains(pass, "**specgate: PASS**") {
		t.Fatalf("after the fix: %d comments, last body %q", len(cs), cs[2].Body)
	}
	if got := f.Comments(8); got[0].Body != render.Marker+"\nanother pull request's report" {
		t.Error("another pull request's comment changed")
	}

	if n := len(f.Requests("POST ")); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if n := len(f.Requests("PATCH /repos/octo-org/app/issues/comments/")); n != 2 {
		t.Errorf("%d PATCHes, want 2", n)
	}
	for _, r := range f.Requests("") {
		if r.Auth != "Bearer "+testToken {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Auth)
		}
	}
	for _, r := range f.Requests("GET /repos/octo-org/app/issues/7/comments") {
		if !strings.Contains(r.Query, "per_page=100") {
			t.Errorf("listing without per_page=100: %q", r.Query)
		}
	}
}

func TestUpsertCommentBodyWithoutMarker(t *testing.T) {
	f := cifake.NewGitHub(t)
	c := fakeClient(t, f)
	ctx := context.Background()
	if _, err := c.UpsertComment(ctx, 3, "plain words"); err != nil {
		t.Fatal(err)
	}
	res, err := c.UpsertComment(ctx, 3, "other words")
	if err != nil || res.Action != Updated {
		t.Fatalf("%+v, %v; want the marked comment updated", res, err)
	}
	if cs := f.Comments(3); len(cs) != 1 || cs[0].Body != render.Marker+"\nother words" {
		t.Fatalf("comments: %+v", cs)
	}
}

func TestUpsertCommentOnPage3(t *testing.T) {
	f := cifake.NewGitHub(t)
	var target int64
	for i := range 250 {
		switch i {
		case 120:
			f.AddComment(9, cifake.Alice, render.Marker+"\nalice's copy")
		case 230:
			target = f.AddComment(9, cifake.Octocat, render.Marker+"\nold report")
		default:
			f.AddComment(9, cifake.Alice, fmt.Sprintf("comment %d", i))
		}
	}
	c := fakeClient(t, f)
	res, err := c.UpsertComment(context.Background(), 9, render.Marker+"\nnew report")
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Updated || res.ID != target {
		t.Fatalf("%+v, want comment %d updated", res, target)
	}
	lists := f.Requests("GET /repos/octo-org/app/issues/9/comments")
	var pages []string
	for _, r := range lists {
		pages = append(pages, r.Query)
	}
	if len(lists) != 3 || !strings.Contains(pages[1], "page=2") || !strings.Contains(pages[2], "page=3") {
		t.Errorf("listed %q, want pages 1, 2 and 3", pages)
	}
	if n := len(f.Comments(9)); n != 250 || len(f.Requests("POST ")) != 0 {
		t.Errorf("%d comments, %d POSTs: want 250 and none", n, len(f.Requests("POST ")))
	}
}

func TestUpsertCommentInstallationToken(t *testing.T) {
	// GITHUB_TOKEN cannot read /user; its comments are github-actions[bot]'s.
	f := cifake.NewGitHub(t)
	f.SetUser("")
	f.SetWriter(cifake.ActionsBot)
	f.AddComment(4, cifake.Alice, render.Marker+"\na person's paste")
	c := fakeClient(t, f)
	ctx := context.Background()
	res, err := c.UpsertComment(ctx, 4, render.Marker+"\nfirst")
	if err != nil || res.Action != Created {
		t.Fatalf("%+v, %v; want created", res, err)
	}
	res2, err := c.UpsertComment(ctx, 4, render.Marker+"\nsecond")
	if err != nil || res2.Action != Updated || res2.ID != res.ID {
		t.Fatalf("%+v, %v; want comment %d updated", res2, err, res.ID)
	}
	cs := f.Comments(4)
	if len(cs) != 2 || cs[0].Body != render.Marker+"\na person's paste" || cs[1].Body != render.Marker+"\nsecond" || cs[1].User.Login != cifake.ActionsBot {
		t.Fatalf("comments: %+v", cs)
	}
}

func TestUpsertCommentCannotWrite(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *cifake.GitHub)
		want  error
		not   error
	}{
		{"fork token: POST 403", func(f *cifake.GitHub) { f.SetUser(""); f.DenyWrites(http.StatusForbidden) }, ErrCannotWrite, nil},
		{"POST 404", func(f *cifake.GitHub) { f.DenyWrites(http.StatusNotFound) }, ErrCannotWrite, nil},
		{"PATCH 403", func(f *cifake.GitHub) {
			f.AddComment(5, cifake.Octocat, render.Marker+"\nold")
			f.DenyWrites(http.StatusForbidden)
		}, ErrCannotWrite, nil},
		{"listing 404", func(f *cifake.GitHub) {
			f.Inject("GET /repos/octo-org/app/issues/5/comments", cifake.Fault{Status: 404, Body: `{"message":"Not Found"}`})
		}, ErrCannotWrite, nil},
		{"rate limit that resets in an hour", func(f *cifake.GitHub) {
			q := cifake.Fault{Status: 403, Header: map[string]string{
				"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "1000",
				"X-RateLimit-Reset": fmt.Sprint(time.Now().Add(time.Hour).Unix()),
			}, Body: `{"message":"API rate limit exceeded for installation ID 1."}`}
			f.Inject("POST /repos/octo-org/app/issues/5/comments", q)
		}, ErrRateLimited, ErrCannotWrite},
		{"422", func(f *cifake.GitHub) {
			f.Inject("POST /repos/octo-org/app/issues/5/comments", cifake.Fault{Status: 422, Body: `{"message":"Validation Failed"}`})
		}, nil, ErrCannotWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cifake.NewGitHub(t)
			tt.setup(f)
			start := time.Now()
			_, err := fakeClient(t, f).UpsertComment(context.Background(), 5, render.Marker+"\nreport")
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("%v: not %v", err, tt.want)
			}
			if tt.not != nil && errors.Is(err, tt.not) {
				t.Errorf("%v: is %v", err, tt.not)
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "github: ") {
				t.Errorf("error %q is not one line starting github:", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestUpsertCommentTrimsLongReport(t *testing.T) {
	// render.Markdown keeps itself under the limit; a caller's own body
	// (the report and extra sections) may not be.
	f := cifake.NewGitHub(t)
	var b strings.Builder
	b.WriteString(markdown(t, 3, render.Options{}))
	b.WriteString("<details><summary>Every operation</summary>\n\n| operation | calls |\n| --- | --- |\n")
	for i := range 4000 {
		fmt.Fprintf(&b, "| <code>GET /todos/{id}/items%d</code> | %d |\n", i, i)
	}
	b.WriteString("\n</details>\n")
	long := b.String()
	res, err := fakeClient(t, f).UpsertComment(context.Background(), 2, long)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Trimmed {
		t.Error("not marked trimmed")
	}
	got := f.Comments(2)[0].Body
	if len(got) > MaxCommentLen || len(got) < MaxCommentLen-200 || !strings.HasPrefix(got, render.Marker+"\n") || !strings.Contains(got, "trimmed to fit a GitHub comment") {
		t.Errorf("body of %d bytes, starts %q", len(got), got[:40])
	}
	if o, cl := strings.Count(got, "<details>"), strings.Count(got, "</details>"); o != cl {
		t.Errorf("%d <details> and %d </details>", o, cl)
	}
	if !strings.HasPrefix(long, got[:len(got)/2]) {
		t.Error("the trimmed body is not the report's beginning")
	}
}

func TestFitMarkdown(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		want     string
		cut      bool
	}{
		{"fits", "short", 10, "short", false},
		{"line end", "aaaa\nbbbb\ncccc\ndddd\n", 18, "aaaa\nbbbb\n\n---\nN\n", true},
		{"rune boundary", "ééééééééé", 13, "éé\n\n---\nN\n", true},
		{"closes details", "<details>\nxxxxxxxxxxxxxxxx\nyyyyyyyyyyyyyyyy\nzzzz", 45, "<details>\nxxxxxxxxxxxxxxxx\n</details>\n\n---\nN\n", true},
		{"closes fence", "```\ncode\nmore code here\n", 20, "```\ncode\n```\n\n---\nN\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := fitMarkdown(tt.in, tt.limit, "N")
			if got != tt.want || cut != tt.cut {
				t.Errorf("fitMarkdown(%q, %d) = %q, %t; want %q, %t", tt.in, tt.limit, got, cut, tt.want, tt.cut)
			}
			if len(got) > tt.limit {
				t.Errorf("%d bytes, over %d", len(got), tt.limit)
			}
		})
	}
}
