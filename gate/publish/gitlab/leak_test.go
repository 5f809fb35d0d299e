package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/specgate/specgate/internal/cifake"
	"github.com/specgate/specgate/internal/secrettest"
)

// TestNoTokenInAnyOutput plants distinctive tokens, runs every path that
// ends in an error, a log line or a result — with a server that repeats
// the token it got in its error messages — and looks for any piece of the
// tokens in all of it.
func TestNoTokenInAnyOutput(t *testing.T) {
	g := secrettest.New(20260515)
	token := "glpat-" + g.Str(secrettest.B64URL, 20)
	jobToken := "glcbt-64_" + g.Str(secrettest.B64URL, 30)
	wrong := "glpat-" + g.Str(secrettest.B64URL, 20)
	wrongJob := "glcbt-64_" + g.Str(secrettest.B64URL, 30)

	var out strings.Builder
	record := func(vs ...any) {
		for _, v := range vs {
			fmt.Fprintf(&out, "%v\n%+v\n%#v\n", v, v, v)
		}
	}
	ctx := context.Background()
	newFake := func() *cifake.GitLab {
		f := cifake.NewGitLab(t)
		f.SetTokens(token, jobToken)
		f.EchoToken(true)
		f.SetArtifact("main", "api-gate", baselineZip(t))
		return f
	}
	scenarios := []struct {
		name string
		run  func(f *cifake.GitLab, env Env, logs *[]string)
	}{
		{"wrong token, echoed", func(f *cifake.GitLab, env Env, logs *[]string) {
			env.Token = wrong
			r, err := fakeClient(f, env, logs).UpsertNote(ctx, failBody)
			record(r, err)
		}},
		{"wrong job token, echoed", func(f *cifake.GitLab, env Env, logs *[]string) {
			env.Token, env.JobToken = "", wrongJob
			s, err := fakeClient(f, env, logs).DownloadBaseline(ctx, "api-gate", "main", t.TempDir())
			record(s, err)
		}},
		{"job token on notes", func(f *cifake.GitLab, env Env, logs *[]string) {
			env.Token = ""
			r, err := fakeClient(f, env, logs).UpsertNote(ctx, failBody)
			record(r, err)
		}},
		{"read-only token", func(f *cifake.GitLab, env Env, logs *[]string) {
			f.SetReadOnly(true)
			r, err := fakeClient(f, env, logs).UpsertNote(ctx, failBody)
			record(r, err)
		}},
		{"retries", func(f *cifake.GitLab, env Env, logs *[]string) {
			f.Fail("GET notes", cifake.Failure{Status: 502}, cifake.Failure{Status: 429, RetryAfter: "3600"})
			r, err := fakeClient(f, env, logs).UpsertNote(ctx, failBody)
			record(r, err)
			f.Fail("GET artifacts", cifake.Failure{Status: 503}, cifake.Failure{Status: 503}, cifake.Failure{Status: 503}, cifake.Failure{Status: 503})
			s, err := fakeClient(f, env, logs).DownloadBaseline(ctx, "api-gate", "main", t.TempDir())
			record(s, err)
		}},
		{"no connection", func(f *cifake.GitLab, env Env, logs *[]string) {
			env.APIURL = "http://127.0.0.1:1/api/v4"
			r, err := fakeClient(f, env, logs).UpsertNote(ctx, failBody)
			record(r, err)
			s, err := fakeClient(f, env, logs).DownloadBaseline(ctx, "api-gate", "main", t.TempDir())
			record(s, err)
		}},
		{"successes and misses", func(f *cifake.GitLab, env Env, logs *[]string) {
			c := fakeClient(f, env, logs)
			r, err := c.UpsertNote(ctx, failBody)
			record(r, err)
			r, err = c.UpsertNote(ctx, passBody)
			record(r, err)
			s, err := c.DownloadBaseline(ctx, "api-gate", "main", t.TempDir())
			record(s, err)
			s, err = c.DownloadBaseline(ctx, "api-gate", "develop", t.TempDir())
			record(s, err)
			f.SetArtifact("main", "api-gate", cifake.Zip(t, cifake.ZipEntry{Name: "../evil.yaml"}))
			s, err = c.DownloadBaseline(ctx, "api-gate", "main", t.TempDir())
			record(s, err)
		}},
	}
	for _, sc := range scenarios {
		f := newFake()
		env := fakeEnv(f)
		var logs []string
		sc.run(f, env, &logs)
		record(env, logs)
		j, _ := json.Marshal(env)
		out.Write(j)
	}
	text := out.String()
	idx := secrettest.NewIndex([]byte(text))
	for _, tok := range []string{token, jobToken, wrong, wrongJob} {
		if spelling, piece, ok := idx.Leak(tok); ok {
			t.Errorf("token leaked (%s, %q) in:\n%s", spelling, piece, text)
		}
	}
	for _, want := range []string{"401 Unauthorized", "403 Forbidden", "retry 1 of 3", "connection refused", "REDACTED"} {
		if !strings.Contains(text, want) {
			t.Errorf("the scenarios did not reach %q", want)
		}
	}
}
