package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/kubefake"
)

func exchange(client, server string) *capture.Exchange {
	return &capture.Exchange{
		Request: capture.Request{Method: "GET", Target: "/todos", Host: "todo-service", Proto: "HTTP/1.1"},
		Client:  netip.MustParseAddrPort(client),
		Server:  netip.MustParseAddrPort(server),
	}
}

func staticLoader(objs Objects) (Loader, *atomic.Int64) {
	var n atomic.Int64
	return func(ctx context.Context) (*Snapshot, error) {
		n.Add(1)
		return New(objs), nil
	}, &n
}

func TestResolverAnnotate(t *testing.T) {
	load, _ := staticLoader(fixture())
	r := NewResolver(load, ResolverOptions{})
	defer r.Close()
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		client, server          string
		wantCaller, wantService string
	}{
		{"10.244.1.20:43210", "10.96.100.10:80", "batch/nightly", "default/todo-service"},
		{"10.244.1.5:51000", "10.244.1.7:9090", "default/todo", "default/stats"},
		{"[fd00:10:244:1::32]:40000", "[fd00:10:96::7]:80", "v6/web-frontend", "v6/web"},
		{"192.0.2.7:50000", "172.18.0.3:30080", "before", "default/todo-service"},
		{"10.244.2.3:6000", "192.0.2.80:443", "data/redis", "before"},
	}
	for _, tc := range tests {
		e := exchange(tc.client, tc.server)
		e.Caller, e.Service = "before", "before"
		r.Annotate(e)
		if e.Caller != tc.wantCaller || e.Service != tc.wantService {
			t.Errorf("%s -> %s: caller %q service %q, want %q %q", tc.client, tc.server, e.Caller, e.Service, tc.wantCaller, tc.wantService)
		}
	}
	e := &capture.Exchange{}
	r.Annotate(e)
	if e.Caller != "" || e.Service != "" {
		t.Errorf("exchange without addresses named %q %q", e.Caller, e.Service)
	}
	st := r.Stats()
	if st.Lookups != 10 || st.Misses != 2 || st.Reloads < 1 {
		t.Errorf("stats %+v: want 10 lookups, 2 misses", st)
	}
	s := st.String()
	objs := fixture()
	for _, want := range []string{"10 lookups", "2 unknown",
		fmt.Sprintf("%d pods, %d services, %d nodes", len(objs.Pods), len(objs.Services), len(objs.Nodes))} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q lacks %q", s, want)
		}
	}
}

// TestResolverPodAppearsLater: a pod created during the capture is named
// once a background reload has seen it, through the fake API.
func TestResolverPodAppearsLater(t *testing.T) {
	srv, kc := startFake(t, kubefake.Options{Token: testToken})
	cs, err := NewClient(kc, KindContext("demo"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewResolver(ClientLoader(cs), ResolverOptions{Interval: 10 * time.Millisecond})
	defer r.Close()
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := exchange("10.244.1.77:40000", "10.96.100.10:80")
	r.Annotate(e)
	if e.Caller != "" || e.Service != "default/todo-service" {
		t.Fatalf("before the pod exists: caller %q service %q", e.Caller, e.Service)
	}
	rs := kubefake.ReplicaSet("default", "loadgen", "5d8c7b6a9f", map[string]string{"app": "loadgen"})
	srv.AddPods(kubefake.DeploymentPod(rs, "w8x9z", "kind-worker", "10.244.1.77"))
	deadline := time.Now().Add(10 * time.Second)
	for e.Caller == "" && time.Now().Before(deadline) {
		r.Annotate(e)
		time.Sleep(2 * time.Millisecond)
	}
	if e.Caller != "default/loadgen" {
		t.Fatalf("caller %q after the pod appeared, want default/loadgen; stats %v", e.Caller, r.Stats())
	}
	if n := srv.Requests("/api/v1/pods"); n < 2 {
		t.Errorf("%d pod lists, want a reload", n)
	}
}

// TestResolverNeverBlocks: Annotate returns while a load hangs, and Close
// cancels the load.
func TestResolverNeverBlocks(t *testing.T) {
	started := make(chan struct{}, 1)
	var cancelled atomic.Bool
	load := func(ctx context.Context) (*Snapshot, error) {
		started <- struct{}{}
		<-ctx.Done()
		cancelled.Store(true)
		return nil, ctx.Err()
	}
	r := NewResolver(load, ResolverOptions{Interval: time.Millisecond, Timeout: time.Hour})
	e := exchange("10.244.1.5:40000", "10.96.100.10:80")
	r.Annotate(e) // starts the background load
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no background load started")
	}
	begin := time.Now()
	for i := 0; i < 10000; i++ {
		r.Annotate(e)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("10000 Annotate calls took %v while a load hung", d)
	}
	if e.Caller != "" || e.Service != "" {
		t.Errorf("named without a snapshot: %q %q", e.Caller, e.Service)
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the hanging load")
	}
	if !cancelled.Load() {
		t.Error("load not cancelled")
	}
	if st := r.Stats(); st.Reloads != 1 || st.FailedReloads != 1 || !errors.Is(st.LastError, context.Canceled) {
		t.Errorf("stats %+v, want one cancelled load", st)
	}
	r.Annotate(e) // after Close: no new load, no panic
	if len(started) != 0 {
		t.Error("a load started after Close")
	}
}

// TestResolverQuietsUnknownAddresses: an address outside the cluster
// causes at most MissReloads reloads; a new unknown address causes more.
func TestResolverQuietsUnknownAddresses(t *testing.T) {
	load, n := staticLoader(fixture())
	r := NewResolver(load, ResolverOptions{Interval: time.Microsecond, MissReloads: 3})
	defer r.Close()
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	outside := exchange("192.0.2.7:50000", "10.96.100.10:80")
	waitLoads := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for n.Load() < want && time.Now().Before(deadline) {
			r.Annotate(outside)
			time.Sleep(time.Millisecond)
		}
	}
	waitLoads(4)
	for i := 0; i < 200; i++ {
		r.Annotate(outside)
		time.Sleep(100 * time.Microsecond)
	}
	r.Close() // wait for a load in flight
	if got := n.Load(); got != 4 {
		t.Errorf("%d loads for one address outside the cluster, want 1 + 3", got)
	}

	r2 := NewResolver(load, ResolverOptions{Interval: time.Hour})
	defer r2.Close()
	before := n.Load()
	for i := 0; i < 100; i++ {
		r2.Annotate(exchange("192.0.2.8:50000", "192.0.2.9:80"))
	}
	r2.Close()
	if got := n.Load() - before; got != 1 {
		t.Errorf("%d loads within one interval, want 1", got)
	}
}

