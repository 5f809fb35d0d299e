package source

import (
	"sync"
	"sync/atomic"

	"github.com/specgate/specgate/capture"
)

// pipeline hands exchanges to a second goroutine that redacts them and
// runs the sink, so that a capture keeps two cores busy: one reassembles
// and parses, the other redacts and writes. Order is kept: one consumer
// takes exchanges in the order they were put.
type pipeline struct {
	opts   *Options
	stats  *capture.Stats
	sink   Sink
	ch     chan *capture.Exchange
	wg     sync.WaitGroup
	failed atomic.Bool
	err    error // set by the consumer before failed
	once   sync.Once
	// putErr is the first error put returned to emit, for callers that
	// hand emit to the stream assembler.
	putErr error
}

// pipelineDepth bounds the exchanges in flight between the two goroutines
// (and so the memory they hold).
const pipelineDepth = 256

func (o *Options) start(stats *capture.Stats, sink Sink) *pipeline {
	p := &pipeline{opts: o, stats: stats, sink: sink, ch: make(chan *capture.Exchange, pipelineDepth)}
	p.wg.Add(1)
	go p.consume()
	return p
}

func (p *pipeline) consume() {
	defer p.wg.Done()
	for e := range p.ch {
		if p.failed.Load() {
			continue // drain
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

// put filters e and queues it; it reports a sink failure as soon as it is
// known.
func (p *pipeline) put(e *capture.Exchange) error {
	if p.failed.Load() {
		return p.err
	}
	if !p.opts.Exchanges.Keep(e) {
		// Stats.Exchanges counts what reaches the output.
		p.stats.Exchanges--
		p.stats.Filtered++
		return nil
	}
	p.ch <- e
	return nil
}

// emit is put for the stream assembler, which has no error to return:
// the first error is kept in putErr.
func (p *pipeline) emit(e *capture.Exchange) {
	if p.putErr == nil {
		p.putErr = p.put(e)
	}
}

// finish waits for every queued exchange to reach the sink. It may be
// called more than once.
func (p *pipeline) finish() error {
	p.once.Do(func() {
		close(p.ch)
		p.wg.Wait()
	})
	return p.err
}
