package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/redact"
)

// BenchmarkThroughput compares requests per second through the proxy, with
// redaction and an NDJSON encoder as the sink, against the same requests
// sent to the service directly, one keep-alive client after another
// ("serial") and from GOMAXPROCS clients at once ("parallel").
func BenchmarkThroughput(b *testing.B) {
	body := strings.Repeat(`{"id":12345,"title":"write the docs","done":false},`, 20) // 1 KB
	up := upstream(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	u := mustURL(b, up.URL)
	p, err := New(Options{Upstream: u, Redactor: redact.New(redact.Options{})}, nil, har.NewWriter(io.Discard, har.FormatNDJSON, har.Creator{}).Write)
	if err != nil {
		b.Fatal(err)
	}
	proxied := serveOn(b, p)
	for _, target := range []struct{ name, base string }{{"direct", up.URL}, {"proxy", proxied}} {
		b.Run(target.name+"/serial", func(b *testing.B) {
			c := newClient()
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				get(b, c, target.base+"/todos?limit=20")
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
		b.Run(target.name+"/parallel", func(b *testing.B) {
			c := newClient()
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, c, target.base+"/todos?limit=20")
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

func get(b *testing.B, c *http.Client, url string) {
	res, err := c.Get(url)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
}
