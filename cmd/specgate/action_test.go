package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/actionrun"
	"github.com/specgate/specgate/internal/cifake"
)

// TestActionOnDemo runs the GitHub Action (action.yml) the way a runner
// runs its steps, end to end on the demo system: the action builds
// specgate from this source, downloads the default branch's baseline
// from an artifact of the fake GitHub, captures the integration tests of
// v2 and comments the rename on the pull request.
func TestActionOnDemo(t *testing.T) {
	d := newDemo(t)
	base := d.baseline() // what the default branch's run recorded
	gh := cifake.NewGitHub(t)
	if n := baselineArtifact(t, gh, base, 9100); n != 2 {
		t.Fatalf("baseline: %d documents, want 2", n)
	}

	d.start("v2")
	env, event := pullRequestRun(gh, 7, 9300)
	client := fmt.Sprintf("%s -version v2 -todo http://127.0.0.1:%d -stats http://127.0.0.1:%d",
		filepath.Join(d.bin, "client"), d.todoPort, d.statsPort)
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := actionrun.Run(ctx, filepath.Join("..", ".."), actionrun.Options{
		// Only the demo's ports: other tests' loopback traffic (TLS to
		// fake APIs) may run at the same time.
		Inputs: map[string]string{"command": client, "baseline": "artifact:specgate-baseline", "interfaces": "lo",
			"filter": fmt.Sprintf("tcp port %d or tcp port %d", d.todoPort, d.statsPort)},
		Env: env, Event: event, Token: cifake.GitHubToken, Log: &log,
		Stubs: map[string]func(actionrun.Step) error{
			"actions/upload-artifact@v4": func(actionrun.Step) error { return fmt.Errorf("a pull request must not upload a baseline") },
		},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.Bytes())
	}
	if !res.Failed || res.Outputs["verdict"] != "fail" || res.Outputs["breaking-count"] != "1" {
		t.Fatalf("failed %v, outputs %v\n%s", res.Failed, res.Outputs, log.Bytes())
	}
	if !strings.Contains(log.String(), "specgate: baseline: artifact specgate-baseline of run 9100 on main") {
		t.Errorf("the log does not say which baseline was used:\n%s", log.Bytes())
	}
	var ours []cifake.Comment
	for _, c := range gh.Comments(7) {
		if strings.HasPrefix(c.Body, render.Marker) {
			ours = append(ours, c)
		}
	}
	if len(ours) != 1 {
		t.Fatalf("%d report comments, want 1", len(ours))
	}
	// The services' ports, and the counts the fresh test data gives,
	// change from run to run; the rest of the comment does not.
	body := strings.NewReplacer(fmt.Sprintf("127.0.0.1:%d", d.todoPort), "TODO", fmt.Sprintf("127.0.0.1:%d", d.statsPort), "STATS").Replace(ours[0].Body)
	for _, r := range []struct{ re, with string }{
		{`127\.0\.0\.1:\d+`, "127.0.0.1:PORT"}, // Redis
		{`\d+ (responses|exchanges|connections?|bytes)`, "N $1"},
		{`had it in \d+ of \d+`, "had it in N of N"},
	} {
		body = regexp.MustCompile(r.re).ReplaceAllString(body, r.with)
	}
	checkGolden(t, "action-comment.md", body)
	if !strings.Contains(res.Summary, "descripton") {
		t.Errorf("the job summary lacks the report:\n%s", res.Summary)
	}
	for what, s := range map[string]string{"log": log.String(), "summary": res.Summary, "comment": ours[0].Body} {
		if strings.Contains(s, cifake.GitHubToken) {
			t.Errorf("the token is in the %s", what)
		}
	}
}

// baselineArtifact stores the documents in dir, as the default branch's
// run recorded them, as the artifact specgate-baseline of the successful
// push run runID on main of the fake GitHub; it returns how many.
func baselineArtifact(t *testing.T, gh *cifake.GitHub, dir string, runID int64) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []cifake.ZipEntry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, cifake.ZipEntry{Name: filepath.Base(f), Body: string(b)})
	}
	sha := fmt.Sprintf("c0ffee%034d", runID)
	gh.AddRun(cifake.Run{ID: runID, Branch: "main", SHA: sha, Event: "push", Conclusion: "success"})
	gh.AddArtifact(cifake.Artifact{ID: runID + 100, Name: "specgate-baseline", Created: time.Now().Add(-time.Hour),
		Run: runID, Branch: "main", SHA: sha, Zip: cifake.Zip(t, entries...)})
	return len(files)
}

// pullRequestRun gives what a runner gives the action in run runID for
// pull request number (fix-typo into main) of the fake GitHub: the
// environment, without the token, and the event.
func pullRequestRun(gh *cifake.GitHub, number int, runID int64) (map[string]string, map[string]any) {
	env := map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF_NAME": fmt.Sprintf("%d/merge", number),
		"GITHUB_REF": fmt.Sprintf("refs/pull/%d/merge", number), "GITHUB_SHA": fmt.Sprintf("%040d", runID), "GITHUB_RUN_ID": fmt.Sprint(runID)}
	for _, kv := range gh.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if k != "GITHUB_TOKEN" {
			env[k] = v
		}
	}
	repo := cifake.GitHubOwner + "/" + cifake.GitHubRepo
	event := map[string]any{"number": number, "pull_request": map[string]any{"number": number,
		"base": map[string]any{"ref": "main", "repo": map[string]any{"full_name": repo}},
		"head": map[string]any{"ref": "fix-typo", "repo": map[string]any{"full_name": repo, "fork": false}}},
		"repository": map[string]any{"default_branch": "main"}}
	return env, event
}
