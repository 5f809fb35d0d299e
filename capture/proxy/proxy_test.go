package proxy

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
)

// echo answers with the request body, its hash and a few request facts.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Req-Sum", sum(b))
	w.Header().Add("X-Multi", "one")
	w.Header().Add("X-Multi", "two")
	w.Header().Set("X-Query", r.URL.RawQuery)
	w.Write(b)
}

func TestKeepAliveRandomBodies(t *testing.T) {
	var upConns atomic.Uint64
	up := httptest.NewUnstartedServer(http.HandlerFunc(echo))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			upConns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	h := startProxy(t, up.URL, Options{})
	c := newClient()
	rng := rand.New(rand.NewPCG(1, 2))
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	type sent struct {
		method, target string
		body           []byte
		res            *http.Response
		resBody        []byte
		local          string
	}
	var all []sent
	for i := range 200 {
		m := methods[rng.IntN(len(methods))]
		var body []byte
		if m != "GET" && m != "DELETE" {
			body = make([]byte, rng.IntN(64<<10))
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
		}
		target := fmt.Sprintf("/items/%d?i=%d&q=%x", rng.IntN(1000), i, rng.Uint32())
		req, _ := http.NewRequest(m, h.url+target, bytes.NewReader(body))
		var local string
		req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { local = ci.Conn.LocalAddr().String() },
		}))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb := readAll(t, res)
		if res.Header.Get("X-Req-Sum") != sum(body) {
			t.Fatalf("request %d: upstream got body %s, client sent %s", i, res.Header.Get("X-Req-Sum"), sum(body))
		}
		if !bytes.Equal(rb, body) {
			t.Fatalf("request %d: echoed body differs", i)
		}
		all = append(all, sent{m, target, body, res, rb, local})
	}
	xs := h.stop()
	if len(xs) != len(all) {
		t.Fatalf("recorded %d exchanges, sent %d", len(xs), len(all))
	}
	upAddr := up.Listener.Addr().String()
	for i, s := range all {
		x := xs[i]
		if x.Request.Method != s.method || x.Request.Target != s.target {
			t.Errorf("exchange %d: recorded %s %s, sent %s %s", i, x.Request.Method, x.Request.Target, s.method, s.target)
		}
		if !bytes.Equal(x.Request.Body, s.body) || x.Request.WireSize != int64(len(s.body)) || x.Request.Truncated {
			t.Errorf("exchange %d: recorded request body %s (%d, wire %d, truncated %v), sent %s (%d)", i,
				sum(x.Request.Body), len(x.Request.Body), x.Request.WireSize, x.Request.Truncated, sum(s.body), len(s.body))
		}
		sameResponse(t, x, s.res, s.resBody)
		if x.Request.Host != h.addr || x.Request.Header.Get("Host") != h.addr {
			t.Errorf("exchange %d: host %q, header %q, want %q", i, x.Request.Host, x.Request.Header.Get("Host"), h.addr)
		}
		if x.Client.String() != s.local {
			t.Errorf("exchange %d: client %v, want %s", i, x.Client, s.local)
		}
		if x.Server.String() != upAddr {
			t.Errorf("exchange %d: server %v, want %s", i, x.Server, upAddr)
		}
		if x.ConnID != xs[0].ConnID || x.Seq != i {
			t.Errorf("exchange %d: connection %s seq %d, want one keep-alive connection %s and seq %d", i, x.ConnID, x.Seq, xs[0].ConnID, i)
		}
		if x.Request.Proto != "HTTP/1.1" || x.Response.Proto != "HTTP/1.1" || x.Response.Reason != "OK" {
			t.Errorf("exchange %d: protos %q %q, reason %q", i, x.Request.Proto, x.Response.Proto, x.Response.Reason)
		}
		tm := x.Timing
		if tm.RequestStart.IsZero() || tm.RequestEnd.Before(tm.RequestStart) || tm.ResponseStart.Before(tm.RequestStart) || tm.ResponseEnd.Before(tm.ResponseStart) {
			t.Errorf("exchange %d: timing out of order: %+v", i, tm)
		}
		if x.Redacted {
			t.Errorf("exchange %d: flagged redacted without a redactor", i)
		}
	}
	ss := h.stats.Servers[upAddr]
	if ss == nil || ss.Exchanges != 200 || ss.Connections != upConns.Load() || h.stats.Exchanges != 200 {
		t.Fatalf("stats: %+v, total %d; want 200 exchanges on the %d connections the upstream accepted", ss, h.stats.Exchanges, upConns.Load())
	}
	var reqBytes uint64
	for _, s := range all {
		reqBytes += uint64(len(s.body))
	}
	if ss.RequestBytes != reqBytes || ss.ResponseBytes != reqBytes {
		t.Errorf("stats: %d request and %d response bytes, want %d each", ss.RequestBytes, ss.ResponseBytes, reqBytes)
	}
}

