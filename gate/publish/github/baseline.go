package github

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v81/github"

	"github.com/specgate/specgate/internal/oserr"
)

// maxArtifactPages bounds the listing of a repository's artifacts.
const maxArtifactPages = 50

// Source tells which artifact DownloadBaseline took the baseline from.
type Source struct {
	ArtifactID int64
	// RunID is the workflow run that uploaded it, and SHA the commit
	// that run built.
	RunID     int64
	SHA       string
	CreatedAt time.Time
	// Files are the documents written, as slash-separated paths under
	// the directory, sorted.
	Files []string
}

// zipLimits bound what an artifact may make DownloadBaseline read and
// write.
type zipLimits struct {
	archive int64 // bytes of the zip itself
	file    int64 // bytes of one document, unpacked
	total   int64 // bytes of all documents, unpacked
	entries int   // entries in the zip
}

func defaultZipLimits() zipLimits {
	return zipLimits{archive: 64 << 20, file: 32 << 20, total: 128 << 20, entries: 10000}
}

// DownloadBaseline fetches the newest artifact called name that a
// successful workflow run on branch uploaded, and unpacks its .yaml, .yml
// and .json files into dir (made if missing), keeping their paths.
//
// Expired artifacts are skipped, and so are those of runs that did not
// conclude "success", runs of pull_request events, and runs whose head
// is in another repository (a fork's branch may share the name). When no
// artifact is left, the error wraps ErrNoBaseline. An artifact holding an
// entry that would land outside dir (an absolute path, "..", a
// backslash) is refused whole, before anything is written.
func (c *Client) DownloadBaseline(ctx context.Context, name, branch, dir string) (Source, error) {
	if name == "" || branch == "" || dir == "" {
		return Source{}, errors.New("github: baseline: artifact name, branch and directory are all needed")
	}
	arts, err := c.listArtifacts(ctx, name)
	if err != nil {
		return Source{}, err
	}
	var skipped []string
	skip := func(why string, n int) {
		if n > 0 {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, why))
		}
	}
	var cands []*gh.Artifact
	expired := 0
	for _, a := range arts {
		switch {
		case a.GetName() != name || a.GetWorkflowRun().GetHeadBranch() != branch:
		case a.GetExpired():
			expired++
		default:
			cands = append(cands, a)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		ti, tj := cands[i].GetCreatedAt().Time, cands[j].GetCreatedAt().Time
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return cands[i].GetID() > cands[j].GetID()
	})
	runs := map[int64]*gh.WorkflowRun{}
	failed, untrusted, empty := 0, 0, 0
	for _, a := range cands {
		runID := a.GetWorkflowRun().GetID()
		run, ok := runs[runID]
		if !ok {
			run, err = c.run(ctx, runID)
			if err != nil {
				return Source{}, err
			}
			runs[runID] = run
		}
		switch {
		case run == nil || run.GetConclusion() != "success":
			failed++
			continue
		case !trusted(a, run):
			untrusted++
			continue
		}
		data, err := c.fetchArtifact(ctx, a)
		if errors.Is(err, errGone) {
			expired++
			continue
		}
		if err != nil {
			return Source{}, err
		}
		files, err := unpackSpecs(data, dir, c.limits)
		if err != nil {
			return Source{}, fmt.Errorf("github: baseline artifact %d: %w", a.GetID(), err)
		}
		if len(files) == 0 {
			empty++
			continue
		}
		sha := a.GetWorkflowRun().GetHeadSHA()
		if sha == "" {
			sha = run.GetHeadSHA()
		}
		return Source{ArtifactID: a.GetID(), RunID: runID, SHA: sha, CreatedAt: a.GetCreatedAt().Time, Files: files}, nil
	}
	skip("expired", expired)
	skip("from a run that did not succeed", failed)
	skip("from a pull-request or fork run", untrusted)
	skip("without documents", empty)
	why := ""
	if len(skipped) > 0 {
		why = " (skipped: " + strings.Join(skipped, ", ") + ")"
	}
	return Source{}, fmt.Errorf("github: no artifact %q of a successful run on branch %q%s: %w", name, branch, why, ErrNoBaseline)
}

// listArtifacts lists the repository's artifacts called name, all pages.
func (c *Client) listArtifacts(ctx context.Context, name string) ([]*gh.Artifact, error) {
	opts := &gh.ListArtifactsOptions{Name: gh.Ptr(name), ListOptions: gh.ListOptions{PerPage: 100}}
	var all []*gh.Artifact
	for pages := 0; pages < maxArtifactPages; pages++ {
		list, resp, err := c.api.Actions.ListArtifacts(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, c.apiError(ctx, fmt.Sprintf("list artifacts %q", name), resp, err, nil)
		}
		all = append(all, list.Artifacts...)
		if resp.NextPage == 0 || resp.NextPage <= opts.Page {
			break
		}
		opts.Page = resp.NextPage
	}
	return all, nil
}

// run reads a workflow run; nil when it is gone.
func (c *Client) run(ctx context.Context, id int64) (*gh.WorkflowRun, error) {
	if id == 0 {
		return nil, nil
	}
	run, resp, err := c.api.Actions.GetWorkflowRunByID(ctx, c.owner, c.repo, id)
	if err != nil {
		if resp != nil && resp.Response != nil && resp.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, c.apiError(ctx, fmt.Sprintf("read workflow run %d", id), resp, err, nil)
	}
	return run, nil
}

