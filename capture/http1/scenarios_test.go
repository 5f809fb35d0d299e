package http1

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/specgate/specgate/capture"
)

// scenario is a scripted connection and what must come out of it. Every
// scenario is also replayed byte by byte and in random chunkings by
// TestSplitInvariance.
type scenario struct {
	name  string
	opts  Options
	evs   []ev
	check func(t *testing.T, r result)
}

func scenarios(t testing.TB) []scenario {
	var all []scenario
	for _, group := range [][]scenario{
		roleScenarios(t), pipelineScenarios(t), bodyScenarios(t), upgradeScenarios(t),
		interimScenarios(t), encodingScenarios(t), lossScenarios(t), notHTTPScenarios(t),
		resyncScenarios(t), robustScenarios(t), requestFieldScenarios(t),
	} {
		all = append(all, group...)
	}
	return all
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			sc.check(t, play(t, sc.opts, sc.evs, noSplit))
		})
	}
}

// expect compares a few stats counters by name.
func expectStats(t *testing.T, s *capture.ServerStats, want map[string]uint64) {
	t.Helper()
	got := map[string]uint64{
		"Exchanges": s.Exchanges, "Truncated": s.Truncated, "Incomplete": s.Incomplete,
		"Unanswered": s.Unanswered, "OrphanResponses": s.OrphanResponses, "LostBytes": s.LostBytes,
		"TLS": s.TLS, "HTTP2": s.HTTP2, "Undecodable": s.Undecodable, "UndecodableBytes": s.UndecodableBytes,
		"GaveUp": s.GaveUp, "Connections": s.Connections,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stats %s = %d, want %d (all: %+v)", k, got[k], v, *s)
		}
	}
}

func expectBody(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if string(got) != want {
		t.Errorf("%s body = %q, want %q", what, got, want)
	}
}

func roleScenarios(t testing.TB) []scenario {
	req := wireRequest(t, "GET", "http://svc/items", "")
	resp := wireResponse(t, 200, []byte(`{"ok":true}`), false)
	servedBy := func(client, server string) func(t *testing.T, r result) {
		return func(t *testing.T, r result) {
			x := must1(t, r)
			if x.Client.String() != client || x.Server.String() != server {
				t.Errorf("client %v server %v, want %s %s", x.Client, x.Server, client, server)
			}
			if r.stats.Server != server {
				t.Errorf("stats server %q, want %q", r.stats.Server, server)
			}
			if r.stats.RequestBytes != uint64(len(req)) || r.stats.ResponseBytes != uint64(len(resp)) {
				t.Errorf("request/response bytes %d/%d, want %d/%d", r.stats.RequestBytes, r.stats.ResponseBytes, len(req), len(resp))
			}
		}
	}
	return []scenario{
		{name: "role/request-line-from-A", evs: []ev{client(req), server(resp)}, check: servedBy(addrA.String(), addrB.String())},
		{name: "role/request-line-from-B", evs: []ev{data(DirBA, req), data(DirAB, resp)}, check: servedBy(addrB.String(), addrA.String())},
		{name: "role/syn-hint", evs: []ev{syn(DirBA), data(DirBA, req), data(DirAB, resp)}, check: servedBy(addrB.String(), addrA.String())},
		{
			// a status line first tells that A is the server
			name: "role/status-line-first",
			evs:  []ev{data(DirAB, resp), data(DirBA, req), data(DirAB, resp)},
			check: func(t *testing.T, r result) {
				servedBy(addrB.String(), addrA.String())(t, result{xs: r.xs, stats: &capture.ServerStats{
					Server: r.stats.Server, RequestBytes: uint64(len(req)), ResponseBytes: uint64(len(resp))}})
				expectStats(t, r.stats, map[string]uint64{"OrphanResponses": 1, "Exchanges": 1})
			},
		},
		{
			name: "role/syn-hint-without-data",
			evs:  []ev{syn(DirBA), closeConn(false)},
			check: func(t *testing.T, r result) {
				if r.stats.Server != addrA.String() {
					t.Errorf("stats server %q, want A %s", r.stats.Server, addrA)
				}
				expectStats(t, r.stats, map[string]uint64{"Connections": 1, "Exchanges": 0})
			},
		},
		{
			// the SYN says B is the client: a status line from B is not HTTP from a client
			name: "role/syn-hint-is-authoritative",
			evs:  []ev{syn(DirBA), data(DirBA, resp), data(DirAB, req)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 0 {
					t.Errorf("got %d exchanges, want none", len(r.xs))
				}
				expectStats(t, r.stats, map[string]uint64{"Undecodable": 1, "UndecodableBytes": uint64(len(resp) + len(req))})
			},
		},
	}
}

// pipelined builds n requests with distinct targets and bodies and their
// responses, each echoing the request's index.
func pipelined(t testing.TB, n int) (reqs, resps []byte) {
	for i := range n {
		body := ""
		method := "GET"
		if i%3 == 1 {
			method, body = "POST", fmt.Sprintf(`{"n":%d}`, i)
		}
		reqs = append(reqs, wireRequest(t, method, fmt.Sprintf("http://svc/items/%d", i), body)...)
		resps = append(resps, wireResponse(t, 200, fmt.Appendf(nil, `{"item":%d}`, i), i%2 == 0)...)
	}
	return reqs, resps
}