func TestConcurrentSinkSerializedInCompletionOrder(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		echo(w, r)
	}))
	var inSink, overlaps atomic.Int32
	var mu sync.Mutex
	var order []string
	u, _ := url.Parse(up.URL)
	p, err := New(Options{Upstream: u}, nil, func(x *capture.Exchange) error {
		if inSink.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(50 * time.Microsecond)
		mu.Lock()
		order = append(order, x.Request.Target)
		mu.Unlock()
		inSink.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	c := newClient()

	// a slow request starts first and completes last
	slowDone := make(chan error, 1)
	go func() {
		res, err := c.Get(base + "/slow")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		slowDone <- err
	}()
	<-arrived
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				res, err := c.Post(fmt.Sprintf("%s/fast?g=%d&i=%d", base, g, i), "text/plain", strings.NewReader(strings.Repeat("x", i*100)))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if overlaps.Load() != 0 {
		t.Errorf("the sink was entered %d times while already running", overlaps.Load())
	}
	if len(order) != 201 || order[200] != "/slow" {
		t.Fatalf("recorded %d exchanges, last %q; want 201 with the slow one last", len(order), order[len(order)-1])
	}
	// each client goroutine's requests complete in the order it sent them
	last := map[string]int{}
	for _, tg := range order[:200] {
		q, _ := url.ParseQuery(tg[strings.IndexByte(tg, '?')+1:])
		i, _ := strconv.Atoi(q.Get("i"))
		if prev, ok := last[q.Get("g")]; ok && i <= prev {
			t.Errorf("goroutine %s: exchange %d recorded after %d", q.Get("g"), i, prev)
		}
		last[q.Get("g")] = i
	}
}

func TestChunkedTrailers(t *testing.T) {
	var gotTrailer atomic.Value
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotTrailer.Store(r.Trailer.Get("X-Req-Digest"))
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		h := sha256.New()
		for i := range 5 {
			chunk := fmt.Appendf(nil, "chunk %d of %d bytes received\n", i, len(b))
			h.Write(chunk)
			w.Write(chunk)
			http.NewResponseController(w).Flush()
		}
		w.Header().Set("X-Checksum", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set(http.TrailerPrefix+"X-Late", "unannounced")
	}))
	h := startProxy(t, up.URL, Options{})
	c := newClient()

	// the request is chunked too, with a trailer
	pr, pw := io.Pipe()
	go func() {
		for i := range 4 {
			fmt.Fprintf(pw, "part %d;", i)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", h.url+"/stream", pr)
	req.Trailer = http.Header{"X-Req-Digest": nil}
	reqBody := "part 0;part 1;part 2;part 3;"
	req.Trailer.Set("X-Req-Digest", "d1g3st")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
		t.Errorf("client got transfer encoding %v, want chunked", res.TransferEncoding)
	}
	if res.Trailer.Get("X-Checksum") == "" || res.Trailer.Get("X-Late") != "unannounced" {
		t.Fatalf("client got trailer %v", res.Trailer)
	}
	if gotTrailer.Load() != "d1g3st" {
		t.Errorf("upstream got request trailer %q, want it forwarded", gotTrailer.Load())
	}
	xs := h.stop()
	if len(xs) != 1 {
		t.Fatalf("recorded %d exchanges", len(xs))
	}
	x := xs[0]
	sameResponse(t, x, res, body)
	if x.Response.Header.Get("Transfer-Encoding") != "chunked" || x.Response.Header.Get("Trailer") != "X-Checksum" {
		t.Errorf("recorded response header %v, want the upstream's Transfer-Encoding and Trailer", x.Response.Header)
	}
	if string(x.Request.Body) != reqBody || x.Request.WireSize != int64(len(reqBody)) || x.Request.Header.Get("Transfer-Encoding") != "chunked" {
		t.Errorf("recorded request body %q (wire %d), header %v", x.Request.Body, x.Request.WireSize, x.Request.Header)
	}
	if x.Request.Trailer.Get("X-Req-Digest") != "d1g3st" || x.Request.Header.Get("Trailer") != "X-Req-Digest" {
		t.Errorf("recorded request trailer %v, header %v", x.Request.Trailer, x.Request.Header)
	}
	if x.Response.WireSize != int64(len(body)) {
		t.Errorf("recorded response wire size %d, client got %d bytes", x.Response.WireSize, len(body))
	}
}

