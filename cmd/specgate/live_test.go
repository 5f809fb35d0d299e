package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/internal/testenv"
)

// This file holds the end-to-end acceptance test of live capture: real
// servers and clients on loopback, specgate capturing live beside tcpdump and
// dumpcap, and every capture checked against what the clients really sent
// and received (recorded at the socket and parsed by net/http).

// recorder records every byte each client connection wrote and read.
type recorder struct {
	mu    sync.Mutex
	conns []*recConn
}

type recConn struct {
	net.Conn
	mu      sync.Mutex
	out, in bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.out.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	rc := &recConn{Conn: c}
	r.mu.Lock()
	r.conns = append(r.conns, rc)
	r.mu.Unlock()
	return rc, nil
}

// client returns an HTTP client whose connections are recorded. It asks for
// gzip itself so that the recorded bytes are what the server sent.
func (r *recorder) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           r.dial,
		DisableCompression:    true,
		MaxConnsPerHost:       1,
		MaxIdleConnsPerHost:   1,
		ExpectContinueTimeout: 5 * time.Second,
	}, Timeout: 20 * time.Second}
}

// want is one exchange as net/http parsed it from the recorded bytes.
type want struct {
	method, target, host, proto string
	reqHeader                   http.Header
	reqBody                     []byte
	status                      int // 0: no response
	interim                     []int
	respHeader, respTrailer     http.Header
	respBody                    []byte // content coding removed
	incomplete                  bool
}

// oracle parses a recorded connection with net/http, independently of specgate.
func oracle(t *testing.T, rc *recConn) []want {
	t.Helper()
	reqR := bufio.NewReader(bytes.NewReader(rc.out.Bytes()))
	respR := bufio.NewReader(bytes.NewReader(rc.in.Bytes()))
	var out []want
	for {
		req, err := http.ReadRequest(reqR)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("oracle: parse request on %s: %v", rc.LocalAddr(), err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("oracle: read request body: %v", err)
		}
		w := want{method: req.Method, target: req.RequestURI, host: req.Host, proto: req.Proto, reqHeader: req.Header, reqBody: body}
		for {
			resp, err := http.ReadResponse(respR, req)
			if err != nil {
				break
			}
			if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
				w.interim = append(w.interim, resp.StatusCode)
				continue
			}
			w.status, w.respHeader = resp.StatusCode, resp.Header
			b, err := io.ReadAll(resp.Body)
			w.incomplete = err != nil
			w.respTrailer = resp.Trailer
			if resp.Header.Get("Content-Encoding") == "gzip" && !w.incomplete {
				zr, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("oracle: gunzip: %v", err)
				}
				if b, err = io.ReadAll(zr); err != nil {
					t.Fatalf("oracle: gunzip: %v", err)
				}
			}
			w.respBody = b
			break
		}
		out = append(out, w)
	}
}

// redactedHeaders are checked for redaction instead of equality.
var redactedHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Set-Cookie": true, "X-Api-Key": true}

// checkHeader compares a HAR header list with net/http's view of the same
// message. extra names fields net/http moves out of the map.
func checkHeader(t *testing.T, where string, got capture.Header, want http.Header, extra ...string) {
	t.Helper()
	byName := map[string][]string{}
	for _, f := range got {
		k := http.CanonicalHeaderKey(f.Name)
		byName[k] = append(byName[k], f.Value)
	}
	for k, vs := range want {
		g := byName[k]
		if redactedHeaders[k] {
			if len(g) != len(vs) {
				t.Errorf("%s: header %s: got %d values, want %d", where, k, len(g), len(vs))
			}
			for i := range g {
				if !strings.Contains(g[i], "REDACTED") || (i < len(vs) && g[i] == vs[i]) {
					t.Errorf("%s: header %s not redacted: %q", where, k, g[i])
				}
			}
			continue
		}
		if !reflect.DeepEqual(g, vs) {
			t.Errorf("%s: header %s = %q, want %q", where, k, g, vs)
		}
	}
	allowed := map[string]bool{}
	for _, k := range extra {
		allowed[k] = true
	}
	for k := range byName {
		if _, ok := want[k]; !ok && !allowed[k] {
			t.Errorf("%s: unexpected header %s: %q", where, k, byName[k])
		}
	}
}

