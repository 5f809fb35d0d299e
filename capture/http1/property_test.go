package http1

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestSplitInvariance feeds every scenario whole, byte by byte and in
// random chunkings: the exchanges and the counters must not change.
func TestSplitInvariance(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			want := play(t, sc.opts, sc.evs, noSplit)
			splits := map[string]func([]byte) [][]byte{"bytes": byteSplit}
			for seed := range 5 {
				splits[fmt.Sprintf("random-%d", seed)] = randomSplit(rand.New(rand.NewPCG(uint64(seed), 99)))
			}
			if testing.Short() || sc.name == "encoding/gzip-bomb-bounded" {
				splits = map[string]func([]byte) [][]byte{"random-0": randomSplit(rand.New(rand.NewPCG(0, 99)))}
			}
			for name, split := range splits {
				got := play(t, sc.opts, sc.evs, split)
				compareResults(t, name, want, got)
			}
		})
	}
}

func compareResults(t *testing.T, name string, want, got result) {
	t.Helper()
	if len(got.xs) != len(want.xs) {
		t.Fatalf("%s: %d exchanges, whole gave %d", name, len(got.xs), len(want.xs))
	}
	for i := range want.xs {
		if !reflect.DeepEqual(got.xs[i], want.xs[i]) {
			t.Errorf("%s: exchange %d differs:\n got %s\nwant %s", name, i, summary(got.xs[i]), summary(want.xs[i]))
		}
	}
	g, w := *got.stats, *want.stats
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: stats differ:\n got %+v\nwant %+v", name, g, w)
	}
}