// encode applies a content coding.
func encode(t *testing.T, coding string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "deflate-raw":
		w, _ = flate.NewWriter(&buf, 5)
	case "br":
		w = brotli.NewWriter(&buf)
	default:
		t.Fatalf("coding %s", coding)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestContentCodings(t *testing.T) {
	plain := []byte(strings.Repeat(`{"id":1,"name":"todo","done":false}`, 200))
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coding := r.URL.Query().Get("c")
		if coding == "gzip,br" {
			w.Header().Set("Content-Encoding", "gzip, br")
			w.Header().Set("Content-Type", "application/json")
			w.Write(encode(t, "br", encode(t, "gzip", plain)))
			return
		}
		w.Header().Set("Content-Encoding", strings.TrimSuffix(coding, "-raw"))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(encode(t, coding, plain))))
		}
		w.Write(encode(t, coding, plain))
	}))
	h := startProxy(t, up.URL, Options{MaxBody: 1 << 20})
	c := newClient()
	type result struct {
		coding string
		res    *http.Response
		body   []byte
	}
	var results []result
	for _, tc := range []struct{ query, coding, decoded string }{
		{"c=gzip", "gzip", "gzip"},
		{"c=gzip&chunked=1", "gzip", "gzip"},
		{"c=deflate", "deflate", "deflate"},
		{"c=deflate-raw", "deflate-raw", "deflate"},
		{"c=br", "br", "br"},
		{"c=gzip,br", "gzip,br", "gzip, br"},
	} {
		res, err := c.Get(h.url + "/todos?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, res)
		var want []byte
		if tc.coding == "gzip,br" {
			want = encode(t, "br", encode(t, "gzip", plain))
		} else {
			want = encode(t, tc.coding, plain)
		}
		if !bytes.Equal(body, want) {
			t.Errorf("%s: client got %d bytes %s, the upstream sent %d bytes %s", tc.query, len(body), sum(body), len(want), sum(want))
		}
		results = append(results, result{tc.decoded, res, body})
	}
	// a gzip request body is decoded in the record too
	req, _ := http.NewRequest("POST", h.url+"/todos?c=gzip", bytes.NewReader(encode(t, "gzip", plain)))
	req.Header.Set("Content-Encoding", "gzip")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, result{"gzip", res, readAll(t, res)})

	xs := h.stop()
	if len(xs) != len(results) {
		t.Fatalf("recorded %d exchanges, want %d", len(xs), len(results))
	}
	for i, r := range results {
		x := xs[i]
		sameResponse(t, x, r.res, r.body)
		if x.Response.Decoded != r.coding || !bytes.Equal(x.Response.Body, plain) || x.Response.Truncated {
			t.Errorf("%s: recorded body decoded %q, %d bytes (truncated %v), want %q and the %d plain bytes",
				x.Request.Target, x.Response.Decoded, len(x.Response.Body), x.Response.Truncated, r.coding, len(plain))
		}
		if x.Response.WireSize != int64(len(r.body)) {
			t.Errorf("%s: wire size %d, client got %d", x.Request.Target, x.Response.WireSize, len(r.body))
		}
	}
	last := xs[len(xs)-1]
	if last.Request.Decoded != "gzip" || !bytes.Equal(last.Request.Body, plain) {
		t.Errorf("recorded request body decoded %q, %d bytes", last.Request.Decoded, len(last.Request.Body))
	}
}

func TestBodylessResponses(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "11")
			if r.Method != "HEAD" {
				io.WriteString(w, "hello world")
			}
		}
	}))
	h := startProxy(t, up.URL, Options{})
	c := newClient()
	cases := []struct {
		method, path string
		status       int
	}{
		{"HEAD", "/doc", 200},
		{"DELETE", "/204", 204},
		{"GET", "/304", 304},
		{"GET", "/doc", 200},
	}
	var results []*http.Response
	var bodies [][]byte
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, h.url+tc.path, nil)
		if tc.path == "/304" {
			req.Header.Set("If-None-Match", `"v1"`)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
		bodies = append(bodies, readAll(t, res))
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
	}
	xs := h.stop()
	if len(xs) != len(cases) {
		t.Fatalf("recorded %d, want %d", len(xs), len(cases))
	}
	for i, tc := range cases {
		x := xs[i]
		sameResponse(t, x, results[i], bodies[i])
		if x.Request.Method != tc.method || x.Response.Status != tc.status {
			t.Errorf("exchange %d: %s %d, want %s %d", i, x.Request.Method, x.Response.Status, tc.method, tc.status)
		}
		if tc.path != "/doc" || tc.method == "HEAD" {
			if len(x.Response.Body) != 0 || x.Response.WireSize != 0 || x.Response.Truncated || x.Response.Incomplete {
				t.Errorf("%s %s: recorded body %q wire %d truncated %v incomplete %v", tc.method, tc.path,
					x.Response.Body, x.Response.WireSize, x.Response.Truncated, x.Response.Incomplete)
			}
		}
		if x.Seq != i {
			t.Errorf("exchange %d: seq %d", i, x.Seq)
		}
	}
	if xs[0].Response.Header.Get("Content-Length") != "11" {
		t.Errorf("HEAD: recorded Content-Length %q, want 11", xs[0].Response.Header.Get("Content-Length"))
	}
}

// seeded is a deterministic stream of n pseudo-random bytes.
func seeded(seed uint64, n int64) io.Reader {
	return io.LimitReader(&randReader{rand.New(rand.NewPCG(seed, seed))}, n)
}

type randReader struct{ r *rand.Rand }

func (r *randReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r.r.Uint32())
	}
	return len(b), nil
}

func TestLargeBodiesTruncatedInRecordOnly(t *testing.T) {
	const size = 5 << 20
	const maxBody = 64 << 10
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs := sha256.New()
		n, err := io.Copy(hs, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("X-Req-Sum", hex.EncodeToString(hs.Sum(nil)))
		w.Header().Set("X-Req-Len", strconv.FormatInt(n, 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		if r.URL.Query().Get("cl") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		io.Copy(w, seeded(7, size))
	}))
	h := startProxy(t, up.URL, Options{MaxBody: maxBody})
	c := newClient()
	reqAll, _ := io.ReadAll(seeded(3, size))
	respAll, _ := io.ReadAll(seeded(7, size))
	reqSum := sha256.Sum256(reqAll)
	for _, q := range []string{"cl=1", "chunked=1"} {
		res, err := c.Post(h.url+"/upload?"+q, "application/octet-stream", seeded(3, size))
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, res)
		if res.Header.Get("X-Req-Sum") != hex.EncodeToString(reqSum[:]) || res.Header.Get("X-Req-Len") != strconv.Itoa(size) {
			t.Errorf("%s: the upstream got %s bytes, not every byte sent", q, res.Header.Get("X-Req-Len"))
		}
		if !bytes.Equal(body, respAll) {
			t.Errorf("%s: the client got %d bytes, not the %d the upstream sent", q, len(body), size)
		}
	}
	xs := h.stop()
	if len(xs) != 2 {
		t.Fatalf("recorded %d", len(xs))
	}
	for _, x := range xs {
		q, p := x.Request, x.Response
		if !q.Truncated || !bytes.Equal(q.Body, reqAll[:maxBody]) || q.WireSize != size || q.Incomplete {
			t.Errorf("%s: request recorded %d bytes, truncated %v, wire %d", x.Request.Target, len(q.Body), q.Truncated, q.WireSize)
		}
		if !p.Truncated || !bytes.Equal(p.Body, respAll[:maxBody]) || p.WireSize != size || p.Incomplete {
			t.Errorf("%s: response recorded %d bytes, truncated %v, wire %d", x.Request.Target, len(p.Body), p.Truncated, p.WireSize)
		}
	}
	ss := h.stats.Total()
	if ss.Truncated != 2 || ss.RequestBytes != 2*size || ss.ResponseBytes != 2*size {
		t.Errorf("stats: truncated %d, bytes %d/%d", ss.Truncated, ss.RequestBytes, ss.ResponseBytes)
	}
}

