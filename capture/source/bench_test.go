package source_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/pcapgen"
)

// benchExchanges is the size of the traffic the benchmarks read.
const benchExchanges = 20000

// writeMix writes a pcap of n exchanges of pcapgen's mix to dir.
func writeMix(tb testing.TB, dir string, n int) (string, int64) {
	tb.Helper()
	path := filepath.Join(dir, "mix.pcap")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := pcapgen.NewWriter(f, pcapgen.Options{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.WriteInterleaved(pcapgen.Mix(n, 1)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return path, fi.Size()
}

// BenchmarkReadFile reads a capture of 20,000 exchanges to the end, as
// `specgate capture` reads a file, with and without redaction. It reports
// the file's bytes per second and exchanges per second.
func BenchmarkReadFile(b *testing.B) {
	path, size := writeMix(b, b.TempDir(), benchExchanges)
	for _, bc := range []struct {
		name string
		red  *redact.Redactor
	}{
		{"plain", nil},
		{"redacted", redact.New(redact.Options{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var n uint64
			for b.Loop() {
				stats := capture.NewStats()
				err := source.ReadFile(context.Background(), path, source.Options{Redactor: bc.red}, stats, func(*capture.Exchange) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				if stats.Exchanges != benchExchanges {
					b.Fatalf("%d exchanges, want %d", stats.Exchanges, benchExchanges)
				}
				n += stats.Exchanges
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "exchanges/s")
		})
	}
}

// TestReadFileMix reads the benchmark's kind of file once and checks that
// every exchange comes out, and that redaction leaves the count alone but
// removes the bearer tokens the mix sends.
func TestReadFileMix(t *testing.T) {
	path, _ := writeMix(t, t.TempDir(), 2000)
	for _, red := range []*redact.Redactor{nil, redact.New(redact.Options{})} {
		stats := capture.NewStats()
		var tokens, total int
		err := source.ReadFile(context.Background(), path, source.Options{Redactor: red}, stats, func(e *capture.Exchange) error {
			total++
			if v := e.Request.Header.Get("Authorization"); v != "" && v != "Bearer "+redact.Marker {
				tokens++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if total != 2000 || stats.Exchanges != 2000 {
			t.Errorf("redactor %v: %d exchanges delivered, %d counted, want 2000", red != nil, total, stats.Exchanges)
		}
		if red == nil && tokens == 0 {
			t.Error("no bearer token in the mix: nothing for redaction to do")
		}
		if red != nil && tokens != 0 {
			t.Errorf("%d bearer tokens survived redaction", tokens)
		}
	}
}
