package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/oserr"
)

// Defaults for finding agents through the Kubernetes API.
const (
	DefaultAgentNamespace = "specgate"
	DefaultAgentSelector  = "app.kubernetes.io/name=specgate-agent"
	DefaultAgentPort      = 9090
)

// maxListBytes bounds the shard list an agent may send.
const maxListBytes = 16 << 20

// Endpoint is an agent to collect shards from.
type Endpoint struct {
	// Name names the agent in messages: its pod and node, or its URL.
	Name string
	// Get fetches a path of the agent's HTTP interface ("shards",
	// "shards/NAME"). The caller closes the body.
	Get func(ctx context.Context, path string) (io.ReadCloser, error)
	// Flush asks the agent to write the shard it is capturing into now
	// (POST flush) and returns once it has; nil when it cannot be asked.
	Flush func(ctx context.Context) error
}

// URLEndpoint is the agent listening at base ("http://10.0.0.5:9090").
// client nil uses a client with connection and response-header timeouts.
func URLEndpoint(base string, client *http.Client) (Endpoint, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Endpoint{}, fmt.Errorf("agent URL %q: want http://HOST:PORT", base)
	}
	if client == nil {
		client = defaultClient()
	}
	root := strings.TrimSuffix(u.String(), "/") + "/"
	flush := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, root+"flush", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("POST %s: %s: %s", req.URL, resp.Status, strings.TrimSpace(string(msg)))
		}
		return nil
	}
	return Endpoint{Name: strings.TrimSuffix(root, "/"), Flush: flush, Get: func(ctx context.Context, path string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s: %s", req.URL, resp.Status, strings.TrimSpace(string(msg)))
		}
		return resp.Body, nil
	}}, nil
}

func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       30 * time.Second,
	}}
}

// FindAgents lists the agent pods (selector, in namespace) through the
// Kubernetes API and returns them as endpoints reached through the API
// server's pod proxy (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/...), so
// that collecting needs no route to the nodes, only the API server.
func FindAgents(ctx context.Context, client kubernetes.Interface, namespace, selector string, port int) ([]Endpoint, error) {
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the agents (pods %s in namespace %s): %w", selector, namespace, err)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	var out []Endpoint
	for _, p := range pods.Items {
		name := p.Namespace + "/" + p.Name
		if p.Spec.NodeName != "" {
			name += " on " + p.Spec.NodeName
		}
		ns, pod := p.Namespace, p.Name+":"+strconv.Itoa(port)
		rc := client.CoreV1().RESTClient()
		out = append(out, Endpoint{Name: name, Get: func(ctx context.Context, path string) (io.ReadCloser, error) {
			return rc.Get().Namespace(ns).Resource("pods").Name(pod).SubResource("proxy").Suffix(path).Stream(ctx)
		}, Flush: func(ctx context.Context) error {
			return rc.Post().Namespace(ns).Resource("pods").Name(pod).SubResource("proxy").Suffix("flush").Do(ctx).Error()
		}})
	}
	return out, nil
}

// CollectConfig describes a collection.
type CollectConfig struct {
	Agents []Endpoint
	// Options configure reading the shards (redaction, exchange filters).
	Options source.Options
	// Sink receives every exchange once: copies seen by several shards
	// (overlapping shards, or both ends of a connection between pods of
	// two nodes) are passed once.
	Sink source.Sink
	// TempDir holds each shard while it is checked ("": the system's).
	TempDir string
	// Flush first asks every agent to write the shard it is capturing
	// into, so that the collection holds the traffic up to now; an agent
	// that cannot flush is a Problem, and its finished shards are still
	// collected.
	Flush bool
}

// Problem is an agent, or a shard of one, that could not be collected.
type Problem struct {
	Agent string `json:"agent"`
	Shard string `json:"shard,omitempty"`
	Err   string `json:"error"`
}

// String is the problem in one line.
func (p Problem) String() string {
	if p.Shard != "" {
		return p.Agent + ": shard " + p.Shard + ": " + p.Err
	}
	return p.Agent + ": " + p.Err
}

// NodeMissed is a pod an agent could not capture in.
type NodeMissed struct {
	Node string `json:"node"`
	Missed
}

// CollectResult is what a collection gathered.
type CollectResult struct {
	Agents, Shards int
	// Exchanges counts the exchanges passed to the sink, and Duplicates
	// the copies left out.
	Exchanges, Duplicates uint64
	// Problems lists the agents and shards that could not be collected:
	// their traffic is missing from the result.
	Problems []Problem
	// Missed lists the pods the agents could not capture in, once each.
	Missed []NodeMissed
	// Capture sums the capture statistics of the shards (drops, losses).
	Capture *capture.Stats
	// Deleted is the number of shards the agents deleted to stay under
	// their disk bound, by node.
	Deleted map[string]int
}

