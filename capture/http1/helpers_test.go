package http1

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
)

var (
	addrA = netip.MustParseAddrPort("10.1.0.1:40000")
	addrB = netip.MustParseAddrPort("10.1.0.2:8080")
	t0    = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// evKind is what one step of a scripted connection does.
type evKind uint8

const (
	evData evKind = iota
	evLost
	evEnd
	evClose
	evSYN
)

// ev is one step of a scripted connection.
type ev struct {
	kind  evKind
	d     Dir
	b     []byte
	n     int
	reset bool
}

func data(d Dir, b []byte) ev     { return ev{kind: evData, d: d, b: b} }
func dataS(d Dir, s string) ev    { return ev{kind: evData, d: d, b: []byte(s)} }
func lost(d Dir, n int) ev        { return ev{kind: evLost, d: d, n: n} }
func end(d Dir) ev                { return ev{kind: evEnd, d: d} }
func closeConn(reset bool) ev     { return ev{kind: evClose, reset: reset} }
func syn(d Dir) ev                { return ev{kind: evSYN, d: d} }
func client(b []byte) ev          { return data(DirAB, b) }
func server(b []byte) ev          { return data(DirBA, b) }
func clientS(s string) ev         { return dataS(DirAB, s) }
func serverS(s string) ev         { return dataS(DirBA, s) }
func cat(parts ...[]byte) []byte  { return bytes.Join(parts, nil) }
func secs(i int) time.Time        { return t0.Add(time.Duration(i) * time.Second) }
func noSplit(b []byte) [][]byte   { return [][]byte{b} }
func byteSplit(b []byte) [][]byte { return splitEvery(b, 1) }

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

// randomSplit cuts b at random points.
func randomSplit(r *rand.Rand) func([]byte) [][]byte {
	return func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			n := 1 + r.IntN(min(len(b), 1+r.IntN(200)))
			out = append(out, b[:n])
			b = b[n:]
		}
		return out
	}
}

// result is what a scripted run produced.
type result struct {
	xs    []*capture.Exchange
	stats *capture.ServerStats
}

// play runs a script through a new Conn; every Data event is cut by split
// and each piece gets its own timestamp (the event index, in seconds, so
// that splitting does not change timings).
func play(t testing.TB, opts Options, evs []ev, split func([]byte) [][]byte) result {
	t.Helper()
	var res result
	c := NewConn(Info{A: addrA, B: addrB, ID: "conn-1"}, opts, func(x *capture.Exchange) {
		res.xs = append(res.xs, x)
	})
	closed := false
	for i, e := range evs {
		ts := secs(i)
		switch e.kind {
		case evData:
			for _, piece := range split(e.b) {
				// the parser must not keep the caller's bytes
				tmp := bytes.Clone(piece)
				c.Data(e.d, tmp, ts)
				for j := range tmp {
					tmp[j] = 0xAA
				}
			}
		case evLost:
			c.Lost(e.d, e.n, ts)
		case evEnd:
			c.End(e.d, ts)
		case evClose:
			c.Close(ts, e.reset)
			closed = true
		case evSYN:
			c.SetClient(e.d)
		}
	}
	if !closed {
		c.Close(secs(len(evs)), false)
	}
	res.stats = c.Stats()
	return res
}

// wireRequest serialises a request with net/http's own writer.
func wireRequest(t testing.TB, method, url, body string, hdr ...string) []byte {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	return wire(t, req, req.Header, hdr)
}

// wireResponse serialises a response with net/http's own writer; with
// chunked the body is sent with chunked transfer coding.
func wireResponse(t testing.TB, status int, body []byte, chunked bool, hdr ...string) []byte {
	t.Helper()
	resp := &http.Response{
		StatusCode:    status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(bytes.NewReader(body)),
	}
	if chunked {
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
	}
	return wire(t, resp, resp.Header, hdr)
}

// wire adds hdr (name, value, name, value...) to h, m's header, and
// returns the bytes m writes.
func wire(t testing.TB, m interface{ Write(io.Writer) error }, h http.Header, hdr []string) []byte {
	t.Helper()
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatalf("write %T: %v", m, err)
	}
	return buf.Bytes()
}

// summary renders the parts of an exchange that tests compare.
func summary(x *capture.Exchange) string {
	return fmt.Sprintf("%d %s %s %s -> %d body=%q/%q inc=%v/%v trunc=%v/%v interim=%v up=%q",
		x.Seq, x.Request.Method, x.Request.Target, x.Request.Proto, x.Response.Status,
		x.Request.Body, x.Response.Body, x.Request.Incomplete, x.Response.Incomplete,
		x.Request.Truncated, x.Response.Truncated, x.Response.Interim, x.Upgrade)
}

func must1(t testing.TB, res result) *capture.Exchange {
	t.Helper()
	if len(res.xs) != 1 {
		var s []string
		for _, x := range res.xs {
			s = append(s, summary(x))
		}
		t.Fatalf("got %d exchanges, want 1: %v (stats %+v)", len(res.xs), s, *res.stats)
	}
	return res.xs[0]
}
