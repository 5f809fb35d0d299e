package session_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/live"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/internal/testenv"
)

// nsSeq makes namespace names unique within this process.
var nsSeq atomic.Int32

// netns creates a network namespace with its loopback up, deleted when the
// test ends, and returns its name and path.
func netns(t *testing.T, role string) (name, path string) {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	name = fmt.Sprintf("sg-sess-%d-%d-%s", os.Getpid(), nsSeq.Add(1), role)
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name, "/run/netns/" + name
}

// sh runs a command, failing the test with its output.
func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// veth joins namespace a (interface ifA, address addrA) to namespace b
// (ifB, addrB) with a veth pair, both ends up.
func veth(t *testing.T, a, ifA, addrA, b, ifB, addrB string) {
	t.Helper()
	sh(t, "ip", "-n", a, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b)
	sh(t, "ip", "-n", a, "addr", "add", addrA, "dev", ifA)
	sh(t, "ip", "-n", b, "addr", "add", addrB, "dev", ifB)
	sh(t, "ip", "-n", a, "link", "set", ifA, "up")
	sh(t, "ip", "-n", b, "link", "set", ifB, "up")
}

// serve runs an HTTP server inside the namespace at path, listening on
// addr: it answers every request with a JSON document that names the
// request and carries a digest and a copy of its body.
func serve(t *testing.T, path, addr string) {
	t.Helper()
	var ln net.Listener
	if err := live.InNetns(path, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, echo(r.Header.Get("X-Test-Id"), body))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// echo is the response body the server sends for a request.
func echo(id string, body []byte) string {
	sum := sha256.Sum256(body)
	return fmt.Sprintf(`{"id":%q,"sha256":%q,"body":%q}`, id, hex.EncodeToString(sum[:]), body)
}

// client returns an HTTP client whose connections are made inside the
// namespace at path.
func client(path string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := live.InNetns(path, func() error {
				var d net.Dialer
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
}

// sent is one request the test made.
type sent struct {
	body, resp []byte
}

// traffic sends n POST requests with ids prefix-0 to prefix-(n-1), over
// two connections, with bodies from a few bytes to several segments, and
// checks each answer.
func traffic(t *testing.T, c *http.Client, url, prefix string, n int, into map[string]sent) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				id := prefix + "-" + strconv.Itoa(i)
				body := bytes.Repeat([]byte(id+";"), 1+i*i*37%2000)
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("X-Test-Id", id)
				req.Header.Set("Content-Type", "text/plain")
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("%s: %v", id, err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != echo(id, body) {
					t.Errorf("%s: answer %.80q, %v", id, got, err)
					return
				}
				mu.Lock()
				into[id] = sent{body: body, resp: got}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// capturing runs a session on cfg in the background; it returns once the
// sockets are open. stop ends it and returns what it gave.
type capturing struct {
	stop   chan os.Signal
	done   chan struct{}
	res    *session.Result
	err    error
	mu     sync.Mutex
	xs     []*capture.Exchange
	ready  []string
	missed chan capture.MissedTarget
}

func startSession(t *testing.T, cfg session.Config) *capturing {
	t.Helper()
	c := &capturing{stop: make(chan os.Signal, 1), done: make(chan struct{}), missed: make(chan capture.MissedTarget, 16)}
	ready := make(chan struct{})
	cfg.Stop = c.stop
	cfg.Ready = func(names []string) { c.ready = names; close(ready) }
	cfg.Missed = func(m capture.MissedTarget) { c.missed <- m }
	cfg.Sink = func(e *capture.Exchange) error {
		c.mu.Lock()
		c.xs = append(c.xs, e)
		c.mu.Unlock()
		return nil
	}
	if cfg.Output == "" {
		cfg.Output = filepath.Join(t.TempDir(), "out.ndjson")
	}
	go func() {
		defer close(c.done)
		c.res, c.err = session.Run(context.Background(), cfg)
	}()
	select {
	case <-ready:
	case <-c.done:
		t.Fatalf("the session ended before it was ready: %v", c.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not start within 10s")
	}
	return c
}

func (c *capturing) finish(t *testing.T) (*session.Result, []*capture.Exchange) {
	t.Helper()
	c.stop <- os.Interrupt
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the session did not stop within 15s")
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.res, c.xs
}

// checkDelivered checks that xs holds every request of want exactly once,
// bodies whole, and nothing else.
func checkDelivered(t *testing.T, xs []*capture.Exchange, want map[string]sent) {
	t.Helper()
	got := make(map[string]int)
	for _, x := range xs {
		id := x.Request.Header.Get("X-Test-Id")
		got[id]++
		w, ok := want[id]
		if !ok {
			t.Errorf("exchange %q %s %s was not sent by the test", id, x.Request.Method, x.Request.Target)
			continue
		}
		if !bytes.Equal(x.Request.Body, w.body) || !bytes.Equal(x.Response.Body, w.resp) {
			t.Errorf("%s: bodies of %d and %d bytes, sent %d and %d", id, len(x.Request.Body), len(x.Response.Body), len(w.body), len(w.resp))
		}
		if x.Request.Truncated || x.Request.Incomplete || x.Response.Truncated || x.Response.Incomplete {
			t.Errorf("%s: flagged truncated or incomplete", id)
		}
		if x.Wire.IsZero() {
			t.Errorf("%s: no wire", id)
		}
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("%s delivered %d times, want once", id, got[id])
		}
	}
}

// TestTargetsRecordEachExchangeOnce captures in several namespaces at
// once while a real client and server talk through them, and checks that
// each exchange is delivered exactly once although several namespaces, and
// both sides of a DNAT, saw it.
func TestTargetsRecordEachExchangeOnce(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	const n = 24

	t.Run("veth pair", func(t *testing.T) {
		// two namespaces joined by a veth pair: the client's and the
		// server's both see every packet, with the same addresses
		p, pPath := netns(t, "p")
		q, qPath := netns(t, "q")
		veth(t, p, "eth0", "10.78.0.1/24", q, "eth0", "10.78.0.2/24")
		serve(t, qPath, "10.78.0.2:8080")
		c := startSession(t, session.Config{Targets: []session.Target{{Name: "p", Netns: pPath}, {Name: "q", Netns: qPath}}})
		want := make(map[string]sent)
		traffic(t, client(pPath), "http://10.78.0.2:8080/echo", "pq", n, want)
		res, xs := c.finish(t)
		checkDelivered(t, xs, want)
		if res.Stats.Duplicates != n || res.Stats.Exchanges != n {
			t.Errorf("%d duplicates and %d exchanges, want %d and %d (one copy per namespace)", res.Stats.Duplicates, res.Stats.Exchanges, n, n)
		}
		if len(res.Stats.Missed) != 0 {
			t.Errorf("missed %+v", res.Stats.Missed)
		}
		if strings.Join(c.ready, " ") != "p:any q:any" {
			t.Errorf("ready with %q", c.ready)
		}
	})

	t.Run("node routes to a service", func(t *testing.T) {
		// a node namespace routes between two pod namespaces; the client
		// pod dials a Service address that the node DNATs to the server
		// pod, as kube-proxy does
		testenv.NeedCommand(t, "iptables")
		node, nodePath := netns(t, "node")
		a, aPath := netns(t, "poda")
		b, bPath := netns(t, "podb")
		veth(t, node, "vetha", "10.77.1.1/24", a, "eth0", "10.77.1.2/24")
		veth(t, node, "vethb", "10.77.2.1/24", b, "eth0", "10.77.2.2/24")
		sh(t, "ip", "-n", a, "route", "add", "default", "via", "10.77.1.1")
		sh(t, "ip", "-n", b, "route", "add", "default", "via", "10.77.2.1")
		sh(t, "ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		sh(t, "ip", "netns", "exec", node, "iptables", "-t", "nat", "-A", "PREROUTING",
			"-d", "10.77.3.10/32", "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", "10.77.2.2:8080")
		serve(t, bPath, "10.77.2.2:8080")

		var annotated atomic.Int32
		out := filepath.Join(t.TempDir(), "node.ndjson")
		c := startSession(t, session.Config{
			Output: out,
			Targets: []session.Target{
				{Name: "node", Netns: nodePath}, {Name: "pod-a", Netns: aPath}, {Name: "pod-b", Netns: bPath},
			},
			Annotate: func(e *capture.Exchange) {
				annotated.Add(1)
				e.Service, e.Caller = "default/b", "default/a"
			},
		})
		want := make(map[string]sent)
		traffic(t, client(aPath), "http://10.77.3.10/echo", "svc", n, want)
		res, xs := c.finish(t)
		checkDelivered(t, xs, want)
		// four copies of each: the client pod's (to the Service), the
		// node's before and after the DNAT, the server pod's
		if res.Stats.Duplicates != 3*n || res.Stats.Exchanges != n {
			t.Errorf("%d duplicates and %d exchanges, want %d and %d", res.Stats.Duplicates, res.Stats.Exchanges, 3*n, n)
		}
		if annotated.Load() != n {
			t.Errorf("Annotate called %d times, want %d", annotated.Load(), n)
		}
		conns := make(map[string]bool)
		for _, x := range xs {
			conns[x.ConnID] = true
		}
		for id := range conns {
			if i := strings.LastIndexByte(id, '/'); i < 0 || !strings.Contains(" node pod-a pod-b ", " "+id[:i]+" ") {
				t.Errorf("connection id %q does not name its target", id)
			}
		}
		// the file holds the same exchanges, with the names and wires
		exs, _, err := har.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range exs {
			if x.Wire.IsZero() || x.Service != "default/b" || x.Caller != "default/a" {
				t.Errorf("read back wire %+v, service %q, caller %q", x.Wire, x.Service, x.Caller)
			}
		}
		if len(exs) != n {
			t.Errorf("%d exchanges in %s, want %d", len(exs), out, n)
		}
	})
}

// TestTargetMissing checks that a target whose namespace does not exist
// is reported as missed while the others are captured, and that a capture
// with no target left fails, naming each.
func TestTargetMissing(t *testing.T) {
	p, pPath := netns(t, "p")
	q, qPath := netns(t, "q")
	veth(t, p, "eth0", "10.79.0.1/24", q, "eth0", "10.79.0.2/24")
	serve(t, qPath, "10.79.0.2:8080")
	ghost := fmt.Sprintf("/run/netns/sg-sess-%d-ghost", os.Getpid())

	c := startSession(t, session.Config{Targets: []session.Target{{Name: "ghost", Netns: ghost}, {Name: "p", Netns: pPath}}})
	select {
	case m := <-c.missed:
		if m.Target != "ghost" {
			t.Errorf("missed %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("no missed target reported")
	}
	want := make(map[string]sent)
	traffic(t, client(pPath), "http://10.79.0.2:8080/x", "m", 10, want)
	res, xs := c.finish(t)
	checkDelivered(t, xs, want)
	if len(res.Stats.Missed) != 1 || res.Stats.Missed[0].Target != "ghost" || !strings.Contains(res.Stats.Missed[0].Reason, "no such file") {
		t.Fatalf("missed %+v, want ghost with its reason", res.Stats.Missed)
	}
	var sum bytes.Buffer
	if err := res.Stats.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	t.Logf("summary:\n%s", sum.String())
	if !strings.Contains(sum.String(), "missed ghost: "+res.Stats.Missed[0].Reason+"\n") {
		t.Errorf("the summary does not name the missed target:\n%s", sum.String())
	}
	if !res.Stats.Lossy() {
		t.Error("a capture that missed a target is not lossy")
	}

	out := filepath.Join(t.TempDir(), "none.ndjson")
	_, err := session.Run(context.Background(), session.Config{Output: out,
		Targets: []session.Target{{Name: "ghost", Netns: ghost}, {Name: "empty", Netns: ""}}})
	t.Logf("every target failed: %v", err)
	if err == nil || !strings.Contains(err.Error(), "ghost: ") || !strings.Contains(err.Error(), "empty: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("every target failed: error %v, want one line naming each", err)
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Error("a failed capture wrote its output")
	}
}

// TestTargetDisappears captures in a namespace held only by a process, as
// a kind node's is by its container, and kills the process mid-capture:
// the target is reported missed within about a second, the exchanges it
// saw before are kept, and the other target goes on.
func TestTargetDisappears(t *testing.T) {
	testenv.NeedCommand(t, "sleep")
	x, xPath := netns(t, "x")
	_, yPath := netns(t, "y")
	holder := exec.Command("ip", "netns", "exec", x, "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			holder.Process.Kill()
			holder.Wait()
		}
	})
	procPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)
	// wait until the process has entered the namespace
	want, err := os.Stat(xPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if fi, err := os.Stat(procPath); err == nil && os.SameFile(fi, want) {
			break
		}
		if i == 500 {
			t.Fatal("the holder process did not enter its namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sh(t, "ip", "netns", "delete", x) // only the process holds it now

	serve(t, procPath, "127.0.0.1:8080")
	serve(t, yPath, "127.0.0.1:8080")
	c := startSession(t, session.Config{Targets: []session.Target{{Name: "node-x", Netns: procPath}, {Name: "node-y", Netns: yPath}}})
	sentX, sentY := make(map[string]sent), make(map[string]sent)
	cx := client(procPath)
	traffic(t, cx, "http://127.0.0.1:8080/x", "x", 8, sentX)
	traffic(t, client(yPath), "http://127.0.0.1:8080/y", "y", 8, sentY)
	cx.CloseIdleConnections()

	holder.Process.Kill()
	holder.Wait()
	killed = true
	gone := time.Now()
	var m capture.MissedTarget
	select {
	case m = <-c.missed:
	case <-time.After(10 * time.Second):
		t.Fatal("the disappeared target was not reported")
	}
	t.Logf("reported after %v: %s: %s", time.Since(gone).Round(time.Millisecond), m.Target, m.Reason)
	if d := time.Since(gone); d > 3*time.Second {
		t.Errorf("the disappearance was reported after %v", d)
	}
	if m.Target != "node-x" || !strings.HasPrefix(m.Reason, "disappeared at ") || !strings.HasSuffix(m.Reason, "(after 8 exchanges)") {
		t.Errorf("missed %+v, want node-x disappeared after 8 exchanges", m)
	}
	traffic(t, client(yPath), "http://127.0.0.1:8080/y", "y-after", 8, sentY)
	res, xs := c.finish(t)
	all := make(map[string]sent)
	for k, v := range sentX {
		all[k] = v
	}
	for k, v := range sentY {
		all[k] = v
	}
	checkDelivered(t, xs, all)
	if len(res.Stats.Missed) != 1 || res.Stats.Missed[0] != m {
		t.Errorf("stats missed %+v, want [%+v]", res.Stats.Missed, m)
	}
	if res.Stats.Exchanges != 24 || res.Stats.Duplicates != 0 {
		t.Errorf("%d exchanges, %d duplicates, want 24 and 0", res.Stats.Exchanges, res.Stats.Duplicates)
	}
}