func checkPipelined(n int) func(t *testing.T, r result) {
	return func(t *testing.T, r result) {
		if len(r.xs) != n {
			t.Fatalf("got %d exchanges, want %d", len(r.xs), n)
		}
		for i, x := range r.xs {
			if x.Seq != i || x.Request.Target != fmt.Sprintf("/items/%d", i) {
				t.Errorf("exchange %d: seq %d target %q", i, x.Seq, x.Request.Target)
			}
			expectBody(t, "response", x.Response.Body, fmt.Sprintf(`{"item":%d}`, i))
			if i%3 == 1 {
				expectBody(t, "request", x.Request.Body, fmt.Sprintf(`{"n":%d}`, i))
			}
			if x.ConnID != "conn-1" {
				t.Errorf("ConnID %q", x.ConnID)
			}
		}
		expectStats(t, r.stats, map[string]uint64{"Exchanges": uint64(n), "Unanswered": 0, "OrphanResponses": 0})
	}
}

func pipelineScenarios(t testing.TB) []scenario {
	reqs, resps := pipelined(t, 12)
	// the responses start arriving while requests are still being sent
	half := len(reqs) / 2
	return []scenario{
		{name: "pipeline/12-in-one-segment", evs: []ev{client(reqs), server(resps)}, check: checkPipelined(12)},
		{name: "pipeline/interleaved", evs: []ev{client(reqs[:half]), server(resps[:len(resps)/3]), client(reqs[half:]), server(resps[len(resps)/3:])}, check: checkPipelined(12)},
		{name: "pipeline/1460-byte-segments", evs: segments(reqs, resps, 1460), check: checkPipelined(12)},
	}
}

// segments cuts both directions into fixed-size segments, requests first.
func segments(reqs, resps []byte, size int) []ev {
	var evs []ev
	for _, s := range splitEvery(reqs, size) {
		evs = append(evs, client(s))
	}
	for _, s := range splitEvery(resps, size) {
		evs = append(evs, server(s))
	}
	return evs
}

func bodyScenarios(t testing.TB) []scenario {
	get := wireRequest(t, "GET", "http://svc/a", "")
	chunkedRaw := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
		"5;name=value\r\nhello\r\n6 ; ext=\"q\"\r\n world\r\n0\r\nX-Checksum: abc123\r\n\r\n"
	var withTrailer bytes.Buffer
	tr := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		TransferEncoding: []string{"chunked"}, ContentLength: -1,
		Body:    readerOf("streamed body"),
		Trailer: http.Header{"X-Sum": {"42"}}}
	if err := tr.Write(&withTrailer); err != nil {
		t.Fatalf("write: %v", err)
	}
	closeDelim := "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
	next := wireResponse(t, 200, []byte("next"), false)
	get2 := wireRequest(t, "GET", "http://svc/b", "")
	noBodyStatus := func(status int) scenario {
		head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n", status, http.StatusText(status))
		if status == 204 {
			head = "HTTP/1.1 204 No Content\r\n\r\n"
		}
		return scenario{
			name: fmt.Sprintf("body/%d-has-no-body", status),
			evs:  []ev{client(cat(get, get2)), serverS(head), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges, want 2", len(r.xs))
				}
				if r.xs[0].Response.Status != status || len(r.xs[0].Response.Body) != 0 {
					t.Errorf("first: %s", summary(r.xs[0]))
				}
				expectBody(t, "second response", r.xs[1].Response.Body, "next")
			},
		}
	}
	return []scenario{
		{
			name: "body/content-length",
			evs:  []ev{client(wireRequest(t, "PUT", "http://svc/a", `{"name":"x"}`)), server(wireResponse(t, 200, []byte(`{"id":1}`), false))},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "request", x.Request.Body, `{"name":"x"}`)
				expectBody(t, "response", x.Response.Body, `{"id":1}`)
				if x.Request.WireSize != 12 || x.Response.WireSize != 8 {
					t.Errorf("wire sizes %d/%d", x.Request.WireSize, x.Response.WireSize)
				}
			},
		},
		{
			name: "body/chunked-extensions-and-trailer",
			evs:  []ev{client(get), serverS(chunkedRaw)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "response", x.Response.Body, "hello world")
				if x.Response.WireSize != 11 || x.Response.Trailer.Get("x-checksum") != "abc123" {
					t.Errorf("wire %d trailer %v", x.Response.WireSize, x.Response.Trailer)
				}
			},
		},
		{
			name: "body/chunked-trailer-from-net-http",
			evs:  []ev{client(get), server(withTrailer.Bytes())},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "response", x.Response.Body, "streamed body")
				if x.Response.Trailer.Get("X-Sum") != "42" {
					t.Errorf("trailer %v", x.Response.Trailer)
				}
			},
		},
		{
			name: "body/close-delimited-ended-by-fin",
			evs:  []ev{client(get), serverS(closeDelim), end(DirBA)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "response", x.Response.Body, "until the end")
				if x.Response.Incomplete || x.Response.Proto != "HTTP/1.0" {
					t.Errorf("%s", summary(x))
				}
			},
		},
		{
			name: "body/close-delimited-ended-by-close",
			evs:  []ev{client(get), serverS(closeDelim), closeConn(false)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "response", x.Response.Body, "until the end")
				if x.Response.Incomplete {
					t.Errorf("incomplete after a plain close")
				}
			},
		},
		{
			name: "body/close-delimited-ended-by-reset",
			evs:  []ev{client(get), serverS(closeDelim), closeConn(true)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "response", x.Response.Body, "until the end")
				if !x.Response.Incomplete {
					t.Errorf("a close-delimited body ended by a reset must be incomplete")
				}
				expectStats(t, r.stats, map[string]uint64{"Incomplete": 1})
			},
		},
		{
			// a request without Content-Length or chunked has no body: the bytes after it are the next request
			name: "body/request-without-length-has-none",
			evs:  []ev{clientS("POST /submit HTTP/1.1\r\nHost: svc\r\n\r\nGET /after HTTP/1.1\r\nHost: svc\r\n\r\n"), server(cat(next, next))},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || r.xs[1].Request.Target != "/after" || len(r.xs[0].Request.Body) != 0 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
			},
		},
		{
			name: "body/head-response-has-no-body",
			evs: []ev{client(cat(wireRequest(t, "HEAD", "http://svc/a", ""), get2)),
				serverS("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: application/json\r\n\r\n"), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges, want 2", len(r.xs))
				}
				if r.xs[0].Request.Method != "HEAD" || len(r.xs[0].Response.Body) != 0 || r.xs[0].Response.WireSize != 0 {
					t.Errorf("HEAD: %s", summary(r.xs[0]))
				}
				expectBody(t, "second", r.xs[1].Response.Body, "next")
			},
		},
		noBodyStatus(204),
		noBodyStatus(304),
	}
}

