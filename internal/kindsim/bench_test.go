package kindsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/demo/redistest"
)

// demoCycle sends one todo's life through the NodePort: POST /todos,
// GET /todos/{id}, DELETE /todos/{id}. The POST and the DELETE each make
// the todo service report to the statistics service through its
// ClusterIP. It returns how many requests it sent.
func demoCycle(hc *http.Client, base string, body []byte) (int, error) {
	do := func(method, url string, body []byte, want int) ([]byte, error) {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer bench")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != want {
			return nil, fmt.Errorf("%s %s: status %d: %s", method, url, res.StatusCode, b)
		}
		return b, nil
	}
	b, err := do(http.MethodPost, base+"/todos", body, http.StatusCreated)
	if err != nil {
		return 0, err
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.ID == "" {
		return 1, fmt.Errorf("POST /todos answered %s: %v", b, err)
	}
	if _, err := do(http.MethodGet, base+"/todos/"+created.ID, nil, http.StatusOK); err != nil {
		return 1, err
	}
	if _, err := do(http.MethodDelete, base+"/todos/"+created.ID, nil, http.StatusNoContent); err != nil {
		return 2, err
	}
	return 3, nil
}

// BenchmarkNodeThroughput measures the demo's requests per second through
// the todo service's NodePort, with todos in Redis and events to the
// statistics service through its ClusterIP: one client, and four at once.
// Each b.N is one todo's life (three requests).
func BenchmarkNodeThroughput(b *testing.B) {
	needTools(b)
	redis := redistest.Start(b)
	body := []byte(`{"title":"benchmark","descripton":"through the NodePort","priority":2,"tags":["bench"]}`)
	for _, layout := range []Layout{Bridge, PTP} {
		c := newCluster(b, Config{Name: "bench-" + layout.String(), Layout: layout, RedisURL: redis, Log: io.Discard})
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/clients=%d", layout, clients), func(b *testing.B) {
				hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				defer hc.CloseIdleConnections()
				var requests, next atomic.Int64
				b.ReportAllocs()
				start := time.Now()
				b.ResetTimer()
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							n, err := demoCycle(hc, c.NodeURL(), body)
							requests.Add(int64(n))
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(requests.Load())/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}
