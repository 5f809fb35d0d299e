package har

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
)

// apiExchanges returns n exchanges typical of a JSON API under test: a dozen
// headers each way, small JSON bodies.
func apiExchanges(n int) []*capture.Exchange {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	xs := make([]*capture.Exchange, n)
	for i := range xs {
		body := fmt.Appendf(nil, `{"id":%d,"title":"buy milk","done":false,"tags":["home","shop"],"owner":{"id":7,"name":"Ada"}}`, i)
		list := []byte("[" + strings.Repeat(string(body)+",", 5) + string(body) + "]")
		t := start.Add(time.Duration(i) * time.Millisecond)
		xs[i] = &capture.Exchange{
			Request: capture.Request{Method: "POST", Target: fmt.Sprintf("/api/v1/todos/%d?expand=owner&limit=10", i), Host: "todo.svc:8080", Proto: "HTTP/1.1",
				Header: capture.Header{{Name: "Host", Value: "todo.svc:8080"}, {Name: "User-Agent", Value: "Go-http-client/1.1"}, {Name: "Content-Length", Value: fmt.Sprint(len(body))},
					{Name: "Accept", Value: "application/json"}, {Name: "Content-Type", Value: "application/json"}, {Name: "Cookie", Value: "session=abc123; theme=dark"},
					{Name: "X-Request-Id", Value: "3f2c1a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"}, {Name: "Accept-Encoding", Value: "gzip"}},
				Body: body, WireSize: int64(len(body))},
			Response: capture.Response{Proto: "HTTP/1.1", Status: 200, Reason: "OK",
				Header: capture.Header{{Name: "Content-Type", Value: "application/json; charset=utf-8"}, {Name: "Date", Value: "Thu, 02 Jan 2025 03:04:05 GMT"},
					{Name: "Content-Length", Value: fmt.Sprint(len(list))}, {Name: "Set-Cookie", Value: "session=abc123; Path=/; HttpOnly"}, {Name: "Vary", Value: "Accept-Encoding"}},
				Body: list, WireSize: int64(len(list))},
			Timing: capture.Timing{RequestStart: t, RequestEnd: t.Add(50 * time.Microsecond), ResponseStart: t.Add(2 * time.Millisecond), ResponseEnd: t.Add(2100 * time.Microsecond)},
			Client: netip.MustParseAddrPort("10.0.0.5:41234"), Server: netip.MustParseAddrPort("10.0.0.9:8080"),
			ConnID: "10.0.0.5:41234-10.0.0.9:8080", Seq: i,
		}
	}
	return xs
}

func BenchmarkWriteNDJSON(b *testing.B) { benchWrite(b, FormatNDJSON, false) }
func BenchmarkWriteHAR(b *testing.B)    { benchWrite(b, FormatHAR, false) }
func BenchmarkReadNDJSON(b *testing.B)  { benchRead(b, FormatNDJSON) }

// The encoding/json reference writer, for comparison.
func BenchmarkWriteNDJSONReference(b *testing.B) { benchWrite(b, FormatNDJSON, true) }
func BenchmarkWriteHARReference(b *testing.B)    { benchWrite(b, FormatHAR, true) }

func BenchmarkReadHAR(b *testing.B) { benchRead(b, FormatHAR) }

// benchWrite reports bytes written per second and allocations per exchange,
// of the Writer or (ref) of the encoding/json reference writer.
func benchWrite(b *testing.B, f Format, ref bool) {
	xs := apiExchanges(256)
	size := len(writeAll(b, f, xs)) / len(xs)
	var w exchangeWriter = NewWriter(io.Discard, f, Creator{Name: "specgate"})
	if ref {
		w = newRefWriter(io.Discard, f, Creator{Name: "specgate"})
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := w.Write(xs[i%len(xs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRead reports bytes read per second and allocations per exchange.
func benchRead(b *testing.B, f Format) {
	xs := apiExchanges(1024)
	data := writeAll(b, f, xs)
	b.SetBytes(int64(len(data) / len(xs)))
	b.ReportAllocs()
	b.ResetTimer()
	var r *Reader
	for i := 0; b.Loop(); i++ {
		if i%len(xs) == 0 {
			var err error
			if r, err = NewReader(bytes.NewReader(data), "bench"); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteBoundedMemory writes 32 MB and checks the heap stays small.
func TestWriteBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MB")
	}
	x := apiExchanges(1)[0]
	x.Response.Body = bytes.Repeat([]byte("y"), 60<<10)
	for _, f := range []Format{FormatHAR, FormatNDJSON} {
		cw := &countWriter{}
		w := NewWriter(cw, f, Creator{Name: "specgate"})
		var peak uint64
		var ms runtime.MemStats
		for i := range 550 {
			if err := w.Write(x); err != nil {
				t.Fatal(err)
			}
			if i%100 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if cw.n < 32<<20 || peak > 8<<20 {
			t.Errorf("%v: heap reached %d MB writing %d MB", f, peak>>20, cw.n>>20)
		}
	}
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	if len(p) == 0 {
		return 0, errors.New("empty write")
	}
	return len(p), nil
}