func upgradeScenarios(t testing.TB) []scenario {
	wsReq := wireRequest(t, "GET", "http://svc/ws", "", "Upgrade", "websocket", "Connection", "Upgrade",
		"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13")
	ws101 := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	frames := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	h2cReq := wireRequest(t, "GET", "http://svc/", "", "Upgrade", "h2c", "Connection", "Upgrade, HTTP2-Settings", "HTTP2-Settings", "AAMAAABkAAQAAP__")
	connect := "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n"
	hello := clientHello(t, "api.example.com")
	upgraded := func(name string) func(t *testing.T, r result) {
		return func(t *testing.T, r result) {
			x := must1(t, r)
			if x.Upgrade != name {
				t.Errorf("upgrade %q, want %q", x.Upgrade, name)
			}
			if r.stats.Upgrades[name] != 1 || len(r.stats.Upgrades) != 1 {
				t.Errorf("stats upgrades %v", r.stats.Upgrades)
			}
			expectStats(t, r.stats, map[string]uint64{"Undecodable": 0, "UndecodableBytes": 0, "TLS": 0, "HTTP2": 0, "Unanswered": 0})
		}
	}
	return []scenario{
		{name: "upgrade/websocket", evs: []ev{client(wsReq), serverS(ws101), client(frames), server(frames[:2]), client(frames)}, check: upgraded("websocket")},
		{
			// the client's first frame arrives before the 101 is seen: it is held, then dropped
			name:  "upgrade/websocket-frames-before-101",
			evs:   []ev{client(cat(wsReq, frames)), serverS(ws101), client(frames)},
			check: upgraded("websocket"),
		},
		{name: "upgrade/h2c", evs: []ev{client(h2cReq), serverS("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"), clientS(h2Preface), server([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})}, check: upgraded("h2c")},
		{name: "upgrade/connect-tunnel", evs: []ev{clientS(connect), serverS("HTTP/1.1 200 Connection established\r\n\r\n"), client(hello), server([]byte{0x16, 3, 3, 0, 2, 2, 0})}, check: func(t *testing.T, r result) {
			upgraded("connect")(t, r)
			if x := r.xs[0]; x.Request.Host != "api.example.com:443" || x.Request.Target != "api.example.com:443" {
				t.Errorf("CONNECT host %q target %q", x.Request.Host, x.Request.Target)
			}
		}},
		{
			name: "upgrade/connect-refused-continues",
			evs: []ev{clientS(connect), serverS("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 6\r\n\r\ndenied"),
				client(wireRequest(t, "GET", "http://svc/next", "")), server(wireResponse(t, 200, []byte("ok"), false))},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || r.xs[0].Upgrade != "" || r.xs[1].Request.Target != "/next" {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				expectBody(t, "407", r.xs[0].Response.Body, "denied")
			},
		},
		{
			// the server declines the upgrade; a request the client pipelined behind it is read once the verdict is known
			name: "upgrade/declined",
			evs: []ev{client(cat(wsReq, wireRequest(t, "GET", "http://svc/plain", ""))),
				server(wireResponse(t, 200, []byte("no ws"), false)), server(wireResponse(t, 200, []byte("plain"), false))},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges, want 2", len(r.xs))
				}
				expectBody(t, "second", r.xs[1].Response.Body, "plain")
				if r.xs[0].Upgrade != "" || len(r.stats.Upgrades) != 0 {
					t.Errorf("declined upgrade recorded: %q %v", r.xs[0].Upgrade, r.stats.Upgrades)
				}
			},
		},
	}
}

