package gitlab

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/specgate/specgate/internal/oserr"
)

// Limits on a baseline archive and what is taken out of it.
const (
	// maxArchiveBytes bounds the downloaded archive.
	maxArchiveBytes = 256 << 20
	// maxDocumentBytes bounds one document, as gate bounds one it fetches.
	maxDocumentBytes = 64 << 20
	// maxExtractedBytes bounds all documents together.
	maxExtractedBytes = 256 << 20
	// maxDocuments bounds how many documents an archive may hold.
	maxDocuments = 10000
)

// Source tells where a baseline that DownloadBaseline fetched came from,
// and where it put it.
type Source struct {
	// Job and Ref are the job's name and the branch or tag asked for:
	// GitLab answers with the artifacts of that job in the newest
	// successful pipeline on Ref.
	Job string
	Ref string
	// Archive is the archive's file name from the answer's
	// Content-Disposition header: the job's artifacts:name and ".zip"
	// (the template names it after the commit), empty when the answer
	// did not say.
	Archive string
	// Dir is the directory that holds the documents: the download
	// directory joined with the folder they share in the archive, ready
	// for gate.LoadDocs. Files lists every document taken out, sorted.
	Dir   string
	Files []string
}

// String describes the source in one line, for reports and logs.
func (s Source) String() string {
	d := fmt.Sprintf("gitlab-artifact:%s on %s", s.Job, s.Ref)
	if s.Archive != "" {
		d += " (" + s.Archive + ")"
	}
	return d
}

