package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/demo/redistest"
)

// lockedBuffer is a buffer the server's goroutines and the test share.
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

// serve runs the command until the test ends and returns its address and
// its stderr.
func serve(t *testing.T, args []string, env map[string]string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	code := make(chan int, 1)
	stderr := &lockedBuffer{}
	go func() {
		code <- run(ctx, args, func(k string) string { return env[k] }, stderr, func(a string) { addrc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case c := <-code:
			if c != 0 {
				t.Errorf("exit %d after SIGTERM: %s", c, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("did not stop")
		}
	})
	select {
	case addr := <-addrc:
		return addr, stderr
	case c := <-code:
		code <- c
		t.Fatalf("exited %d: %s", c, stderr.String())
	}
	return "", nil
}

func health(t *testing.T, addr string) map[string]string {
	t.Helper()
	r, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var m map[string]string
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVersionChoice(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "v1"},
		{nil, map[string]string{"TODO_VERSION": "v2"}, "v2"},
		{[]string{"-version", "v3"}, map[string]string{"TODO_VERSION": "v2"}, "v3"},
		{[]string{"-version", "v1-removed-op"}, nil, "v1-removed-op"},
	} {
		addr, stderr := serve(t, append([]string{"-addr", "127.0.0.1:0"}, tc.args...), tc.env)
		if got := health(t, addr)["version"]; got != tc.want {
			t.Errorf("%v %v: version %s, want %s", tc.args, tc.env, got, tc.want)
		}
		if !strings.Contains(stderr.String(), "todo service "+tc.want+" listening on http://"+addr+" (store: memory, statistics: none)") {
			t.Errorf("stderr: %s", stderr.String())
		}
	}
}

func TestRedisAndStats(t *testing.T) {
	url := redistest.Start(t)
	events := make(chan string, 10)
	stats := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		events <- r.Method + " " + r.URL.Path + " " + r.UserAgent()
		w.WriteHeader(http.StatusAccepted)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go stats.Serve(ln)
	defer stats.Close()
	statsURL := "http://" + ln.Addr().String()

	addr, stderr := serve(t, []string{"-addr", "127.0.0.1:0", "-version", "v2"}, map[string]string{"REDIS_URL": url, "STATS_URL": statsURL})
	if !strings.Contains(stderr.String(), "(store: redis "+url+", statistics: "+statsURL+")") {
		t.Errorf("stderr: %s", stderr.String())
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/todos", strings.NewReader(`{"title":"a"}`))
	req.Header.Set("Authorization", "Bearer x")
	r, err := http.DefaultClient.Do(req)
	if err != nil || r.StatusCode != http.StatusCreated {
		t.Fatalf("POST /todos: %v, %v", r, err)
	}
	r.Body.Close()
	select {
	case e := <-events:
		if e != "POST /events todo-service/v2" {
			t.Errorf("event %q", e)
		}
	case <-time.After(5 * time.Second):
		t.Error("no event")
	}
}

func TestRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		code int
		says string
	}{
		{[]string{"-nope"}, nil, 2, "-nope"},
		{[]string{"extra"}, nil, 2, "extra"},
		{[]string{"-version", "v4"}, nil, 2, `unknown version "v4"`},
		{nil, map[string]string{"TODO_VERSION": "v0"}, 2, `unknown version "v0"`},
		{[]string{"-addr", ln.Addr().String()}, nil, 1, "address already in use"},
		{nil, map[string]string{"REDIS_URL": "redis://:pw@localhost/0"}, 1, "no AUTH"},
		{nil, map[string]string{"REDIS_URL": "redis://" + dead.Addr().String()}, 1, "connection refused"},
	} {
		var stderr bytes.Buffer
		c := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stderr, nil)
		if c != tc.code || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%v %v: exit %d, want %d: %s", tc.args, tc.env, c, tc.code, stderr.String())
		}
	}
}