func TestExpectContinue(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		echo(w, r)
	}))
	h := startProxy(t, up.URL, Options{})
	c := newClient()
	body := bytes.Repeat([]byte("upload "), 3000)

	var got100 atomic.Bool
	req, _ := http.NewRequest("PUT", h.url+"/files/a", bytes.NewReader(body))
	req.Header.Set("Expect", "100-continue")
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got100Continue: func() { got100.Store(true) },
	}))
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb := readAll(t, res)
	if !got100.Load() {
		t.Error("the client got no 100 Continue")
	}
	if res.StatusCode != 200 || !bytes.Equal(rb, body) {
		t.Fatalf("status %d, %d bytes back", res.StatusCode, len(rb))
	}

	// the upstream refuses without reading: the client gets the refusal
	// and need not send its body
	req2, _ := http.NewRequest("PUT", h.url+"/refuse", bytes.NewReader(body))
	req2.Header.Set("Expect", "100-continue")
	res2, err := c.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	rb2 := readAll(t, res2)
	if res2.StatusCode != 413 {
		t.Fatalf("refusal: status %d", res2.StatusCode)
	}

	xs := h.stop()
	if len(xs) != 2 {
		t.Fatalf("recorded %d", len(xs))
	}
	x := xs[0]
	sameResponse(t, x, res, rb)
	if !slices.Equal(x.Response.Interim, []int{100}) {
		t.Errorf("interim %v, want [100]", x.Response.Interim)
	}
	if !bytes.Equal(x.Request.Body, body) || x.Request.Header.Get("Expect") != "100-continue" {
		t.Errorf("recorded request body of %d bytes, Expect %q", len(x.Request.Body), x.Request.Header.Get("Expect"))
	}
	if x.Timing.ResponseStart.Before(x.Timing.RequestEnd) {
		t.Errorf("the final response starts before the request body ended: %+v", x.Timing)
	}
	y := xs[1]
	sameResponse(t, y, res2, rb2)
	if len(y.Response.Interim) != 0 || y.Response.Status != 413 {
		t.Errorf("refusal recorded as %d with interim %v", y.Response.Status, y.Response.Interim)
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	var logBuf lockedBuffer
	h := startProxy(t, "http://"+dead, Options{ErrorLog: log.New(&logBuf, "", 0)})
	c := newClient()
	for i := range 12 {
		res, err := c.Post(h.url+"/todos", "application/json", strings.NewReader(`{"title":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, res)
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "did not answer") {
			t.Fatalf("request %d: status %d %q, want 502", i, res.StatusCode, b)
		}
	}
	xs := h.stop()
	if len(xs) != 0 {
		t.Errorf("recorded %d exchanges for an upstream that is down; the 502 is the proxy's, not the service's", len(xs))
	}
	ss := h.stats.Servers[dead]
	if ss == nil || ss.Unanswered != 12 || ss.Exchanges != 0 || h.stats.Exchanges != 0 {
		t.Fatalf("stats for %s: %+v (servers %v)", dead, ss, h.stats.SortedServers())
	}
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != maxLogged+1 || !strings.Contains(lines[0], "connection refused") {
		t.Errorf("error log: %d lines, first %q; want %d errors and one line saying the rest are not logged", len(lines), lines[0], maxLogged)
	}
	if got := h.stats.Explain(); len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "12 requests had no response") {
		t.Errorf("explanation %q does not account for the upstream errors", got)
	}
}

func TestRedactedInRecordIntactUpstream(t *testing.T) {
	const token = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	const cookie = "session=9f8e7d6c5b4a39281706f5e4d3c2b1a0; theme=dark"
	got := make(chan http.Header, 1)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "a1b2c3d4e5f60718293a4b5c6d7e8f90", HttpOnly: true})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"password":"hunter2-correct-horse","id":7}`)
	}))
	h := startProxy(t, up.URL, Options{Redactor: redact.New(redact.Options{})})
	req, _ := http.NewRequest("POST", h.url+"/login?api_key=k3y-abcdef0123456789", strings.NewReader(`{"user":"ann","password":"hunter2-correct-horse"}`))
	req.Header.Set("Authorization", token)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Content-Type", "application/json")
	res, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	up1 := <-got
	if up1.Get("Authorization") != token || up1.Get("Cookie") != cookie {
		t.Errorf("upstream got Authorization %q and Cookie %q, want them intact", up1.Get("Authorization"), up1.Get("Cookie"))
	}
	if !strings.Contains(res.Header.Get("Set-Cookie"), "a1b2c3d4e5f60718293a4b5c6d7e8f90") || !strings.Contains(string(body), "hunter2") {
		t.Errorf("client got Set-Cookie %q and body %q, want them intact", res.Header.Get("Set-Cookie"), body)
	}
	xs := h.stop()
	if len(xs) != 1 {
		t.Fatalf("recorded %d", len(xs))
	}
	x := xs[0]
	if !x.Redacted {
		t.Error("exchange not flagged redacted")
	}
	dump := fmt.Sprintf("%+v", *x) + string(x.Request.Body) + string(x.Response.Body)
	for _, secret := range []string{"eyJhbGciOiJIUzI1NiJ9", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "a1b2c3d4e5f60718293a4b5c6d7e8f90", "hunter2", "k3y-abcdef"} {
		if strings.Contains(dump, secret) {
			t.Errorf("the record holds %q", secret)
		}
	}
	for _, name := range []string{"Authorization", "Cookie"} {
		if !strings.Contains(x.Request.Header.Get(name), redact.Marker) {
			t.Errorf("recorded %s %q, want it redacted", name, x.Request.Header.Get(name))
		}
	}
	if !strings.Contains(x.Response.Header.Get("Set-Cookie"), redact.Marker) {
		t.Errorf("recorded Set-Cookie %q", x.Response.Header.Get("Set-Cookie"))
	}
	if h.stats.Redacted == 0 {
		t.Error("stats count no redaction")
	}
}

