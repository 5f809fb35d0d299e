package gitlab

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/internal/cifake"
)

func spec(title string) string {
	return "openapi: 3.0.3\ninfo:\n  title: " + title + "\n  version: \"1\"\npaths: {}\n"
}

// baselineZip is what the template's default-branch job uploads: the
// inferred documents under api/specs, and a file that is not one.
func baselineZip(t *testing.T) []byte {
	return cifake.Zip(t,
		cifake.ZipEntry{Name: "api/"},
		cifake.ZipEntry{Name: "api/specs/"},
		cifake.ZipEntry{Name: "api/specs/todo.yaml", Body: spec("todo.internal:8080")},
		cifake.ZipEntry{Name: "api/specs/stats.json", Body: `{"openapi":"3.0.3","info":{"title":"stats.internal:8081","version":"1"},"paths":{}}`},
		cifake.ZipEntry{Name: "api/specs/README.md", Body: "# specs\n"},
		cifake.ZipEntry{Name: "notes.txt", Body: "not a document"},
	)
}

// files lists the regular files under dir, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func TestDownloadBaseline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref      string
		jobOnly  bool
		wantAuth string
		wantPath string
	}{
		{"private token", "main", false, "PRIVATE-TOKEN", "/api/v4/projects/4242/jobs/artifacts/main/download?job=api-gate"},
		{"job token", "main", true, "JOB-TOKEN", "/api/v4/projects/4242/jobs/artifacts/main/download?job=api-gate"},
		{"ref with a slash", "release/2.x", false, "PRIVATE-TOKEN", "/api/v4/projects/4242/jobs/artifacts/release%2F2.x/download?job=api-gate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			f.SetArtifact(tc.ref, "api-gate", baselineZip(t))
			f.SetDisposition("specgate-1a2b3c4d.zip")
			env := fakeEnv(f)
			if tc.jobOnly {
				env.Token = ""
			}
			dir := filepath.Join(t.TempDir(), "baseline")
			src, err := fakeClient(f, env, nil).DownloadBaseline(context.Background(), "api-gate", tc.ref, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Log(); len(got) != 1 || got[0] != "GET "+tc.wantPath {
				t.Errorf("requests %q, want GET %s", got, tc.wantPath)
			}
			if f.Auths()[0] != tc.wantAuth {
				t.Errorf("sent %q, want %s", f.Auths()[0], tc.wantAuth)
			}
			wantDir := filepath.Join(dir, "api", "specs")
			wantFiles := []string{filepath.Join(wantDir, "stats.json"), filepath.Join(wantDir, "todo.yaml")}
			if src.Dir != wantDir || !slices.Equal(src.Files, wantFiles) || src.Archive != "specgate-1a2b3c4d.zip" || src.Job != "api-gate" || src.Ref != tc.ref {
				t.Errorf("source %+v", src)
			}
			if want := "gitlab-artifact:api-gate on " + tc.ref + " (specgate-1a2b3c4d.zip)"; src.String() != want {
				t.Errorf("String() = %q, want %q", src.String(), want)
			}
			if got := files(t, dir); !slices.Equal(got, []string{"api/specs/stats.json", "api/specs/todo.yaml"}) {
				t.Errorf("extracted %v", got)
			}
			docs, err := gate.LoadDocs(context.Background(), src.Dir)
			if err != nil {
				t.Fatal(err)
			}
			var services []string
			for _, d := range docs {
				services = append(services, d.Service)
			}
			if !slices.Equal(services, []string{"stats.internal:8081", "todo.internal:8080"}) {
				t.Errorf("services %v", services)
			}
		})
	}
}

func TestDownloadBaselineWithoutDisposition(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.SetArtifact("main", "api-gate", cifake.Zip(t, cifake.ZipEntry{Name: "todo.yaml", Body: spec("todo")}))
	dir := t.TempDir()
	src, err := fakeClient(f, fakeEnv(f), nil).DownloadBaseline(context.Background(), "api-gate", "main", dir)
	if err != nil {
		t.Fatal(err)
	}
	if src.Archive != "" || src.Dir != dir || src.String() != "gitlab-artifact:api-gate on main" {
		t.Errorf("source %+v (%s)", src, src)
	}
}

func TestDownloadBaselineNone(t *testing.T) {
	for _, tc := range []struct {
		name, job, ref string
	}{
		{"no artifacts on the ref", "api-gate", "develop"},
		{"no such job", "other-job", "main"},
		{"no documents in the archive", "api-gate", "main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			f.SetArtifact("main", "api-gate", cifake.Zip(t, cifake.ZipEntry{Name: "coverage.txt", Body: "42%"}))
			dir := filepath.Join(t.TempDir(), "d")
			_, err := fakeClient(f, fakeEnv(f), nil).DownloadBaseline(context.Background(), tc.job, tc.ref, dir)
			if !errors.Is(err, ErrNoBaseline) {
				t.Fatalf("err = %v, want ErrNoBaseline", err)
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.ref) {
				t.Errorf("err = %q", err)
			}
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("left %v", got)
			}
		})
	}
}

