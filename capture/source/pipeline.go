package source

import (
	"sync"
	"sync/atomic"

	"github.com/specgate/specgate/capture"
)

// pipeline hands exchanges to a second goroutine that drops duplicate
// copies, redacts and runs the sink, so that a capture keeps two cores
// busy: one (or one per network namespace) reassembles and parses, the
// other redacts and writes. One consumer takes exchanges in the order
// they were put; producers on several goroutines interleave as they come.
type pipeline struct {
	opts  *Options
	sink  Sink
	dedup *Dedup
	ch    chan *capture.Exchange
	wg    sync.WaitGroup
	// failed is set once the sink failed; err is set before it.
	failed atomic.Bool
	err    error
	once   sync.Once
	// duplicates is counted by the consumer and added to stats by finish.
	duplicates uint64
	stats      *capture.Stats
}

// pipelineDepth bounds the exchanges in flight between the goroutines
// (and so the memory they hold).
const pipelineDepth = 256

// newPipeline starts the consumer; finish adds what it counted to stats.
func (o *Options) newPipeline(stats *capture.Stats, sink Sink) *pipeline {
	p := &pipeline{opts: o, stats: stats, sink: sink, dedup: NewDedup(0, 0), ch: make(chan *capture.Exchange, pipelineDepth)}
	p.wg.Add(1)
	go p.consume()
	return p
}

// start starts a pipeline with a single producer, which accounts in stats.
func (o *Options) start(stats *capture.Stats, sink Sink) *feed {
	return &feed{p: o.newPipeline(stats, sink), stats: stats}
}

func (p *pipeline) consume() {
	defer p.wg.Done()
	for e := range p.ch {
		if p.failed.Load() {
			continue // drain
		}
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
		if err := p.sink(e); err != nil {
			p.err = err
			p.failed.Store(true)
		}
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
// the producers counted). Every producer must be done. It may be called
// more than once.
func (p *pipeline) finish() error {
	p.once.Do(func() {
		close(p.ch)
		p.wg.Wait()
		p.stats.Exchanges -= min(p.duplicates, p.stats.Exchanges)
		p.stats.Duplicates += p.duplicates
	})
	return p.err
}

// feed is one producer's side of a pipeline: it filters exchanges,
// accounting in the producer's own statistics, and queues them.
type feed struct {
	p     *pipeline
	stats *capture.Stats
	// putErr is the first error put returned to emit, for producers that
	// hand emit to the stream assembler.
	putErr error
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
	f.p.ch <- e
	return nil
}

// emit is put for the stream assembler, which has no error to return:
// the first error is kept in putErr.
func (f *feed) emit(e *capture.Exchange) {
	if f.putErr == nil {
		f.putErr = f.put(e)
	}
}

// finish finishes the pipeline of a single producer.
func (f *feed) finish() error { return f.p.finish() }

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
	return f.put(e)
}

// Err returns the sink's error once the sink failed, nil until then.
func (p *Pipeline) Err() error { return p.p.failure() }

// Close waits for every exchange queued to reach the sink and returns the
// sink's error, if any. Call it once every producer has returned and its
// statistics were merged into the pipeline's: Close moves the duplicates
// from their Exchanges count to Duplicates.
func (p *Pipeline) Close() error { return p.p.finish() }