// Collect fetches every shard of every agent, checks each against the
// SHA-256 the agent listed, and passes the exchanges, each once, to
// cfg.Sink. Shards are read in the order their captures started, whatever
// their node, so that copies of one exchange come close together. An agent
// or shard that cannot be fetched or checked is a Problem, and the others
// are still collected; an error is returned only when the sink or the
// local disk fails, or ctx ends.
func Collect(ctx context.Context, cfg CollectConfig) (*CollectResult, error) {
	res := &CollectResult{Capture: capture.NewStats(), Deleted: map[string]int{}}
	if cfg.Sink == nil {
		return nil, errors.New("collect: no sink")
	}
	type job struct {
		ag    Endpoint
		order int // agent, then shard, for shards without statistics
		sh    ShardInfo
		start time.Time
	}
	var jobs []job
	var longest time.Duration
	missed := map[string]bool{}
	if cfg.Flush {
		flushAll(ctx, cfg.Agents, res)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	for _, ag := range cfg.Agents {
		res.Agents++
		shards, err := listShards(ctx, ag)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Problems = append(res.Problems, Problem{Agent: ag.Name, Err: err.Error()})
			continue
		}
		for _, sh := range shards {
			j := job{ag: ag, order: len(jobs), sh: sh}
			if sh.Stats != nil {
				st, err := fetchStats(ctx, ag, *sh.Stats)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					res.Problems = append(res.Problems, Problem{Agent: ag.Name, Shard: sh.Stats.Name, Err: err.Error()})
				} else {
					j.start = st.Start
					longest = max(longest, st.End.Sub(st.Start))
					res.addStats(st, missed)
				}
			}
			jobs = append(jobs, j)
		}
	}
	sort.SliceStable(jobs, func(a, b int) bool {
		if !jobs[a].start.Equal(jobs[b].start) {
			return jobs[a].start.Before(jobs[b].start)
		}
		return jobs[a].order < jobs[b].order
	})

	// Copies of one exchange lie within one shard's time of each other:
	// the window keeps every key that a later shard can repeat.
	m := &merger{seen: source.NewDedup(longest+source.DefaultDedupWindow, dedupKeys), partial: map[partialKey]*capture.Exchange{}, sink: cfg.Sink, res: res}
	stats := capture.NewStats()
	sink := m.put
	for _, j := range jobs {
		err := readShard(ctx, j.ag, j.sh, cfg, stats, sink)
		var fe *fatalError
		switch {
		case errors.As(err, &fe):
			return nil, fe.err
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Problems = append(res.Problems, Problem{Agent: j.ag.Name, Shard: j.sh.Name, Err: err.Error()})
		default:
			res.Shards++
		}
	}
	if err := m.flush(); err != nil {
		return nil, err
	}
	return res, nil
}

// flushAll asks every agent at once to write its current shard, and waits
// for all of them.
func flushAll(ctx context.Context, agents []Endpoint, res *CollectResult) {
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, ag := range agents {
		if ag.Flush == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ag.Flush(ctx); err != nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && ctx.Err() == nil {
			res.Problems = append(res.Problems, Problem{Agent: agents[i].Name, Err: "flushing the current shard: " + oneLineErr(err)})
		}
	}
}

