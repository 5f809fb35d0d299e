package http1

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/specgate/specgate/capture"
)

// checkBounds reports a buffer or queue grown past the limits a Conn promises.
func (c *Conn) checkBounds() error {
	for d := range c.half {
		h := &c.half[d]
		if len(h.buf) > max(c.maxHeader, maxChunkLine) {
			return fmt.Errorf("%v: %d bytes buffered, limit %d", h.dir, len(h.buf), c.maxHeader)
		}
		if int64(len(h.body)) > c.maxBody {
			return fmt.Errorf("%v: body of %d bytes, limit %d", h.dir, len(h.body), c.maxBody)
		}
	}
	if n := len(c.queue) - c.head; n > c.maxPending {
		return fmt.Errorf("%d requests pending, limit %d", n, c.maxPending)
	}
	return nil
}

// encodeScript turns a script into the fuzzers' input format: records of
// an op byte (bit 0 the direction, bits 1-2 data/lost/end/data-or-SYN,
// bits 3-7 a chunk size or gap length) followed, for data, by a length
// byte and that many bytes. Op 3 with a zero size is SetClient.
func encodeScript(evs []ev) []byte {
	var out []byte
	for _, e := range evs {
		switch e.kind {
		case evData:
			for _, p := range splitEvery(e.b, 255) {
				out = append(out, byte(e.d)|0<<1|byte(len(p)%31)<<3, byte(len(p)))
				out = append(out, p...)
			}
		case evLost:
			out = append(out, byte(e.d)|1<<1|byte(min(max(e.n, 0), 31))<<3)
		case evEnd:
			out = append(out, byte(e.d)|2<<1)
		case evSYN:
			out = append(out, byte(e.d)|3<<1)
		}
	}
	return out
}

// fuzzISN is the sequence number of each direction's first byte in
// replay: near the wrap-around, and far apart so that a sequence number
// tells its direction.
var fuzzISN = [2]uint32{0xFFFFFF80, 0x40000000}

// replay feeds a fuzzer input to a Conn, checking bounds after every call;
// it returns the exchanges, the Conn and the bytes fed in each direction.
// With whole, each data record is fed in one call whatever its chunk size;
// otherwise each piece is preceded by SetSeq with its sequence number, as
// the reassembler does.
func replay(t *testing.T, in []byte, opts Options, whole bool) ([]*capture.Exchange, *Conn, [2][]byte) {
	xs, c, fed, _ := replaySeq(t, in, opts, whole)
	return xs, c, fed
}

