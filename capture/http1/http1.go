// Package http1 parses the HTTP/1.x traffic of one TCP connection, both directions at once.
//
// It takes the in-order bytes, gaps and ends that TCP reassembly hands it and gives
// [capture.Exchange] values, in request order, plus the connection's [capture.ServerStats].
package http1

import (
	"net/netip"
	"time"

	"github.com/specgate/specgate/capture"
)

// Dir names a direction of the connection.
type Dir uint8

const (
	// DirAB carries the bytes sent by endpoint A, the sender of the first packet seen.
	DirAB Dir = 0
	// DirBA carries the bytes sent by endpoint B.
	DirBA Dir = 1
)

// String returns "A->B" or "B->A".
func (d Dir) String() string {
	if d == DirAB {
		return "A->B"
	}
	return "B->A"
}

func (d Dir) other() Dir { return d ^ 1 }

// Info identifies the connection.
type Info struct {
	// A sent the first packet seen; B is its peer.
	A, B netip.AddrPort
	// ID becomes Exchange.ConnID.
	ID string
}

// Options bound the memory one connection may use: about 2×MaxHeader of
// buffered bytes and one body per direction while reading, plus the
// requests waiting for their responses (at most MaxPending, each with a
// body of at most MaxBody).
type Options struct {
	// MaxBody is the number of decoded body bytes kept per message; beyond it
	// Body stops growing and Truncated is set (WireSize keeps counting).
	// Zero means DefaultMaxBody.
	MaxBody int64
	// MaxHeader bounds a start line plus its header block (and a trailer
	// block). Zero means DefaultMaxHeader.
	MaxHeader int
	// MaxPending bounds the requests waiting for their response; a
	// connection that exceeds it is given up. Zero means DefaultMaxPending.
	MaxPending int
	// Decoders, when set, is shared by the connections: they must then be
	// used from one goroutine. Without it each connection has its own.
	Decoders *Decoders
}

// Defaults for the zero values of Options.
const (
	DefaultMaxBody    = 8 << 20
	DefaultMaxHeader  = 64 << 10
	DefaultMaxPending = 256
)

// connMode says whether the connection is still read as HTTP/1.x.
type connMode uint8

const (
	modeHTTP        connMode = iota
	modeTLS                  // began with a TLS handshake
	modeHTTP2                // began with the HTTP/2 preface
	modeUpgraded             // switched protocols (101, CONNECT 2xx)
	modeUndecodable          // began with bytes that are not HTTP
	modeGaveUp               // a memory bound was reached
)

// pending is an exchange whose request has been seen, waiting to be emitted.
type pending struct {
	x        capture.Exchange
	method   string
	reqDone  bool // the request is finished (completely or not)
	respSeen bool // the final response's head was seen
	respDone bool // the final response is finished
	dropped  bool // given up: its response cannot be told apart any more
	upgrade  bool // the request asked to leave HTTP/1.x (Upgrade or CONNECT)
}

// Conn parses one TCP connection. It is push-based: the reassembler calls
// Data, Lost and End for each direction as bytes arrive and Close once, and
// the Conn calls emit for each exchange as soon as both halves are complete.
// A Conn is not safe for concurrent use.
type Conn struct {
	info       Info
	maxBody    int64
	maxHeader  int
	maxPending int
	emit       func(*capture.Exchange)

	half      [2]half
	client    Dir
	roleKnown bool
	synSeen   bool
	mode      connMode
	anyHTTP   bool // a message head was parsed in either direction
	closed    bool

	queue []*pending // requests in order; queue[head:] are live
	head  int
	seq   int

	wire  [2]uint64
	stats capture.ServerStats
	dec   *decoders // nil until a connection without shared ones needs it
}

