package github

import (
	"context"
	"strings"
	"testing"

	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/cifake"
)

func TestEnterpriseServer(t *testing.T) {
	for _, apiURL := range []string{"https://ghe.example/api/v3/", "https://ghe.example/api/v3"} {
		t.Run(apiURL, func(t *testing.T) {
			f := cifake.NewGitHub(t, cifake.EnterprisePrefix("/api/v3"), cifake.WithTLS())
			f.AddComment(11, cifake.Octocat, render.Marker+"\nold report")
			f.AddRun(cifake.Run{ID: 1, Branch: "main", SHA: "abc", Event: "push", Conclusion: "success"})
			f.AddArtifact(cifake.Artifact{ID: 1, Name: "specgate-baseline", Run: 1, Branch: "main", SHA: "abc", Created: day,
				Zip: cifake.Zip(t, cifake.ZipEntry{Name: "todo.yaml", Body: todoSpec})})
			env, err := EnvFrom(envMap{
				"GITHUB_API_URL":    apiURL,
				"GITHUB_REPOSITORY": "octo-org/app",
				"GITHUB_TOKEN":      testToken,
			}.get)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewClient(context.Background(), env, f.RedirectTo("ghe.example"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.UpsertComment(context.Background(), 11, render.Marker+"\nnew report")
			if err != nil || res.Action != Updated {
				t.Fatalf("%+v, %v", res, err)
			}
			src, err := c.DownloadBaseline(context.Background(), "specgate-baseline", "main", t.TempDir())
			if err != nil || src.ArtifactID != 1 || src.SHA != "abc" {
				t.Fatalf("%+v, %v", src, err)
			}
			reqs := f.Requests("")
			if len(reqs) < 5 {
				t.Fatalf("only %d requests", len(reqs))
			}
			for _, r := range reqs {
				if !strings.HasPrefix(r.Path, "/api/v3/") {
					t.Errorf("%s %s: outside /api/v3/", r.Method, r.Path)
				}
				if r.Auth != "Bearer "+testToken {
					t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Auth)
				}
			}
			if len(f.Blobs()) != 1 || f.Blobs()[0].Auth != "" {
				t.Errorf("storage requests %+v, want one without the token", f.Blobs())
			}
		})
	}
}

// envMap lets a map stand for os.Getenv.
type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }
