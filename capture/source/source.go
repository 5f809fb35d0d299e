// Package source opens what specgate is pointed at — live interfaces,
// network namespaces, pcap, pcapng, HAR and NDJSON files — and gives one
// stream of redacted, filtered exchanges, each once however many copies of
// it were captured, plus the statistics of the capture.
package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/filter"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/live"
	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/match"
	"github.com/specgate/specgate/internal/oserr"
)

// Sink receives every exchange; an error stops the capture.
type Sink func(*capture.Exchange) error

// Options configure every source.
type Options struct {
	Stream stream.Options
	// Filter is the packet filter: compiled into the kernel for live
	// captures, evaluated in user space for capture files.
	Filter *filter.Expr
	// Exchanges filters exchanges by host and path.
	Exchanges ExchangeFilter
	// Redactor scrubs secrets from every exchange before the sink sees it;
	// nil turns redaction off (--no-redact).
	Redactor *redact.Redactor
	// Grace is how long a live capture keeps reading after it is told to
	// stop, so that exchanges in flight complete (default 1s). Reading ends
	// earlier once the kernel has nothing more to give.
	Grace time.Duration
	// Live configures live captures.
	Live live.Config
}

// ExchangeFilter keeps exchanges whose host and path match the include
// patterns (when there are any) and none of the exclude patterns.
type ExchangeFilter struct {
	IncludeHosts, ExcludeHosts []*regexp.Regexp
	IncludePaths, ExcludePaths []*regexp.Regexp
}

// Keep reports whether e passes the filter.
func (f *ExchangeFilter) Keep(e *capture.Exchange) bool {
	if len(f.IncludeHosts)+len(f.ExcludeHosts)+len(f.IncludePaths)+len(f.ExcludePaths) == 0 {
		return true
	}
	host := e.Request.Host
	if host == "" && e.Server.IsValid() {
		host = e.Server.String()
	}
	path := e.Request.Target
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return match.Keep(host, f.IncludeHosts, f.ExcludeHosts) && match.Keep(path, f.IncludePaths, f.ExcludePaths)
}

// Kind is the kind of an input file.
type Kind int

// The kinds of input files.
const (
	KindUnknown Kind = iota
	KindPackets      // pcap or pcapng, possibly gzip-compressed
	KindHAR          // HAR or NDJSON of HAR entries
)

// Detect tells the kind of a file from its first bytes.
func Detect(head []byte) Kind {
	switch {
	case pcapfile.Sniff(head):
		return KindPackets
	case har.Sniff(head):
		return KindHAR
	}
	return KindUnknown
}

// ReadFile reads one capture file ("-" for standard input) to the end.
func ReadFile(ctx context.Context, path string, opts Options, stats *capture.Stats, sink Sink) error {
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		f, err = os.Open(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, oserr.Cause(err))
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return fmt.Errorf("read %s: is a directory", path)
		}
	}
	br := bufio.NewReaderSize(f, 1<<20)
	head, err := br.Peek(64)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(head) == 0 {
		return fmt.Errorf("%s: empty file", path)
	}
	switch Detect(head) {
	case KindPackets:
		r, err := pcapfile.NewReader(br, path)
		if err != nil {
			return err
		}
		defer r.Close()
		return readPackets(ctx, r, opts, stats, sink)
	case KindHAR:
		r, err := har.NewReader(br, path)
		if err != nil {
			return err
		}
		return readHAR(ctx, r, opts, stats, sink)
	}
	return fmt.Errorf("%s: not a pcap, pcapng, HAR or NDJSON file (starts with % x)", path, head[:min(len(head), 4)])
}

