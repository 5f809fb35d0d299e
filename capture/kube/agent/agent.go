package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/capture/source"
)

// Defaults of the agent's intervals.
const (
	DefaultRotate = time.Minute
	DefaultResync = 10 * time.Second
)

// PodSource lists the pods to capture in; [PodLister] is the Kubernetes one.
type PodSource interface {
	List(ctx context.Context) ([]Pod, error)
}

// Config describes an agent.
type Config struct {
	// Node is the node the agent runs on; it names the shards.
	Node string
	// Pods lists the pods to capture in, at every resync.
	Pods PodSource
	// Locator finds each pod's network namespace (nil: scan /proc).
	Locator *Locator
	// Store receives the shards.
	Store *Store
	// Options configure every capture (filter, limits, redaction).
	Options source.Options
	// Rotate is how long a shard collects traffic before the next one
	// starts (default 1m). A change in the set of pods starts the next
	// shard at once.
	Rotate time.Duration
	// Resync is how often the pods are listed and located (default 10s).
	Resync time.Duration
	// Annotate, when set, names every exchange (Exchange.Service and
	// Caller), as the Kubernetes resolver's Annotate does. It is called
	// from the capture's goroutines.
	Annotate func(*capture.Exchange)
	// Log receives one line per event worth an operator's attention
	// (pods found and lost, shards written, errors); nil discards them.
	Log io.Writer
}

