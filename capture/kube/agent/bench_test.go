package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/source"
)

// memAgent is an agent held in memory: shards by name.
func memAgent(b *testing.B, shards map[string][]byte) Endpoint {
	b.Helper()
	var list []ShardInfo
	for name, data := range shards {
		if strings.HasSuffix(name, statsSuffix) {
			continue
		}
		sum := sha256.Sum256(data)
		sh := ShardInfo{Name: name, Node: "n", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
		if st, ok := shards[statsName(name)]; ok {
			ss := sha256.Sum256(st)
			sh.Stats = &FileInfo{Name: statsName(name), Size: int64(len(st)), SHA256: hex.EncodeToString(ss[:])}
		}
		list = append(list, sh)
	}
	listJSON, _ := json.Marshal(list)
	return Endpoint{Name: "mem", Get: func(_ context.Context, path string) (io.ReadCloser, error) {
		if path == "shards" {
			return io.NopCloser(bytes.NewReader(listJSON)), nil
		}
		return io.NopCloser(bytes.NewReader(shards[strings.TrimPrefix(path, "shards/")])), nil
	}}
}

// BenchmarkCollect merges four shards of 2000 exchanges each, every
// shard repeating the last 500 of the one before (the overlap of
// rotation).
func BenchmarkCollect(b *testing.B) {
	shards := map[string][]byte{}
	id := 0
	for s := range 4 {
		var buf bytes.Buffer
		w := har.NewWriter(&buf, har.FormatNDJSON, har.Creator{})
		first := s * 1500
		for i := first; i < first+2000; i++ {
			w.Write(exchange(fmt.Sprintf("/items/%d", i), 200, capture.WireID{Request: uint32(i + 1), Response: uint32(i + 100000)}, i))
			id++
		}
		w.Close()
		name := fmt.Sprintf("n-%09d.ndjson", s)
		shards[name] = buf.Bytes()
		st, _ := json.Marshal(ShardStats{Node: "n", Shard: name, Start: t0.Add(time.Duration(first) * time.Millisecond), End: t0.Add(time.Duration(first+2000) * time.Millisecond), Capture: capture.NewStats()})
		shards[statsName(name)] = st
	}
	ep := memAgent(b, shards)
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	var res *CollectResult
	for b.Loop() {
		var err error
		res, err = Collect(context.Background(), CollectConfig{Agents: []Endpoint{ep}, TempDir: dir, Sink: func(*capture.Exchange) error { return nil }})
		if err != nil {
			b.Fatal(err)
		}
	}
	if res.Exchanges != 6500 || res.Duplicates != 1500 {
		b.Fatalf("%d exchanges, %d duplicates", res.Exchanges, res.Duplicates)
	}
	b.ReportMetric(float64(b.N)*8000/b.Elapsed().Seconds(), "exchanges/s")
}

// BenchmarkMerge is the merge step alone, per exchange: half are copies.
func BenchmarkMerge(b *testing.B) {
	exchs := make([]*capture.Exchange, 4096)
	for i := range exchs {
		n := uint32(i/2 + 1)
		exchs[i] = exchange("/items/x", 200, capture.WireID{Request: n, Response: n + 1}, i)
	}
	res := &CollectResult{}
	m := &merger{seen: source.NewDedup(0, 0), partial: map[partialKey]*capture.Exchange{}, sink: func(*capture.Exchange) error { return nil }, res: res}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.put(exchs[i%len(exchs)])
		i++
	}
}
