package source

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/specgate/specgate/capture"
)

// pipeline runs what follows reassembly on two more goroutines, so that a
// capture keeps both cores of a small machine busy: producers (one, or
// one per network namespace) reassemble and parse; the scrub stage drops
// duplicate copies and redacts; the sink stage runs the sink (annotation,
// encoding, writing). Exchanges travel in batches, so that a goroutine
// hand-off (and, when the next stage sleeps, a wake-up) is paid once per
// batch rather than once per exchange. The scrub stage takes batches in
// the order they were sent and the sink stage keeps that order; producers
// on several goroutines interleave as their batches come.
type pipeline struct {
	opts  *Options
	sink  Sink
	dedup *Dedup
	in    chan []*capture.Exchange // producers → scrub
	out   chan []*capture.Exchange // scrub → sink
	free  chan []*capture.Exchange // emptied batches, for reuse
	wg    sync.WaitGroup
	// failed is set once the sink failed; err is set before it.
	failed atomic.Bool
	err    error
	once   sync.Once
	// duplicates is counted by the scrub stage and added to stats by
	// finish.
	duplicates uint64
	stats      *capture.Stats
}

const (
	// batchSize is the most exchanges a producer holds before sending.
	batchSize = 32
	// batchAge bounds the capture time a producer holds a partial batch
	// (live captures also send one whenever the kernel has nothing
	// queued).
	batchAge = 50 * time.Millisecond
	// pipelineDepth bounds the batches queued between two stages, and
	// with batchSize the exchanges in flight (and the memory they hold).
	pipelineDepth = 8
)

// newPipeline starts the stages; finish adds what they counted to stats.
func (o *Options) newPipeline(stats *capture.Stats, sink Sink) *pipeline {
	p := &pipeline{opts: o, stats: stats, sink: sink, dedup: NewDedup(0, 0),
		in:   make(chan []*capture.Exchange, pipelineDepth),
		out:  make(chan []*capture.Exchange, pipelineDepth),
		free: make(chan []*capture.Exchange, 3*pipelineDepth)}
	p.wg.Add(2)
	go p.scrub()
	go p.deliver()
	return p
}

// start starts a pipeline with a single producer, which accounts in stats.
func (o *Options) start(stats *capture.Stats, sink Sink) *feed {
	return &feed{p: o.newPipeline(stats, sink), stats: stats}
}

// scrub drops copies of exchanges already seen and redacts the others.
func (p *pipeline) scrub() {
	defer p.wg.Done()
	defer close(p.out)
	for b := range p.in {
		if p.failed.Load() {
			p.recycle(b) // drain
			continue
		}
		kept := b[:0]
		for _, e := range b {
			if p.dedup.Seen(e) {
				p.duplicates++
				continue
			}
			if r := p.opts.Redactor; r != nil {
				// A file specgate wrote with redaction on holds nothing the
				// built-in rules would still redact: redacting is idempotent.
				if !e.Redacted || r.Extended() {
					scrubPartial(e)
					r.Exchange(e)
				}
				e.Redacted = true
			}
			kept = append(kept, e)
		}
		clear(b[len(kept):])
		if len(kept) == 0 {
			p.recycle(b)
			continue
		}
		p.out <- kept
	}
}

// deliver hands each exchange to the sink, in order.
func (p *pipeline) deliver() {
	defer p.wg.Done()
	for b := range p.out {
		for _, e := range b {
			if p.failed.Load() {
				break // drain
			}
			if err := p.sink(e); err != nil {
				p.err = err
				p.failed.Store(true)
			}
		}
		p.recycle(b)
	}
}

// recycle keeps an emptied batch for a producer to fill again.
func (p *pipeline) recycle(b []*capture.Exchange) {
	clear(b)
	select {
	case p.free <- b[:0]:
	default:
	}
}

// batch returns an empty batch, reused when one is free.
func (p *pipeline) batch() []*capture.Exchange {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]*capture.Exchange, 0, batchSize)
	}
}

// failure returns the sink's error once it failed.
func (p *pipeline) failure() error {
	if p.failed.Load() {
		return p.err
	}
	return nil
}