// wsUpstream switches to an echo protocol on request.
func wsUpstream(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo " + line)
			brw.Flush()
		}
	})
}

func TestUpgradeForwarded(t *testing.T) {
	up := upstream(t, wsUpstream(t))
	h := startProxy(t, up.URL, Options{Grace: 2 * time.Second})
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /chat?room=1 HTTP/1.1\r\nHost: chat.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("client got %d %v", res.StatusCode, res.Header)
	}
	for i := range 3 {
		fmt.Fprintf(conn, "ping %d\n", i)
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("echo ping %d\n", i) {
			t.Fatalf("frame %d: %q %v", i, line, err)
		}
	}
	// the exchange is recorded while the connection is still open
	xs := h.waitFor(1)
	x := xs[0]
	if x.Upgrade != "websocket" || x.Response.Status != 101 || x.Request.Target != "/chat?room=1" || x.Request.Host != "chat.local" {
		t.Errorf("recorded upgrade %q status %d target %q host %q", x.Upgrade, x.Response.Status, x.Request.Target, x.Request.Host)
	}
	if x.Response.Header.Get("Upgrade") != "websocket" || x.Request.Header.Get("Sec-WebSocket-Key") == "" {
		t.Errorf("recorded headers %v / %v", x.Request.Header, x.Response.Header)
	}
	// stopping ends the upgraded connection, and promptly
	start := time.Now()
	h.stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopping took %v with an upgraded connection open", d)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the upgraded connection is still open after the proxy stopped")
	}
	if n := h.stats.Total().Upgrades["websocket"]; n != 1 {
		t.Errorf("stats count %d websocket upgrades", n)
	}
}

func TestGracefulShutdown(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "finally")
	}))
	h := startProxy(t, up.URL, Options{})
	type answer struct {
		body string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := newClient().Get(h.url + "/slow")
		if err != nil {
			done <- answer{"", err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		done <- answer{string(b), err}
	}()
	<-arrived
	xs := h.stop() // returns only once the request in flight has completed
	a := <-done
	if a.err != nil || a.body != "finally" {
		t.Fatalf("the request in flight got %q, %v", a.body, a.err)
	}
	if len(xs) != 1 || xs[0].Response.Status != 200 || string(xs[0].Response.Body) != "finally" {
		t.Fatalf("recorded %d exchanges", len(xs))
	}
	if _, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		t.Error("the proxy still accepts connections after stopping")
	}
}

