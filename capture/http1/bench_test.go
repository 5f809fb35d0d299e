package http1

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
)

// keepAliveStream builds n JSON exchanges as a typical API client and
// server send them on one keep-alive connection: each message as its own
// list of segments of at most mss bytes.
func keepAliveStream(t testing.TB, n, mss int, gz bool) (evs []ev, wire int) {
	for i := range n {
		var req []byte
		if i%4 == 3 {
			req = wireRequest(t, "POST", "http://todo.svc:8080/todos", fmt.Sprintf(`{"title":"task %d","done":false}`, i),
				"Content-Type", "application/json", "Accept", "application/json", "Authorization", "Bearer abc.def.ghi")
		} else {
			req = wireRequest(t, "GET", fmt.Sprintf("http://todo.svc:8080/todos/%d?expand=owner", i), "",
				"Accept", "application/json", "Accept-Encoding", "gzip", "Authorization", "Bearer abc.def.ghi")
		}
		body := []byte(fmt.Sprintf(`{"id":%d,"title":"task %d","done":false,"tags":[%s"x"],"owner":{"id":7,"name":"ann"}}`,
			i, i, strings.Repeat(`"tag",`, i%50*6)))
		var resp []byte
		if gz {
			resp = wireResponse(t, 200, gzipOf(t, body), true, "Content-Type", "application/json", "Content-Encoding", "gzip")
		} else {
			resp = wireResponse(t, 200, body, false, "Content-Type", "application/json", "Date", "Sat, 01 Mar 2025 12:00:00 GMT")
		}
		for _, s := range splitEvery(req, mss) {
			evs = append(evs, client(s))
		}
		for _, s := range splitEvery(resp, mss) {
			evs = append(evs, server(s))
		}
		wire += len(req) + len(resp)
	}
	return evs, wire
}

func benchStream(b *testing.B, n int, gz bool) {
	evs, wire := keepAliveStream(b, n, 1460, gz)
	b.SetBytes(int64(wire))
	b.ReportAllocs()
	got := 0
	emit := func(*capture.Exchange) { got++ }
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		c := NewConn(Info{A: addrA, B: addrB, ID: "bench"}, Options{}, emit)
		c.SetClient(DirAB)
		for _, e := range evs {
			c.Data(e.d, e.b, t0)
		}
		c.Close(t0, false)
	}
	runtime.ReadMemStats(&ms1)
	if got%n != 0 || got == 0 {
		b.Fatalf("got %d exchanges, want a multiple of %d", got, n)
	}
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(got), "allocs/exchange")
}

// BenchmarkKeepAlive parses 200 small JSON exchanges on one connection,
// fed in 1460-byte segments.
func BenchmarkKeepAlive(b *testing.B) { benchStream(b, 200, false) }

// BenchmarkChunkedGzip is BenchmarkKeepAlive with chunked, gzip-encoded
// responses, decoded into Body.
func BenchmarkChunkedGzip(b *testing.B) { benchStream(b, 200, true) }

// TestSteadyStateAllocs holds the parser to its allocation budget: no
// allocation per Data call while streaming a body or a head across
// segments, and a handful per exchange.
func TestSteadyStateAllocs(t *testing.T) {
	c := NewConn(Info{A: addrA, B: addrB}, Options{MaxBody: 1024}, nil)
	c.Data(DirAB, wireRequest(t, "GET", "http://svc/big", ""), t0)
	c.Data(DirBA, []byte("HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n"), t0)
	seg := []byte(strings.Repeat("x", 1460))
	c.Data(DirBA, seg, t0) // reaches MaxBody
	if a := testing.AllocsPerRun(200, func() { c.Data(DirBA, seg, t0) }); a != 0 {
		t.Errorf("%v allocations per body segment, want 0", a)
	}

	// a head cut into tiny segments is buffered without allocating per call
	c2 := NewConn(Info{A: addrA, B: addrB}, Options{}, nil)
	c2.Data(DirAB, []byte("GET /x HTTP/1.1\r\nX-Long: "), t0)
	part := []byte("abcdefgh")
	for range 100 { // grow the buffer once
		c2.Data(DirAB, part, t0)
	}
	c2.half[DirAB].buf = c2.half[DirAB].buf[:len("GET /x HTTP/1.1\r\nX-Long: ")]
	if a := testing.AllocsPerRun(100, func() { c2.Data(DirAB, part, t0) }); a != 0 {
		t.Errorf("%v allocations per header segment, want 0", a)
	}

	// a whole keep-alive exchange: request and response heads, their
	// headers, the exchange and the response body
	evs, _ := keepAliveStream(t, 1, 1460, false)
	n := 0
	c3 := NewConn(Info{A: addrA, B: addrB}, Options{}, func(*capture.Exchange) { n++ })
	for range 3 {
		for _, e := range evs {
			c3.Data(e.d, e.b, t0)
		}
	}
	a := testing.AllocsPerRun(100, func() {
		for _, e := range evs {
			c3.Data(e.d, e.b, t0)
		}
	})
	if n < 100 {
		t.Fatalf("only %d exchanges", n)
	}
	if a > 7 {
		t.Errorf("%v allocations per exchange, budget 7", a)
	}
	t.Logf("%v allocations per exchange", a)
}