func interimScenarios(t testing.TB) []scenario {
	body := `{"big":"` + strings.Repeat("x", 300) + `"}`
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: svc\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	final := wireResponse(t, 201, []byte(`{"stored":true}`), false)
	return []scenario{
		{
			name: "interim/expect-100-continue",
			evs:  []ev{clientS(head), serverS("HTTP/1.1 100 Continue\r\n\r\n"), clientS(body), server(final)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "request", x.Request.Body, body)
				expectBody(t, "response", x.Response.Body, `{"stored":true}`)
				if x.Response.Status != 201 || !slices.Equal(x.Response.Interim, []int{100}) {
					t.Errorf("%s", summary(x))
				}
			},
		},
		{
			name: "interim/bounded",
			evs: []ev{client(wireRequest(t, "GET", "http://svc/slow", "")), serverS(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 50)),
				server(wireResponse(t, 200, []byte("done"), false))},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				if len(x.Response.Interim) != maxInterim || x.Response.Interim[0] != 102 || string(x.Response.Body) != "done" {
					t.Errorf("%s", summary(x))
				}
			},
		},
		{
			name: "interim/103-early-hints",
			evs: []ev{client(wireRequest(t, "GET", "http://svc/page", "")),
				serverS("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"), server(wireResponse(t, 200, []byte("page"), false))},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				if x.Response.Status != 200 || !slices.Equal(x.Response.Interim, []int{103}) || x.Response.Header.Get("Link") != "" {
					t.Errorf("%s header %v", summary(x), x.Response.Header)
				}
			},
		},
		{
			// the server answers before the request body is complete; the exchange waits for it
			name: "interim/final-response-before-request-body",
			evs: []ev{clientS(head + body[:100]), serverS("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig"),
				clientS(body[100:]), client(wireRequest(t, "GET", "http://svc/next", "")), server(wireResponse(t, 200, []byte("n"), false))},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges, want 2", len(r.xs))
				}
				x := r.xs[0]
				expectBody(t, "request", x.Request.Body, body)
				if x.Response.Status != 413 || x.Request.Incomplete || r.xs[1].Request.Target != "/next" {
					t.Errorf("%s", summary(x))
				}
				if !x.Timing.RequestEnd.After(x.Timing.ResponseStart) {
					t.Errorf("timing %+v", x.Timing)
				}
			},
		},
		{
			name: "interim/final-response-request-never-finished",
			evs:  []ev{clientS(head + body[:100]), serverS("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"), closeConn(false)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "request", x.Request.Body, body[:100])
				if !x.Request.Incomplete || x.Response.Status != 417 {
					t.Errorf("%s", summary(x))
				}
			},
		},
	}
}

func gzipOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zlibOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func flateOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func brotliOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodingScenarios(t testing.TB) []scenario {
	plain := []byte(`{"todos":[` + strings.Repeat(`{"id":1,"title":"write tests","done":false},`, 40) + `{"id":2}]}`)
	get := wireRequest(t, "GET", "http://svc/todos", "", "Accept-Encoding", "gzip, deflate, br")
	corrupt := gzipOf(t, plain)
	corrupt[len(corrupt)/2] ^= 0xff
	cases := []struct {
		name, coding string
		body         []byte
		chunked      bool
		want         []byte
		decoded      string
	}{
		{"gzip", "gzip", gzipOf(t, plain), false, plain, "gzip"},
		{"gzip-chunked", "gzip", gzipOf(t, plain), true, plain, "gzip"},
		{"x-gzip", "x-gzip", gzipOf(t, plain), false, plain, "gzip"},
		{"deflate-zlib", "deflate", zlibOf(t, plain), false, plain, "deflate"},
		{"deflate-raw", "deflate", flateOf(t, plain), true, plain, "deflate"},
		{"br", "br", brotliOf(t, plain), false, plain, "br"},
		// a stored block whose padding bits make it look like a zlib header
		{"deflate-raw-like-zlib", "deflate", []byte{0x78, 0x01, 0x00, 0xfe, 0xff, 'x', 0x01, 0x00, 0x00, 0xff, 0xff}, false, []byte("x"), "deflate"},
		{"gzip-then-br", "gzip, br", brotliOf(t, gzipOf(t, plain)), true, plain, "gzip, br"},
		{"identity", "identity", plain, false, plain, ""},
		{"unknown-coding", "compress", []byte("LZW bytes"), false, []byte("LZW bytes"), ""},
		{"corrupt-gzip", "gzip", corrupt, false, corrupt, ""},
		{"not-gzip-at-all", "gzip", []byte("plain text"), false, []byte("plain text"), ""},
	}
	var out []scenario
	for _, c := range cases {
		resp := wireResponse(t, 200, c.body, c.chunked, "Content-Encoding", c.coding, "Content-Type", "application/json")
		out = append(out, scenario{
			name: "encoding/" + c.name,
			evs:  []ev{client(get), server(resp)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				if !bytes.Equal(x.Response.Body, c.want) || x.Response.Decoded != c.decoded {
					t.Errorf("body %d bytes decoded %q, want %d bytes %q", len(x.Response.Body), x.Response.Decoded, len(c.want), c.decoded)
				}
				if x.Response.WireSize != int64(len(c.body)) || x.Response.Header.Get("Content-Encoding") != c.coding {
					t.Errorf("wire size %d header %q", x.Response.WireSize, x.Response.Header.Get("Content-Encoding"))
				}
				if x.Response.Truncated {
					t.Errorf("truncated")
				}
			},
		})
	}
	gzBody := gzipOf(t, []byte(`{"upload":true}`))
	out = append(out, scenario{
		name: "encoding/gzip-request-body",
		evs: []ev{client(wireRequest(t, "POST", "http://svc/up", string(gzBody), "Content-Encoding", "gzip")),
			server(wireResponse(t, 204, nil, false))},
		check: func(t *testing.T, r result) {
			x := must1(t, r)
			expectBody(t, "request", x.Request.Body, `{"upload":true}`)
			if x.Request.Decoded != "gzip" {
				t.Errorf("decoded %q", x.Request.Decoded)
			}
		},
	})
	// a gzip bomb: 64 MiB of zeros in a ~64 KiB body, decoded to at most MaxBody
	bomb := gzipOf(t, make([]byte, 64<<20))
	out = append(out, scenario{
		name: "encoding/gzip-bomb-bounded",
		opts: Options{MaxBody: 1 << 20},
		evs:  []ev{client(get), server(wireResponse(t, 200, bomb, false, "Content-Encoding", "gzip"))},
		check: func(t *testing.T, r result) {
			x := must1(t, r)
			if len(x.Response.Body) != 1<<20 || !x.Response.Truncated || x.Response.Decoded != "gzip" {
				t.Errorf("bomb: %d bytes truncated=%v decoded=%q", len(x.Response.Body), x.Response.Truncated, x.Response.Decoded)
			}
			if x.Response.WireSize != int64(len(bomb)) {
				t.Errorf("wire size %d, want %d", x.Response.WireSize, len(bomb))
			}
		},
	})
	return out
}

