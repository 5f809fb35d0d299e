package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
)

// FuzzCollect feeds Collect an agent that answers anything: a shard list
// (where @SIZE and @SUM stand for the shard's true size and SHA-256, so
// that the shard's own bytes get read) and a shard. Collect must neither
// panic nor fail: a bad answer is a Problem, and every exchange it passes
// on is whole.
func FuzzCollect(f *testing.F) {
	var ndjson bytes.Buffer
	w := har.NewWriter(&ndjson, har.FormatNDJSON, har.Creator{})
	w.Write(exchange("/a", 200, capture.WireID{Request: 1, Response: 2}, 0))
	w.Write(exchange("/a", 200, capture.WireID{Request: 1, Response: 2}, 0))
	cut := exchange("/b", 200, capture.WireID{Request: 3, Response: 4}, 5)
	cut.Response.Incomplete = true
	w.Write(cut)
	w.Close()
	good := `[{"name":"n-000000000.ndjson","node":"n","size":@SIZE,"sha256":"@SUM","stats":{"name":"n-000000000.stats.json","size":@SIZE,"sha256":"@SUM"}}]`
	f.Add([]byte(good), ndjson.Bytes())
	f.Add([]byte(good), []byte(`{"node":"n","start":"2025-01-01T00:00:00Z","missed":[{"target":"a/b","reason":"x"}],"capture":{"packets":3}}`))
	f.Add([]byte(good), []byte{})
	f.Add([]byte(`[{"name":"n-000000000.ndjson","size":3,"sha256":"00"}]`), []byte("abc"))
	f.Add([]byte(`[{"name":"../x","size":@SIZE,"sha256":"@SUM"}]`), []byte("{}"))
	f.Add([]byte(`{"not":"a list"}`), []byte{})
	f.Add([]byte(`[]`), []byte{})
	f.Fuzz(func(t *testing.T, list, shard []byte) {
		sum := sha256.Sum256(shard)
		list = bytes.ReplaceAll(list, []byte("@SIZE"), []byte(strconv.Itoa(len(shard))))
		list = bytes.ReplaceAll(list, []byte("@SUM"), []byte(hex.EncodeToString(sum[:])))
		ep := Endpoint{Name: "fuzz", Get: func(_ context.Context, path string) (io.ReadCloser, error) {
			if path == "shards" {
				return io.NopCloser(bytes.NewReader(list)), nil
			}
			if !strings.HasPrefix(path, "shards/") || !validName(strings.TrimPrefix(path, "shards/")) {
				t.Fatalf("asked for %q", path)
			}
			return io.NopCloser(bytes.NewReader(shard)), nil
		}}
		n := 0
		res, err := Collect(context.Background(), CollectConfig{Agents: []Endpoint{ep}, TempDir: t.TempDir(),
			Sink: func(e *capture.Exchange) error {
				if e == nil || e.Request.Method == "" {
					t.Fatalf("passed %+v", e)
				}
				n++
				return nil
			}})
		if err != nil {
			t.Fatalf("Collect failed on an agent's answers: %v", err)
		}
		if uint64(n) != res.Exchanges {
			t.Fatalf("%d exchanges passed, %d counted", n, res.Exchanges)
		}
	})
}
