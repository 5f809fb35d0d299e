package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
)

// harness runs a Proxy on a loopback port and collects what it records.
type harness struct {
	t      *testing.T
	url    string // the proxy's base URL
	addr   string // the proxy's host:port
	stats  *capture.Stats
	cancel context.CancelFunc
	served chan error

	mu  sync.Mutex
	got []*capture.Exchange
}

// startProxy starts a Proxy to upstream with o (o.Upstream is set here).
func startProxy(t *testing.T, upstream string, o Options) *harness {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	o.Upstream = u
	if o.ErrorLog == nil {
		o.ErrorLog = log.New(testWriter{t}, "proxy: ", 0)
	}
	h := &harness{t: t, stats: capture.NewStats(), served: make(chan error, 1)}
	p, err := New(o, h.stats, func(x *capture.Exchange) error {
		h.mu.Lock()
		h.got = append(h.got, x)
		h.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.url = "http://" + h.addr
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.served <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.served:
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return h
}

// stop stops the proxy and returns everything it recorded.
func (h *harness) stop() []*capture.Exchange {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.served:
		if err != nil {
			h.t.Fatalf("Serve: %v", err)
		}
		h.served <- nil // for the cleanup
	case <-time.After(15 * time.Second):
		h.t.Fatal("Serve did not return within 15s")
	}
	return h.exchanges()
}

// exchanges returns what has been recorded so far.
func (h *harness) exchanges() []*capture.Exchange {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*capture.Exchange(nil), h.got...)
}

// waitFor waits up to 5s for n exchanges.
func (h *harness) waitFor(n int) []*capture.Exchange {
	h.t.Helper()
	for i := 0; i < 500; i++ {
		if xs := h.exchanges(); len(xs) >= n {
			return xs
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("%d exchanges recorded, want %d", len(h.exchanges()), n)
	return nil
}

// newClient returns a keep-alive client that neither asks for nor removes
// compression.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64, ExpectContinueTimeout: 5 * time.Second},
		Timeout:   30 * time.Second,
	}
}

// upstream starts a real HTTP server on loopback.
func upstream(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// hopByHop are the fields that belong to one connection, and the fields
// net/http writes on its own.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
}

// endToEnd returns the end-to-end fields of h as "Name: value" lines in
// order, names sorted.
func endToEnd(h capture.Header) []string {
	var out []string
	for _, f := range h {
		if !hopByHop[http.CanonicalHeaderKey(f.Name)] {
			out = append(out, http.CanonicalHeaderKey(f.Name)+": "+f.Value)
		}
	}
	return out
}

// httpFields converts an http.Header the way the proxy does.
func httpFields(h http.Header) capture.Header {
	return fromHTTP(h)
}

// sameResponse checks that x records the response the client saw.
func sameResponse(t *testing.T, x *capture.Exchange, res *http.Response, body []byte) {
	t.Helper()
	if x.Response.Status != res.StatusCode {
		t.Errorf("%s %s: recorded status %d, client saw %d", x.Request.Method, x.Request.Target, x.Response.Status, res.StatusCode)
	}
	got, want := strings.Join(endToEnd(x.Response.Header), "\n"), strings.Join(endToEnd(httpFields(res.Header)), "\n")
	if got != want {
		t.Errorf("%s %s: recorded response header\n%s\nclient saw\n%s", x.Request.Method, x.Request.Target, got, want)
	}
	if x.Response.Decoded == "" && !bytes.Equal(x.Response.Body, body) {
		t.Errorf("%s %s: recorded response body %s (%d bytes), client got %s (%d bytes)", x.Request.Method, x.Request.Target,
			sum(x.Response.Body), len(x.Response.Body), sum(body), len(body))
	}
	gotT, wantT := strings.Join(endToEnd(x.Response.Trailer), "\n"), strings.Join(endToEnd(httpFields(res.Trailer)), "\n")
	if gotT != wantT {
		t.Errorf("%s %s: recorded trailer %q, client saw %q", x.Request.Method, x.Request.Target, gotT, wantT)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// readAll reads a response body and closes it.
func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("read response body of %s %s: %v after %d bytes (status %d, length %d, header %v)",
			res.Request.Method, res.Request.URL, err, len(b), res.StatusCode, res.ContentLength, res.Header)
	}
	return b
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// serveOn serves p on a loopback port until the test ends and returns its
// base URL.
func serveOn(t testing.TB, p *Proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return "http://" + ln.Addr().String()
}

// testWriter writes to the test's log, shown when the test fails.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
