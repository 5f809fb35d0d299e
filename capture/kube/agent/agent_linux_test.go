package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/live"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
)

// podList is a PodSource whose pods a test changes.
type podList struct {
	mu   sync.Mutex
	pods []Pod
}

func (l *podList) List(context.Context) ([]Pod, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Pod(nil), l.pods...), nil
}

func (l *podList) set(pods ...Pod) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pods = pods
}

func pod(ns, name, ip string) Pod {
	return Pod{Namespace: ns, Name: name, IPs: []netip.Addr{netip.MustParseAddr(ip)}}
}

// testOptions are capture options for tests: small rings, a short grace.
func testOptions() source.Options {
	return source.Options{
		Redactor: redact.New(redact.Options{}),
		Grace:    300 * time.Millisecond,
		Live:     live.Config{BufferBytes: 2 << 20},
	}
}

// readStats reads every statistics file of the store.
func readStats(t *testing.T, s *Store) []ShardStats {
	t.Helper()
	var out []ShardStats
	for _, sh := range s.List() {
		if sh.Stats == nil {
			t.Fatalf("shard %s has no statistics file", sh.Name)
		}
		b, err := os.ReadFile(filepath.Join(s.Dir(), sh.Stats.Name))
		if err != nil {
			t.Fatal(err)
		}
		var st ShardStats
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("%s: %v", sh.Stats.Name, err)
		}
		out = append(out, st)
	}
	return out
}