// DownloadBaseline fetches the artifacts archive of job from the newest
// successful pipeline on ref and takes out its .yaml, .yml and .json
// files into dir (made when missing; files already there are never
// overwritten), keeping their folders. An archive with an entry whose
// name leaves the directory, or over the size limits, is refused whole.
// A 404 answer, or an archive without documents, wraps ErrNoBaseline.
// CI_JOB_TOKEN is enough when SPECGATE_GITLAB_TOKEN is not set.
func (c *Client) DownloadBaseline(ctx context.Context, job, ref, dir string) (Source, error) {
	src := Source{Job: job, Ref: ref}
	switch {
	case strings.TrimSpace(job) == "":
		return src, errors.New("gitlab: baseline: no job name")
	case strings.TrimSpace(ref) == "" || ref == "." || ref == "..":
		return src, fmt.Errorf("gitlab: baseline: %q is not a branch or tag", ref)
	case dir == "":
		return src, errors.New("gitlab: baseline: no directory to put the documents in")
	}
	k := call{
		method: http.MethodGet,
		path:   "/projects/" + url.PathEscape(c.env.ProjectID) + "/jobs/artifacts/" + url.PathEscape(ref) + "/download",
		query:  url.Values{"job": {job}},
		retry:  true,
	}
	resp, err := c.send(ctx, k)
	if err != nil {
		return src, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return src, fmt.Errorf("%w (%w: no successful job %q with artifacts on %s)", c.statusError(resp, k), ErrNoBaseline, job, ref)
	case http.StatusUnauthorized, http.StatusForbidden:
		hint := "SPECGATE_GITLAB_TOKEN needs the read_api or api scope and access to the project"
		if c.env.Token == "" {
			hint = "CI_JOB_TOKEN may not read these artifacts; set SPECGATE_GITLAB_TOKEN to a token with the read_api or api scope"
		}
		return src, fmt.Errorf("%w (%s)", c.statusError(resp, k), hint)
	default:
		return src, c.statusError(resp, k)
	}
	src.Archive = archiveName(resp.Header.Get("Content-Disposition"))
	what := fmt.Sprintf("gitlab: artifacts of job %q on %s", job, ref)

	tmp, err := os.CreateTemp("", "specgate-artifacts-*.zip")
	if err != nil {
		drain(resp)
		return src, fmt.Errorf("%s: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, maxArchiveBytes+1))
	drain(resp)
	if err != nil {
		if ctx.Err() != nil {
			return src, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return src, fmt.Errorf("%s: reading the archive: %s", what, c.redact(oneLine(err.Error())))
	}
	if n > maxArchiveBytes {
		return src, fmt.Errorf("%s: the archive is over %d MiB", what, maxArchiveBytes>>20)
	}
	zr, err := zip.NewReader(tmp, n)
	if err != nil {
		return src, fmt.Errorf("%s: not a zip archive: %v", what, err)
	}
	files, err := extract(zr, dir)
	if err != nil {
		return src, fmt.Errorf("%s: %w", what, err)
	}
	if len(files) == 0 {
		return src, fmt.Errorf("gitlab: %w: the artifacts of job %q on %s hold no .yaml, .yml or .json documents", ErrNoBaseline, job, ref)
	}
	src.Dir = filepath.Join(dir, filepath.FromSlash(commonDir(files)))
	for _, f := range files {
		src.Files = append(src.Files, filepath.Join(dir, filepath.FromSlash(f)))
	}
	return src, nil
}

// isDocument tells whether an archive entry is one DownloadBaseline takes.
func isDocument(name string) bool {
	switch path.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// checkName refuses an entry name that could leave the directory it is
// extracted into, or be read differently on another system.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("an entry has no name")
	case strings.ContainsAny(name, "\\\x00"):
		return fmt.Errorf("entry %q: a backslash or NUL in its name", shorten(name, 100))
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("entry %q: an absolute name", shorten(name, 100))
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			return fmt.Errorf("entry %q: its name leaves the directory", shorten(name, 100))
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(strings.TrimSuffix(name, "/"))) {
		return fmt.Errorf("entry %q: its name leaves the directory", shorten(name, 100))
	}
	return nil
}

// extract writes the documents of an archive under dir and returns their
// slash-separated names, sorted. Every name in the archive is checked
// before anything is written; on an error, the files written are removed.
func extract(zr *zip.Reader, dir string) (files []string, err error) {
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return nil, fmt.Errorf("refusing the archive: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, oserr.Cause(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, oserr.Cause(err))
	}
	defer root.Close()
	defer func() {
		if err != nil {
			for _, f := range files {
				_ = root.Remove(filepath.FromSlash(f))
			}
			files = nil
		}
	}()
	var total int64
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || !isDocument(f.Name) {
			continue
		}
		name := path.Clean(f.Name)
		if f.Mode()&fs.ModeType != 0 {
			return files, fmt.Errorf("refusing the archive: entry %q is not a regular file", shorten(name, 100))
		}
		if len(files) >= maxDocuments {
			return files, fmt.Errorf("more than %d documents", maxDocuments)
		}
		if f.UncompressedSize64 > maxDocumentBytes {
			return files, fmt.Errorf("%s: over %d MiB", name, maxDocumentBytes>>20)
		}
		n, err := extractOne(root, f, name, &files)
		if err != nil {
			return files, err
		}
		if total += n; total > maxExtractedBytes {
			return files, fmt.Errorf("the documents are over %d MiB together", maxExtractedBytes>>20)
		}
	}
	sort.Strings(files)
	return files, nil
}

// extractOne writes one entry as name under root, adding it to files as
// soon as it exists, and returns its length.
func extractOne(root *os.Root, f *zip.File, name string, files *[]string) (int64, error) {
	rel := filepath.FromSlash(name)
	if d := filepath.Dir(rel); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return 0, fmt.Errorf("%s: %w", name, oserr.Cause(err))
		}
	}
	out, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, fmt.Errorf("%s: already there (a second entry of that name, or a file in the directory)", name)
		}
		return 0, fmt.Errorf("%s: %w", name, oserr.Cause(err))
	}
	*files = append(*files, name)
	in, err := f.Open()
	if err != nil {
		out.Close()
		return 0, fmt.Errorf("%s: %v", name, err)
	}
	n, err := io.Copy(out, io.LimitReader(in, maxDocumentBytes+1))
	in.Close()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return n, fmt.Errorf("%s: %v", name, oserr.Cause(err))
	case n > maxDocumentBytes:
		return n, fmt.Errorf("%s: over %d MiB", name, maxDocumentBytes>>20)
	}
	return n, nil
}

// commonDir is the deepest folder that every slash-separated name is in;
// "." when they share none.
func commonDir(names []string) string {
	var common []string
	for i, n := range names {
		parts := strings.Split(path.Dir(n), "/")
		if parts[0] == "." {
			return "."
		}
		if i == 0 {
			common = parts
			continue
		}
		j := 0
		for j < len(common) && j < len(parts) && common[j] == parts[j] {
			j++
		}
		common = common[:j]
		if j == 0 {
			return "."
		}
	}
	if len(common) == 0 {
		return "."
	}
	return strings.Join(common, "/")
}

// archiveName takes the file name out of a Content-Disposition header,
// as printable text of at most 200 characters; empty when there is none.
func archiveName(cd string) string {
	if cd == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return ""
	}
	name := path.Base(strings.ReplaceAll(params["filename"], "\\", "/"))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, name)
	return shorten(name, 200)
}
