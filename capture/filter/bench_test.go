package filter

import (
	"math/rand/v2"
	"testing"
)

// benchExpr is a typical specgate filter: the services under test, minus
// noise.
const benchExpr = "tcp and (port 8080 or 5432 or http) and net 10.0.0.0/8 and not host 10.0.0.9"

// benchSetup parses benchExpr and generates the 256 packets the
// matching benchmarks cycle through.
func benchSetup(b *testing.B) (*Expr, []testPacket) {
	e, err := Parse(benchExpr)
	if err != nil {
		b.Fatal(err)
	}
	pkts := genPackets(b, rand.New(rand.NewPCG(5, 5)), 256)
	b.ReportAllocs()
	return e, pkts
}

func BenchmarkMatch(b *testing.B) {
	e, pkts := benchSetup(b)
	for i := 0; b.Loop(); i++ {
		e.Match(&pkts[i&255].meta)
	}
}

func BenchmarkDecodeNetworkMatch(b *testing.B) {
	e, pkts := benchSetup(b)
	var m Meta
	for i := 0; b.Loop(); i++ {
		if m.DecodeNetwork(pkts[i&255].data) {
			e.Match(&m)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchExpr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileNetwork(b *testing.B) {
	e, err := Parse(benchExpr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.CompileNetwork(65535); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchDoesNotAllocate holds Match to its promise outside benchmarks.
func TestMatchDoesNotAllocate(t *testing.T) {
	e, err := Parse(benchExpr + " or host localhost or portrange 1-1024")
	if err != nil {
		t.Fatal(err)
	}
	pkts := genPackets(t, rand.New(rand.NewPCG(6, 6)), 64)
	allocs := testing.AllocsPerRun(100, func() {
		var m Meta
		for i := range pkts {
			m.DecodeNetwork(pkts[i].data)
			e.Match(&m)
		}
	})
	if allocs != 0 {
		t.Errorf("DecodeNetwork+Match allocate %v times per run", allocs)
	}
}
