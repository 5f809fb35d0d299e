package github

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/cifake"
)

const todoSpec = "openapi: 3.0.3\ninfo: {title: todo, version: '1'}\npaths: {}\n"

var day = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// seedBaselines gives the fake the artifacts of a busy repository: the
// one to pick is 104.
func seedBaselines(t *testing.T, f *cifake.GitHub) {
	good := cifake.Zip(t,
		cifake.ZipEntry{Name: "todo.yaml", Body: todoSpec},
		cifake.ZipEntry{Name: "stats.json", Body: `{"openapi":"3.0.3"}`},
		cifake.ZipEntry{Name: "nested/", Mode: fs.ModeDir | 0o755},
		cifake.ZipEntry{Name: "nested/extra.YML", Body: "openapi: 3.0.3\n"},
		cifake.ZipEntry{Name: "README.md", Body: "not a spec"},
		cifake.ZipEntry{Name: "link.yaml", Body: "/etc/passwd", Mode: fs.ModeSymlink | 0o777},
	)
	older := cifake.Zip(t, cifake.ZipEntry{Name: "todo.yaml", Body: "older"})
	f.AddRun(cifake.Run{ID: 1, Branch: "main", SHA: "aaa1", Event: "push", Conclusion: "success"})
	f.AddRun(cifake.Run{ID: 2, Branch: "main", SHA: "bbb2", Event: "push", Conclusion: "failure"})
	f.AddRun(cifake.Run{ID: 3, Branch: "main", SHA: "ccc3", Event: "push", Conclusion: "success"})
	f.AddRun(cifake.Run{ID: 4, Branch: "feature", SHA: "ddd4", Event: "push", Conclusion: "success"})
	f.AddRun(cifake.Run{ID: 5, Branch: "main", SHA: "eee5", Event: "pull_request", Conclusion: "success", HeadRepoID: 999})
	f.AddRun(cifake.Run{ID: 6, Branch: "main", SHA: "fff6", Event: "push", Conclusion: "cancelled"})
	for _, a := range []cifake.Artifact{
		{ID: 101, Name: "specgate-baseline", Created: day.Add(1 * time.Hour), Run: 1, Branch: "main", SHA: "aaa1", Zip: older},
		{ID: 102, Name: "specgate-baseline", Created: day.Add(9 * time.Hour), Run: 1, Branch: "main", SHA: "aaa1", Expired: true, Zip: good},
		{ID: 103, Name: "specgate-baseline", Created: day.Add(8 * time.Hour), Run: 2, Branch: "main", SHA: "bbb2", Zip: good},
		{ID: 104, Name: "specgate-baseline", Created: day.Add(5 * time.Hour), Run: 3, Branch: "main", SHA: "ccc3", Zip: good},
		{ID: 105, Name: "specgate-baseline", Created: day.Add(10 * time.Hour), Run: 4, Branch: "feature", SHA: "ddd4", Zip: good},
		{ID: 106, Name: "specgate-baseline", Created: day.Add(7 * time.Hour), Run: 5, Branch: "main", SHA: "eee5", HeadRepoID: 999, Zip: good},
		{ID: 107, Name: "specgate-baseline", Created: day.Add(6 * time.Hour), Run: 6, Branch: "main", SHA: "fff6", Zip: good},
		{ID: 108, Name: "other-artifact", Created: day.Add(11 * time.Hour), Run: 3, Branch: "main", SHA: "ccc3", Zip: good},
	} {
		f.AddArtifact(a)
	}
}

