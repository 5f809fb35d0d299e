package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// exchange returns a small exchange at offset ms after t0, with the TCP
// identity wire.
func exchange(target string, status int, wire capture.WireID, ms int) *capture.Exchange {
	start := t0.Add(time.Duration(ms) * time.Millisecond)
	body := []byte(`{"ok":true}`)
	return &capture.Exchange{
		Request: capture.Request{Method: "GET", Target: target, Host: "todo:8080", Proto: "HTTP/1.1",
			Header: capture.Header{{Name: "Host", Value: "todo:8080"}}},
		Response: capture.Response{Proto: "HTTP/1.1", Status: status, Reason: http.StatusText(status),
			Header: capture.Header{{Name: "Content-Type", Value: "application/json"}}, Body: body, WireSize: int64(len(body))},
		Timing: capture.Timing{RequestStart: start, RequestEnd: start.Add(time.Millisecond),
			ResponseStart: start.Add(2 * time.Millisecond), ResponseEnd: start.Add(3 * time.Millisecond)},
		Client: netip.MustParseAddrPort("10.0.0.2:40000"), Server: netip.MustParseAddrPort("10.0.0.1:8080"),
		Wire: wire, Service: "shop/todo-service", Caller: "shop/client",
	}
}

// fakeAgent is a Store with shards, served over HTTP.
type fakeAgent struct {
	store *Store
	srv   *httptest.Server
}