func oneLineErr(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// merger passes each exchange once. A shard that stopped while an exchange
// was in flight holds it cut short (no response, or an incomplete one),
// while the next shard, already capturing, holds it whole: a cut copy is
// held back until the end, and passed only if no whole copy came.
type merger struct {
	seen    *source.Dedup
	partial map[partialKey]*capture.Exchange
	order   []partialKey // partial's keys, oldest first
	sink    source.Sink
	res     *CollectResult
}

// partialKey is what a cut copy shares with the whole one.
type partialKey struct {
	request        uint32 // Wire.Request
	method, target string
}

// maxPartial bounds the cut copies held back.
const maxPartial = 4096

// cut reports whether e ended before its end.
func cut(e *capture.Exchange) bool {
	return e.Response.Status == 0 || e.Request.Incomplete || e.Response.Incomplete
}

func (m *merger) put(e *capture.Exchange) error {
	if e.Wire.Request == 0 {
		return m.pass(e)
	}
	k := partialKey{e.Wire.Request, e.Request.Method, e.Request.Target}
	if cut(e) {
		if _, ok := m.partial[k]; ok {
			m.res.Duplicates++
			return nil
		}
		if len(m.order) >= maxPartial {
			if err := m.release(); err != nil {
				return err
			}
		}
		m.partial[k] = e
		m.order = append(m.order, k)
		return nil
	}
	if _, ok := m.partial[k]; ok {
		delete(m.partial, k) // its order entry is skipped on release
		m.res.Duplicates++
	}
	return m.pass(e)
}

// pass hands e to the sink unless it is a copy of one passed already.
func (m *merger) pass(e *capture.Exchange) error {
	if m.seen.Seen(e) {
		m.res.Duplicates++
		return nil
	}
	m.res.Exchanges++
	return m.sink(e)
}

// release passes the oldest cut copy still held back.
func (m *merger) release() error {
	for len(m.order) > 0 {
		k := m.order[0]
		m.order = m.order[1:]
		if e, ok := m.partial[k]; ok {
			delete(m.partial, k)
			return m.pass(e)
		}
	}
	return nil
}

// flush passes the cut copies for which no whole copy came.
func (m *merger) flush() error {
	for len(m.order) > 0 {
		if err := m.release(); err != nil {
			return err
		}
	}
	return nil
}

// dedupKeys bounds the exchanges remembered to recognise copies: about
// 100 MiB at most.
const dedupKeys = 1 << 20

// addStats adds a shard's statistics to the result; missed holds the
// pods already reported.
func (res *CollectResult) addStats(st *ShardStats, missed map[string]bool) {
	if st.Capture != nil {
		c := *st.Capture
		c.Missed = nil // reported from st.Missed, once per pod
		res.Capture.Merge(&c)
	}
	if st.DeletedShards > res.Deleted[st.Node] {
		res.Deleted[st.Node] = st.DeletedShards
	}
	for _, m := range st.Missed {
		k := st.Node + "\x00" + m.Target
		if !missed[k] {
			missed[k] = true
			res.Missed = append(res.Missed, NodeMissed{Node: st.Node, Missed: m})
		}
	}
}

// fatalError marks an error that ends the collection: the sink failed, or the local disk.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// listShards fetches and checks an agent's list of shards.
func listShards(ctx context.Context, ag Endpoint) ([]ShardInfo, error) {
	body, err := ag.Get(ctx, "shards")
	if err != nil {
		return nil, fmt.Errorf("listing shards: %w", err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("listing shards: %w", err)
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("listing shards: the list is over %d bytes", maxListBytes)
	}
	var list []ShardInfo
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("listing shards: not a shard list: %v", err)
	}
	for _, sh := range list {
		if !validName(sh.Name) || (sh.Stats != nil && !validName(sh.Stats.Name)) {
			return nil, fmt.Errorf("listing shards: invalid shard name %q", sh.Name)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

// validName accepts the names an agent gives its files.
func validName(n string) bool {
	if n == "" || n[0] == '.' || len(n) > 255 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// fetchStats fetches, checks and decodes a shard's statistics file.
func fetchStats(ctx context.Context, ag Endpoint, fi FileInfo) (*ShardStats, error) {
	body, err := ag.Get(ctx, "shards/"+fi.Name)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching: %w", err)
	}
	if err := check(data, fi); err != nil {
		return nil, err
	}
	var st ShardStats
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("not a statistics file: %v", err)
	}
	return &st, nil
}

// check compares data with what the agent listed.
func check(data []byte, fi FileInfo) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); int64(len(data)) != fi.Size || got != fi.SHA256 {
		return fmt.Errorf("checksum mismatch: got %d bytes with SHA-256 %s, the agent listed %d bytes with %s", len(data), got, fi.Size, fi.SHA256)
	}
	return nil
}

// readShard fetches a shard into a temporary file while hashing it, checks
// it, then reads its exchanges into sink.
func readShard(ctx context.Context, ag Endpoint, sh ShardInfo, cfg CollectConfig, stats *capture.Stats, sink source.Sink) error {
	body, err := ag.Get(ctx, "shards/"+sh.Name)
	if err != nil {
		return err
	}
	defer body.Close()
	tmp, err := os.CreateTemp(cfg.TempDir, "specgate-shard-*.ndjson")
	if err != nil {
		return &fatalError{fmt.Errorf("creating a temporary file: %w", oserr.Cause(err))}
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, sh.Size+1))
	if err != nil {
		if ctx.Err() == nil && isLocal(err, tmp) {
			return &fatalError{fmt.Errorf("writing %s: %w", tmp.Name(), oserr.Cause(err))}
		}
		return fmt.Errorf("fetching: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != sh.Size || got != sh.SHA256 {
		return fmt.Errorf("checksum mismatch: got %d bytes with SHA-256 %s, the agent listed %d bytes with %s", n, got, sh.Size, sh.SHA256)
	}
	if err := tmp.Close(); err != nil {
		return &fatalError{fmt.Errorf("writing %s: %w", tmp.Name(), oserr.Cause(err))}
	}
	if n == 0 {
		return nil // a shard of a quiet minute
	}
	var sinkErr error
	err = source.ReadFile(ctx, tmp.Name(), cfg.Options, stats, func(e *capture.Exchange) error {
		if err := sink(e); err != nil {
			sinkErr = err
			return err
		}
		return nil
	})
	if sinkErr != nil {
		return &fatalError{sinkErr}
	}
	if err != nil {
		return fmt.Errorf("reading: %s", strings.ReplaceAll(err.Error(), tmp.Name(), sh.Name))
	}
	return nil
}

// isLocal reports whether a copy error came from writing the local file.
func isLocal(err error, f *os.File) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == f.Name()
}
