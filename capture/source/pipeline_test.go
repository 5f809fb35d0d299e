package source

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
)

// TestFeedBatches checks how a producer's exchanges reach the sink: in
// the order put, a full batch at once, a partial one only once it is
// batchAge old (capture time) or the producer finishes, and a sink's
// failure reported to the producer.
func TestFeedBatches(t *testing.T) {
	start := time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)
	x := func(i int) *capture.Exchange {
		return &capture.Exchange{Seq: i, Timing: capture.Timing{RequestStart: start.Add(time.Duration(i) * time.Millisecond)}}
	}
	var mu sync.Mutex
	var got []int
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	// waitFor waits for the sink to have seen n exchanges; the stages run
	// on their own goroutines.
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for count() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if c := count(); c != n {
			t.Fatalf("the sink saw %d exchanges, want %d", c, n)
		}
	}
	opts := &Options{}
	stats := capture.NewStats()
	f := opts.start(stats, func(e *capture.Exchange) error {
		mu.Lock()
		got = append(got, e.Seq)
		mu.Unlock()
		return nil
	})
	for i := range batchSize {
		stats.Exchanges++
		if err := f.put(x(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(batchSize) // a full batch goes at once
	for i := batchSize; i < batchSize+3; i++ {
		stats.Exchanges++
		f.put(x(i))
	}
	f.tick(start.Add(batchSize*time.Millisecond + batchAge/2))
	time.Sleep(20 * time.Millisecond)
	if c := count(); c != batchSize {
		t.Fatalf("a young partial batch was sent: the sink saw %d exchanges", c)
	}
	f.tick(start.Add(batchSize*time.Millisecond + batchAge))
	waitFor(batchSize + 3)
	stats.Exchanges++
	f.put(x(batchSize + 3))
	if err := f.finish(); err != nil {
		t.Fatal(err)
	}
	if len(got) != batchSize+4 || stats.Exchanges != batchSize+4 {
		t.Fatalf("%d exchanges delivered, %d counted; want %d", len(got), stats.Exchanges, batchSize+4)
	}
	for i, seq := range got {
		if seq != i {
			t.Fatalf("exchange %d delivered in place %d", seq, i)
		}
	}

	// A sink that fails: the producer hears of it, nothing more is
	// delivered, and finish returns the error.
	boom := errors.New("disk full")
	delivered := 0
	f = opts.start(capture.NewStats(), func(e *capture.Exchange) error {
		delivered++
		return boom
	})
	var err error
	for i := 0; i < 100*batchSize && err == nil; i++ {
		err = f.put(x(i))
		if i%batchSize == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if !errors.Is(err, boom) {
		t.Errorf("put after the sink failed: %v", err)
	}
	if err := f.finish(); !errors.Is(err, boom) || delivered != 1 {
		t.Errorf("finish: %v after %d deliveries; want the sink's error after one", err, delivered)
	}
}