// traffic sends n GETs of distinct items from the stats pod to the todo
// pod, and a POST every fifth (which makes todo call stats), spread over
// d. It returns the number of exchanges sent, by "METHOD path".
func traffic(t *testing.T, from *podNetns, todoAddr string, n int, d time.Duration) map[string]int {
	t.Helper()
	c := clientIn(from)
	defer c.CloseIdleConnections()
	sent := map[string]int{}
	for i := range n {
		resp, err := c.Get(fmt.Sprintf("http://%s/items/%d", todoAddr, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		sent[fmt.Sprintf("GET /items/%d", i)]++
		if i%5 == 4 {
			resp, err := c.Post("http://"+todoAddr+"/items", "application/json", strings.NewReader(`{"title":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /items: %s", resp.Status)
			}
			sent["POST /items"]++
			sent["POST /events"]++
		}
		time.Sleep(d / time.Duration(n))
	}
	return sent
}

// collectStore collects a store through its HTTP handler and counts the
// exchanges by "METHOD path".
func collectStore(t *testing.T, s *Store) (map[string]int, *CollectResult, []*capture.Exchange) {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ep, err := URLEndpoint(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var all []*capture.Exchange
	res, err := Collect(context.Background(), CollectConfig{Agents: []Endpoint{ep}, Sink: func(e *capture.Exchange) error {
		got[e.Request.Method+" "+e.Request.Target]++
		all = append(all, e)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return got, res, all
}

func TestAgentRotatesShardsAndFlushesOnStop(t *testing.T) {
	tag := fmt.Sprintf("sgr%d", os.Getpid()%100000)
	todo, stats, todoAddr, _ := demoPair(t, tag, 204)
	pods := &podList{}
	pods.set(pod("shop", "todo", "10.204.0.1"), pod("shop", "stats", "10.204.0.2"), pod("shop", "ghost", "10.204.0.99"))
	store, err := OpenStore(t.TempDir(), "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	log := &lineWaiter{}
	ag, err := New(Config{
		Node: "node-a", Pods: pods, Store: store, Options: testOptions(),
		Locator: &Locator{Proc: fakeProc(t, todo.pid, stats.pid)},
		Rotate:  400 * time.Millisecond, Resync: 50 * time.Millisecond, Log: log,
		Annotate: func(e *capture.Exchange) {
			if e.Server.Addr() == netip.MustParseAddr("10.204.0.1") {
				e.Service = "shop/todo-service"
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	log.wait(t, "capturing in 2 pods on node node-a: shop/stats, shop/todo", 10*time.Second)

	sent := traffic(t, stats, todoAddr, 60, 1500*time.Millisecond)
	cancel() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	shards := store.List()
	if len(shards) < 3 {
		t.Fatalf("%d shards after 1.5s of rotating every 400ms, want at least 3; log:\n%s", len(shards), log)
	}
	got, res, all := collectStore(t, store)
	for k, n := range sent {
		if got[k] != n {
			t.Errorf("%s: collected %d times, sent %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if sent[k] == 0 {
			t.Errorf("%s: collected %d times, never sent", k, n)
		}
	}
	if len(res.Problems) > 0 {
		t.Errorf("problems: %v", res.Problems)
	}
	named := 0
	for _, e := range all {
		if e.Service == "shop/todo-service" {
			named++
		}
	}
	if want := 60 + sent["POST /items"]; named != want {
		t.Errorf("%d exchanges named shop/todo-service, want %d", named, want)
	}
	t.Logf("%d shards, %d exchanges, %d copies removed", len(shards), res.Exchanges, res.Duplicates)

	for _, st := range readStats(t, store) {
		if st.Node != "node-a" || st.End.Before(st.Start) || len(st.Pods) != 2 || st.Capture == nil {
			t.Errorf("statistics %+v", st)
		}
		if len(st.Missed) != 1 || st.Missed[0].Target != "shop/ghost" || !strings.Contains(st.Missed[0].Reason, "10.204.0.99") {
			t.Errorf("shard %s: missed %+v, want shop/ghost", st.Shard, st.Missed)
		}
	}
	if n := strings.Count(log.String(), "pod shop/ghost not captured"); n != 1 {
		t.Errorf("the missed pod was logged %d times, want once:\n%s", n, log)
	}
}

func TestAgentStartsAShardWhenPodsChange(t *testing.T) {
	tag := fmt.Sprintf("sgc%d", os.Getpid()%100000)
	todo, stats, todoAddr, _ := demoPair(t, tag, 205)
	pods := &podList{}
	pods.set(pod("shop", "todo", "10.205.0.1"))
	store, err := OpenStore(t.TempDir(), "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	log := &lineWaiter{}
	ag, err := New(Config{
		Node: "node-a", Pods: pods, Store: store, Options: testOptions(),
		Locator: &Locator{Proc: fakeProc(t, todo.pid, stats.pid)},
		Rotate:  time.Hour, Resync: 50 * time.Millisecond, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	log.wait(t, "capturing in 1 pod on node node-a: shop/todo", 10*time.Second)
	sent := traffic(t, stats, todoAddr, 10, 200*time.Millisecond)
	pods.set(pod("shop", "todo", "10.205.0.1"), pod("shop", "stats", "10.205.0.2"))
	log.wait(t, "capturing in 2 pods", 5*time.Second)
	for k, n := range traffic(t, stats, todoAddr, 10, 200*time.Millisecond) {
		sent[k] += n
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var pods0, pods1 []string
	st := readStats(t, store)
	if len(st) != 2 {
		t.Fatalf("%d shards, want 2 (one per set of pods; the hour-long rotation never came)", len(st))
	}
	pods0, pods1 = st[0].Pods, st[1].Pods
	if strings.Join(pods0, ",") != "shop/todo" || strings.Join(pods1, ",") != "shop/stats,shop/todo" {
		t.Errorf("shards captured %v then %v", pods0, pods1)
	}
	got, _, _ := collectStore(t, store)
	for k, n := range sent {
		if got[k] != n {
			t.Errorf("%s: collected %d times, sent %d", k, got[k], n)
		}
	}
}

// TestCollectFlushes: with an hour-long rotation and the agent still
// running, a collection right after the traffic holds all of it: collect
// asks the agent to write its current shard first (POST /flush), and the
// capture goes on in the next shard. Without the flush, nothing is
// collected yet.
func TestCollectFlushes(t *testing.T) {
	tag := fmt.Sprintf("sgf%d", os.Getpid()%100000)
	todo, stats, todoAddr, _ := demoPair(t, tag, 206)
	pods := &podList{}
	pods.set(pod("shop", "todo", "10.206.0.1"), pod("shop", "stats", "10.206.0.2"))
	store, err := OpenStore(t.TempDir(), "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	log := &lineWaiter{}
	ag, err := New(Config{
		Node: "node-a", Pods: pods, Store: store, Options: testOptions(),
		Locator: &Locator{Proc: fakeProc(t, todo.pid, stats.pid)},
		Rotate:  time.Hour, Resync: 50 * time.Millisecond, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	defer func() { cancel(); <-done }()
	log.wait(t, "capturing in 2 pods", 10*time.Second)
	srv := httptest.NewServer(ag.Handler())
	defer srv.Close()
	ep, err := URLEndpoint(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	collect := func(flush bool) (map[string]int, *CollectResult) {
		got := map[string]int{}
		res, err := Collect(context.Background(), CollectConfig{Agents: []Endpoint{ep}, Flush: flush, Sink: func(e *capture.Exchange) error {
			got[e.Request.Method+" "+e.Request.Target]++
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return got, res
	}

	sent := traffic(t, stats, todoAddr, 20, 200*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the last exchanges reach the pipeline
	if got, _ := collect(false); len(got) != 0 {
		t.Fatalf("collected %v before any shard was written", got)
	}
	got, res := collect(true)
	for k, n := range sent {
		if got[k] != n {
			t.Errorf("%s: collected %d times, sent %d", k, got[k], n)
		}
	}
	if len(res.Problems) > 0 || res.Shards != 1 {
		t.Errorf("%d shards, problems %v; want the one flushed", res.Shards, res.Problems)
	}
	// The capture goes on: the next flush holds the traffic since.
	more := traffic(t, stats, todoAddr, 5, 100*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	got, res = collect(true)
	for k, n := range more {
		if got[k] != sent[k]+n {
			t.Errorf("after more traffic, %s: collected %d times, sent %d", k, got[k], sent[k]+n)
		}
	}
	if res.Shards != 2 {
		t.Errorf("%d shards after two flushes, want 2", res.Shards)
	}
}
