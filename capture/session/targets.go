package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/source"
)

// watchInterval is how often the targets' namespaces are checked: a target
// that disappears is noticed within about this long, and its capture then
// stops within the poll interval of its socket.
const watchInterval = 250 * time.Millisecond

// A multi-target capture: one live capture per target, each reassembling
// on its own goroutine into its own statistics, all feeding one pipeline
// (filters, duplicate copies, redaction, the writer). Which exchanges are
// delivered does not depend on the goroutines' timing: every exchange is
// delivered once, whichever copy reaches the pipeline first; their order
// in the output follows arrival and may vary from run to run.

// targetRun is one target being captured.
type targetRun struct {
	t     Target
	index int
	lc    *source.LiveCapture
	id    nsID
	stats *capture.Stats
	stop  chan struct{}
	once  sync.Once
	done  chan struct{}
	err   error
	// goneAt is when the watcher found the namespace gone (zero: it did
	// not), and goneWhy how.
	mu      sync.Mutex
	goneAt  time.Time
	goneWhy string
}

// gone records that the namespace disappeared at t, unless already known.
func (r *targetRun) gone(t time.Time, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.goneAt.IsZero() {
		r.goneAt, r.goneWhy = t, why
	}
}

func (r *targetRun) isGone() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.goneAt.IsZero()
}

func (r *targetRun) halt() { r.once.Do(func() { close(r.stop) }) }

// missedLog collects missed targets and reports each as it comes.
type missedLog struct {
	mu     sync.Mutex
	report func(capture.MissedTarget)
	list   []indexedMiss
}

type indexedMiss struct {
	index int
	m     capture.MissedTarget
}

func (l *missedLog) add(index int, m capture.MissedTarget) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, indexedMiss{index, m})
	if l.report != nil {
		l.report(m)
	}
}

// sorted returns the missed targets in the order of Config.Targets.
func (l *missedLog) sorted() []capture.MissedTarget {
	l.mu.Lock()
	defer l.mu.Unlock()
	sort.SliceStable(l.list, func(i, j int) bool { return l.list[i].index < l.list[j].index })
	out := make([]capture.MissedTarget, len(l.list))
	for i, m := range l.list {
		out[i] = m.m
	}
	return out
}

func runTargets(ctx context.Context, cfg Config, res *Result, sink source.Sink) error {
	defer tuneGC()()
	log := &missedLog{report: cfg.Missed}
	var runs []*targetRun
	defer func() {
		for _, r := range runs {
			r.lc.Close()
		}
	}()
	for i, t := range cfg.Targets {
		r, err := openTarget(ctx, cfg.Options, t, i)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.add(i, capture.MissedTarget{Target: t.Name, Reason: oneLine(err.Error())})
			continue
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		var parts []string
		for _, m := range log.sorted() {
			parts = append(parts, m.Target+": "+m.Reason)
		}
		return fmt.Errorf("no network namespace could be captured: %s", strings.Join(parts, "; "))
	}
	if cfg.Ready != nil {
		var names []string
		for _, r := range runs {
			for _, ifc := range r.lc.Interfaces() {
				names = append(names, r.t.Name+":"+ifc)
			}
		}
		cfg.Ready(names)
	}

	pipe := source.NewPipeline(cfg.Options, res.Stats, sink)
	// fatal closes when the sink failed: every capture then stops.
	fatal := make(chan struct{})
	var fatalOnce sync.Once
	for _, r := range runs {
		go func() {
			defer close(r.done)
			r.err = r.lc.RunInto(ctx, pipe, r.stats, r.stop)
			if pipe.Err() != nil {
				fatalOnce.Do(func() { close(fatal) })
				return
			}
			if m := r.outcome(time.Now()); m != nil {
				log.add(r.index, *m)
			}
		}()
	}
	watchDone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch(runs, watchDone)
	}()

	stop := func() error {
		for _, r := range runs {
			r.halt()
		}
		for _, r := range runs {
			<-r.done
		}
		close(watchDone)
		<-watched
		for _, r := range runs {
			res.Stats.Merge(r.stats)
		}
		err := pipe.Close()
		res.Stats.Missed = log.sorted()
		return err
	}
	return await(ctx, cfg, res, fatal, stop)
}

// openTarget opens the live capture of one target and records which
// namespace it captures in.
func openTarget(ctx context.Context, opts source.Options, t Target, index int) (*targetRun, error) {
	if t.Netns == "" {
		return nil, errors.New("no network namespace given")
	}
	before, berr := namespaceID(t.Netns)
	opts.Live.Netns = t.Netns
	opts.Stream.ConnIDPrefix = t.Name + "/"
	lc, err := source.OpenLive(ctx, opts)
	if err != nil {
		return nil, err
	}
	after, aerr := namespaceID(t.Netns)
	if berr != nil || aerr != nil || before != after {
		lc.Close()
		return nil, fmt.Errorf("network namespace %s changed or disappeared while it was being opened", t.Netns)
	}
	return &targetRun{t: t, index: index, lc: lc, id: after, stats: capture.NewStats(),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// watch checks the targets' namespaces until done closes, and stops the
// capture of each one that disappeared: its path is gone, or names
// another namespace (a node container that stopped, a pod deleted).
func watch(runs []*targetRun, done <-chan struct{}) {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			for _, r := range runs {
				if r.isGone() {
					continue
				}
				select {
				case <-r.done:
					continue
				default:
				}
				id, err := namespaceID(r.t.Netns)
				why := ""
				switch {
				case err != nil:
				case id != r.id:
					why = ": its path now names another network namespace"
				default:
					continue
				}
				r.gone(now, why)
				r.halt()
			}
		}
	}
}

// outcome says why r, whose capture returned at end, is missed, or
// returns nil when it ran to the end. It runs on r's goroutine once its
// capture returned, after the watcher set goneAt if it did.
func (r *targetRun) outcome(end time.Time) *capture.MissedTarget {
	n := r.stats.Exchanges
	after := fmt.Sprintf("after %d %s", n, plural(n, "exchange"))
	r.mu.Lock()
	at, why := r.goneAt, r.goneWhy
	r.mu.Unlock()
	switch {
	case !at.IsZero():
		return &capture.MissedTarget{Target: r.t.Name,
			Reason: fmt.Sprintf("disappeared at %s%s (%s)", at.Format("15:04:05"), why, after)}
	case r.err != nil:
		return &capture.MissedTarget{Target: r.t.Name,
			Reason: fmt.Sprintf("capture failed at %s: %s (%s)", end.Format("15:04:05"), oneLine(r.err.Error()), after)}
	}
	return nil
}

func plural(n uint64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// oneLine joins the lines of a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
