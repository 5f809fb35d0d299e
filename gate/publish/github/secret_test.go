package github

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/cifake"
)

// TestNoTokenAnywhere plants the token where a careless path would print
// it (the server echoes the Authorization header in its error messages)
// and searches every error, log line, result, comment and file.
func TestNoTokenAnywhere(t *testing.T) {
	var outputs []string
	note := func(what string, v any) { outputs = append(outputs, fmt.Sprintf("%s: %+v", what, v)) }
	ctx := context.Background()

	f := cifake.NewGitHub(t)
	f.EchoToken(true)
	var logs []string
	c := fakeClient(t, f)
	c.Logf = func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	note("client", c)
	note("client %#v", fmt.Sprintf("%#v", c))
	note("env", fakeEnv(f))

	// Retries logged, then a comment written.
	f.Inject("POST /repos/octo-org/app/issues/1/comments",
		cifake.Fault{Status: 502, Body: `{"message":"bad gateway ` + testToken + `"}`})
	res, err := c.UpsertComment(ctx, 1, render.Marker+"\nreport")
	note("result", res)
	note("error", err)
	for _, cm := range f.Comments(1) {
		note("comment", cm.Body)
	}

	// A token that may not write: the 403's message holds the token.
	f.DenyWrites(http.StatusForbidden)
	_, err = c.UpsertComment(ctx, 2, render.Marker+"\nreport")
	if err == nil {
		t.Fatal("no error from a 403")
	}
	if !strings.Contains(err.Error(), "[token]") {
		t.Errorf("the echoed token was not replaced: %v", err)
	}
	note("403", err)

	// An API failure that is kept to the end, and the artifact paths.
	f.Inject("GET /repos/octo-org/app/actions/artifacts", cifake.Fault{Status: 500, Body: `{"message":"` + testToken + `"}`},
		cifake.Fault{Status: 500, Body: `{"message":"` + testToken + `"}`}, cifake.Fault{Status: 500, Body: `{"message":"` + testToken + `"}`},
		cifake.Fault{Status: 500, Body: `{"message":"` + testToken + `"}`})
	_, err = c.DownloadBaseline(ctx, "specgate-baseline", "main", t.TempDir())
	note("artifacts 500", err)
	_, err = c.DownloadBaseline(ctx, "specgate-baseline", "main", t.TempDir())
	note("no baseline", err)

	// A wrong token: the 401 echoes the header.
	env := fakeEnv(f)
	env.Token = testToken + "-wrong"
	wrong, err := newClient(ctx, env, nil, fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.UpsertComment(ctx, 1, "x")
	note("401", err)

	// A server that is gone.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	env = fakeEnv(f)
	env.APIURL = dead.URL + "/"
	gone, err := newClient(ctx, env, nil, fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	gone.Logf = c.Logf
	_, err = gone.UpsertComment(ctx, 1, "x")
	note("refused", err)

	// Outputs and summary hold what the caller gave, nothing more.
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "out"), filepath.Join(dir, "sum")
	if err := SetOutputs(out, map[string]string{"comment-url": res.URL, "verdict": "fail"}); err != nil {
		t.Fatal(err)
	}
	if err := AppendSummary(sum, render.Marker+"\nreport"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{out, sum} {
		b, _ := os.ReadFile(p)
		note(p, string(b))
	}
	note("logs", logs)
	if len(logs) == 0 {
		t.Error("no retry was logged")
	}
	for _, o := range outputs {
		if strings.Contains(o, testToken) || strings.Contains(o, testToken[len(testToken)/2:]) {
			t.Errorf("the token leaked in %s", o)
		}
	}
	for _, r := range f.Requests("") {
		if strings.Contains(r.Path+r.Query+r.Body, testToken) {
			t.Errorf("the token was sent in %s %s", r.Method, r.Path)
		}
	}
}