func TestDownloadBaseline(t *testing.T) {
	f := cifake.NewGitHub(t)
	f.SetMaxPerPage(3) // the listing takes three pages
	seedBaselines(t, f)
	dir := filepath.Join(t.TempDir(), "baseline")
	src, err := fakeClient(t, f).DownloadBaseline(context.Background(), "specgate-baseline", "main", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Source{ArtifactID: 104, RunID: 3, SHA: "ccc3", CreatedAt: day.Add(5 * time.Hour),
		Files: []string{"nested/extra.YML", "stats.json", "todo.yaml"}}
	if !reflect.DeepEqual(src, want) {
		t.Errorf("source\n%+v\nwant\n%+v", src, want)
	}
	got := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	wantFiles := map[string]string{"todo.yaml": todoSpec, "stats.json": `{"openapi":"3.0.3"}`, "nested/extra.YML": "openapi: 3.0.3\n"}
	if !reflect.DeepEqual(got, wantFiles) {
		t.Errorf("files %v, want %v", got, wantFiles)
	}

	lists := f.Requests("GET /repos/octo-org/app/actions/artifacts")
	pages := 0
	for _, r := range lists {
		if !strings.HasSuffix(r.Path, "/actions/artifacts") {
			continue
		}
		pages++
		if !strings.Contains(r.Query, "name=specgate-baseline") {
			t.Errorf("artifacts listed without the name: %q", r.Query)
		}
	}
	if pages != 3 {
		t.Errorf("listed %d pages, want 3", pages)
	}
	// Runs 2 (failed) and 6 (cancelled) were checked and skipped; the
	// pull-request run 5 was checked and skipped; run 3 was chosen.
	var runs []string
	for _, r := range f.Requests("GET /repos/octo-org/app/actions/runs/") {
		runs = append(runs, strings.TrimPrefix(r.Path, "/repos/octo-org/app/actions/runs/"))
	}
	if !reflect.DeepEqual(runs, []string{"2", "5", "6", "3"}) {
		t.Errorf("runs read %v, want 2, 5, 6, 3 (newest artifact first)", runs)
	}
	zips := f.Requests("GET /repos/octo-org/app/actions/artifacts/")
	if len(zips) != 1 || zips[0].Path != "/repos/octo-org/app/actions/artifacts/104/zip" || zips[0].Auth != "Bearer "+testToken {
		t.Errorf("zip requests %+v, want one for 104 with the token", zips)
	}
	if len(f.Blobs()) != 1 || f.Blobs()[0].Auth != "" {
		t.Errorf("storage requests %+v, want one without Authorization", f.Blobs())
	}
}

func TestDownloadBaselineNone(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *cifake.GitHub)
		why   string
	}{
		{"no artifact", func(*testing.T, *cifake.GitHub) {}, ""},
		{"all expired", func(t *testing.T, f *cifake.GitHub) {
			f.AddRun(cifake.Run{ID: 1, Branch: "main", Event: "push", Conclusion: "success"})
			f.AddArtifact(cifake.Artifact{ID: 1, Name: "specgate-baseline", Run: 1, Branch: "main", Expired: true, Created: day})
			f.AddArtifact(cifake.Artifact{ID: 2, Name: "specgate-baseline", Run: 1, Branch: "main", Gone: true, Created: day, Zip: cifake.Zip(t, cifake.ZipEntry{Name: "a.yaml", Body: "x"})})
		}, "2 expired"},
		{"only failed runs and other branches", func(t *testing.T, f *cifake.GitHub) {
			f.AddRun(cifake.Run{ID: 1, Branch: "main", Event: "push", Conclusion: "failure"})
			f.AddRun(cifake.Run{ID: 2, Branch: "dev", Event: "push", Conclusion: "success"})
			f.AddArtifact(cifake.Artifact{ID: 1, Name: "specgate-baseline", Run: 1, Branch: "main", Created: day, Zip: cifake.Zip(t, cifake.ZipEntry{Name: "a.yaml", Body: "x"})})
			f.AddArtifact(cifake.Artifact{ID: 2, Name: "specgate-baseline", Run: 2, Branch: "dev", Created: day, Zip: cifake.Zip(t, cifake.ZipEntry{Name: "a.yaml", Body: "x"})})
		}, "1 from a run that did not succeed"},
		{"run deleted", func(t *testing.T, f *cifake.GitHub) {
			f.AddArtifact(cifake.Artifact{ID: 1, Name: "specgate-baseline", Run: 77, Branch: "main", Created: day, Zip: cifake.Zip(t, cifake.ZipEntry{Name: "a.yaml", Body: "x"})})
		}, "1 from a run that did not succeed"},
		{"no documents in it", func(t *testing.T, f *cifake.GitHub) {
			f.AddRun(cifake.Run{ID: 1, Branch: "main", Event: "push", Conclusion: "success"})
			f.AddArtifact(cifake.Artifact{ID: 1, Name: "specgate-baseline", Run: 1, Branch: "main", Created: day, Zip: cifake.Zip(t, cifake.ZipEntry{Name: "notes.txt", Body: "x"})})
		}, "1 without documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cifake.NewGitHub(t)
			tt.setup(t, f)
			dir := t.TempDir()
			_, err := fakeClient(t, f).DownloadBaseline(context.Background(), "specgate-baseline", "main", dir)
			if !errors.Is(err, ErrNoBaseline) {
				t.Fatalf("err = %v, want ErrNoBaseline", err)
			}
			if !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), `"main"`) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("%d files written", len(ents))
			}
		})
	}
}