func TestForwardedUnchanged(t *testing.T) {
	type seen struct {
		method, uri, host string
		header            http.Header
	}
	got := make(chan seen, 4)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header.Clone()}
		w.WriteHeader(204)
	}))
	upHost := up.Listener.Addr().String()
	raw := "PURGE /a%2Fb/c%20d?x=1;y=2&z=%zz&e= HTTP/1.1\r\nHost: api.example\r\nX-Forwarded-For: 10.1.1.1\r\n" +
		"X-Custom: a\r\nX-Custom: b\r\nUser-Agent: billing/2.3\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n"
	for _, tc := range []struct {
		name     string
		upstream string
		rewrite  bool
		uri      string
		host     string
	}{
		{"as sent", up.URL, false, "/a%2Fb/c%20d?x=1;y=2&z=%zz&e=", "api.example"},
		{"rewritten host, path prefix", up.URL + "/base/?k=v", true, "/base/a%2Fb/c%20d?k=v&x=1;y=2&z=%zz&e=", upHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startProxy(t, tc.upstream, Options{RewriteHost: tc.rewrite})
			conn, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, raw)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			s := <-got
			if s.method != "PURGE" || s.uri != tc.uri || s.host != tc.host {
				t.Errorf("upstream got %s %s host %q, want PURGE %s host %q", s.method, s.uri, s.host, tc.uri, tc.host)
			}
			if !slices.Equal(s.header["X-Custom"], []string{"a", "b"}) || s.header.Get("X-Forwarded-For") != "10.1.1.1" || s.header.Get("User-Agent") != "billing/2.3" {
				t.Errorf("upstream got header %v", s.header)
			}
			for _, k := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Hop"} {
				if _, ok := s.header[k]; ok {
					t.Errorf("upstream got %s: %q", k, s.header[k])
				}
			}
			xs := h.stop()
			if len(xs) != 1 {
				t.Fatalf("recorded %d", len(xs))
			}
			x := xs[0]
			if x.Request.Target != "/a%2Fb/c%20d?x=1;y=2&z=%zz&e=" || x.Request.Host != "api.example" || x.Response.Status != 204 {
				t.Errorf("recorded %s %s host %q status %d", x.Request.Method, x.Request.Target, x.Request.Host, x.Response.Status)
			}
			want := []string{"Connection: keep-alive, X-Hop", "Host: api.example", "User-Agent: billing/2.3", "X-Custom: a", "X-Custom: b", "X-Forwarded-For: 10.1.1.1", "X-Hop: 1"}
			var gotFields []string
			for _, f := range x.Request.Header {
				gotFields = append(gotFields, f.Name+": "+f.Value)
			}
			if !slices.Equal(gotFields, want) {
				t.Errorf("recorded request header\n%q\nwant the client's, names sorted\n%q", gotFields, want)
			}
		})
	}
}

func TestClientGoesAway(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	h := startProxy(t, up.URL, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/hang", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := newClient().Do(req)
		errc <- err
	}()
	<-arrived
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the cancelled request succeeded")
	}
	// stopping waits for the handler, which sees the client leave
	if xs := h.stop(); len(xs) != 0 {
		t.Fatalf("recorded %d exchanges for a request never answered", len(xs))
	}
	tot := h.stats.Total()
	if tot.Incomplete != 1 || tot.Unanswered != 0 {
		t.Errorf("stats: incomplete %d unanswered %d; a client that left is not an upstream error", tot.Incomplete, tot.Unanswered)
	}
}

func TestUpstreamResetMidBody(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(bytes.Repeat([]byte("a"), 1000))
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}))
	h := startProxy(t, up.URL, Options{})
	res, err := newClient().Get(h.url + "/cut")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Fatal("the client read a cut body without error")
	}
	xs := h.stop()
	if len(xs) != 1 {
		t.Fatalf("recorded %d", len(xs))
	}
	p := xs[0].Response
	if !p.Incomplete || p.Status != 200 || len(p.Body) != 1000 {
		t.Errorf("recorded status %d incomplete %v with %d bytes", p.Status, p.Incomplete, len(p.Body))
	}
	if h.stats.Total().Incomplete != 1 {
		t.Errorf("stats: %+v", h.stats.Total())
	}
}

