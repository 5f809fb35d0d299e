package stream_test

import (
	"fmt"
	"testing"

	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// mixSize is the number of exchanges in the traffic the fault tests use:
// enough for every fault to hit requests and responses, headers and
// bodies, many times.
const mixSize = 400

// TestFaultsKeepExchanges checks that reordering, duplicate segments and
// overlapping retransmissions, alone and together, change nothing in the
// exchanges: each run gives what net/http reads from the generated wire
// bytes, and exactly what the fault-free capture gives.
func TestFaultsKeepExchanges(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	want := oracle(t, conns)
	clean, cleanStats := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1}), stream.Options{})
	ref := canons(clean)
	t.Run("none", func(t *testing.T) {
		checkOracle(t, ref, want)
		tot := cleanStats.Total()
		if tot.LostBytes != 0 || tot.Unanswered != 0 || tot.OrphanResponses != 0 || tot.Undecodable != 0 {
			t.Errorf("fault-free capture counts losses: %+v", tot)
		}
	})

	cases := []struct {
		name string
		o    pcapgen.Options
	}{
		{"reorder", pcapgen.Options{Reorder: 0.3}},
		{"reorder-all", pcapgen.Options{Reorder: 1}},
		{"duplicate", pcapgen.Options{Duplicate: 0.3}},
		{"overlap", pcapgen.Options{Overlap: 0.3}},
		{"overlap-all", pcapgen.Options{Overlap: 1}},
		{"small-mss-overlap", pcapgen.Options{MSS: 300, Overlap: 0.5}},
		{"all", pcapgen.Options{Reorder: 0.2, Duplicate: 0.2, Overlap: 0.2}},
	}
	for _, tc := range cases {
		for _, seed := range []int64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				o := tc.o
				o.Seed = seed
				got, stats := run(t, genPcap(t, conns, o), stream.Options{})
				compareCanons(t, tc.name, canons(got), ref)
				tot := stats.Total()
				if tot.LostBytes != 0 || tot.Unanswered != 0 || tot.OrphanResponses != 0 || tot.Undecodable != 0 || tot.Incomplete != 0 || tot.Truncated != 0 {
					t.Errorf("counts losses though no byte was lost: %+v", tot)
				}
				if tot.RequestBytes != cleanStats.Total().RequestBytes || tot.ResponseBytes != cleanStats.Total().ResponseBytes {
					t.Errorf("stream bytes %d/%d, fault-free %d/%d", tot.RequestBytes, tot.ResponseBytes, cleanStats.Total().RequestBytes, cleanStats.Total().ResponseBytes)
				}
			})
		}
	}
}

func TestDropExplore(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	want := oracle(t, conns)
	_ = want
	clean, _ := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1}), stream.Options{})
	byID := map[string]canon{}
	for _, c := range canons(clean) {
		byID[requestID(c.ReqHeader)] = c
	}
	for _, p := range []float64{0.005, 0.02, 0.1} {
		got, stats := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1, Drop: p}), stream.Options{})
		eq, flagged, wrong := 0, 0, 0
		for _, c := range canons(got) {
			w, ok := byID[requestID(c.ReqHeader)]
			w.Seq = c.Seq
			switch {
			case ok && w == c:
				eq++
			case c.flagged():
				flagged++
			default:
				wrong++
				t.Logf("wrong: %s: %s", c.short(), c.diff(w))
			}
		}
		tot := stats.Total()
		t.Logf("drop %v: %d emitted: %d equal, %d flagged, %d wrong; stats %+v", p, len(got), eq, flagged, wrong, tot)
	}
}
