package infer_test

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/infer"
	"github.com/specgate/specgate/internal/testenv"
)

// TestCorpora infers every capture and HAR file of the third-party corpora
// (browsers, mitmproxy, other projects' test traces): every document
// validates, diffs cleanly against itself in oasdiff, and comes out the
// same for the exchanges in another order.
func TestCorpora(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "corpora")
	testenv.NeedDir(t, dir)
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".har") || strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") ||
			strings.HasSuffix(p, ".json") && strings.Contains(p, "har")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("no capture or HAR files in the corpora")
	}
	docs := 0
	for _, f := range files {
		var exs []*capture.Exchange
		err := source.ReadFile(context.Background(), f, source.Options{Redactor: redact.New(redact.Options{})}, capture.NewStats(), func(e *capture.Exchange) error {
			exs = append(exs, e)
			return nil
		})
		if err != nil || len(exs) == 0 {
			continue // files that are not captures of HTTP (the capture tests say why)
		}
		name, _ := filepath.Rel(dir, f)
		t.Run(name, func(t *testing.T) {
			want := render(t, infer.Options{}, exs)
			for svc, b := range want {
				t.Run(svc, func(t *testing.T) { checkValidSelfDiff(t, b) })
				docs++
			}
			r := rand.New(rand.NewPCG(7, uint64(len(exs))))
			r.Shuffle(len(exs), func(i, j int) { exs[i], exs[j] = exs[j], exs[i] })
			compareDocs(t, "shuffled", want, render(t, infer.Options{}, exs))
		})
	}
	if docs == 0 {
		t.Fatal("no document inferred from the corpora")
	}
	t.Logf("%d documents from %d files", docs, len(files))
}