// TestResolverKeepsSnapshotOnError: a failed reload keeps the names the
// last good one gave, and says why it failed.
func TestResolverKeepsSnapshotOnError(t *testing.T) {
	var fail atomic.Bool
	load := func(ctx context.Context) (*Snapshot, error) {
		if fail.Load() {
			return nil, errors.New("list pods from https://127.0.0.1:6443: connection refused")
		}
		return New(fixture()), nil
	}
	r := NewResolver(load, ResolverOptions{Interval: time.Millisecond})
	defer r.Close()
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if err := r.Load(context.Background()); err == nil {
		t.Fatal("no error from a failing load")
	}
	e := exchange("10.244.1.5:40000", "10.96.100.10:80")
	r.Annotate(e)
	if e.Caller != "default/todo" || e.Service != "default/todo-service" {
		t.Errorf("after a failed load: %q %q", e.Caller, e.Service)
	}
	st := r.Stats()
	if st.Reloads != 2 || st.FailedReloads != 1 || st.LastError == nil {
		t.Errorf("stats %+v", st)
	}
	if s := st.String(); !strings.Contains(s, "1 failed (last: list pods from https://127.0.0.1:6443: connection refused)") {
		t.Errorf("summary %q", s)
	}
}

// TestResolverConcurrent annotates from many goroutines while reloads
// swap snapshots (run with -race).
func TestResolverConcurrent(t *testing.T) {
	load, _ := staticLoader(fixture())
	r := NewResolver(load, ResolverOptions{Interval: time.Microsecond})
	defer r.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				e := exchange("10.244.1.5:40000", "10.96.100.10:80")
				if i%2 == 0 {
					e = exchange("192.0.2.1:40000", "192.0.2.2:80")
				}
				r.Annotate(e)
				if e.Service != "" && e.Service != "default/todo-service" {
					t.Errorf("service %q", e.Service)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := r.Stats(); st.Lookups != 8*2000*2 {
		t.Errorf("lookups %d", st.Lookups)
	}
}

func BenchmarkAnnotate(b *testing.B) {
	load, _ := staticLoader(fixture())
	r := NewResolver(load, ResolverOptions{})
	defer r.Close()
	if err := r.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	e := exchange("10.244.1.5:40000", "10.244.2.3:6379")
	b.ReportAllocs()
	for b.Loop() {
		r.Annotate(e)
	}
	if e.Service != "data/redis-svc" {
		b.Fatalf("service %q", e.Service)
	}
}

func BenchmarkSnapshotNew(b *testing.B) {
	objs := fixture()
	b.ReportAllocs()
	for b.Loop() {
		New(objs)
	}
}