func lossScenarios(t testing.TB) []scenario {
	get := wireRequest(t, "GET", "http://svc/a", "")
	body := strings.Repeat("0123456789", 20)
	resp := wireResponse(t, 200, []byte(body), false)
	hdrLen := len(resp) - len(body)
	next := wireResponse(t, 200, []byte("next"), false)
	get2 := wireRequest(t, "GET", "http://svc/b", "")
	return []scenario{
		{
			name: "loss/body-limit",
			opts: Options{MaxBody: 10},
			evs:  []ev{client(get), server(resp), client(get2), server(wireResponse(t, 200, []byte(body), true))},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				for _, x := range r.xs {
					expectBody(t, "response", x.Response.Body, body[:10])
					if !x.Response.Truncated || x.Response.Incomplete || x.Response.WireSize != int64(len(body)) {
						t.Errorf("%s wire %d", summary(x), x.Response.WireSize)
					}
				}
				expectStats(t, r.stats, map[string]uint64{"Truncated": 2, "Incomplete": 0})
			},
		},
		{
			// a gap inside a Content-Length body loses body bytes only
			name: "loss/gap-inside-content-length-body",
			evs:  []ev{client(cat(get, get2)), server(resp[:hdrLen+50]), lost(DirBA, 30), server(resp[hdrLen+80:]), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				x := r.xs[0]
				expectBody(t, "response", x.Response.Body, body[:50])
				if !x.Response.Truncated || x.Response.Incomplete || x.Response.WireSize != int64(len(body)) {
					t.Errorf("%s wire %d", summary(x), x.Response.WireSize)
				}
				expectBody(t, "second", r.xs[1].Response.Body, "next")
				expectStats(t, r.stats, map[string]uint64{"LostBytes": 30, "Truncated": 1, "Incomplete": 0})
			},
		},
		{
			name: "loss/gap-to-the-end-of-the-body",
			evs:  []ev{client(cat(get, get2)), server(resp[:hdrLen+50]), lost(DirBA, len(body)-50), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || !r.xs[0].Response.Truncated || r.xs[0].Response.Incomplete {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				expectBody(t, "second", r.xs[1].Response.Body, "next")
				expectStats(t, r.stats, map[string]uint64{"LostBytes": uint64(len(body) - 50)})
			},
		},
		{
			// a gap that runs past the body's end: the next response is found again
			name: "loss/gap-across-message-boundary",
			evs: []ev{client(cat(get, get2)), server(resp[:hdrLen+50]), lost(DirBA, len(body)-50+10),
				server(next[10:]), client(wireRequest(t, "GET", "http://svc/c", "")), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				if r.xs[0].Request.Target != "/a" || r.xs[1].Request.Target != "/c" {
					t.Errorf("targets %q %q", r.xs[0].Request.Target, r.xs[1].Request.Target)
				}
				expectStats(t, r.stats, map[string]uint64{
					"LostBytes":  uint64(len(body) - 50 + 10 + len(next) - 10),
					"Unanswered": 1, // /b: its response was lost in the gap
				})
			},
		},
		{
			name: "loss/unknown-gap-in-body",
			evs:  []ev{client(cat(get, get2)), server(resp[:hdrLen+50]), lost(DirBA, -1), server(resp[hdrLen+120:]), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				if !r.xs[0].Response.Incomplete {
					t.Errorf("first response should be incomplete")
				}
				expectBody(t, "second", r.xs[1].Response.Body, "next")
				expectStats(t, r.stats, map[string]uint64{"LostBytes": uint64(len(body) - 120), "Incomplete": 1})
			},
		},
		{
			name: "loss/gap-inside-chunk",
			evs: []ev{client(cat(get, get2)), serverS("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n0123456789"), lost(DirBA, 5),
				serverS("ABCDE\r\n3\r\nxyz\r\n0\r\n\r\n"), server(next)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				x := r.xs[0]
				expectBody(t, "response", x.Response.Body, "0123456789")
				if !x.Response.Truncated || x.Response.Incomplete || x.Response.WireSize != 23 {
					t.Errorf("%s wire %d", summary(x), x.Response.WireSize)
				}
			},
		},
		{
			name: "loss/reset-mid-response",
			evs:  []ev{client(get), server(resp[:hdrLen+70]), closeConn(true)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "response", x.Response.Body, body[:70])
				if !x.Response.Incomplete || x.Response.Status != 200 {
					t.Errorf("%s", summary(x))
				}
				expectStats(t, r.stats, map[string]uint64{"Incomplete": 1})
			},
		},
		{
			name: "loss/unanswered-and-orphan",
			evs:  []ev{server(next), client(get), server(resp), client(cat(get2, get2))},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				if x.Request.Target != "/a" {
					t.Errorf("target %q", x.Request.Target)
				}
				expectStats(t, r.stats, map[string]uint64{"Unanswered": 2, "OrphanResponses": 1, "Exchanges": 1})
			},
		},
		{
			name: "loss/too-many-pending",
			opts: Options{MaxPending: 4},
			evs:  []ev{client(bytes.Repeat(get, 6)), server(bytes.Repeat(next, 6))},
			check: func(t *testing.T, r result) {
				if len(r.xs) > 4 {
					t.Errorf("got %d exchanges, at most 4 can be paired", len(r.xs))
				}
				expectStats(t, r.stats, map[string]uint64{"GaveUp": 1})
			},
		},
	}
}

