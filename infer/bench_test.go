package infer_test

import (
	"testing"

	"github.com/specgate/specgate/infer"
)

// BenchmarkObserve infers the recorded traffic of every scenario; one op
// is one exchange.
func BenchmarkObserve(b *testing.B) {
	exs := allExchanges(b)
	in := infer.New(infer.Options{})
	for _, e := range exs {
		in.Observe(e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in.Observe(exs[i%len(exs)])
	}
}

// BenchmarkDocument renders and writes the documents of every scenario.
func BenchmarkDocument(b *testing.B) {
	exs := allExchanges(b)
	in := infer.New(infer.Options{})
	for _, e := range exs {
		in.Observe(e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, n := range in.Services() {
			if _, err := infer.Marshal(in.Document(n), infer.Format{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