func newFakeAgent(t *testing.T, node string, h func(http.Handler) http.Handler) *fakeAgent {
	t.Helper()
	s, err := OpenStore(t.TempDir(), node, 0)
	if err != nil {
		t.Fatal(err)
	}
	handler := s.Handler()
	if h != nil {
		handler = h(handler)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &fakeAgent{store: s, srv: srv}
}

// shard writes a shard of exchs that ran from start for d, with missed
// pods in its statistics.
func (f *fakeAgent) shard(t *testing.T, start time.Time, d time.Duration, missed []Missed, exchs ...*capture.Exchange) string {
	t.Helper()
	name, path := f.store.Reserve()
	var buf bytes.Buffer
	w := har.NewWriter(&buf, har.FormatNDJSON, har.Creator{})
	for _, e := range exchs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	st := capture.NewStats()
	st.Exchanges = uint64(len(exchs))
	st.KernelDrops = 1
	b, _ := json.Marshal(ShardStats{Node: f.store.node, Shard: name, Start: start, End: start.Add(d), Missed: missed, Capture: st})
	if _, err := f.store.Commit(name, b); err != nil {
		t.Fatal(err)
	}
	return name
}

func (f *fakeAgent) endpoint(t *testing.T) Endpoint {
	t.Helper()
	ep, err := URLEndpoint(f.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// collected runs Collect and returns the targets passed to the sink, in
// order.
func collected(t *testing.T, eps ...Endpoint) ([]string, *CollectResult) {
	t.Helper()
	var got []string
	res, err := Collect(context.Background(), CollectConfig{Agents: eps, Sink: func(e *capture.Exchange) error {
		s := e.Request.Target
		if e.Response.Incomplete {
			s += " (cut)"
		}
		got = append(got, s)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return got, res
}

func TestCollectMergesShardsOnceEach(t *testing.T) {
	w := func(n uint32) capture.WireID { return capture.WireID{Request: n, Response: n + 1000} }
	a := newFakeAgent(t, "node-a", nil)
	b := newFakeAgent(t, "node-b", nil)
	// node-a's shards overlap: /2 is in both. node-b saw /3 too (a call
	// between pods of the two nodes) and /4 alone. The pod ghost was
	// missed in two shards: it is reported once.
	ghost := []Missed{{Target: "shop/ghost", Reason: "no network namespace on this node holds 10.0.0.99"}}
	a.shard(t, t0, time.Second, ghost, exchange("/1", 200, w(1), 0), exchange("/2", 200, w(2), 900))
	a.shard(t, t0.Add(800*time.Millisecond), time.Second, ghost, exchange("/2", 200, w(2), 900), exchange("/3", 200, w(3), 1500))
	b.shard(t, t0.Add(100*time.Millisecond), 2*time.Second, nil, exchange("/3", 200, w(3), 1500), exchange("/4", 201, w(4), 1600))
	// Same Wire, another target: not a copy.
	b.shard(t, t0.Add(2100*time.Millisecond), time.Second, nil, exchange("/5", 200, w(4), 2200))

	got, res := collected(t, a.endpoint(t), b.endpoint(t))
	// Shards are read in the order their captures started: a0, b0, a1, b1.
	want := []string{"/1", "/2", "/3", "/4", "/5"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("collected %q, want %q", got, want)
	}
	if res.Exchanges != 5 || res.Duplicates != 2 || res.Shards != 4 || res.Agents != 2 || len(res.Problems) != 0 {
		t.Errorf("result %+v", res)
	}
	if want := []NodeMissed{{Node: "node-a", Missed: ghost[0]}}; !reflect.DeepEqual(res.Missed, want) {
		t.Errorf("missed %+v, want %+v", res.Missed, want)
	}
	if res.Capture.KernelDrops != 4 || !res.Capture.Lossy() {
		t.Errorf("capture statistics not summed: %+v", res.Capture)
	}
}

func TestCollectPrefersWholeCopies(t *testing.T) {
	a := newFakeAgent(t, "node-a", nil)
	w := func(n uint32) capture.WireID { return capture.WireID{Request: n, Response: n + 1000} }
	cutEx := func(target string, n uint32, ms int) *capture.Exchange {
		e := exchange(target, 200, w(n), ms)
		e.Response.Incomplete = true
		e.Response.Body = e.Response.Body[:3]
		return e
	}
	// The first shard stopped in the middle of /slow's response; the next
	// one, already capturing, has it whole. /end was cut by the end of the
	// capture itself: no whole copy exists, so the cut one is kept.
	a.shard(t, t0, time.Second, nil, exchange("/1", 200, w(1), 0), cutEx("/slow", 2, 990))
	a.shard(t, t0.Add(900*time.Millisecond), time.Second, nil, exchange("/slow", 200, w(2), 990), cutEx("/end", 3, 1900))
	got, res := collected(t, a.endpoint(t))
	want := []string{"/1", "/slow", "/end (cut)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("collected %q, want %q", got, want)
	}
	if res.Exchanges != 3 || res.Duplicates != 1 {
		t.Errorf("exchanges %d, duplicates %d; want 3 and 1", res.Exchanges, res.Duplicates)
	}
}

func TestCollectGoesOnWithoutBrokenAgents(t *testing.T) {
	w := capture.WireID{Request: 7, Response: 8}
	good := newFakeAgent(t, "node-a", nil)
	good.shard(t, t0, time.Second, nil, exchange("/good", 200, w, 0))

	// An agent whose shard is damaged on the way.
	tamper := newFakeAgent(t, "node-b", func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".ndjson") {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				b := bytes.Replace(rec.Body.Bytes(), []byte("/tampered"), []byte("/tempered"), 1)
				rw.Write(b)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	tampered := tamper.shard(t, t0, time.Second, nil, exchange("/tampered", 200, capture.WireID{Request: 9, Response: 10}, 0))
	tamper.shard(t, t0.Add(time.Second), time.Second, nil) // an empty shard: nothing to read, no problem

	// An agent that is gone, and one that answers nonsense.
	gone := newFakeAgent(t, "node-c", nil)
	gone.srv.Close()
	junk := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprint(rw, `[{"name":"../../etc/passwd","size":1,"sha256":"00"}]`)
	}))
	defer junk.Close()
	junkEP, _ := URLEndpoint(junk.URL, nil)

	got, res := collected(t, good.endpoint(t), tamper.endpoint(t), gone.endpoint(t), junkEP)
	if !reflect.DeepEqual(got, []string{"/good"}) {
		t.Errorf("collected %q, want only /good", got)
	}
	var problems []string
	for _, p := range res.Problems {
		problems = append(problems, p.String())
	}
	sort.Strings(problems)
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		tamper.srv.URL + ": shard " + tampered + ": checksum mismatch",
		gone.srv.URL + ": listing shards:",
		junk.URL + ": listing shards: invalid shard name",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem says %q:\n%s", want, all)
		}
	}
	if len(problems) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(problems), all)
	}
	if res.Shards != 2 {
		t.Errorf("%d shards collected, want 2 (the good one and the empty one)", res.Shards)
	}
}

func TestCollectStopsOnSinkError(t *testing.T) {
	a := newFakeAgent(t, "node-a", nil)
	a.shard(t, t0, time.Second, nil, exchange("/1", 200, capture.WireID{Request: 1, Response: 2}, 0))
	_, err := Collect(context.Background(), CollectConfig{Agents: []Endpoint{a.endpoint(t)},
		Sink: func(*capture.Exchange) error { return fmt.Errorf("disk full") }})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the sink's", err)
	}
}

func TestURLEndpointRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "10.0.0.1:9090", "ftp://x", "http://"} {
		if _, err := URLEndpoint(u, nil); err == nil {
			t.Errorf("URLEndpoint(%q) accepted", u)
		}
	}
}
