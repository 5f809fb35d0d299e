package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on a locked thread inside the namespace at path. Sockets
// fn creates stay in that namespace.
func inNetns(path string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(target)
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		ferr := fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread() // else the thread dies with the goroutine
		}
		done <- ferr
	}()
	return <-done
}

// serveIn starts an HTTP server listening on addr inside ns.
func serveIn(t *testing.T, ns *podNetns, addr string, h http.Handler) {
	t.Helper()
	var ln net.Listener
	if err := inNetns(ns.path, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns.name, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// clientIn returns an HTTP/1.1 client whose connections start inside ns.
func clientIn(ns *podNetns) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := inNetns(ns.path, func() (err error) {
				c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 4,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// lineWaiter is a log writer that tells when a line containing a string
// was written.
type lineWaiter struct {
	mu    sync.Mutex
	buf   strings.Builder
	waits map[string]chan struct{}
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for s, ch := range w.waits {
		if strings.Contains(w.buf.String(), s) {
			close(ch)
			delete(w.waits, s)
		}
	}
	return len(p), nil
}

func (w *lineWaiter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// wait waits until a line with s was written.
func (w *lineWaiter) wait(t *testing.T, s string, d time.Duration) {
	t.Helper()
	w.mu.Lock()
	if strings.Contains(w.buf.String(), s) {
		w.mu.Unlock()
		return
	}
	if w.waits == nil {
		w.waits = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	w.waits[s] = ch
	w.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("no log line with %q within %s; log:\n%s", s, d, w.String())
	}
}

// demoPair makes two pod namespaces joined by a veth pair, 10.N.0.1 (todo)
// and 10.N.0.2 (stats), and serves in each: todo answers /items/ID and
// reports POSTs to stats; stats answers /events and /stats.
func demoPair(t *testing.T, tag string, net8 int) (todo, stats *podNetns, todoAddr, statsAddr string) {
	t.Helper()
	todo = newPodNetns(t, tag+"-todo")
	stats = newPodNetns(t, tag+"-stats")
	todoIP, statsIP := fmt.Sprintf("10.%d.0.1", net8), fmt.Sprintf("10.%d.0.2", net8)
	link(t, todo, []string{todoIP + "/24"}, stats, []string{statsIP + "/24"})
	todoAddr, statsAddr = todoIP+":8080", statsIP+":8080"

	toStats := clientIn(todo)
	t.Cleanup(toStats.CloseIdleConnections)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"title":"item %s","done":false}`, r.PathValue("id"), r.PathValue("id"))
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		resp, err := toStats.Post("http://"+statsAddr+"/events", "application/json", strings.NewReader(`{"kind":"created"}`))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"new","title":"new item","done":false}`)
	})
	serveIn(t, todo, todoAddr, mux)
	smux := http.NewServeMux()
	smux.HandleFunc("POST /events", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	smux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"created":3,"deleted":0}`)
	})
	serveIn(t, stats, statsAddr, smux)
	return todo, stats, todoAddr, statsAddr
}
