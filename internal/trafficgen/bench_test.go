package trafficgen

import "testing"

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkGenerate measures the whole path, exchanges to NDJSON bytes.
func BenchmarkGenerate(b *testing.B) {
	var w countingWriter
	b.ReportAllocs()
	if err := Generate(&w, b.N, 42); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(w.n / int64(max(b.N, 1)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
	b.ReportMetric(float64(w.n)/float64(max(b.N, 1)), "B/exchange")
}

// BenchmarkNext measures making exchanges, without encoding them.
func BenchmarkNext(b *testing.B) {
	g := New(42)
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}
