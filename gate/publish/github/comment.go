package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v81/github"

	"github.com/specgate/specgate/gate/render"
)

// MaxCommentLen is the longest comment body GitHub accepts, in
// characters. UpsertComment counts UTF-8 bytes, which are never fewer.
const MaxCommentLen = 65536

// maxCommentPages bounds the listing of a pull request's comments.
const maxCommentPages = 100

// Action is what UpsertComment did.
type Action string

// The actions of UpsertComment.
const (
	// Created: no comment of ours had the marker; one was posted.
	Created Action = "created"
	// Updated: our marker comment was edited to the new body.
	Updated Action = "updated"
	// Unchanged: our marker comment already had the body.
	Unchanged Action = "unchanged"
)

// Result tells what UpsertComment did, and where the comment is.
type Result struct {
	Action Action
	// ID and URL are the comment's id and its address on the web.
	ID  int64
	URL string
	// Trimmed is true when the body was cut to MaxCommentLen.
	Trimmed bool
}

// UpsertComment keeps one report comment on pull request pr: it edits
// the comment that starts with render.Marker and was written by the
// token's user, or posts one when there is none. body is the whole
// markdown report; it gets the marker when it lacks it, and is trimmed
// with a note past MaxCommentLen.
//
// The token's user is the login GET /user gives. A job's GITHUB_TOKEN (an
// app's installation token) may not read /user; the comment's author is
// then an app's bot, github-actions[bot] for GITHUB_TOKEN, and any marker
// comment written by a bot counts as ours: a person's never does. With
// several, the oldest is kept. (A token that can read /user finds only
// its own comments: one written before by github-actions[bot] is left as
// it is.) A POST retried after a 5xx may leave a second comment when
// GitHub did make the first; the next run edits the oldest.
//
// A 403 or 404 (a token that may not write, as on a fork's pull request)
// gives an error that wraps ErrCannotWrite.
func (c *Client) UpsertComment(ctx context.Context, pr int, body string) (Result, error) {
	if pr <= 0 {
		return Result{}, fmt.Errorf("github: comment: pull request number %d", pr)
	}
	if !strings.HasPrefix(body, render.Marker) {
		body = render.Marker + "\n" + body
	}
	body, trimmed := fitMarkdown(body, MaxCommentLen,
		"**This report was trimmed to fit a GitHub comment.** The whole report is in the job summary of the workflow run.")
	login, err := c.login(ctx)
	if err != nil {
		return Result{}, err
	}
	found, err := c.findComment(ctx, pr, login)
	if err != nil {
		return Result{}, err
	}
	ctx = allowRetry(ctx)
	if found != nil {
		res := Result{Action: Unchanged, ID: found.GetID(), URL: found.GetHTMLURL(), Trimmed: trimmed}
		if found.GetBody() == body {
			return res, nil
		}
		edited, resp, err := c.api.Issues.EditComment(ctx, c.owner, c.repo, found.GetID(), &gh.IssueComment{Body: gh.Ptr(body)})
		if err != nil {
			return Result{}, c.apiError(ctx, fmt.Sprintf("edit comment %d on pull request %d", found.GetID(), pr), resp, err, cannotWrite)
		}
		res.Action = Updated
		if u := edited.GetHTMLURL(); u != "" {
			res.URL = u
		}
		return res, nil
	}
	made, resp, err := c.api.Issues.CreateComment(ctx, c.owner, c.repo, pr, &gh.IssueComment{Body: gh.Ptr(body)})
	if err != nil {
		return Result{}, c.apiError(ctx, fmt.Sprintf("comment on pull request %d", pr), resp, err, cannotWrite)
	}
	return Result{Action: Created, ID: made.GetID(), URL: made.GetHTMLURL(), Trimmed: trimmed}, nil
}

// cannotWrite classifies a comment call's 403 and 404.
func cannotWrite(status int) error {
	if status == http.StatusForbidden || status == http.StatusNotFound {
		return ErrCannotWrite
	}
	return nil
}

// login is the token's user, or "" when the token may not read /user
// (an app's installation token).
func (c *Client) login(ctx context.Context) (string, error) {
	u, resp, err := c.api.Users.Get(ctx, "")
	if err == nil {
		return u.GetLogin(), nil
	}
	err = c.apiError(ctx, "read the token's user", resp, err, nil)
	if resp != nil && resp.Response != nil && ctx.Err() == nil {
		switch resp.StatusCode {
		case http.StatusForbidden, http.StatusNotFound:
			if !errors.Is(err, ErrRateLimited) {
				return "", nil
			}
		}
	}
	return "", err
}

// findComment walks the pull request's comments, oldest first, for the
// first one that starts with the marker and is ours (see UpsertComment).
func (c *Client) findComment(ctx context.Context, pr int, login string) (*gh.IssueComment, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for pages := 0; pages < maxCommentPages; pages++ {
		list, resp, err := c.api.Issues.ListComments(ctx, c.owner, c.repo, pr, opts)
		if err != nil {
			return nil, c.apiError(ctx, fmt.Sprintf("list comments of pull request %d", pr), resp, err, cannotWrite)
		}
		for _, cm := range list {
			if ours(cm, login) {
				return cm, nil
			}
		}
		if resp.NextPage == 0 || resp.NextPage <= opts.Page {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

// ours tells whether a comment is the report written by login (or by a
// bot, when login is "").
func ours(cm *gh.IssueComment, login string) bool {
	if !strings.HasPrefix(strings.TrimLeft(cm.GetBody(), " \t\r\n\ufeff"), render.Marker) {
		return false
	}
	u := cm.GetUser()
	if login != "" {
		return strings.EqualFold(u.GetLogin(), login)
	}
	return u.GetType() == "Bot"
}

// fitMarkdown cuts markdown to at most limit bytes, on a line end where it
// can, closes the code fence and <details> elements the cut left open,
// and ends it with note. It says whether it cut.
func fitMarkdown(md string, limit int, note string) (string, bool) {
	if len(md) <= limit {
		return md, false
	}
	tail := "\n\n---\n" + note + "\n"
	budget := limit - len(tail)
	for budget > 0 {
		cut := md[:budget]
		for len(cut) > 0 && !utf8.RuneStart(md[len(cut)]) {
			cut = cut[:len(cut)-1]
		}
		if i := strings.LastIndexByte(cut, '\n'); i > len(cut)/2 {
			cut = cut[:i]
		}
		out := cut + closers(cut) + tail
		if len(out) <= limit {
			return out, true
		}
		budget -= len(out) - limit
	}
	if len(tail) > limit {
		return "", true
	}
	return tail, true
}

// closers gives what closes the code fence and <details> elements that
// are open at the end of md.
func closers(md string) string {
	var b strings.Builder
	fenced := false
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " "), "```") {
			fenced = !fenced
		}
	}
	if fenced {
		b.WriteString("\n```")
	}
	open := strings.Count(md, "<details>") + strings.Count(md, "<details ") - strings.Count(md, "</details>")
	for range max(open, 0) {
		b.WriteString("\n</details>")
	}
	return b.String()
}