// replaySeq is replay that also returns each direction's stream as
// sequence numbers see it: the bytes fed, with a zero byte for each byte
// of a known loss.
func replaySeq(t *testing.T, in []byte, opts Options, whole bool) ([]*capture.Exchange, *Conn, [2][]byte, [2][]byte) {
	var xs []*capture.Exchange
	c := NewConn(Info{A: addrA, B: addrB, ID: "fuzz"}, opts, func(x *capture.Exchange) { xs = append(xs, x) })
	c.SetSeq(DirAB, fuzzISN[DirAB])
	c.SetSeq(DirBA, fuzzISN[DirBA])
	var fed, virt [2][]byte
	for i := 0; len(in) > 0; i++ {
		op := in[0]
		in = in[1:]
		d := Dir(op & 1)
		arg := int(op >> 3)
		ts := secs(i)
		switch (op >> 1) & 3 {
		case 3:
			if arg == 0 {
				c.SetClient(d)
				break
			}
			fallthrough
		case 0:
			n := 0
			if len(in) > 0 {
				n, in = int(in[0]), in[1:]
			}
			n = min(n, len(in))
			chunk := max(arg, 1)
			if whole {
				chunk = max(n, 1)
			}
			for p := range slices.Chunk(in[:n], chunk) {
				if !whole {
					c.SetSeq(d, fuzzISN[d]+uint32(len(virt[d])))
				}
				c.Data(d, p, ts)
				fed[d] = append(fed[d], p...)
				virt[d] = append(virt[d], p...)
				if err := c.checkBounds(); err != nil {
					t.Fatal(err)
				}
			}
			in = in[n:]
		case 1:
			if arg == 0 {
				arg = -1
			} else {
				virt[d] = append(virt[d], make([]byte, arg)...)
			}
			c.Lost(d, arg, ts)
		case 2:
			c.End(d, ts)
		}
		if err := c.checkBounds(); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(secs(1000), len(fed[0])%2 == 1)
	return xs, c, fed, virt
}

// checkWire asserts that each exchange's Wire points, in the stream of one
// direction, at its request's method and, in the other, at a status line.
func checkWire(t *testing.T, xs []*capture.Exchange, virt [2][]byte) {
	at := func(seq uint32, prefix string) bool {
		for d := range virt {
			off := seq - fuzzISN[d]
			if uint64(off) < uint64(len(virt[d])) && bytes.HasPrefix(virt[d][off:], []byte(prefix)) {
				return true
			}
		}
		return false
	}
	for i, x := range xs {
		if !at(x.Wire.Request, x.Request.Method+" ") {
			t.Fatalf("exchange %d (%s): request wire %d points at no %q", i, summary(x), x.Wire.Request, x.Request.Method)
		}
		if !at(x.Wire.Response, "HTTP/") {
			t.Fatalf("exchange %d (%s): response wire %d points at no status line", i, summary(x), x.Wire.Response)
		}
	}
}

// checkFuzzResult asserts what holds for any input.
func checkFuzzResult(t *testing.T, xs []*capture.Exchange, c *Conn, fed [2][]byte, opts Options) {
	st := c.Stats()
	if st.Exchanges != uint64(len(xs)) {
		t.Fatalf("stats count %d exchanges, %d emitted", st.Exchanges, len(xs))
	}
	// each exchange needs a request line and a status line of its own
	lines := min(bytes.Count(fed[0], []byte("HTTP/1.")), bytes.Count(fed[1], []byte("HTTP/1.")))
	if len(xs) > lines {
		t.Fatalf("%d exchanges from at most %d request/status line pairs", len(xs), lines)
	}
	for i, x := range xs {
		if x.Seq != i {
			t.Fatalf("exchange %d has Seq %d", i, x.Seq)
		}
		if int64(len(x.Request.Body)) > opts.MaxBody || int64(len(x.Response.Body)) > opts.MaxBody {
			t.Fatalf("body over the limit: %d/%d", len(x.Request.Body), len(x.Response.Body))
		}
		if x.Request.Method == "" || x.Response.Status < 100 {
			t.Fatalf("half-empty exchange: %s", summary(x))
		}
	}
}

// maxSeed keeps seeds short: the fuzzer's minimisation is quadratic in
// the input's length.
const maxSeed = 400

func fuzzSeeds(f *testing.F) {
	for _, sc := range scenarios(f) {
		if in := encodeScript(sc.evs); len(in) <= maxSeed {
			f.Add(in)
		}
	}
	get := []byte("GET /a HTTP/1.1\r\nHost: s\r\n\r\n")
	ok := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	f.Add(encodeScript([]ev{client(cat(get, get, get)), server(cat(ok, ok, ok))}))
	f.Add(encodeScript([]ev{client(tinyHello("api.test", 0)), server([]byte{0x16, 3, 3, 0, 1, 2})}))
	f.Add(encodeScript([]ev{client(tinyHello("split.test", 20))}))
	f.Add(encodeScript([]ev{clientS(h2Preface)}))
	f.Add(encodeScript([]ev{client(get), serverS("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\n"),
		server(gzipOf(f, []byte("{}"))[:26]), serverS("\r\n0\r\n\r\n")}))
}

var fuzzOpts = Options{MaxBody: 1 << 12, MaxHeader: 1 << 10, MaxPending: 16}

// FuzzConn splits its input into both directions with chunk sizes, gaps
// and ends of its choosing.
func FuzzConn(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		xs, c, fed, virt := replaySeq(t, in, fuzzOpts, false)
		checkFuzzResult(t, xs, c, fed, fuzzOpts)
		checkWire(t, xs, virt)
		// how the bytes were cut must not matter
		wxs, wc, _ := replay(t, in, fuzzOpts, true)
		if len(wxs) != len(xs) {
			t.Fatalf("%d exchanges in chunks, %d whole", len(xs), len(wxs))
		}
		for i := range xs {
			if !reflect.DeepEqual(xs[i], wxs[i]) {
				t.Fatalf("exchange %d differs:\n chunks %s\n whole  %s", i, summary(xs[i]), summary(wxs[i]))
			}
		}
		if a, b := *c.Stats(), *wc.Stats(); !reflect.DeepEqual(a, b) {
			t.Fatalf("stats differ:\n chunks %+v\n whole  %+v", a, b)
		}
	})
}

// FuzzRequestStream feeds one direction of requests, whole and in chunks
// of a size the input chooses: both must give the same counts.
func FuzzRequestStream(f *testing.F) {
	for _, sc := range scenarios(f) {
		for _, e := range sc.evs {
			if e.kind == evData && e.d == DirAB && len(e.b) <= maxSeed {
				f.Add(uint8(7), e.b)
			}
		}
	}
	f.Add(uint8(1), []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, chunk uint8, in []byte) {
		run := func(size int) *capture.ServerStats {
			c := NewConn(Info{A: addrA, B: addrB}, fuzzOpts, func(*capture.Exchange) { t.Fatal("no response, no exchange") })
			for p := range slices.Chunk(in, size) {
				c.Data(DirAB, p, t0)
				if err := c.checkBounds(); err != nil {
					t.Fatal(err)
				}
			}
			c.Close(t0, false)
			return c.Stats()
		}
		if len(in) == 0 {
			return
		}
		whole := run(len(in))
		chunked := run(max(int(chunk), 1))
		if whole.Unanswered != chunked.Unanswered || whole.UndecodableBytes != chunked.UndecodableBytes ||
			whole.LostBytes != chunked.LostBytes || whole.TLS != chunked.TLS || whole.HTTP2 != chunked.HTTP2 {
			t.Fatalf("whole and chunked differ:\n whole %+v\n chunk %+v", *whole, *chunked)
		}
		if n := uint64(bytes.Count(in, []byte("HTTP/1."))); whole.Unanswered > n {
			t.Fatalf("%d requests from %d request lines", whole.Unanswered, n)
		}
	})
}
