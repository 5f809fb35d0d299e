package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/specgate/specgate/capture"
)

// Loader loads a snapshot of the cluster.
type Loader func(context.Context) (*Snapshot, error)

// ClientLoader returns a Loader that calls Load with cs.
func ClientLoader(cs kubernetes.Interface) Loader {
	return func(ctx context.Context) (*Snapshot, error) { return Load(ctx, cs) }
}

// Defaults for the zero fields of [ResolverOptions].
const (
	DefaultInterval    = 2 * time.Second
	DefaultTimeout     = 30 * time.Second
	DefaultMissReloads = 3
)

// maxMissed bounds the addresses a Resolver remembers as unknown.
const maxMissed = 4096

// ResolverOptions configure a [Resolver]. Zero fields take the defaults.
type ResolverOptions struct {
	// Interval is the least time between two background reloads.
	Interval time.Duration
	// Timeout bounds one load.
	Timeout time.Duration
	// MissReloads is how many reloads an unknown address may cause; an
	// address still unknown after that many (one outside the cluster)
	// causes no more for Quiet.
	MissReloads int
	// Quiet is how long an address stays quiet after MissReloads reloads
	// did not name it; default one minute, or 10 × Interval if longer.
	Quiet time.Duration
}

// Resolver names exchanges from the latest [Snapshot] its Loader gave. When
// it meets an address it does not know, it reloads in the background, at
// most once per Interval, so pods created during a capture get named; the
// exchanges seen before that reload ends stay unnamed. Annotate never waits
// for the API. It is safe for concurrent use.
type Resolver struct {
	load Loader
	opts ResolverOptions

	snap                   atomic.Pointer[Snapshot]
	lookups, misses        atomic.Uint64
	reloads, failedReloads atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	loadMu sync.Mutex // one load at a time

	mu                 sync.Mutex
	closed             bool
	inFlight           bool
	lastStart          time.Time
	started, completed uint64
	lastErr            error
	missed             map[netip.AddrPort]missEntry
}

// missEntry remembers when an address was first unknown, and how many
// loads had started then.
type missEntry struct {
	since   time.Time
	started uint64
}

// NewResolver returns a resolver that loads with load. It holds no snapshot
// until Load is called or the first exchange triggers a background load.
func NewResolver(load Loader, opts ResolverOptions) *Resolver {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MissReloads <= 0 {
		opts.MissReloads = DefaultMissReloads
	}
	if opts.Quiet <= 0 {
		opts.Quiet = max(time.Minute, 10*opts.Interval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Resolver{load: load, opts: opts, ctx: ctx, cancel: cancel, missed: map[netip.AddrPort]missEntry{}}
}

// Load loads a snapshot now and waits for it: for setup, before capture
// starts. On error the resolver keeps the snapshot it had.
func (r *Resolver) Load(ctx context.Context) error {
	r.mu.Lock()
	r.started++
	r.mu.Unlock()
	return r.run(ctx)
}

// run loads one snapshot and records the outcome.
func (r *Resolver) run(ctx context.Context) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	snap, err := r.load(ctx)
	cancel()
	if err == nil && snap == nil {
		err = fmt.Errorf("kubernetes loader returned no snapshot")
	}
	r.reloads.Add(1)
	if err == nil {
		r.snap.Store(snap)
	} else {
		r.failedReloads.Add(1)
	}
	r.mu.Lock()
	r.completed++
	if err != nil {
		r.lastErr = err
	}
	r.mu.Unlock()
	return err
}

// Snapshot returns the current snapshot, nil before the first load.
func (r *Resolver) Snapshot() *Snapshot { return r.snap.Load() }

// Annotate sets e.Service from e.Server and e.Caller from e.Client when
// the current snapshot knows them, and leaves them unchanged otherwise.
func (r *Resolver) Annotate(e *capture.Exchange) {
	snap := r.snap.Load()
	if e.Server.IsValid() {
		r.lookups.Add(1)
		if n, ok := snap.Service(e.Server); ok {
			e.Service = n
		} else {
			r.miss(netip.AddrPortFrom(normAddr(e.Server.Addr()), e.Server.Port()))
		}
	}
	if e.Client.IsValid() {
		r.lookups.Add(1)
		if n, ok := snap.Workload(e.Client.Addr()); ok {
			e.Caller = n
		} else {
			r.miss(netip.AddrPortFrom(normAddr(e.Client.Addr()), 0))
		}
	}
}

// miss counts an unknown address and starts a background reload when
// the address may still become known and the interval has passed.
func (r *Resolver) miss(key netip.AddrPort) {
	r.misses.Add(1)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	m, ok := r.missed[key]
	if ok && now.Sub(m.since) > r.opts.Quiet {
		delete(r.missed, key)
		ok = false
	}
	if !ok {
		m = missEntry{since: now, started: r.started}
		if len(r.missed) >= maxMissed {
			for k, v := range r.missed {
				if now.Sub(v.since) > r.opts.Quiet {
					delete(r.missed, k)
				}
			}
		}
		if len(r.missed) < maxMissed {
			r.missed[key] = m
		}
	}
	if r.completed > m.started && r.completed-m.started >= uint64(r.opts.MissReloads) {
		return
	}
	if r.inFlight || (!r.lastStart.IsZero() && now.Sub(r.lastStart) < r.opts.Interval) {
		return
	}
	r.inFlight = true
	r.lastStart = now
	r.started++
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = r.run(r.ctx)
		r.mu.Lock()
		r.inFlight = false
		r.mu.Unlock()
	}()
}

// Close stops background reloads, cancelling one in progress, and waits
// for it. Annotate keeps working with the last snapshot.
func (r *Resolver) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// Stats are a Resolver's counters.
type Stats struct {
	// Lookups counts addresses looked up (an exchange's server and
	// client each count); Misses those the snapshot did not know.
	Lookups, Misses uint64
	// Reloads counts loads attempted, the first included; FailedReloads
	// those that failed, the latest with LastError.
	Reloads, FailedReloads uint64
	LastError              error
	// Counts and Warnings describe the current snapshot.
	Counts   Counts
	Warnings []string
}

// Stats returns the resolver's counters.
func (r *Resolver) Stats() Stats {
	snap := r.snap.Load()
	r.mu.Lock()
	lastErr := r.lastErr
	r.mu.Unlock()
	return Stats{
		Lookups: r.lookups.Load(), Misses: r.misses.Load(),
		Reloads: r.reloads.Load(), FailedReloads: r.failedReloads.Load(),
		LastError: lastErr, Counts: snap.Counts(), Warnings: snap.Warnings(),
	}
}

// String is a one-line summary of the stats.
func (s Stats) String() string {
	line := fmt.Sprintf("kubernetes names: %d lookups, %d unknown; %d pods, %d services, %d nodes; %d loads",
		s.Lookups, s.Misses, s.Counts.Pods, s.Counts.Services, s.Counts.Nodes, s.Reloads)
	if s.FailedReloads > 0 && s.LastError != nil {
		line += fmt.Sprintf(", %d failed (last: %s)", s.FailedReloads, oneLine(s.LastError))
	}
	return line
}