func TestSinkErrorStopsServe(t *testing.T) {
	up := upstream(t, http.HandlerFunc(echo))
	u, _ := url.Parse(up.URL)
	calls := 0
	p, err := New(Options{Upstream: u}, nil, func(*capture.Exchange) error {
		calls++
		return fmt.Errorf("disk full")
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- p.Serve(context.Background(), ln) }()
	res, err := newClient().Get("http://" + ln.Addr().String() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Serve returned %v, want the sink's error", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not stop when the sink failed")
	}
	if calls != 1 {
		t.Errorf("sink called %d times", calls)
	}
}

func TestNewRejects(t *testing.T) {
	for _, raw := range []string{"", "ftp://x", "http://", "http://user:pw@host", "unix:///tmp/sock"} {
		var u *url.URL
		if raw != "" {
			u, _ = url.Parse(raw)
		}
		if _, err := New(Options{Upstream: u}, nil, nil); err == nil {
			t.Errorf("New accepted upstream %q", raw)
		}
	}
	u, _ := url.Parse("http://127.0.0.1:1")
	if _, err := New(Options{Upstream: u, MaxBody: -1}, nil, nil); err == nil {
		t.Error("New accepted a negative max body")
	}
}

func TestDecodeBody(t *testing.T) {
	plain := bytes.Repeat([]byte("abcdefghij"), 1000)
	gz := encode(t, "gzip", plain)
	for _, tc := range []struct {
		name      string
		raw       []byte
		codings   string
		limit     int64
		partial   bool
		want      []byte
		names     string
		trunc, ok bool
	}{
		{"gzip", gz, "gzip", 1 << 20, false, plain, "gzip", false, true},
		{"x-gzip upper case", gz, " X-GZIP ", 1 << 20, false, plain, "gzip", false, true},
		{"identity only", plain, "identity", 1 << 20, false, nil, "", false, false},
		{"unknown", gz, "compress", 1 << 20, false, nil, "", false, false},
		{"at the limit", gz, "gzip", 10000, false, plain, "gzip", false, true},
		{"over the limit", gz, "gzip", 9999, false, plain[:9999], "gzip", true, true},
		{"cut input, partial", gz[:len(gz)/2], "gzip", 1 << 20, true, nil, "gzip", true, true},
		{"cut input, whole expected", gz[:len(gz)/2], "gzip", 1 << 20, false, nil, "", false, false},
		{"garbage", []byte("not gzip at all"), "gzip", 1 << 20, true, nil, "", false, false},
		{"two codings", encode(t, "br", encode(t, "deflate", plain)), "deflate, br", 1 << 20, false, plain, "deflate, br", false, true},
		{"five codings", gz, "gzip,gzip,gzip,gzip,gzip", 1 << 20, false, nil, "", false, false},
		{"raw deflate", encode(t, "deflate-raw", plain), "deflate", 1 << 20, false, plain, "deflate", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, names, trunc, ok := decodeBody(tc.raw, tc.codings, tc.limit, tc.partial)
			if ok != tc.ok || names != tc.names || trunc != tc.trunc {
				t.Fatalf("got names %q trunc %v ok %v, want %q %v %v", names, trunc, ok, tc.names, tc.trunc, tc.ok)
			}
			if tc.want != nil && !bytes.Equal(out, tc.want) {
				t.Errorf("got %d bytes, want %d", len(out), len(tc.want))
			}
			if tc.name == "cut input, partial" && (len(out) == 0 || !bytes.Equal(out, plain[:len(out)])) {
				t.Errorf("partial output of %d bytes is not a prefix of the body", len(out))
			}
		})
	}
}

func FuzzDecodeBody(f *testing.F) {
	plain := []byte(`{"a":[1,2,3],"b":"text"}`)
	var gz, zl, br bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(plain)
	w.Close()
	z := zlib.NewWriter(&zl)
	z.Write(plain)
	z.Close()
	b := brotli.NewWriter(&br)
	b.Write(plain)
	b.Close()
	f.Add(gz.Bytes(), "gzip", uint16(100), false)
	f.Add(zl.Bytes(), "deflate", uint16(5), true)
	f.Add(br.Bytes(), "br", uint16(1000), false)
	f.Add([]byte{0x78, 0x9c, 1, 2, 3}, "deflate, gzip", uint16(10), true)
	f.Fuzz(func(t *testing.T, raw []byte, codings string, limit uint16, partial bool) {
		out, names, _, ok := decodeBody(raw, codings, int64(limit), partial)
		if int64(len(out)) > int64(limit) {
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		}
		if ok && names == "" {
			t.Fatal("decoded without naming a coding")
		}
	})
}

func TestNoFieldsAdded(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// a service that sends neither Date nor Content-Type
		w.Header()["Date"] = nil
		w.Header()["Content-Type"] = nil
		io.WriteString(w, "<html><body>no type</body></html>")
	}))
	h := startProxy(t, up.URL, Options{})
	res, err := newClient().Get(h.url + "/page")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	for _, k := range []string{"Date", "Content-Type"} {
		if v, ok := res.Header[k]; ok {
			t.Errorf("the client got %s: %q, which the service did not send", k, v)
		}
	}
	xs := h.stop()
	if len(xs) != 1 {
		t.Fatalf("recorded %d", len(xs))
	}
	sameResponse(t, xs[0], res, body)
}