func TestDownloadBaselineRefusesZipSlip(t *testing.T) {
	for _, bad := range []string{"../evil.yaml", "specs/../../evil.yaml", "/tmp/evil.yaml", `..\evil.yaml`, `specs\..\..\evil.yaml`, "..", "specs/../.."} {
		t.Run(bad, func(t *testing.T) {
			f := cifake.NewGitHub(t)
			f.AddRun(cifake.Run{ID: 1, Branch: "main", Event: "push", Conclusion: "success"})
			f.AddArtifact(cifake.Artifact{ID: 9, Name: "specgate-baseline", Run: 1, Branch: "main", Created: day, Zip: cifake.Zip(t,
				cifake.ZipEntry{Name: "todo.yaml", Body: todoSpec},
				cifake.ZipEntry{Name: bad, Body: "pwned"},
			)})
			parent := t.TempDir()
			dir := filepath.Join(parent, "a", "b")
			_, err := fakeClient(t, f).DownloadBaseline(context.Background(), "specgate-baseline", "main", dir)
			if err == nil || errors.Is(err, ErrNoBaseline) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err = %v, want the artifact refused", err)
			}
			_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.Errorf("%s was written", p)
				}
				return nil
			})
		})
	}
}

func TestUnpackLimits(t *testing.T) {
	lim := zipLimits{archive: 1 << 20, file: 1000, total: 1500, entries: 5}
	tests := []struct {
		name    string
		entries []cifake.ZipEntry
		err     string
	}{
		{"file over the limit (a zip bomb)", []cifake.ZipEntry{{Name: "big.yaml", Body: strings.Repeat("0", 5000)}}, "over the limit of 1000 bytes"},
		{"all over the limit", []cifake.ZipEntry{{Name: "a.yaml", Body: strings.Repeat("a", 800)}, {Name: "b.yaml", Body: strings.Repeat("b", 800)}}, "in all"},
		{"too many entries", []cifake.ZipEntry{{Name: "1.yaml"}, {Name: "2.yaml"}, {Name: "3.yaml"}, {Name: "4.yaml"}, {Name: "5.yaml"}, {Name: "6.yaml"}}, "entries"},
		{"the same name twice", []cifake.ZipEntry{{Name: "a.yaml"}, {Name: "./a.yaml"}}, "two entries"},
		{"within the limits", []cifake.ZipEntry{{Name: "a.yaml", Body: strings.Repeat("a", 700)}, {Name: "b.yaml", Body: strings.Repeat("b", 700)}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files, err := unpackSpecs(cifake.Zip(t, tt.entries...), dir, lim)
			if tt.err == "" {
				if err != nil || len(files) != len(tt.entries) {
					t.Fatalf("files %v, err %v", files, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("%d files left behind", len(ents))
			}
		})
	}
	if _, err := unpackSpecs([]byte("not a zip"), t.TempDir(), lim); err == nil {
		t.Error("garbage unpacked")
	}
}

func TestDownloadBaselineArchiveTooLarge(t *testing.T) {
	f := cifake.NewGitHub(t)
	f.AddRun(cifake.Run{ID: 1, Branch: "main", Event: "push", Conclusion: "success"})
	f.AddArtifact(cifake.Artifact{ID: 1, Name: "specgate-baseline", Run: 1, Branch: "main", Created: day,
		Zip: cifake.Zip(t, cifake.ZipEntry{Name: "a.yaml", Body: strings.Repeat("x", 4000)})})
	c := fakeClient(t, f)
	c.limits.archive = 100
	_, err := c.DownloadBaseline(context.Background(), "specgate-baseline", "main", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("err = %v", err)
	}
}

func TestLocalName(t *testing.T) {
	for name, want := range map[string]string{
		"a.yaml": "a.yaml", "./a.yaml": "a.yaml", "specs/a.yaml": "specs/a.yaml", "specs//a.yaml": "specs/a.yaml",
		"specs/./x/../a.yaml": "specs/a.yaml", "dir/": "dir",
		"": "", "/a.yaml": "", "../a.yaml": "", "a/../../b": "", `a\b.yaml`: "", "a\x00.yaml": "", "..": "",
	} {
		got, ok := localName(name)
		if ok != (want != "") || got != want {
			t.Errorf("localName(%q) = %q, %t; want %q", name, got, ok, want)
		}
	}
}