func TestDownloadBaselineRefusesUnsafeArchives(t *testing.T) {
	good := cifake.ZipEntry{Name: "api/specs/todo.yaml", Body: spec("todo")}
	for _, tc := range []struct {
		name    string
		entries []cifake.ZipEntry
		want    string
	}{
		{"zip slip", []cifake.ZipEntry{good, {Name: "../evil.yaml", Body: spec("evil")}}, "leaves the directory"},
		{"zip slip deeper", []cifake.ZipEntry{good, {Name: "api/../../evil.json", Body: spec("evil")}}, "leaves the directory"},
		{"zip slip in another file", []cifake.ZipEntry{good, {Name: "../../.bashrc", Body: "evil"}}, "leaves the directory"},
		{"absolute", []cifake.ZipEntry{good, {Name: "/tmp/evil.yaml", Body: spec("evil")}}, "absolute"},
		{"backslashes", []cifake.ZipEntry{good, {Name: `..\evil.yaml`, Body: spec("evil")}}, "backslash"},
		{"symbolic link", []cifake.ZipEntry{good, {Name: "api/specs/link.yaml", Body: "/etc/passwd", Mode: fs.ModeSymlink | 0o777}}, "not a regular file"},
		{"twice the same name", []cifake.ZipEntry{good, {Name: "api/specs/./todo.yaml", Body: spec("evil")}}, "already there"},
		{"over the size limit", []cifake.ZipEntry{good, {Name: "api/specs/huge.yaml", Body: string(make([]byte, maxDocumentBytes+1))}}, "over 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			f.SetArtifact("main", "api-gate", cifake.Zip(t, tc.entries...))
			top := t.TempDir()
			dir := filepath.Join(top, "a", "b")
			_, err := fakeClient(f, fakeEnv(f), nil).DownloadBaseline(context.Background(), "api-gate", "main", dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tc.want)
			}
			if errors.Is(err, ErrNoBaseline) {
				t.Errorf("an unsafe archive is not a missing baseline: %v", err)
			}
			if got := files(t, top); len(got) != 0 {
				t.Errorf("files left behind: %v", got)
			}
		})
	}
}

func TestDownloadBaselineKeepsExistingFiles(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.SetArtifact("main", "api-gate", cifake.Zip(t, cifake.ZipEntry{Name: "todo.yaml", Body: spec("from the artifact")}))
	dir := t.TempDir()
	mine := filepath.Join(dir, "todo.yaml")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := fakeClient(f, fakeEnv(f), nil).DownloadBaseline(context.Background(), "api-gate", "main", dir)
	if err == nil || !strings.Contains(err.Error(), "already there") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(mine); string(data) != "mine" {
		t.Errorf("an existing file was overwritten or removed: %q", data)
	}
}

func TestDownloadBaselineErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *cifake.GitLab, e *Env)
		job   string
		ref   string
		want  string
	}{
		{"not a zip", func(f *cifake.GitLab, e *Env) {
			f.SetArtifact("main", "api-gate", []byte("<html>Sign in</html>"))
		}, "api-gate", "main", "not a zip archive"},
		{"job token refused", func(f *cifake.GitLab, e *Env) {
			e.Token, e.JobToken = "", "glcbt-64_notTheRightOne"
		}, "api-gate", "main", "set SPECGATE_GITLAB_TOKEN"},
		{"no job name", nil, " ", "main", "no job name"},
		{"dot-dot ref", nil, "api-gate", "..", "not a branch or tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cifake.NewGitLab(t)
			env := fakeEnv(f)
			if tc.setup != nil {
				tc.setup(f, &env)
			}
			_, err := fakeClient(f, env, nil).DownloadBaseline(context.Background(), tc.job, tc.ref, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrNoBaseline) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDownloadBaselineRetries(t *testing.T) {
	f := cifake.NewGitLab(t)
	f.SetArtifact("main", "api-gate", baselineZip(t))
	f.Fail("GET artifacts", cifake.Failure{Status: 502}, cifake.Failure{Status: 429, RetryAfter: "0"})
	var logs []string
	src, err := fakeClient(f, fakeEnv(f), &logs).DownloadBaseline(context.Background(), "api-gate", "main", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Files) != 2 || len(f.Log()) != 3 || len(logs) != 2 {
		t.Errorf("files %v, requests %v, logs %q", src.Files, f.Log(), logs)
	}
}

// objectStore is where GitLab redirects artifact downloads: another
// origin, that must never see the token.
type objectStore struct {
	mu      sync.Mutex
	headers []http.Header
	archive []byte
}

func (o *objectStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.headers = append(o.headers, r.Header.Clone())
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="specgate-cafe1234.zip"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(o.archive))
}

func TestDownloadBaselineRedirectDropsToken(t *testing.T) {
	for _, jobOnly := range []bool{false, true} {
		f := cifake.NewGitLab(t)
		store := &objectStore{archive: baselineZip(t)}
		ss := httptest.NewServer(store)
		t.Cleanup(ss.Close)
		f.SetArtifact("main", "api-gate", nil)
		f.SetRedirect(ss.URL + "/artifacts/ab/cd/artifacts.zip?X-Amz-Expires=600&X-Amz-Signature=0f0f")
		env := fakeEnv(f)
		if jobOnly {
			env.Token = ""
		}
		src, err := fakeClient(f, env, nil).DownloadBaseline(context.Background(), "api-gate", "main", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(src.Files) != 2 || src.Archive != "specgate-cafe1234.zip" {
			t.Errorf("source %+v", src)
		}
		if f.Auths()[0] == "" {
			t.Errorf("GitLab got no token")
		}
		if len(store.headers) != 1 {
			t.Fatalf("object store called %d times", len(store.headers))
		}
		for name, v := range store.headers[0] {
			for _, s := range v {
				if strings.Contains(s, cifake.GitLabToken) || strings.Contains(s, cifake.GitLabJobToken) {
					t.Errorf("object store got the token in %s", name)
				}
			}
		}
	}
}
