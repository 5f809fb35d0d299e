package http1

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/specgate/specgate/capture"
)

// seqStream is one direction of a scripted connection: its bytes, where
// each message's chunk (the message and what is sent just before it)
// and the message itself begin in them, and the sequence number of its
// first byte.
type seqStream struct {
	isn    uint32
	b      []byte
	chunks []int
	starts []int
}

// add appends a message after pre (bytes sent before it: blank lines, a
// 1xx response) and records where both begin.
func (s *seqStream) add(pre string, msg []byte) {
	s.chunks = append(s.chunks, len(s.b))
	s.b = append(s.b, pre...)
	s.starts = append(s.starts, len(s.b))
	s.b = append(s.b, msg...)
}

// chunk returns the bounds of message i's chunk.
func (s *seqStream) chunk(i int) (from, to int) {
	if i+1 < len(s.chunks) {
		return s.chunks[i], s.chunks[i+1]
	}
	return s.chunks[i], len(s.b)
}

func (s *seqStream) seqAt(off int) uint32 { return s.isn + uint32(off) }

// TestWireSequenceNumbers checks Exchange.Wire against sequence numbers
// computed from where each message lies in its byte stream, for keep-alive
// and pipelined connections, heads split anywhere, blank lines between
// messages, 1xx responses, sequence numbers wrapping around 2^32, bytes
// lost inside a body, and a reassembler that sets the number before every
// segment or only once.
func TestWireSequenceNumbers(t *testing.T) {
	body := bytes.Repeat([]byte(`{"k":"v"},`), 300)
	type exch struct{ req, resp []byte }
	mk := func(n int) []exch {
		var xs []exch
		for i := range n {
			var x exch
			switch i % 3 {
			case 0:
				x.req = wireRequest(t, "GET", fmt.Sprintf("http://svc/items/%d", i), "")
				x.resp = wireResponse(t, 200, body[:100+i], false, "Content-Type", "application/json")
			case 1:
				x.req = wireRequest(t, "POST", "http://svc/items", string(body[:500+i]), "Content-Type", "application/json")
				x.resp = wireResponse(t, 201, body, true)
			default:
				x.req = wireRequest(t, "DELETE", fmt.Sprintf("http://svc/items/%d", i), "")
				x.resp = wireResponse(t, 204, nil, false)
			}
			xs = append(xs, x)
		}
		return xs
	}
	rng := rand.New(rand.NewPCG(5, 6))
	splits := map[string]func([]byte) [][]byte{"whole": noSplit, "bytes": byteSplit, "random": randomSplit(rng)}

	for _, tc := range []struct {
		name      string
		isnC      uint32
		isnS      uint32
		pipelined bool
		interim   bool
		blank     bool
	}{
		{name: "keep-alive", isnC: 1000, isnS: 77},
		{name: "wrap", isnC: 0xFFFFFF00, isnS: 0xFFFFFFF0},
		{name: "pipelined", isnC: 0x80000000, isnS: 3, pipelined: true},
		{name: "blank lines and 100 continue", isnC: 0xFFFFF000, isnS: 9, interim: true, blank: true},
	} {
		for sname, split := range splits {
			for _, setEach := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/setEach=%v", tc.name, sname, setEach), func(t *testing.T) {
					xs := mk(7)
					c := seqStream{isn: tc.isnC}
					s := seqStream{isn: tc.isnS}
					for i, x := range xs {
						pre := ""
						if tc.blank && i == 3 {
							pre = "\r\n"
						}
						c.add(pre, x.req)
						pre = ""
						if tc.interim && i == 1 {
							pre = "HTTP/1.1 100 Continue\r\n\r\n"
						}
						s.add(pre, x.resp)
					}
					// the order of the messages on the wire
					type piece struct {
						d        Dir
						from, to int
					}
					var order []piece
					if tc.pipelined {
						order = append(order, piece{DirAB, 0, len(c.b)}, piece{DirBA, 0, len(s.b)})
					} else {
						for i := range xs {
							cf, ct := c.chunk(i)
							sf, st := s.chunk(i)
							order = append(order, piece{DirAB, cf, ct}, piece{DirBA, sf, st})
						}
					}
					streams := [2]*seqStream{&c, &s}
					var got []*capture.Exchange
					conn := NewConn(Info{A: addrA, B: addrB, ID: "w"}, Options{}, func(x *capture.Exchange) { got = append(got, x) })
					conn.SetClient(DirAB)
					conn.SetSeq(DirAB, c.isn)
					conn.SetSeq(DirBA, s.isn)
					for _, p := range order {
						st := streams[p.d]
						off := p.from
						for _, part := range split(st.b[p.from:p.to]) {
							if setEach {
								conn.SetSeq(p.d, st.seqAt(off))
							}
							conn.Data(p.d, bytes.Clone(part), t0)
							off += len(part)
						}
					}
					conn.Close(t0, false)
					if len(got) != len(xs) {
						t.Fatalf("%d exchanges, want %d", len(got), len(xs))
					}
					for i, x := range got {
						want := capture.WireID{Request: c.seqAt(c.starts[i]), Response: s.seqAt(s.starts[i])}
						if x.Wire != want {
							t.Errorf("exchange %d (%s %s → %d): wire %+v, want %+v", i, x.Request.Method, x.Request.Target, x.Response.Status, x.Wire, want)
						}
					}
				})
			}
		}
	}
}

