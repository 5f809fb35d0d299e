package infer_test

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/infer"
)

var update = flag.Bool("update", false, "rewrite the golden documents in testdata/golden")

// readExchanges reads a capture file the way 'specgate infer' does:
// redacted.
func readExchanges(t testing.TB, path string) []*capture.Exchange {
	t.Helper()
	var out []*capture.Exchange
	opts := source.Options{Redactor: redact.New(redact.Options{})}
	err := source.ReadFile(context.Background(), path, opts, capture.NewStats(), func(e *capture.Exchange) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no exchanges", path)
	}
	return out
}

// traffic returns the recorded scenarios: name → exchanges.
func traffic(t testing.TB) map[string][]*capture.Exchange {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "traffic", "*.pcap"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded traffic in testdata/traffic (%v)", err)
	}
	out := map[string][]*capture.Exchange{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".pcap")] = readExchanges(t, f)
	}
	return out
}

// render infers the exchanges and returns every service's YAML.
func render(t testing.TB, opts infer.Options, exs []*capture.Exchange, docs ...[]byte) map[string][]byte {
	t.Helper()
	in := infer.New(opts)
	for _, e := range exs {
		in.Observe(e)
	}
	for i, d := range docs {
		doc, err := infer.LoadDocument(d, "shard")
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		if err := in.AddDocument(doc); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	out := map[string][]byte{}
	for _, n := range in.Services() {
		doc := in.Document(n)
		b, err := infer.Marshal(doc, infer.Format{})
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

func only(t testing.TB, m map[string][]byte) []byte {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("want one service, got %d: %v", len(m), keys(m))
	}
	for _, b := range m {
		return b
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

func loadDoc(t testing.TB, b []byte) *openapi3.T {
	t.Helper()
	doc, err := infer.LoadDocument(b, "document")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestGolden compares each scenario's documents with the ones kept in
// testdata/golden (go test -update rewrites them; review the diff).
func TestGolden(t *testing.T) {
	for name, exs := range traffic(t) {
		t.Run(name, func(t *testing.T) {
			docs := render(t, infer.Options{}, exs)
			names := infer.FileNames(keys(docs), ".yaml")
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				os.RemoveAll(dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for svc, b := range docs {
				p := filepath.Join(dir, names[svc])
				if *update {
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(p)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(b, want) {
					t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", svc, p, firstDiff(string(want), string(b)))
				}
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + x + "\n  got:  " + y
		}
	}
	return "(equal)"
}

// TestValidAndSelfDiff: every document validates with kin-openapi, loads
// in oasdiff, and a diff of a document against itself is empty with no
// breaking-change findings.
func TestValidAndSelfDiff(t *testing.T) {
	all := map[string][]byte{}
	for name, exs := range traffic(t) {
		for svc, b := range render(t, infer.Options{}, exs) {
			all[name+"/"+svc] = b
		}
	}
	for name, b := range all {
		t.Run(name, func(t *testing.T) {
			checkValidSelfDiff(t, b)
		})
	}
}

func checkValidSelfDiff(t *testing.T, b []byte) {
	t.Helper()
	doc := loadDoc(t, b)
	if err := infer.Validate(context.Background(), doc); err != nil {
		t.Fatalf("does not validate: %v", err)
	}
	l := openapi3.NewLoader()
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.yaml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s1, err := load.NewSpecInfo(l, load.NewSource(p))
	if err != nil {
		t.Fatalf("oasdiff cannot load it: %v", err)
	}
	s2, err := load.NewSpecInfo(openapi3.NewLoader(), load.NewSource(p))
	if err != nil {
		t.Fatal(err)
	}
	d, srcs, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		t.Fatalf("oasdiff: %v", err)
	}
	if !d.Empty() {
		t.Errorf("diff against itself is not empty")
	}
	if errs := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, srcs, checker.INFO); len(errs) > 0 {
		t.Errorf("checks against itself found %d changes, first %s", len(errs), errs[0].GetId())
	}
}

// allExchanges returns every recorded exchange, and those of the
// third-party corpora when they are there.
func allExchanges(t testing.TB) []*capture.Exchange {
	var exs []*capture.Exchange
	for _, name := range keys(traffic(t)) {
		exs = append(exs, traffic(t)[name]...)
	}
	return exs
}

// TestOrderIndependent: the same exchanges in any order give the same
// bytes.
func TestOrderIndependent(t *testing.T) {
	exs := allExchanges(t)
	want := render(t, infer.Options{}, exs)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		sh := append([]*capture.Exchange(nil), exs...)
		r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		got := render(t, infer.Options{}, sh)
		compareDocs(t, "shuffled", want, got)
	}
}

func compareDocs(t *testing.T, what string, want, got map[string][]byte) {
	t.Helper()
	if strings.Join(keys(want), ",") != strings.Join(keys(got), ",") {
		t.Fatalf("%s: services %v, want %v", what, keys(got), keys(want))
	}
	for n := range want {
		if !bytes.Equal(want[n], got[n]) {
			t.Errorf("%s: %s differs:\n%s", what, n, firstDiff(string(want[n]), string(got[n])))
		}
	}
}

// TestShardsMerge: exchanges split at random into shards, each inferred
// and written, then merged in random order, give the bytes of inferring
// everything at once.
func TestShardsMerge(t *testing.T) {
	exs := allExchanges(t)
	want := render(t, infer.Options{}, exs)
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 6; round++ {
		k := 2 + r.IntN(3)
		shards := make([][]*capture.Exchange, k)
		for _, e := range exs {
			i := r.IntN(k)
			shards[i] = append(shards[i], e)
		}
		var docs [][]byte
		for _, s := range shards {
			for _, b := range render(t, infer.Options{}, s) {
				docs = append(docs, b)
			}
		}
		r.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
		// Half the rounds merge documents only; the others observe the
		// first shard's traffic directly and merge the rest's documents.
		got := render(t, infer.Options{}, nil, docs...)
		compareDocs(t, "merged shards", want, got)
	}
}