// ShardStats is the statistics file written beside each shard.
type ShardStats struct {
	Node  string    `json:"node"`
	Shard string    `json:"shard"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Pods are the pods captured in ("namespace/name").
	Pods []string `json:"pods"`
	// Missed are the pods that opted in but were not captured, and why.
	Missed []Missed `json:"missed"`
	// DeletedShards counts the shards this node deleted so far to stay
	// under the disk bound; their traffic is lost.
	DeletedShards int `json:"deleted_shards"`
	// Capture is the statistics of the capture (drops, losses, servers).
	Capture *capture.Stats `json:"capture"`
}

// Agent captures in the opted-in pods of one node and writes shards.
type Agent struct {
	cfg Config

	wg    sync.WaitGroup // shards being finished
	logMu sync.Mutex     // one log line at a time
	// logged is the last report of missed pods, printed again only when
	// it changes.
	logged string
	// listErr and startErr are the last pod-listing and capture-opening
	// errors printed, printed again only when they change.
	listErr, startErr string
	// flushes carries Flush's requests to Run: each is closed once the
	// shard that was running is written.
	flushes chan chan struct{}
	// quit is closed when Run returns: nothing is captured any more, so
	// there is nothing to flush.
	quit     chan struct{}
	quitOnce sync.Once
}

// New checks cfg and returns an agent.
func New(cfg Config) (*Agent, error) {
	if cfg.Node == "" {
		return nil, errors.New("agent: no node name (set NODE_NAME from the downward API, or --node)")
	}
	if cfg.Pods == nil || cfg.Store == nil {
		return nil, errors.New("agent: a pod source and a shard store are required")
	}
	if cfg.Rotate <= 0 {
		cfg.Rotate = DefaultRotate
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Locator == nil {
		cfg.Locator = &Locator{}
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	return &Agent{cfg: cfg, flushes: make(chan chan struct{}), quit: make(chan struct{})}, nil
}

// Flush ends the shard being written now, so that it can be collected,
// and returns once it is written; the capture goes on in a new shard
// without a gap. After Run has returned there is nothing to flush. It
// fails when ctx ends first.
func (a *Agent) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case a.flushes <- done:
	case <-a.quit:
		return nil // stopped: its last shard is written
	case <-ctx.Done():
		return fmt.Errorf("flushing: %w", ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flushing: %w", ctx.Err())
	}
}

// Handler serves the store (see [Store.Handler]) and
//
//	POST /flush         end the current shard now; answers once it is written
//
// so that a collection right after the tests gets all of their traffic.
// Flushes are at most one per second; more wait their turn.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", a.cfg.Store.Handler())
	var mu sync.Mutex
	var last time.Time
	mux.HandleFunc("POST /flush", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if wait := time.Until(last.Add(time.Second)); wait > 0 {
			time.Sleep(wait)
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		err := a.Flush(ctx)
		last = time.Now()
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "flushed\n")
	})
	return mux
}

// shard is a capture session writing one shard.
type shard struct {
	name, path string
	key        string // the pods and namespaces it captures in
	pods       []string
	missed     []Missed
	start      time.Time
	stop       chan os.Signal
	done       chan struct{} // closed when the session has returned
	committed  chan struct{} // closed when it is written (or lost)
	err        error
	stats      *capture.Stats
}

// Run captures until ctx is done, then stops the current shard gracefully
// (the capture drains for Options.Grace), writes it and returns: a
// cancelled context is the agent's SIGTERM. Failures on the way (the API
// unreachable, a pod or a whole capture that cannot be opened) are logged
// and retried at the next resync; the error is nil today, and reserved
// for failures that make the agent useless.
func (a *Agent) Run(ctx context.Context) error {
	resync := time.NewTicker(a.cfg.Resync)
	defer resync.Stop()
	rotate := time.NewTimer(a.cfg.Rotate)
	defer rotate.Stop()

	var cur *shard
	var curDone <-chan struct{}
	defer a.quitOnce.Do(func() { close(a.quit) })
	defer a.wg.Wait()
	// step syncs; force starts a new shard even if the pods are the same.
	// A shard rotates Rotate after it started.
	step := func(force bool) {
		next := a.sync(ctx, cur, force)
		changed := next != cur
		if changed {
			if cur != nil {
				a.finish(cur)
			}
			cur = next
			curDone = nil
			if cur != nil {
				curDone = cur.done
			}
		}
		if force || changed {
			rotate.Reset(a.cfg.Rotate)
		}
	}
	step(false)
	for {
		select {
		case <-ctx.Done():
			if cur != nil {
				a.finish(cur)
			}
			return nil
		case <-resync.C:
			step(false)
		case <-rotate.C:
			step(true)
		case done := <-a.flushes:
			old := cur
			step(true)
			if old == nil {
				close(done)
				break
			}
			if cur == old {
				// No new shard could start: write this one all the same.
				cur, curDone = nil, nil
				a.finish(old)
			}
			go func() { <-old.committed; close(done) }()
		case <-curDone:
			// The session ended on its own: it failed. finish reports it;
			// the next resync starts a new one.
			a.finish(cur)
			cur, curDone = nil, nil
		}
	}
}

// sync lists and locates the pods and returns the shard that should run
// now: cur, or a new one already capturing (then cur is still running and
// the caller stops it, so that no traffic falls between the two).
func (a *Agent) sync(ctx context.Context, cur *shard, force bool) *shard {
	pods, err := a.cfg.Pods.List(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return cur
		}
		if msg := err.Error(); msg != a.listErr {
			a.listErr = msg
			a.logf("%v (capturing in the pods already known)", err)
		}
		return cur
	}
	a.listErr = ""
	found, missed := a.cfg.Locator.Locate(pods)
	a.reportMissed(missed)

	pods = slices.Clone(pods)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Key() < pods[j].Key() })
	targets := make([]session.Target, 0, len(found))
	var key strings.Builder
	for _, p := range pods {
		ns, ok := found[p.Key()]
		if !ok {
			continue
		}
		targets = append(targets, session.Target{Name: p.Key(), Netns: ns.Path})
		fmt.Fprintf(&key, "%s@%d;", p.Key(), ns.Inode)
	}
	if cur != nil && cur.key == key.String() && !force {
		return cur
	}
	if len(targets) == 0 {
		if cur != nil {
			a.logf("no pod to capture in on node %s any more", a.cfg.Node)
		}
		return nil
	}
	next, err := a.start(ctx, targets, key.String(), missed)
	if err != nil {
		if msg := err.Error(); msg != a.startErr {
			a.startErr = msg
			a.logf("%v (retrying every %s)", err, a.cfg.Resync)
		}
		return cur
	}
	a.startErr = ""
	if cur == nil || cur.key != next.key {
		a.logf("capturing in %d %s on node %s: %s", len(targets), plural(len(targets), "pod"), a.cfg.Node, strings.Join(next.pods, ", "))
	}
	return next
}

// reportMissed prints the pods that could not be captured, when the set of
// pods changed since it was last printed (reasons hold counts that change
// from scan to scan: they alone print nothing).
func (a *Agent) reportMissed(missed []Missed) {
	var b strings.Builder
	for _, m := range missed {
		b.WriteString(m.Target + "\n")
	}
	if b.String() == a.logged {
		return
	}
	a.logged = b.String()
	for _, m := range missed {
		a.logf("warning: pod %s not captured: %s", m.Target, m.Reason)
	}
}

// start opens a session on targets and returns once its sockets are open
// (the kernel queues traffic for it from then on).
func (a *Agent) start(ctx context.Context, targets []session.Target, key string, missed []Missed) (*shard, error) {
	name, path := a.cfg.Store.Reserve()
	sh := &shard{name: name, path: path, key: key, missed: slices.Clone(missed), start: time.Now(),
		stop: make(chan os.Signal), done: make(chan struct{}), committed: make(chan struct{})}
	for _, t := range targets {
		sh.pods = append(sh.pods, t.Name)
	}
	ready := make(chan struct{})
	var once sync.Once
	cfg := session.Config{
		Options:  a.cfg.Options,
		Output:   path,
		Targets:  targets,
		Annotate: a.cfg.Annotate,
		Missed: func(m capture.MissedTarget) {
			a.logf("warning: pod %s not captured in shard %s: %s", m.Target, name, m.Reason)
		},
		Stop:  sh.stop,
		Ready: func([]string) { once.Do(func() { close(ready) }) },
	}
	// The session outlives ctx by its grace period: it is stopped through
	// sh.stop, so that a SIGTERM drains and writes the shard.
	sctx := context.WithoutCancel(ctx)
	go func() {
		defer close(sh.done)
		res, err := session.Run(sctx, cfg)
		sh.err = err
		if res != nil {
			sh.stats = res.Stats
		}
	}()
	select {
	case <-ready:
		return sh, nil
	case <-sh.done:
		if sh.err == nil {
			sh.err = errors.New("the capture ended before it started")
		}
		return nil, fmt.Errorf("starting a capture: %w", sh.err)
	}
}

// finish stops sh and, in the background, waits for it and commits it.
func (a *Agent) finish(sh *shard) {
	select {
	case <-sh.done:
	default:
		close(sh.stop)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(sh.committed)
		<-sh.done
		if err := a.commit(sh, time.Now()); err != nil {
			a.logf("shard %s lost: %v", sh.name, err)
		}
	}()
}

// commit writes the statistics file of a finished shard and adds it to the
// store.
func (a *Agent) commit(sh *shard, end time.Time) error {
	if sh.err != nil {
		return sh.err
	}
	st := ShardStats{
		Node: a.cfg.Node, Shard: sh.name, Start: sh.start.UTC(), End: end.UTC(),
		Pods: sh.pods, Missed: sh.missed, DeletedShards: a.cfg.Store.Deleted(), Capture: sh.stats,
	}
	if st.Capture == nil {
		st.Capture = capture.NewStats()
	}
	for _, m := range st.Capture.Missed {
		st.Missed = append(st.Missed, Missed{Target: m.Target, Reason: m.Reason})
	}
	if st.Missed == nil {
		st.Missed = []Missed{}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the statistics: %w", err)
	}
	deleted, err := a.cfg.Store.Commit(sh.name, append(b, '\n'))
	if err != nil {
		return err
	}
	if len(deleted) > 0 {
		a.logf("warning: the shards exceed the disk bound: deleted the %d oldest (%s); %d deleted since the agent started: collect more often or raise --max-disk",
			len(deleted), strings.Join(deleted, ", "), a.cfg.Store.Deleted())
	}
	return nil
}

func (a *Agent) logf(format string, args ...any) {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	fmt.Fprintf(a.cfg.Log, "specgate: "+format+"\n", args...)
}

// plural gives what in the plural unless n is 1 ("process" → "processes").
func plural(n int, what string) string {
	switch {
	case n == 1:
		return what
	case strings.HasSuffix(what, "s"):
		return what + "es"
	}
	return what + "s"
}
