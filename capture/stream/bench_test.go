package stream_test

import (
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// BenchmarkAssemble reassembles and parses a capture of 2,000 exchanges of
// pcapgen's mix over many connections, packets already in memory: the
// per-packet path of every packet capture.
func BenchmarkAssemble(b *testing.B) {
	const n = 2000
	ps := readPackets(b, genPcap(b, pcapgen.Mix(n, 1), pcapgen.Options{Seed: 1}))
	var size int64
	for _, p := range ps {
		size += int64(len(p.Data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	got := 0
	for b.Loop() {
		stats := capture.NewStats()
		a := stream.New(stream.Options{}, stats, func(*capture.Exchange) { got++ })
		for _, p := range ps {
			a.Packet(p)
		}
		a.Close()
	}
	if got == 0 || got%n != 0 {
		b.Fatalf("%d exchanges, want a multiple of %d", got, n)
	}
	b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "exchanges/s")
}
