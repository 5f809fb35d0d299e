package http1

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// apiServer is a small JSON API served by net/http, with the framings a
// real server picks on its own: Content-Length, chunked, gzip, 204, 304,
// 100 Continue.
func apiServer(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /todos/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"title":"todo %s","done":false}`, r.PathValue("id"), r.PathValue("id"))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := range 3 {
			fmt.Fprintf(w, `{"part":%d}`+"\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprintf(zw, `{"items":[%s1]}`, strings.Repeat("1,", 500))
		zw.Close()
	})
	mux.HandleFunc("GET /cached", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("DELETE /todos/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /todos", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(bytes.Replace(b, []byte("{"), []byte(`{"id":"new",`), 1))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// seen is what the client itself read from the server for one request.
type seen struct {
	method, target string
	status         int
	body           string
	interim        []int
}

// talk sends pipelined requests and an Expect: 100-continue upload over
// one raw TCP connection, reading every response with net/http. It
// returns the recorded traffic and what the client read.
func talk(t testing.TB, srv *httptest.Server) ([]ev, []seen) {
	t.Helper()
	raw, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	rec := &recorder{}
	conn := recConn{raw, rec}
	br := bufio.NewReader(conn)
	host := srv.Listener.Addr().String()
	type call struct{ method, target, body string }
	var calls []call
	for i := range 10 {
		calls = append(calls, call{"GET", fmt.Sprintf("/todos/%d", i), ""})
	}
	calls = append(calls, call{"GET", "/stream", ""}, call{"GET", "/gzip", ""}, call{"HEAD", "/todos/7", ""},
		call{"GET", "/cached", ""}, call{"DELETE", "/todos/3", ""}, call{"POST", "/todos", `{"title":"new"}`})
	var batch []byte
	for _, c := range calls {
		batch = append(batch, wireRequest(t, c.method, "http://"+host+c.target, c.body, "Accept-Encoding", "gzip")...)
	}
	if _, err := conn.Write(batch); err != nil {
		t.Fatalf("write: %v", err)
	}
	var got []seen
	// read reads one response (a 1xx one too) as net/http's client does.
	read := func(method, target string) seen {
		s := seen{method: method, target: target}
		req, _ := http.NewRequest(method, "http://"+host+target, nil)
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("read response to %s %s: %v", method, target, err)
		}
		if resp.StatusCode/100 == 1 {
			s.interim = append(s.interim, resp.StatusCode)
			return s // the caller sends the body, then reads on
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			b, _ = io.ReadAll(zr)
		}
		s.status, s.body = resp.StatusCode, string(b)
		return s
	}
	for _, c := range calls {
		got = append(got, read(c.method, c.target))
	}
	body := `{"title":"` + strings.Repeat("long ", 200) + `"}`
	head := fmt.Sprintf("POST /todos HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", host, len(body))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatalf("write: %v", err)
	}
	cont := read("POST", "/todos")
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatalf("write: %v", err)
	}
	final := read("POST", "/todos")
	final.interim = cont.interim
	got = append(got, final)
	return rec.events(), got
}

func TestRealServer(t *testing.T) {
	evs, want := talk(t, apiServer(t))
	if last := want[len(want)-1]; len(last.interim) != 1 || last.interim[0] != 100 || last.status != 201 {
		t.Fatalf("the server did not answer the upload with 100 Continue then 201: %+v", last)
	}
	check := func(t *testing.T, r result) {
		if len(r.xs) != len(want) {
			t.Fatalf("got %d exchanges, the client read %d responses", len(r.xs), len(want))
		}
		for i, w := range want {
			x := r.xs[i]
			if x.Request.Method != w.method || x.Request.Target != w.target || x.Response.Status != w.status || string(x.Response.Body) != w.body {
				t.Errorf("exchange %d: %s %s -> %d %q, the client read %s %s -> %d %q", i, x.Request.Method, x.Request.Target,
					x.Response.Status, x.Response.Body, w.method, w.target, w.status, w.body)
			}
			if fmt.Sprint(x.Response.Interim) != fmt.Sprint(w.interim) {
				t.Errorf("exchange %d: interim %v, want %v", i, x.Response.Interim, w.interim)
			}
		}
		expectStats(t, r.stats, map[string]uint64{"Exchanges": uint64(len(want)), "Unanswered": 0, "OrphanResponses": 0,
			"Incomplete": 0, "Truncated": 0, "Undecodable": 0, "LostBytes": 0})
	}
	whole := play(t, Options{}, evs, noSplit)
	check(t, whole)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5 {
		compareResults(t, fmt.Sprintf("random-%d", i), whole, play(t, Options{}, evs, randomSplit(r)))
	}
	compareResults(t, "1460-byte segments", whole, play(t, Options{}, evs, func(b []byte) [][]byte { return splitEvery(b, 1460) }))
}
