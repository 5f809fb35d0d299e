package gate

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/specgate/specgate/infer"
	"github.com/specgate/specgate/internal/oserr"
)

// Doc is one service's OpenAPI document and where it came from.
type Doc struct {
	Service string
	Source  string // a file, git:REF:PATH, a URL, or "inferred"
	Spec    *openapi3.T
	// Inferred reports that specgate inferred the document: it carries
	// sample counts, and what it lacks was not seen rather than absent.
	Inferred bool
}

// NewDoc wraps a document, naming its service from its x-specgate
// extension, else its title, else fallback.
func NewDoc(spec *openapi3.T, source, fallback string) *Doc {
	d := &Doc{Spec: spec, Source: source, Inferred: infer.Inferred(spec), Service: fallback}
	if x, ok := spec.Extensions["x-specgate"].(map[string]any); ok {
		if s, ok := x["service"].(string); ok && s != "" {
			d.Service = s
			return d
		}
	}
	if spec.Info != nil && spec.Info.Title != "" && fallback == "" {
		d.Service = spec.Info.Title
	}
	return d
}

// ParseDoc parses a document's bytes; name is used in errors and as its
// source.
func ParseDoc(data []byte, name string) (*Doc, error) {
	spec, err := infer.LoadDocument(data, name)
	if err != nil {
		return nil, err
	}
	if err := infer.Validate(context.Background(), spec); err != nil {
		return nil, fmt.Errorf("%s: invalid OpenAPI document: %v", name, oneLine(err.Error()))
	}
	return NewDoc(spec, name, ""), nil
}

// LoadDocs reads the documents src names: a file, a directory of .yaml,
// .yml and .json files (one per service), git:REF:PATH (a file or a
// directory in a commit, read with git), or an http(s) URL.
func LoadDocs(ctx context.Context, src string) ([]*Doc, error) {
	switch {
	case strings.HasPrefix(src, "git:"):
		return loadGit(ctx, src)
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		data, err := fetch(ctx, src)
		if err != nil {
			return nil, err
		}
		d, err := ParseDoc(data, src)
		if err != nil {
			return nil, err
		}
		return []*Doc{d}, nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", src, oserr.Cause(err))
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", src, oserr.Cause(err))
		}
		d, err := ParseDoc(data, src)
		if err != nil {
			return nil, err
		}
		return []*Doc{d}, nil
	}
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
		m, _ := filepath.Glob(filepath.Join(src, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("baseline %s: no .yaml, .yml or .json documents in the directory", src)
	}
	var docs []*Doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", f, oserr.Cause(err))
		}
		d, err := ParseDoc(data, f)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// loadGit reads git:REF:PATH, a file or a directory at a commit.
func loadGit(ctx context.Context, src string) ([]*Doc, error) {
	spec := strings.TrimPrefix(src, "git:")
	ref, path, ok := strings.Cut(spec, ":")
	if !ok || ref == "" || path == "" {
		return nil, fmt.Errorf("baseline %s: want git:REF:PATH", src)
	}
	path = strings.TrimPrefix(filepath.ToSlash(path), "./")
	kind, err := git(ctx, "cat-file", "-t", ref+":"+path)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %v", src, err)
	}
	var paths []string
	switch strings.TrimSpace(string(kind)) {
	case "blob":
		paths = []string{path}
	case "tree":
		out, err := git(ctx, "ls-tree", "--name-only", ref+":"+path)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %v", src, err)
		}
		for _, n := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json") {
				paths = append(paths, strings.TrimSuffix(path, "/")+"/"+n)
			}
		}
		sort.Strings(paths)
		if len(paths) == 0 {
			return nil, fmt.Errorf("baseline %s: no .yaml, .yml or .json documents in the directory", src)
		}
	default:
		return nil, fmt.Errorf("baseline %s: not a file or directory", src)
	}
	var docs []*Doc
	for _, p := range paths {
		data, err := git(ctx, "show", ref+":"+p)
		if err != nil {
			return nil, fmt.Errorf("baseline git:%s:%s: %v", ref, p, err)
		}
		d, err := ParseDoc(data, "git:"+ref+":"+p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// git runs git in the working directory and returns its output; its
// error is the first line git printed.
func git(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], oneLine(strings.TrimPrefix(msg, "fatal: ")))
	}
	return out, nil
}

// maxFetch bounds a document fetched over HTTP.
const maxFetch = 64 << 20

func fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("baseline %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch+1))
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %v", url, err)
	}
	if len(data) > maxFetch {
		return nil, fmt.Errorf("baseline %s: larger than %d MB", url, maxFetch>>20)
	}
	return data, nil
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
