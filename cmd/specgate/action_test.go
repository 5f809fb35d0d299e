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
	files, err := filepath.Glob(filepath.Join(base, "*.yaml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("baseline: %v %v", files, err)
	}
	var entries []cifake.ZipEntry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, cifake.ZipEntry{Name: filepath.Base(f), Body: string(b)})
	}
	gh := cifake.NewGitHub(t)
	const sha = "c0ffee0000000000000000000000000000000001"
	gh.AddRun(cifake.Run{ID: 9100, Branch: "main", SHA: sha, Event: "push", Conclusion: "success"})
	gh.AddArtifact(cifake.Artifact{ID: 9200, Name: "specgate-baseline", Created: time.Now().Add(-time.Hour),
		Run: 9100, Branch: "main", SHA: sha, Zip: cifake.Zip(t, entries...)})

	d.start("v2")
	env := map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF_NAME": "7/merge", "GITHUB_REF": "refs/pull/7/merge",
		"GITHUB_SHA": "1111111111111111111111111111111111111111", "GITHUB_RUN_ID": "9300"}
	for _, kv := range gh.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if k != "GITHUB_TOKEN" {
			env[k] = v
		}
	}
	event := map[string]any{"number": 7, "pull_request": map[string]any{"number": 7,
		"base": map[string]any{"ref": "main", "repo": map[string]any{"full_name": cifake.GitHubOwner + "/" + cifake.GitHubRepo}},
		"head": map[string]any{"ref": "fix-typo", "repo": map[string]any{"full_name": cifake.GitHubOwner + "/" + cifake.GitHubRepo, "fork": false}}},
		"repository": map[string]any{"default_branch": "main"}}
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
