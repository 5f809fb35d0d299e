package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// writeShard writes a finished shard into the store and commits it.
func writeShard(t *testing.T, s *Store, content string) (string, []string) {
	t.Helper()
	name, path := s.Reserve()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Commit(name, []byte(`{"shard":"`+name+`"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return name, deleted
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func get(t *testing.T, h http.Handler, method, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Body.String()
}

func TestStoreNamesListsAndServesShards(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shards")
	s, err := OpenStore(dir, "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	contents := []string{"{\"a\":1}\n", "", "{\"b\":2}\n{\"c\":3}\n"}
	var names []string
	for _, c := range contents {
		n, _ := writeShard(t, s, c)
		names = append(names, n)
	}
	// A shard being written is a hidden temporary file: not listed.
	if err := os.WriteFile(filepath.Join(dir, ".node-a-000000003.ndjson.tmp-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"node-a-000000000.ndjson", "node-a-000000001.ndjson", "node-a-000000002.ndjson"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	h := s.Handler()
	code, body := get(t, h, "GET", "/shards")
	if code != 200 {
		t.Fatalf("GET /shards: %d %s", code, body)
	}
	var list []ShardInfo
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("listed %d shards, want 3: %s", len(list), body)
	}
	for i, sh := range list {
		if sh.Name != want[i] || sh.Node != "node-a" || sh.Size != int64(len(contents[i])) || sh.SHA256 != sha(contents[i]) {
			t.Errorf("shard %d listed as %+v", i, sh)
		}
		code, got := get(t, h, "GET", "/shards/"+sh.Name)
		if code != 200 || got != contents[i] {
			t.Errorf("GET %s: %d %q, want %q", sh.Name, code, got, contents[i])
		}
		stats := `{"shard":"` + sh.Name + `"}` + "\n"
		if sh.Stats == nil || sh.Stats.Name != strings.TrimSuffix(sh.Name, ".ndjson")+".stats.json" || sh.Stats.SHA256 != sha(stats) {
			t.Errorf("shard %d statistics listed as %+v", i, sh.Stats)
			continue
		}
		if code, got := get(t, h, "GET", "/shards/"+sh.Stats.Name); code != 200 || got != stats {
			t.Errorf("GET %s: %d %q", sh.Stats.Name, code, got)
		}
	}
	for _, c := range []struct {
		method, target string
		code           int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/shards/.node-a-000000003.ndjson.tmp-123", 404},
		{"GET", "/shards/node-a-000000009.ndjson", 404},
		{"GET", "/shards/..%2Fshards%2Fnode-a-000000000.ndjson", 404},
		{"GET", "/shards/%2e%2e%2fetc%2fpasswd", 404},
		{"GET", "/etc/passwd", 404},
		{"POST", "/shards", 405},
		{"DELETE", "/shards/node-a-000000000.ndjson", 405},
		{"PUT", "/shards/node-a-000000009.ndjson", 405},
	} {
		if code, body := get(t, h, c.method, c.target); code != c.code {
			t.Errorf("%s %s: %d %q, want %d", c.method, c.target, code, body, c.code)
		}
	}
}

func TestStoreReopenContinuesNumbering(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	writeShard(t, s, "one\n")
	writeShard(t, s, "two\n")
	// A shard of another node in the same directory, and a temporary file
	// an interrupted write left behind.
	other := filepath.Join(dir, "node-b-000000007.ndjson")
	os.WriteFile(other, []byte("b\n"), 0o644)
	stale := filepath.Join(dir, ".node-a-000000002.ndjson.tmp-99")
	os.WriteFile(stale, []byte("half"), 0o644)

	s2, err := OpenStore(dir, "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	name, _ := s2.Reserve()
	if name != "node-a-000000002.ndjson" {
		t.Errorf("after a restart the next shard is %s, want node-a-000000002.ndjson", name)
	}
	var got []string
	for _, sh := range s2.List() {
		got = append(got, sh.Node+" "+sh.Name+" "+sh.SHA256[:8])
	}
	want := []string{
		"node-a node-a-000000000.ndjson " + sha("one\n")[:8],
		"node-a node-a-000000001.ndjson " + sha("two\n")[:8],
		"node-b node-b-000000007.ndjson " + sha("b\n")[:8],
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reopened store lists\n%q\nwant\n%q", got, want)
	}
	if l := s2.List(); l[0].Stats == nil || l[2].Stats != nil {
		t.Errorf("statistics files not found again: %+v", l)
	}
}

func TestStoreBoundsDisk(t *testing.T) {
	dir := t.TempDir()
	// Each shard is 100 bytes plus a statistics file of 36 bytes.
	s, err := OpenStore(dir, "n", 300)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 99) + "\n"
	var allDeleted []string
	for range 5 {
		_, deleted := writeShard(t, s, body)
		allDeleted = append(allDeleted, deleted...)
	}
	want := []string{"n-000000000.ndjson", "n-000000001.ndjson", "n-000000002.ndjson"}
	if !reflect.DeepEqual(allDeleted, want) {
		t.Errorf("deleted %q, want %q", allDeleted, want)
	}
	if s.Deleted() != 3 {
		t.Errorf("Deleted() = %d, want 3", s.Deleted())
	}
	var left []string
	var total int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
		fi, _ := e.Info()
		total += fi.Size()
	}
	sort.Strings(left)
	wantLeft := []string{"n-000000003.ndjson", "n-000000003.stats.json", "n-000000004.ndjson", "n-000000004.stats.json"}
	if !reflect.DeepEqual(left, wantLeft) || total > 300 {
		t.Errorf("left %q (%d bytes), want %q within 300 bytes", left, total, wantLeft)
	}

	// A single shard larger than the bound is kept: it is the newest.
	big := strings.Repeat("y", 1000)
	name, deleted := writeShard(t, s, big)
	if len(deleted) != 2 || len(s.List()) != 1 || s.List()[0].Name != name {
		t.Errorf("after a shard over the bound: deleted %q, listed %+v", deleted, s.List())
	}
}

func TestStoreRejectsBadNodeNames(t *testing.T) {
	for _, n := range []string{"", "a/b", "..", "."} {
		if _, err := OpenStore(t.TempDir(), n, 0); err == nil {
			t.Errorf("node %q accepted", n)
		}
	}
}

func TestParseShardName(t *testing.T) {
	for _, c := range []struct {
		name, node string
		seq        uint64
		ok         bool
	}{
		{"node-a-000000012.ndjson", "node-a", 12, true},
		{"kind-worker2-000000000.ndjson", "kind-worker2", 0, true},
		{"node-a-12.ndjson", "", 0, false},
		{"node-a-000000012.stats.json", "", 0, false},
		{"-000000012.ndjson", "", 0, false},
		{"node-a-00000001x.ndjson", "", 0, false},
	} {
		node, seq, ok := parseShardName(c.name)
		if node != c.node || seq != c.seq || ok != c.ok {
			t.Errorf("parseShardName(%q) = %q %d %v", c.name, node, seq, ok)
		}
	}
}

var _ = io.Discard