// trusted tells whether an artifact's run built the branch itself: not a
// pull request's merge, nor a fork's branch of the same name.
func trusted(a *gh.Artifact, run *gh.WorkflowRun) bool {
	if strings.HasPrefix(run.GetEvent(), "pull_request") {
		return false
	}
	if w := a.GetWorkflowRun(); w.GetHeadRepositoryID() != 0 && w.GetRepositoryID() != 0 && w.GetHeadRepositoryID() != w.GetRepositoryID() {
		return false
	}
	if h, r := run.GetHeadRepository(), run.GetRepository(); h != nil && r != nil && h.GetID() != 0 && r.GetID() != 0 && h.GetID() != r.GetID() {
		return false
	}
	return true
}

// errGone says an artifact expired between its listing and its download.
var errGone = errors.New("artifact gone")

// fetchArtifact downloads an artifact's zip: the API answers with a
// redirect to a signed storage URL, fetched without the token.
func (c *Client) fetchArtifact(ctx context.Context, a *gh.Artifact) ([]byte, error) {
	id := a.GetID()
	if n := a.GetSizeInBytes(); n > c.limits.archive {
		return nil, fmt.Errorf("github: artifact %d: %d bytes, over the limit of %d", id, n, c.limits.archive)
	}
	op := fmt.Sprintf("download artifact %d", id)
	loc, resp, err := c.api.Actions.DownloadArtifact(ctx, c.owner, c.repo, id, 1)
	if err != nil {
		if resp != nil && resp.Response != nil && resp.StatusCode == http.StatusGone {
			return nil, errGone
		}
		return nil, c.apiError(ctx, op, resp, err, nil)
	}
	if loc.Scheme != "https" && loc.Scheme != "http" || loc.Host == "" {
		return nil, fmt.Errorf("github: %s: redirected to a URL that is not http(s)", op)
	}
	// The signed URL's query is a credential too: errors name the host only.
	where := fmt.Sprintf("github: %s from %s", op, loc.Host)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: bad storage URL", where)
	}
	res, err := c.storage.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", where, ctxErr)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %s", where, oneLine(c.redact(err.Error())))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", where, res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, c.limits.archive+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s", where, oneLine(c.redact(err.Error())))
	}
	if int64(len(data)) > c.limits.archive {
		return nil, fmt.Errorf("%s: over the limit of %d bytes", where, c.limits.archive)
	}
	return data, nil
}

// specExt tells whether a file name is a document's.
func specExt(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// localName checks a zip entry's name and gives it cleaned; false when
// the entry would land outside the directory it is unpacked into.
func localName(name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") {
		return "", false
	}
	clean := path.Clean(name)
	if clean == "." {
		return clean, true // the root itself, as a directory entry
	}
	if !fs.ValidPath(clean) || !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", false
	}
	return clean, true
}

// unpackSpecs writes the documents of a zip into dir. Every entry is
// checked before anything is written; writes go through an os.Root, so
// nothing lands outside dir even through a link already in it.
func unpackSpecs(data []byte, dir string, lim zipLimits) ([]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused below
		return nil, fmt.Errorf("not a zip archive: %v", err)
	}
	if zr == nil {
		return nil, errors.New("not a zip archive")
	}
	if len(zr.File) > lim.entries {
		return nil, fmt.Errorf("%d entries, over the limit of %d", len(zr.File), lim.entries)
	}
	type pick struct {
		f    *zip.File
		name string
	}
	var picks []pick
	seen := map[string]bool{}
	for _, f := range zr.File {
		name, ok := localName(f.Name)
		if !ok {
			return nil, fmt.Errorf("refused: entry %q would land outside the directory", f.Name)
		}
		if f.FileInfo().IsDir() || !f.Mode().IsRegular() || !specExt(name) {
			continue
		}
		if seen[name] {
			return nil, fmt.Errorf("refused: two entries named %q", name)
		}
		seen[name] = true
		picks = append(picks, pick{f, name})
	}
	if len(picks) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, oserr.Cause(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, oserr.Cause(err))
	}
	defer root.Close()
	var total int64
	var files []string
	fail := func(err error) ([]string, error) {
		for _, f := range files {
			_ = root.Remove(f)
		}
		return nil, err
	}
	for _, p := range picks {
		files = append(files, p.name)
		n, err := unpackOne(root, p.f, p.name, lim.file)
		if err != nil {
			return fail(err)
		}
		total += n
		if total > lim.total {
			return fail(fmt.Errorf("documents over the limit of %d bytes in all", lim.total))
		}
	}
	sort.Strings(files)
	return files, nil
}

// unpackOne writes one entry under root, at most limit bytes, and gives
// how many it wrote.
func unpackOne(root *os.Root, f *zip.File, name string, limit int64) (int64, error) {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return 0, fmt.Errorf("%s: %w", d, oserr.Cause(err))
		}
	}
	in, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%s: %v", name, err)
	}
	defer in.Close()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, oserr.Cause(err))
	}
	n, err := io.Copy(out, io.LimitReader(in, limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("%s: %v", name, oserr.Cause(err))
	}
	if n > limit {
		return n, fmt.Errorf("%s: over the limit of %d bytes unpacked", name, limit)
	}
	return n, nil
}