// finish waits for every queued exchange to reach the sink, then counts
// the duplicates dropped in stats (taking them out of Exchanges, which
// the producers counted). Every producer must be done and have flushed.
// It may be called more than once.
func (p *pipeline) finish() error {
	p.once.Do(func() {
		close(p.in)
		p.wg.Wait()
		p.stats.Exchanges -= min(p.duplicates, p.stats.Exchanges)
		p.stats.Duplicates += p.duplicates
	})
	return p.err
}

// feed is one producer's side of a pipeline: it filters exchanges,
// accounting in the producer's own statistics, and sends them in batches.
type feed struct {
	p     *pipeline
	stats *capture.Stats
	// putErr is the first error put returned to emit, for producers that
	// hand emit to the stream assembler.
	putErr error
	// batch holds exchanges not sent yet; first is the capture time of
	// the oldest (its request's start, or its response's end).
	batch []*capture.Exchange
	first time.Time
}

// put filters e and queues it; it reports a sink failure as soon as it is
// known.
func (f *feed) put(e *capture.Exchange) error {
	if err := f.p.failure(); err != nil {
		return err
	}
	if !f.p.opts.Exchanges.Keep(e) {
		// Stats.Exchanges counts what reaches the output.
		f.stats.Exchanges--
		f.stats.Filtered++
		return nil
	}
	if f.batch == nil {
		f.batch = f.p.batch()
	}
	if len(f.batch) == 0 {
		f.first = e.Timing.RequestStart
		if f.first.IsZero() {
			f.first = e.Timing.ResponseEnd
		}
	}
	f.batch = append(f.batch, e)
	if len(f.batch) >= batchSize {
		f.flush()
	}
	return nil
}

// emit is put for the stream assembler, which has no error to return:
// the first error is kept in putErr.
func (f *feed) emit(e *capture.Exchange) {
	if f.putErr == nil {
		f.putErr = f.put(e)
	}
}

// flush sends the exchanges held.
func (f *feed) flush() {
	if len(f.batch) == 0 {
		return
	}
	f.p.in <- f.batch
	f.batch = nil
}

// tick sends a partial batch whose oldest exchange is batchAge older than
// now (capture time), so that a slow live capture does not hold
// exchanges back for long.
func (f *feed) tick(now time.Time) {
	if len(f.batch) > 0 && now.Sub(f.first) >= batchAge {
		f.flush()
	}
}

// finish finishes the pipeline of a single producer.
func (f *feed) finish() error {
	f.flush()
	return f.p.finish()
}

// Pipeline is the shared end of several captures running at once (one per
// network namespace): each producer's exchanges are filtered by host and
// path, copies of exchanges already delivered are dropped (see [Dedup];
// counted in Stats.Duplicates), and the rest are redacted and handed to
// the sink one at a time, in the order they arrive. Which of several
// copies is delivered is the first to arrive; the copies hold the same
// messages and differ only in addresses, connection ids and timing.
type Pipeline struct {
	p *pipeline
}

// NewPipeline starts a pipeline to sink with the exchange filter and the
// redactor of opts. Close adds the duplicates it dropped to stats.
func NewPipeline(opts Options, stats *capture.Stats, sink Sink) *Pipeline {
	return &Pipeline{p: opts.newPipeline(stats, sink)}
}

// Put hands the pipeline one exchange from a producer that accounts in
// stats (its own, as for RunInto): e is counted in stats.Exchanges, or in
// stats.Filtered when the host and path filters leave it out. It returns
// the sink's error once the sink failed. Producers may call Put from
// several goroutines, each with its own stats.
func (p *Pipeline) Put(stats *capture.Stats, e *capture.Exchange) error {
	stats.Exchanges++
	f := feed{p: p.p, stats: stats}
	if err := f.put(e); err != nil {
		return err
	}
	f.flush()
	return nil
}

// Err returns the sink's error once the sink failed, nil until then.
func (p *Pipeline) Err() error { return p.p.failure() }

// Close waits for every exchange queued to reach the sink and returns the
// sink's error, if any. Call it once every producer has returned and its
// statistics were merged into the pipeline's: Close moves the duplicates
// from their Exchanges count to Duplicates.
func (p *Pipeline) Close() error { return p.p.finish() }