// compareOracle checks the exchanges of one connection against the oracle.
func compareOracle(t *testing.T, conn string, got []*capture.Exchange, wants []want) {
	t.Helper()
	answered := wants[:0:0]
	for _, w := range wants {
		if w.status != 0 {
			answered = append(answered, w)
		}
	}
	if len(got) != len(answered) {
		t.Errorf("connection %s: %d exchanges captured, want %d", conn, len(got), len(answered))
		return
	}
	for i, w := range answered {
		e := got[i]
		where := fmt.Sprintf("connection %s exchange %d (%s %s)", conn, i, w.method, w.target)
		if e.Request.Method != w.method || e.Request.Target != w.target || e.Request.Host != w.host || e.Request.Proto != w.proto {
			t.Errorf("%s: request line %s %s %s host %s, want %s %s %s host %s", where,
				e.Request.Method, e.Request.Target, e.Request.Proto, e.Request.Host, w.method, w.target, w.proto, w.host)
		}
		checkHeader(t, where+" request", e.Request.Header, w.reqHeader, "Host")
		if !bytes.Equal(e.Request.Body, w.reqBody) {
			t.Errorf("%s: request body: %d bytes (sha %x), want %d (sha %x)", where, len(e.Request.Body), sha(e.Request.Body), len(w.reqBody), sha(w.reqBody))
		}
		if e.Response.Status != w.status {
			t.Errorf("%s: status %d, want %d", where, e.Response.Status, w.status)
		}
		if !reflect.DeepEqual(e.Response.Interim, w.interim) {
			t.Errorf("%s: interim responses %v, want %v", where, e.Response.Interim, w.interim)
		}
		checkHeader(t, where+" response", e.Response.Header, w.respHeader, "Transfer-Encoding", "Trailer", "Content-Length")
		if len(w.respTrailer) > 0 {
			checkHeader(t, where+" trailer", e.Response.Trailer, w.respTrailer)
		}
		if !bytes.Equal(e.Response.Body, w.respBody) {
			t.Errorf("%s: response body: %d bytes (sha %x), want %d (sha %x)", where, len(e.Response.Body), sha(e.Response.Body), len(w.respBody), sha(w.respBody))
		}
		if e.Response.Incomplete != w.incomplete {
			t.Errorf("%s: incomplete = %v, want %v", where, e.Response.Incomplete, w.incomplete)
		}
		if e.Request.Truncated || e.Response.Truncated {
			t.Errorf("%s: flagged truncated", where)
		}
	}
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:4] }