func notHTTPScenarios(t testing.TB) []scenario {
	hello := clientHello(t, "api.example.com")
	h2 := h2PriorKnowledge(t)
	redis := "*1\r\n$4\r\nPING\r\n"
	return []scenario{
		{
			name: "nothttp/tls-client-hello",
			evs:  []ev{syn(DirAB), client(hello), server([]byte{0x16, 3, 3, 0, 5, 2, 0, 0, 1, 0}), client([]byte{0x17, 3, 3, 0, 1, 9})},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 0 {
					t.Errorf("exchanges from TLS")
				}
				if !slices.Equal(r.stats.SNI, []string{"api.example.com"}) {
					t.Errorf("SNI %v", r.stats.SNI)
				}
				expectStats(t, r.stats, map[string]uint64{"TLS": 1, "Undecodable": 0, "UndecodableBytes": 0})
			},
		},
		{
			// a ClientHello from B without a SYN: B is the client
			name: "nothttp/tls-from-B-mid-capture",
			evs:  []ev{data(DirBA, hello)},
			check: func(t *testing.T, r result) {
				if r.stats.Server != addrA.String() || r.stats.TLS != 1 || len(r.stats.SNI) != 1 {
					t.Errorf("stats %+v", *r.stats)
				}
			},
		},
		{
			name: "nothttp/tls-application-data-mid-stream",
			evs:  []ev{lost(DirAB, -1), client([]byte{0x17, 3, 3, 0, 4, 1, 2, 3, 4}), lost(DirBA, -1), server([]byte{0x17, 3, 3, 0, 2, 1, 2})},
			check: func(t *testing.T, r result) {
				expectStats(t, r.stats, map[string]uint64{"TLS": 1, "Undecodable": 0, "LostBytes": 0})
			},
		},
		{
			name: "nothttp/http2-prior-knowledge",
			evs:  h2,
			check: func(t *testing.T, r result) {
				if len(r.xs) != 0 {
					t.Errorf("exchanges from HTTP/2")
				}
				expectStats(t, r.stats, map[string]uint64{"HTTP2": 1, "Undecodable": 0, "UndecodableBytes": 0, "TLS": 0})
			},
		},
		{
			name: "nothttp/redis-with-syn",
			evs:  []ev{syn(DirAB), clientS(redis), serverS("+PONG\r\n"), clientS(redis)},
			check: func(t *testing.T, r result) {
				expectStats(t, r.stats, map[string]uint64{"Undecodable": 1, "UndecodableBytes": uint64(2*len(redis) + 7), "Exchanges": 0})
			},
		},
		{
			name: "nothttp/redis-mid-stream",
			evs:  []ev{clientS(redis), serverS("+PONG\r\n"), clientS(redis), serverS("+PONG\r\n")},
			check: func(t *testing.T, r result) {
				expectStats(t, r.stats, map[string]uint64{"Undecodable": 1, "UndecodableBytes": uint64(2*len(redis) + 14), "LostBytes": 0})
			},
		},
	}
}

