package redact_test

// Benchmarks and allocation checks over the exchanges of a generated
// capture, read back through specgate's own file pipeline. They live in
// the external test package because capture/source imports redact.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/pcapgen"
)

// loadExchanges writes a pcap of n generated exchanges (the traffic mix
// of pcapgen, as `pcapgen -n n -seed seed` writes it) and reads it back
// without redaction. SPECGATE_BENCH_PCAP names an existing capture to
// read instead.
func loadExchanges(tb testing.TB, n int, seed int64) []capture.Exchange {
	tb.Helper()
	path := os.Getenv("SPECGATE_BENCH_PCAP")
	if path == "" {
		path = filepath.Join(tb.TempDir(), "mix.pcap")
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		w, err := pcapgen.NewWriter(f, pcapgen.Options{Seed: seed})
		if err != nil {
			tb.Fatal(err)
		}
		const batch = 2000
		for i := 0; n > 0; i++ {
			k := min(n, batch)
			n -= k
			if err := w.WriteInterleaved(pcapgen.Mix(k, seed*1_000_003+int64(i))); err != nil {
				tb.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	var exs []capture.Exchange
	err := source.ReadFile(context.Background(), path, source.Options{}, capture.NewStats(), func(e *capture.Exchange) error {
		c := *e
		c.Request.Body = bytes.Clone(e.Request.Body)
		c.Response.Body = bytes.Clone(e.Response.Body)
		exs = append(exs, c)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(exs) == 0 {
		tb.Fatal("no exchanges read")
	}
	return exs
}

// bodyBytes sums the body bytes of exs.
func bodyBytes(exs []capture.Exchange) int64 {
	var n int64
	for i := range exs {
		n += int64(len(exs[i].Request.Body) + len(exs[i].Response.Body))
	}
	return n
}

// clean returns the exchanges of exs in which r redacts nothing.
func clean(r *redact.Redactor, exs []capture.Exchange) []capture.Exchange {
	var out []capture.Exchange
	for _, e := range exs {
		before := r.Count()
		c := e
		r.Exchange(&c)
		if r.Count() == before {
			out = append(out, e)
		}
	}
	return out
}

// BenchmarkPipelineExchanges redacts every exchange of a 20,000-exchange
// capture per iteration (as `pcapgen -n 20000 -seed 42` writes it);
// "clean" keeps only the exchanges with nothing to redact (the common
// case, which must not allocate), and "cached" the first 200. Exchange
// never writes into the bodies or header slices it is given (it replaces
// them), so each iteration redacts a shallow copy of each exchange. Run
// with -cpuprofile to see where the time goes.
func BenchmarkPipelineExchanges(b *testing.B) {
	all := loadExchanges(b, 20000, 42)
	r := redact.New(redact.Options{})
	sets := []struct {
		name string
		exs  []capture.Exchange
	}{
		{"all", all},
		{"clean", clean(r, all)},
		// The first 200 exchanges (about half a megabyte of bodies) stay
		// in cache from one iteration to the next, as an exchange the
		// parser has just written does: this measures the redaction
		// rather than memory bandwidth.
		{"cached", all[:200]},
	}
	for _, set := range sets {
		b.Run(set.name, func(b *testing.B) {
			exs := set.exs
			r := redact.New(redact.Options{})
			b.SetBytes(bodyBytes(exs))
			b.ReportAllocs()
			for b.Loop() {
				for i := range exs {
					c := exs[i]
					r.Exchange(&c)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(exs)), "ns/exchange")
		})
	}
}

// TestPipelineCleanNoAllocs checks, over generated traffic, that an
// exchange with nothing to redact costs no allocation, that exchanges
// with secrets in them do get redacted, and that redaction leaves the
// exchange it was given untouched apart from the fields it replaces.
func TestPipelineCleanNoAllocs(t *testing.T) {
	all := loadExchanges(t, 1000, 7)
	r := redact.New(redact.Options{})
	cl := clean(r, all)
	if len(cl) == 0 || len(cl) == len(all) {
		t.Fatalf("%d of %d exchanges are clean; the mix should hold both kinds", len(cl), len(all))
	}
	allocs := testing.AllocsPerRun(5, func() {
		for i := range cl {
			c := cl[i]
			r.Exchange(&c)
		}
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("redacting %d clean exchanges allocates %v times, want 0", len(cl), allocs)
	}
	for i := range all {
		orig := all[i]
		snap := orig
		snap.Request.Body = bytes.Clone(orig.Request.Body)
		snap.Response.Body = bytes.Clone(orig.Response.Body)
		snap.Request.Header = orig.Request.Header.Clone()
		snap.Response.Header = orig.Response.Header.Clone()
		c := orig
		r.Exchange(&c)
		if !reflect.DeepEqual(orig.Request.Body, snap.Request.Body) || !reflect.DeepEqual(orig.Response.Body, snap.Response.Body) ||
			!reflect.DeepEqual(orig.Request.Header, snap.Request.Header) || !reflect.DeepEqual(orig.Response.Header, snap.Response.Header) {
			t.Fatalf("exchange %d: redaction wrote into the exchange's own bodies or headers", i)
		}
	}
}