// liveServer is the server under capture.
func liveServer(t *testing.T) (string, int) {
	t.Helper()
	big := make([]byte, 5<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{n}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "sid=abc123def456; Path=/; HttpOnly")
		fmt.Fprintf(w, `{"id":%q,"q":%q,"tags":["a","b"]}`, r.PathValue("n"), r.URL.Query().Get("q"))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Write(b)
	})
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Trailer", "X-Checksum")
		for i := 0; i < 5; i++ {
			fmt.Fprintf(w, "chunk %d of five\n", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Checksum", "c0ffee")
	})
	mux.HandleFunc("GET /gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprintf(zw, `{"compressed":true,"pad":%q}`, strings.Repeat("xyz", 2000))
		zw.Close()
	})
	mux.HandleFunc("PUT /upload", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"received":%d}`, len(b))
	})
	mux.HandleFunc("DELETE /items/{n}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /cached", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "cached body")
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(big)
	})
	mux.HandleFunc("GET /reset", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
		buf.WriteString(strings.Repeat("partial ", 125))
		buf.Flush()
		time.Sleep(300 * time.Millisecond) // let the client read what was sent
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close() // RST mid-response
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
}

// runTraffic drives every case of the acceptance test through recorded
// connections and returns the recorder.
func runTraffic(t *testing.T, addr string) *recorder {
	t.Helper()
	rec := &recorder{}
	base := "http://" + addr
	do := func(c *http.Client, method, path string, body []byte, hdr ...string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// 1,000 requests on one keep-alive connection, with secrets on some.
	c := rec.client()
	for i := 0; i < 1000; i++ {
		switch i % 10 {
		case 3:
			do(c, "POST", "/echo", []byte(fmt.Sprintf(`{"n":%d,"note":"hello"}`, i)), "Content-Type", "application/json")
		case 7:
			do(c, "GET", fmt.Sprintf("/items/%d?q=x%d", i, i), nil, "Authorization", "Bearer tok-"+strconv.Itoa(i)+"-abcdef", "Cookie", "sid=s3cr3t"+strconv.Itoa(i))
		default:
			do(c, "GET", fmt.Sprintf("/items/%d?q=x%d", i, i), nil)
		}
	}
	c.CloseIdleConnections()

	// chunked with a trailer, gzip, 100-continue, HEAD, 204, 304, 5 MB both ways
	c = rec.client()
	do(c, "GET", "/chunked", nil)
	do(c, "GET", "/gzip", nil, "Accept-Encoding", "gzip")
	do(c, "PUT", "/upload", bytes.Repeat([]byte("u"), 70000), "Expect", "100-continue", "Content-Type", "application/octet-stream")
	do(c, "HEAD", "/items/1", nil)
	do(c, "DELETE", "/items/1", nil)
	do(c, "GET", "/cached", nil)
	do(c, "GET", "/cached", nil, "If-None-Match", `"v1"`)
	do(c, "GET", "/big", nil)
	big := make([]byte, 5<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	do(c, "POST", "/echo", big, "Content-Type", "application/octet-stream")
	c.CloseIdleConnections()

	// pipelining: ten requests in one write on a raw socket
	conn, err := rec.dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var pipe bytes.Buffer
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&pipe, "GET /items/p%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: pipeliner\r\n\r\n", i, addr)
	}
	if _, err := conn.Write(pipe.Bytes()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i := 0; i < 10; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("pipelined response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	conn.Close()

	// a connection reset mid-response
	c = rec.client()
	req, _ := http.NewRequest("GET", base+"/reset", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET /reset: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("GET /reset: the body read should fail")
	}
	resp.Body.Close()
	return rec
}

// proc is a capture process running beside the traffic.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	out    string
	stop   os.Signal
}

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

// specgateCommand runs this test binary as specgate.
func specgateCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SPECGATE_TEST_MAIN=1")
	return cmd
}

// start starts a capture and waits until its stderr says it is ready.
func start(t *testing.T, name string, cmd *exec.Cmd, ready, out string, stop os.Signal) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, stderr: &lockedBuffer{}, out: out, stop: stop}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.stderr.String(), ready) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become ready: %s", name, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

func (p *proc) finish(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(p.stop)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("%s: %v: %s", p.name, err, p.stderr.String())
	}
}

func readExchanges(t *testing.T, path string) []*capture.Exchange {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := har.NewReader(f, path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*capture.Exchange
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, e)
	}
}

// byClient groups exchanges by client address, in order.
func byClient(es []*capture.Exchange) map[string][]*capture.Exchange {
	m := map[string][]*capture.Exchange{}
	for _, e := range es {
		m[e.Client.String()] = append(m[e.Client.String()], e)
	}
	return m
}

// sameExchanges compares two captures of the same traffic, ignoring what
// depends on the capture point (timestamps, connection ids).
func sameExchanges(t *testing.T, name string, got, want []*capture.Exchange) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d exchanges, want %d", name, len(got), len(want))
		return
	}
	g, w := byClient(got), byClient(want)
	for client, wes := range w {
		ges := g[client]
		if len(ges) != len(wes) {
			t.Errorf("%s: client %s: %d exchanges, want %d", name, client, len(ges), len(wes))
			continue
		}
		for i := range wes {
			a, b := *ges[i], *wes[i]
			a.Timing, b.Timing = capture.Timing{}, capture.Timing{}
			a.ConnID, b.ConnID = "", ""
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: client %s exchange %d differs:\n got %s %s -> %d (%d bytes)\nwant %s %s -> %d (%d bytes)", name, client, i,
					a.Request.Method, a.Request.Target, a.Response.Status, len(a.Response.Body),
					b.Request.Method, b.Request.Target, b.Response.Status, len(b.Response.Body))
			}
		}
	}
}

func TestLiveCaptureMatchesClients(t *testing.T) {
	testenv.NeedRoot(t)
	tcpdump := testenv.NeedCommand(t, "tcpdump")
	dumpcap := testenv.NeedCommand(t, "dumpcap")
	addr, port := liveServer(t)
	dir := t.TempDir()
	if keep := os.Getenv("SPECGATE_TEST_KEEP"); keep != "" {
		dir = keep // keep the captures for a look after the test
	}
	flt := "tcp port " + strconv.Itoa(port)
	out := func(n string) string { return filepath.Join(dir, n) }

	procs := []*proc{
		start(t, "specgate -i lo", specgateCommand("capture", "-i", "lo", "-f", flt, "-w", out("live-lo.har"), "--max-body", "16MiB", "--stats-json", out("stats.json")), "capturing on", out("live-lo.har"), syscall.SIGTERM),
		start(t, "specgate (all interfaces)", specgateCommand("capture", "-f", flt, "-w", out("live-any.ndjson"), "--max-body", "16MiB"), "capturing on", out("live-any.ndjson"), syscall.SIGINT),
		start(t, "tcpdump -i lo", exec.Command(tcpdump, "-i", "lo", "-B", "65536", "-U", "-w", out("lo.pcap"), flt), "listening on", out("lo.pcap"), syscall.SIGINT),
		start(t, "tcpdump -i any", exec.Command(tcpdump, "-i", "any", "-B", "65536", "-U", "--time-stamp-precision=nano", "-w", out("any.pcap"), flt), "listening on", out("any.pcap"), syscall.SIGINT),
		start(t, "tcpdump -i any -y LINUX_SLL2", exec.Command(tcpdump, "-i", "any", "-y", "LINUX_SLL2", "-B", "65536", "-U", "-w", out("any-sll2.pcap"), flt), "listening on", out("any-sll2.pcap"), syscall.SIGINT),
		start(t, "dumpcap -i lo", exec.Command(dumpcap, "-i", "lo", "-B", "64", "-f", flt, "-w", out("lo.pcapng")), "Capturing on", out("lo.pcapng"), syscall.SIGINT),
		start(t, "dumpcap -i any", exec.Command(dumpcap, "-i", "any", "-B", "64", "-f", flt, "-w", out("any.pcapng")), "Capturing on", out("any.pcapng"), syscall.SIGINT),
	}
	// dumpcap says "Capturing on" a little before its capture is live
	time.Sleep(1500 * time.Millisecond)
	rec := runTraffic(t, addr)
	time.Sleep(500 * time.Millisecond)
	for _, p := range procs {
		p.finish(t)
		if strings.Contains(p.name, "tcpdump") && !regexp.MustCompile(`(?m)^0 packets dropped by kernel`).MatchString(p.stderr.String()) {
			t.Fatalf("%s dropped packets, the comparison would be meaningless: %s", p.name, p.stderr.String())
		}
	}

	live := readExchanges(t, out("live-lo.har"))
	got := byClient(live)
	total := 0
	for _, rc := range rec.conns {
		wants := oracle(t, rc)
		total += len(wants)
		compareOracle(t, rc.LocalAddr().String(), got[rc.LocalAddr().String()], wants)
	}
	if len(live) != total {
		t.Errorf("live capture holds %d exchanges, the clients made %d", len(live), total)
	}
	if t.Failed() {
		t.FailNow()
	}
	sameExchanges(t, "live capture on all interfaces", readExchanges(t, out("live-any.ndjson")), live)

	for _, f := range []string{"lo.pcap", "any.pcap", "any-sll2.pcap", "lo.pcapng", "any.pcapng"} {
		cmd := specgateCommand("capture", "-r", out(f), "-w", out(f+".har"), "--max-body", "16MiB")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("specgate capture -r %s: %v\n%s", f, err, b)
		}
		sameExchanges(t, f, readExchanges(t, out(f+".har")), live)
	}
}