// NewConn returns a parser for one connection that calls emit (which may be
// nil) with each exchange. The Exchange passed to emit belongs to the callee.
func NewConn(info Info, opts Options, emit func(*capture.Exchange)) *Conn {
	c := &Conn{
		info:       info,
		maxBody:    opts.MaxBody,
		maxHeader:  opts.MaxHeader,
		maxPending: opts.MaxPending,
		emit:       emit,
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.maxHeader <= 0 {
		c.maxHeader = DefaultMaxHeader
	}
	if c.maxPending <= 0 {
		c.maxPending = DefaultMaxPending
	}
	if opts.Decoders != nil {
		c.dec = &opts.Decoders.d
	}
	for d := range c.half {
		c.half[d] = half{c: c, dir: Dir(d)}
	}
	c.stats.Connections = 1
	return c
}

// SetClient tells the Conn that d carries the client's bytes (the
// reassembler saw the SYN). Called before any data it is authoritative and
// marks both directions as starting at the beginning of their stream;
// later it only fills in a role not yet inferred from the bytes.
func (c *Conn) SetClient(d Dir) {
	if c.closed || d > DirBA {
		return
	}
	if !c.half[0].started && !c.half[1].started {
		c.synSeen = true
		c.client, c.roleKnown = d, true
		return
	}
	c.setRole(d)
}

// SetSeq tells the Conn the TCP sequence number of the next byte of
// direction d (the next Data's first byte, or the first byte after the
// next Lost). Once it is known, bytes and known losses keep it current, and
// each exchange records in Wire where its request and response began; the
// reassembler may call it again at any time, for instance after a loss of
// unknown size.
func (c *Conn) SetSeq(d Dir, seq uint32) {
	if d > DirBA {
		return
	}
	h := &c.half[d]
	h.seq, h.seqKnown = seq, true
}

// Data hands the Conn the next in-order bytes of direction d, seen at ts.
// b is only read during the call.
func (c *Conn) Data(d Dir, b []byte, ts time.Time) {
	if c.closed || d > DirBA || len(b) == 0 {
		return
	}
	h := &c.half[d]
	if h.ended {
		return
	}
	c.wire[d] += uint64(len(b))
	if !h.started {
		h.started = true
		h.knownStart = c.synSeen
		if !h.knownStart {
			h.reason = reasonMidstream
		}
	}
	h.sawData = true
	h.feed(b, ts)
	c.flush()
}

// Lost tells the Conn that n bytes of direction d are missing before the
// next Data (n < 0: an unknown number, as when the capture started in the
// middle of the stream). Inside a body of known length only body bytes are
// lost (Truncated); elsewhere the parser resynchronises on the next start
// line. Losses on a connection no longer read as HTTP/1.x (TLS, HTTP/2,
// after an upgrade) are not counted.
func (c *Conn) Lost(d Dir, n int, ts time.Time) {
	if c.closed || d > DirBA || n == 0 {
		return
	}
	h := &c.half[d]
	if h.ended {
		return
	}
	if n > 0 {
		h.seq += uint32(n)
	}
	h.started = true
	if c.mode != modeHTTP {
		if h.st == stTLS {
			h.st, h.buf = stIgnore, h.buf[:0]
		}
		return
	}
	if n > 0 {
		c.stats.LostBytes += uint64(n)
	}
	h.lost(int64(n), ts)
	c.flush()
}

// End tells the Conn that direction d has ended (FIN): a body delimited by
// the end of the stream is complete, anything else in progress is cut.
func (c *Conn) End(d Dir, ts time.Time) {
	if c.closed || d > DirBA {
		return
	}
	h := &c.half[d]
	if h.ended {
		return
	}
	h.finish(ts, false)
	c.flush()
}

// Close ends the connection: after a reset (reset true), an idle timeout or
// the end of the capture. Messages in progress are finished as Incomplete
// (a body delimited by the end of the stream only when reset), exchanges
// whose response head was seen are emitted, and requests left without a
// response are counted as unanswered. Later calls do nothing.
func (c *Conn) Close(ts time.Time, reset bool) {
	if c.closed {
		return
	}
	first := DirAB
	if c.roleKnown {
		first = c.client
	}
	for _, d := range [2]Dir{first, first.other()} {
		if h := &c.half[d]; !h.ended {
			h.finish(ts, reset)
		}
	}
	c.closed = true
	c.flush()
	for ; c.head < len(c.queue); c.head++ {
		p := c.queue[c.head]
		c.queue[c.head] = nil
		if p.respSeen && !p.dropped {
			c.deliver(p)
		} else {
			c.stats.Unanswered++
		}
	}
	c.queue, c.head = nil, 0
	for d := range c.half {
		h := &c.half[d]
		if h.unclassified == 0 {
			continue
		}
		switch {
		case c.mode == modeTLS || c.mode == modeHTTP2 || c.mode == modeUpgraded:
		case c.anyHTTP:
			c.stats.LostBytes += h.unclassified
		default:
			c.undecodable(h.unclassified)
		}
		h.unclassified = 0
	}
	for d := range c.half {
		c.half[d].release()
	}
}

// Stats returns this connection's counters (Connections is 1). Server is
// the server's "addr:port" once the roles are known (B's until then);
// RequestBytes and ResponseBytes count every byte each side sent;
// Truncated and Incomplete count the messages of emitted exchanges;
// Unanswered is final once Close has run. The result is the Conn's own:
// read it, or merge it with ServerStats.Add, after Close.
func (c *Conn) Stats() *capture.ServerStats {
	_, server := c.endpoints()
	c.stats.Server = server.String()
	cd := DirAB
	if c.roleKnown {
		cd = c.client
	}
	c.stats.RequestBytes = c.wire[cd]
	c.stats.ResponseBytes = c.wire[cd.other()]
	return &c.stats
}

// endpoints returns the client and server addresses (A and B while the roles
// are unknown).
func (c *Conn) endpoints() (client, server netip.AddrPort) {
	if c.roleKnown && c.client == DirBA {
		return c.info.B, c.info.A
	}
	return c.info.A, c.info.B
}

// setRole records that d is the client's direction unless roles are known.
func (c *Conn) setRole(d Dir) {
	if c.roleKnown {
		return
	}
	c.client, c.roleKnown = d, true
}

// role of a direction.
type role uint8

const (
	roleUnknown role = iota
	roleClient
	roleServer
)

func (c *Conn) roleOf(d Dir) role {
	switch {
	case !c.roleKnown:
		return roleUnknown
	case c.client == d:
		return roleClient
	default:
		return roleServer
	}
}

func (c *Conn) undecodable(n uint64) {
	c.stats.Undecodable = 1
	c.stats.UndecodableBytes += n
}

// stop leaves HTTP/1.x for the rest of the connection. Messages in progress
// in the other direction (not except) are cut and its buffered bytes dropped.
func (c *Conn) stop(mode connMode, except *half) {
	if c.mode != modeHTTP {
		return
	}
	c.mode = mode
	switch mode {
	case modeTLS:
		c.stats.TLS = 1
	case modeHTTP2:
		c.stats.HTTP2 = 1
	case modeGaveUp:
		c.stats.GaveUp = 1
	}
	for d := range c.half {
		h := &c.half[d]
		if h == except {
			continue
		}
		if h.inMsg {
			h.incomplete = true
			h.finishMsg()
		}
		if mode == modeUndecodable {
			c.undecodable(uint64(len(h.buf)))
		}
		h.buf = h.buf[:0]
		h.resetHead()
		h.st = stIgnore
	}
}

// push appends a new request to the queue, or gives the connection up when
// too many requests wait for their response.
func (c *Conn) push(p *pending, h *half) bool {
	if len(c.queue)-c.head >= c.maxPending {
		c.stop(modeGaveUp, h)
		h.st = stIgnore
		return false
	}
	if c.head > 0 && c.head == len(c.queue) {
		clear(c.queue)
		c.queue, c.head = c.queue[:0], 0
	} else if c.head >= 32 && c.head*2 >= len(c.queue) {
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue, c.head = c.queue[:n], 0
	}
	c.queue = append(c.queue, p)
	return true
}

// responseTarget returns the request the next final response answers: the
// oldest one without a response. For the first response found after a gap
// broke the server's stream it is the newest request that had started by
// the time the response did (at): requests before it lost their responses
// in the gap and are dropped, requests after it came later. With no such
// request the response is an orphan.
func (c *Conn) responseTarget(afterGap bool, at time.Time) *pending {
	first, last := -1, -1
	for i := c.head; i < len(c.queue); i++ {
		p := c.queue[i]
		if p.dropped || p.respSeen {
			continue
		}
		if afterGap && !at.IsZero() && p.x.Timing.RequestStart.After(at) {
			break
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 {
		return nil
	}
	if !afterGap {
		return c.queue[first]
	}
	for i := first; i < last; i++ {
		if p := c.queue[i]; !p.respSeen {
			p.dropped = true
		}
	}
	return c.queue[last]
}

// flush emits the exchanges at the head of the queue that are complete.
func (c *Conn) flush() {
	for c.head < len(c.queue) {
		p := c.queue[c.head]
		if p.dropped {
			c.stats.Unanswered++
		} else if !p.reqDone || !p.respDone {
			return
		} else {
			c.deliver(p)
		}
		c.queue[c.head] = nil
		c.head++
	}
}

// deliver fills in the connection fields of p's exchange and emits it.
func (c *Conn) deliver(p *pending) {
	x := &p.x
	x.Client, x.Server = c.endpoints()
	x.ConnID = c.info.ID
	x.Seq = c.seq
	c.seq++
	c.stats.Exchanges++
	for _, m := range [2]struct{ trunc, inc bool }{
		{x.Request.Truncated, x.Request.Incomplete},
		{x.Response.Truncated, x.Response.Incomplete},
	} {
		if m.trunc {
			c.stats.Truncated++
		}
		if m.inc {
			c.stats.Incomplete++
		}
	}
	if c.emit != nil {
		c.emit(x)
	}
}