func resyncScenarios(t testing.TB) []scenario {
	get := wireRequest(t, "GET", "http://svc/a", "")
	resp := wireResponse(t, 200, []byte(`{"a":1}`), false)
	get2 := wireRequest(t, "GET", "http://svc/b", "")
	resp2 := wireResponse(t, 200, []byte(`{"b":2}`), false)
	get3 := wireRequest(t, "GET", "http://svc/c", "")
	resp3 := wireResponse(t, 200, []byte(`{"c":3}`), false)
	tailReq := []byte(`ue,"n":3}` + "\r\n")
	tailResp := []byte(`ing":"end"}]}`)
	return []scenario{
		{
			name: "resync/capture-starts-mid-message",
			evs:  []ev{lost(DirAB, -1), client(cat(tailReq, get)), lost(DirBA, -1), server(tailResp), server(resp)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				if x.Request.Target != "/a" || string(x.Response.Body) != `{"a":1}` {
					t.Errorf("%s", summary(x))
				}
				expectStats(t, r.stats, map[string]uint64{"LostBytes": uint64(len(tailReq) + len(tailResp)), "Undecodable": 0})
			},
		},
		{
			// no Lost call at all: the first bytes are simply mid-message
			name: "resync/no-syn-mid-message",
			evs:  []ev{client(cat(tailReq, get)), server(resp)},
			check: func(t *testing.T, r result) {
				must1(t, r)
				expectStats(t, r.stats, map[string]uint64{"LostBytes": uint64(len(tailReq)), "Undecodable": 0})
			},
		},
		{
			name: "resync/garbage-between-messages",
			evs:  []ev{client(get), server(resp), clientS("\x00\x01junk}"), client(get2), server(resp2)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || r.xs[1].Request.Target != "/b" {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				expectStats(t, r.stats, map[string]uint64{"Undecodable": 1, "UndecodableBytes": 7})
			},
		},
		{
			// the client's second request is lost; its response has no request and must not be paired with the third
			name: "resync/lost-request",
			evs:  []ev{client(get), server(resp), lost(DirAB, len(get2)), server(resp2), client(get3), server(resp3)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				expectBody(t, "/c", r.xs[1].Response.Body, `{"c":3}`)
				expectStats(t, r.stats, map[string]uint64{"OrphanResponses": 1, "LostBytes": uint64(len(get2))})
			},
		},
		{
			// the head of the response to /b is lost: the next response found answers /c, not /b
			name: "resync/lost-response-head",
			evs:  []ev{client(get), server(resp), client(get2), lost(DirBA, 20), server(resp2[20:]), client(get3), server(resp3)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || r.xs[1].Request.Target != "/c" {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				expectBody(t, "/c", r.xs[1].Response.Body, `{"c":3}`)
				expectStats(t, r.stats, map[string]uint64{"Unanswered": 1, "LostBytes": uint64(len(resp2))})
			},
		},
		{
			// a gap inside a request head: the request line is known, so the response still pairs with it
			name: "resync/gap-inside-request-head",
			evs:  []ev{client(get[:30]), lost(DirAB, 10), client(get[40:]), client(get2), server(resp), server(resp2)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				if x := r.xs[0]; x.Request.Target != "/a" || !x.Request.Incomplete || x.Request.WireSize != -1 {
					t.Errorf("%s wire %d", summary(x), x.Request.WireSize)
				}
				expectBody(t, "/b", r.xs[1].Response.Body, `{"b":2}`)
			},
		},
		{
			name: "resync/request-line-after-gap-in-pipelined-segment",
			evs:  []ev{client(get[:10]), lost(DirAB, 5), client(cat(get[15:], get2)), server(cat(resp, resp2))},
			check: func(t *testing.T, r result) {
				// /a's start line was cut by the gap: it is gone, its response is paired first-come
				if len(r.xs) < 1 || r.xs[len(r.xs)-1].Request.Target != "/b" {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
			},
		},
	}
}

func robustScenarios(t testing.TB) []scenario {
	get := wireRequest(t, "GET", "http://svc/a", "")
	resp := wireResponse(t, 200, []byte("fine"), false)
	big := wireRequest(t, "GET", "http://svc/big", "", "X-Filler", strings.Repeat("f", 6000))
	return []scenario{
		{
			name: "robust/bare-lf",
			evs:  []ev{clientS("POST /lf HTTP/1.1\nHost: svc\nContent-Length: 2\n\nhi"), serverS("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n")},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				expectBody(t, "request", x.Request.Body, "hi")
				expectBody(t, "response", x.Response.Body, "ok")
				if x.Request.Host != "svc" {
					t.Errorf("host %q", x.Request.Host)
				}
			},
		},
		{
			name: "robust/names-as-sent-and-obs-fold",
			evs: []ev{clientS("GET / HTTP/1.1\r\nhost: svc\r\nX-MiXeD: 1\r\nx-dup: a\r\nX-Dup: b\r\nX-Folded: first\r\n   second\r\n\tthird\r\n\r\n"),
				serverS("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				want := capture.Header{{Name: "host", Value: "svc"}, {Name: "X-MiXeD", Value: "1"}, {Name: "x-dup", Value: "a"},
					{Name: "X-Dup", Value: "b"}, {Name: "X-Folded", Value: "first second third"}}
				if !slices.Equal(x.Request.Header, want) {
					t.Errorf("header %v, want %v", x.Request.Header, want)
				}
				if x.Response.Header[0].Name != "content-length" {
					t.Errorf("response header %v", x.Response.Header)
				}
			},
		},
		{
			name: "robust/max-header",
			opts: Options{MaxHeader: 4096},
			evs:  []ev{client(cat(big, get)), serverS("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n"), server(resp)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				if x := r.xs[0]; x.Request.Target != "/big" || !x.Request.Incomplete || x.Response.Status != 431 {
					t.Errorf("%s", summary(x))
				}
				expectBody(t, "/a", r.xs[1].Response.Body, "fine")
				if r.stats.Undecodable != 1 || r.stats.UndecodableBytes < 4096-100 || r.stats.UndecodableBytes > uint64(len(big)) {
					t.Errorf("undecodable %d bytes %d (header %d)", r.stats.Undecodable, r.stats.UndecodableBytes, len(big))
				}
			},
		},
		{
			name: "robust/invalid-chunk-size",
			evs:  []ev{client(cat(get, get)), serverS("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"), server(resp)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				if !r.xs[0].Response.Incomplete {
					t.Errorf("bad chunk size must leave the response incomplete")
				}
				expectBody(t, "second", r.xs[1].Response.Body, "fine")
				expectStats(t, r.stats, map[string]uint64{"Incomplete": 1, "Undecodable": 1, "UndecodableBytes": int64len("zz\r\nabc\r\n")})
			},
		},
		{
			name: "robust/conflicting-content-length",
			evs:  []ev{clientS("POST /x HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), client(get), server(resp), server(resp)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || !r.xs[0].Request.Incomplete || r.xs[1].Request.Target != "/a" {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
			},
		},
		{
			name: "robust/blank-lines-between-requests",
			evs:  []ev{client(cat(wireRequest(t, "POST", "http://svc/p", "{}"), []byte("\r\n\r\n"), get)), server(cat(resp, resp))},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 2 || r.stats.UndecodableBytes != 0 {
					t.Fatalf("got %d exchanges, %d undecodable bytes", len(r.xs), r.stats.UndecodableBytes)
				}
			},
		},
	}
}

func requestFieldScenarios(t testing.TB) []scenario {
	resp := wireResponse(t, 200, []byte("ok"), false)
	return []scenario{
		{
			name: "request/absolute-form-host",
			evs:  []ev{clientS("GET http://user@example.com:8080/p?q=1 HTTP/1.1\r\n\r\n"), server(resp)},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				if x.Request.Host != "example.com:8080" || x.Request.Target != "http://user@example.com:8080/p?q=1" {
					t.Errorf("host %q target %q", x.Request.Host, x.Request.Target)
				}
			},
		},
		{
			name: "request/host-header-first",
			evs:  []ev{clientS("GET http://proxy.example/p HTTP/1.1\r\nHost: origin.example\r\n\r\n"), server(resp)},
			check: func(t *testing.T, r result) {
				if x := must1(t, r); x.Request.Host != "origin.example" {
					t.Errorf("host %q", x.Request.Host)
				}
			},
		},
		{
			name: "request/http-1.0-sequence",
			evs: []ev{clientS("GET /one HTTP/1.0\r\n\r\n"), serverS("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n1"),
				clientS("GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), serverS("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n2"),
				clientS("GET /three HTTP/1.0\r\n\r\n"), serverS("HTTP/1.0 404 Not Found\r\n\r\nmissing"), end(DirBA)},
			check: func(t *testing.T, r result) {
				if len(r.xs) != 3 {
					t.Fatalf("got %d exchanges", len(r.xs))
				}
				for i, want := range []string{"1", "2", "missing"} {
					x := r.xs[i]
					expectBody(t, x.Request.Target, x.Response.Body, want)
					if x.Request.Proto != "HTTP/1.0" || x.Response.Proto != "HTTP/1.0" {
						t.Errorf("protos %q %q", x.Request.Proto, x.Response.Proto)
					}
				}
			},
		},
		{
			name: "request/timing-and-seq",
			evs: []ev{clientS("POST /t HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n\r\nab"), clientS("cd"),
				serverS("HTTP/1.1 200 OK\r\nContent-"), serverS("Length: 2\r\n\r\no"), serverS("k")},
			check: func(t *testing.T, r result) {
				x := must1(t, r)
				want := capture.Timing{RequestStart: secs(0), RequestEnd: secs(1), ResponseStart: secs(2), ResponseEnd: secs(4)}
				if x.Timing != want || x.Seq != 0 || x.ConnID != "conn-1" {
					t.Errorf("timing %+v seq %d conn %q", x.Timing, x.Seq, x.ConnID)
				}
			},
		},
	}
}

func int64len(s string) uint64 { return uint64(len(s)) }

func readerOf(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
