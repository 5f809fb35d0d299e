package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/internal/cifake"
)

func TestRetryThenSuccess(t *testing.T) {
	bad := cifake.Fault{Status: http.StatusBadGateway, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>"}
	tests := []struct {
		name   string
		key    string // the request that fails first
		faults []cifake.Fault
		want   Action
	}{
		{"GET 502 twice", "GET /repos/octo-org/app/issues/6/comments", []cifake.Fault{bad, bad}, Created},
		{"POST 502 twice", "POST /repos/octo-org/app/issues/6/comments", []cifake.Fault{bad, bad}, Created},
		{"GET /user 503 then 500", "GET /user", []cifake.Fault{{Status: 503, Header: map[string]string{"Retry-After": "0"}}, {Status: 500}}, Created},
		{"PATCH 502 twice", "PATCH /repos/octo-org/app/issues/comments/", []cifake.Fault{bad, bad}, Updated},
		{"429 with Retry-After", "POST /repos/octo-org/app/issues/6/comments", []cifake.Fault{{Status: 429, Header: map[string]string{"Retry-After": "0"}, Body: `{"message":"You have exceeded a secondary rate limit."}`}}, Created},
		{"403 with no requests left", "GET /repos/octo-org/app/issues/6/comments", []cifake.Fault{{Status: 403, Header: map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(time.Now().Unix()),
		}, Body: `{"message":"API rate limit exceeded"}`}}, Created},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cifake.NewGitHub(t)
			key := tt.key
			if tt.want == Updated {
				id := f.AddComment(6, cifake.Octocat, render.Marker+"\nold")
				key += fmt.Sprint(id)
			}
			f.Inject(key, tt.faults...)
			var logs []string
			c := fakeClient(t, f)
			c.Logf = func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
			res, err := c.UpsertComment(context.Background(), 6, render.Marker+"\nnew")
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != tt.want {
				t.Errorf("action %s, want %s", res.Action, tt.want)
			}
			method, path, _ := strings.Cut(key, " ")
			if n := len(f.Requests(key)); n != len(tt.faults)+1 {
				t.Errorf("%s sent %d times, want %d", key, n, len(tt.faults)+1)
			}
			if cs := f.Comments(6); len(cs) != 1 || cs[0].Body != render.Marker+"\nnew" {
				t.Errorf("comments: %+v", cs)
			}
			if len(logs) != len(tt.faults) {
				t.Errorf("log: %q, want one line a retry", logs)
			}
			for _, l := range logs {
				if !strings.Contains(l, method+" "+path) || !strings.Contains(l, "retry") {
					t.Errorf("log line %q does not name the request", l)
				}
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	tests := []struct {
		name  string
		fault cifake.Fault
		sends int
	}{
		{"500 every time", cifake.Fault{Status: 500, Body: `{"message":"Server Error"}`}, 4},
		{"400 is not retried", cifake.Fault{Status: 400, Body: `{"message":"Problems parsing JSON"}`}, 1},
		{"501 is not retried", cifake.Fault{Status: 501, Body: `{"message":"Not Implemented"}`}, 1},
		{"403 without a rate-limit signal", cifake.Fault{Status: 403, Body: `{"message":"Must have admin rights to Repository."}`}, 1},
		{"rate limit resetting past the budget", cifake.Fault{Status: 403, Header: map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(time.Now().Add(time.Hour).Unix()),
		}, Body: `{"message":"API rate limit exceeded"}`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cifake.NewGitHub(t)
			key := "GET /repos/octo-org/app/actions/artifacts"
			f.Inject(key, tt.fault, tt.fault, tt.fault, tt.fault, tt.fault)
			_, err := fakeClient(t, f).DownloadBaseline(context.Background(), "specgate-baseline", "main", t.TempDir())
			if err == nil || errors.Is(err, ErrNoBaseline) {
				t.Fatalf("err = %v, want the API's failure", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.fault.Status)) {
				t.Errorf("error %q does not give the status", err)
			}
			if n := len(f.Requests(key)); n != tt.sends {
				t.Errorf("sent %d times, want %d", n, tt.sends)
			}
		})
	}
}

func TestRetryHonoursContext(t *testing.T) {
	var sends atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sends.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rt := &retryTransport{base: http.DefaultTransport, logf: func(string, ...any) {},
		policy: retryPolicy{attempts: 5, base: 10 * time.Second, max: 10 * time.Second, budget: time.Minute}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned after %s", d)
	}
	if sends.Load() != 1 {
		t.Errorf("%d sends, want 1", sends.Load())
	}
}

func TestRetryOnlySafeRequests(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+string(b[:n]))
		mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	rt := &retryTransport{base: http.DefaultTransport, policy: fastRetry(), logf: func(string, ...any) {}}
	tests := []struct {
		method string
		marked bool
		sends  int
	}{
		{http.MethodGet, false, 4},
		{http.MethodPut, false, 4},
		{http.MethodPost, false, 1},
		{http.MethodPatch, false, 1},
		{http.MethodPost, true, 4},
		{http.MethodPatch, true, 4},
	}
	for _, tt := range tests {
		mu.Lock()
		bodies = nil
		mu.Unlock()
		ctx := context.Background()
		if tt.marked {
			ctx = allowRetry(ctx)
		}
		req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL, strings.NewReader(`{"body":"x"}`))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		got := append([]string(nil), bodies...)
		mu.Unlock()
		if len(got) != tt.sends {
			t.Errorf("%s (marked %t): %d sends, want %d", tt.method, tt.marked, len(got), tt.sends)
		}
		for _, b := range got {
			if b != tt.method+` {"body":"x"}` {
				t.Errorf("%s: sent %q: the body was not replayed", tt.method, b)
			}
		}
	}
}

func TestBackoffGrows(t *testing.T) {
	rt := &retryTransport{policy: retryPolicy{attempts: 6, base: 100 * time.Millisecond, max: time.Second}}
	prev := time.Duration(0)
	for n := 1; n <= 5; n++ {
		d := rt.backoff(n)
		lo := min(100*time.Millisecond<<(n-1), time.Second)
		if d > lo || d < lo*3/4 {
			t.Errorf("backoff(%d) = %s, want within [%s, %s]", n, d, lo*3/4, lo)
		}
		if n <= 4 && d < prev/2 {
			t.Errorf("backoff(%d) = %s shrank from %s", n, d, prev)
		}
		prev = d
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		header map[string]string
		lo, hi time.Duration
	}{
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second, 7 * time.Second},
		{"date", map[string]string{"Retry-After": now.Add(30 * time.Second).UTC().Format(http.TimeFormat)}, 28 * time.Second, 30 * time.Second},
		{"reset", map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Add(time.Minute).Unix())}, 58 * time.Second, time.Minute},
		{"requests left", map[string]string{"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": fmt.Sprint(now.Add(time.Minute).Unix())}, 0, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		if d := retryAfter(h); d < tt.lo || d > tt.hi {
			t.Errorf("%s: %s, want within [%s, %s]", tt.name, d, tt.lo, tt.hi)
		}
	}
}