func readPackets(ctx context.Context, src capture.PacketSource, opts Options, stats *capture.Stats, sink Sink) error {
	so := opts.Stream
	so.Filter = opts.Filter
	// The pipeline drops copies of exchanges anyway: copies of whole
	// connections across NAT need not be parsed first.
	so.SkipCopies = true
	pipe := opts.start(stats, sink)
	defer pipe.finish()
	asm := stream.New(so, stats, pipe.emit)
	for {
		// pcapfile refuses link types the decoder cannot read, with a
		// message naming them, so every packet here can be decoded.
		p, err := src.ReadPacket(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		asm.Packet(p)
		if pipe.putErr != nil {
			return pipe.putErr
		}
	}
	asm.Close()
	if err := pipe.finish(); err != nil {
		return err
	}
	// dumpcap records the kernel's counters in pcapng files: drops during
	// that capture are drops of this one.
	if is, ok := src.(interface {
		InterfaceStats() (received, dropped uint64, ok bool)
	}); ok {
		if rcv, drop, ok := is.InterfaceStats(); ok {
			stats.KernelPackets += rcv
			stats.KernelDrops += drop
		}
	}
	return nil
}

func readHAR(ctx context.Context, r *har.Reader, opts Options, stats *capture.Stats, sink Sink) error {
	pipe := opts.start(stats, sink)
	defer pipe.finish()
	for i := 0; ; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return pipe.finish()
		}
		if err != nil {
			return err
		}
		server := e.Request.Host
		if e.Server.IsValid() {
			server = e.Server.String()
		}
		ss := stats.Server(server)
		ss.Exchanges++
		ss.RequestBytes += uint64(len(e.Request.Body))
		ss.ResponseBytes += uint64(len(e.Response.Body))
		if e.Request.Truncated || e.Response.Truncated {
			ss.Truncated++
		}
		if e.Request.Incomplete || e.Response.Incomplete {
			ss.Incomplete++
		}
		stats.Exchanges++
		if err := pipe.put(e); err != nil {
			return err
		}
	}
}

// LiveCapture is an open live capture: its sockets exist and the kernel
// is queuing packets for it.
type LiveCapture struct {
	src  *live.Source
	opts Options
}

// OpenLive opens the sockets described by opts.Live, with opts.Filter
// compiled into the kernel. Traffic is queued from the moment it returns.
func OpenLive(ctx context.Context, opts Options) (*LiveCapture, error) {
	cfg := opts.Live
	if cfg.Filter == nil {
		snaplen := cfg.Snaplen
		if snaplen <= 0 {
			snaplen = live.DefaultSnaplen
		}
		prog, err := opts.Filter.CompileNetwork(uint32(snaplen))
		if err != nil {
			return nil, err
		}
		cfg.Filter = prog
	}
	src, err := live.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &LiveCapture{src: src, opts: opts}, nil
}

// Interfaces names what the capture listens on.
func (l *LiveCapture) Interfaces() []string { return l.src.Interfaces() }

// Close releases the sockets.
func (l *LiveCapture) Close() error { return l.src.Close() }

// Run reads packets until stop is closed, then keeps reading for up to
// Options.Grace so that exchanges in flight complete, flushes every
// connection and returns. Cancelling ctx stops at once.
func (l *LiveCapture) Run(ctx context.Context, stats *capture.Stats, sink Sink, stop <-chan struct{}) error {
	pipe := l.opts.start(stats, sink)
	defer pipe.finish()
	if err := runLive(ctx, l.src, l.opts, pipe, stop); err != nil {
		return err
	}
	return pipe.finish()
}

// RunInto is Run for one of several captures that share pipe, each on its
// own goroutine: stats must be this capture's own (merge them into the
// pipeline's before closing it). It returns the sink's error if the sink
// failed, and otherwise the capture's own errors, which leave the other
// captures running.
func (l *LiveCapture) RunInto(ctx context.Context, pipe *Pipeline, stats *capture.Stats, stop <-chan struct{}) error {
	return runLive(ctx, l.src, l.opts, &feed{p: pipe.p, stats: stats}, stop)
}

func runLive(ctx context.Context, src *live.Source, opts Options, pipe *feed, stop <-chan struct{}) error {
	stats := pipe.stats
	grace := opts.Grace
	if grace <= 0 {
		grace = time.Second
	}
	var stopping atomic.Bool
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-stop:
			stopping.Store(true)
		case <-done:
		}
	}()

	so := opts.Stream
	so.SkipCopies = true // as in readPackets
	asm := stream.New(so, stats, pipe.emit)
	// What was parsed reaches the pipeline whatever ends the capture.
	defer pipe.flush()
	var stopAt time.Time
	for {
		if stopping.Load() && stopAt.IsZero() {
			stopAt = time.Now()
		}
		if !stopAt.IsZero() && time.Since(stopAt) > grace {
			break
		}
		p, err := src.ReadPacket(ctx)
		if errors.Is(err, capture.ErrTimeout) {
			asm.Tick(time.Now())
			pipe.flush()
			if !stopAt.IsZero() {
				break // drained: nothing more is queued in the kernel
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		asm.Packet(p)
		if pipe.putErr != nil {
			return pipe.putErr
		}
		pipe.tick(p.Timestamp)
	}
	asm.Close()
	if pipe.putErr != nil {
		return pipe.putErr
	}
	if pk, dr, err := src.KernelStats(); err == nil {
		stats.KernelPackets += pk
		stats.KernelDrops += dr
	}
	return nil
}