// TestWireAcrossLosses checks that known losses keep the sequence numbers
// current, that a loss of unknown size needs SetSeq again, and that a
// connection never told its sequence numbers leaves Wire zero.
func TestWireAcrossLosses(t *testing.T) {
	req := func(i int) []byte { return wireRequest(t, "GET", fmt.Sprintf("http://svc/r/%d", i), "") }
	resp := func(n int) []byte { return wireResponse(t, 200, bytes.Repeat([]byte("z"), n), false) }
	r0, r1, r2 := req(0), req(1), req(2)
	p0, p1, p2 := resp(3000), resp(10), resp(20)
	const isnC, isnS = 0xFFFFFFFE, 500

	t.Run("known loss inside a body", func(t *testing.T) {
		var got []*capture.Exchange
		c := NewConn(Info{A: addrA, B: addrB}, Options{}, func(x *capture.Exchange) { got = append(got, x) })
		c.SetClient(DirAB)
		c.SetSeq(DirAB, isnC)
		c.SetSeq(DirBA, isnS)
		c.Data(DirAB, r0, t0)
		c.Data(DirBA, p0[:1000], t0)
		c.Lost(DirBA, 1000, t0)
		c.Data(DirBA, p0[2000:], t0)
		c.Data(DirAB, r1, t0)
		c.Data(DirBA, p1, t0)
		c.Close(t0, false)
		if len(got) != 2 {
			t.Fatalf("%d exchanges, want 2", len(got))
		}
		if !got[0].Response.Truncated {
			t.Error("the first response lost bytes but is not truncated")
		}
		want := []capture.WireID{
			{Request: isnC, Response: isnS},
			{Request: isnC + uint32(len(r0)), Response: isnS + uint32(len(p0))},
		}
		for i := range want {
			if got[i].Wire != want[i] {
				t.Errorf("exchange %d: wire %+v, want %+v", i, got[i].Wire, want[i])
			}
		}
	})

	t.Run("unknown loss then SetSeq", func(t *testing.T) {
		var got []*capture.Exchange
		c := NewConn(Info{A: addrA, B: addrB}, Options{}, func(x *capture.Exchange) { got = append(got, x) })
		// the capture starts in the middle of the first response
		c.Lost(DirBA, -1, t0)
		c.SetSeq(DirBA, isnS+uint32(len(p0))-40)
		c.Data(DirBA, p0[len(p0)-40:], t0)
		c.Lost(DirAB, -1, t0)
		c.SetSeq(DirAB, isnC+uint32(len(r0)))
		c.Data(DirAB, r1, t0)
		c.Data(DirBA, p1, t0)
		c.Data(DirAB, r2, t0)
		c.Data(DirBA, p2, t0)
		c.Close(t0, false)
		want := []capture.WireID{
			{Request: isnC + uint32(len(r0)), Response: isnS + uint32(len(p0))},
			{Request: isnC + uint32(len(r0)+len(r1)), Response: isnS + uint32(len(p0)+len(p1))},
		}
		if len(got) != len(want) {
			t.Fatalf("%d exchanges, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Wire != want[i] {
				t.Errorf("exchange %d: wire %+v, want %+v", i, got[i].Wire, want[i])
			}
		}
	})

	t.Run("never told", func(t *testing.T) {
		res := play(t, Options{}, []ev{client(r0), server(p1)}, noSplit)
		if x := must1(t, res); !x.Wire.IsZero() {
			t.Errorf("wire %+v without SetSeq, want zero", x.Wire)
		}
	})
}
