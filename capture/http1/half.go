package http1

import (
	"bytes"
	"time"

	"github.com/specgate/specgate/capture"
)

// state is where a direction's parser stands in its stream.
type state uint8

const (
	stSniff      state = iota // first bytes: TLS, HTTP/2 preface or HTTP/1.x?
	stHead                    // start line and header block
	stScan                    // looking for the next message start
	stBody                    // Content-Length body
	stChunkSize               // chunk-size line
	stChunkData               // chunk data
	stChunkEnd                // CRLF after chunk data
	stTrailer                 // trailer block after the last chunk
	stUntilClose              // body delimited by the end of the stream
	stHold                    // after an upgrade request: wait for the server's verdict
	stTLS                     // collecting a TLS ClientHello for its server name
	stIgnore                  // nothing more is read in this direction
)

// skipReason says how bytes skipped while resynchronising are counted.
type skipReason uint8

const (
	reasonGarbage   skipReason = iota // UndecodableBytes
	reasonGap                         // LostBytes: the capture lost bytes before them
	reasonMidstream                   // the capture began mid-stream: decided at Close
)

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4096

// maxInterim bounds the 1xx responses recorded for one exchange.
const maxInterim = 8

// keepScratch is the largest body scratch buffer kept between messages.
const keepScratch = 256 << 10

// preallocBody is the largest Content-Length body allocated up front.
const preallocBody = 64 << 10

// half parses one direction of the connection.
type half struct {
	c   *Conn
	dir Dir
	st  state
	// buf holds bytes not yet consumed (an incomplete head, chunk line,
	// scan window or held data); it is bounded by the states that leave it.
	buf []byte

	started      bool // bytes or a loss were seen
	sawData      bool // bytes were seen
	knownStart   bool // the first byte seen is the first byte of the stream
	ended        bool
	parsed       bool // a message head was parsed in this direction
	reason       skipReason
	unclassified uint64 // skipped after a mid-stream start, classified at Close
	gap          bool   // resynchronising after a gap: pair the next response with care
	holdGap      bool   // bytes were lost while holding

	// line scanning within buf (or the current input): hpos is the start
	// of the current line, hscan how far it was searched for LF.
	hpos   int
	hscan  int
	hfirst bool // the start line is complete and valid
	headTs time.Time

	// seq is the TCP sequence number of the byte after the last one fed
	// (the next to come) when seqKnown; headSeq that of the first byte of
	// the head being read.
	seq      uint32
	headSeq  uint32
	seqKnown bool

	// the message being read
	inMsg       bool
	isReq       bool
	p           *pending // the exchange it belongs to; nil for an orphan response
	remaining   int64
	wire        int64
	body        []byte
	own         bool // body is the message's own buffer, not scratch
	scratch     []byte
	trunc       bool
	incomplete  bool
	holed       bool // bytes were lost inside the body: stop keeping it
	sizeUnknown bool
	codings     string
	trailer     capture.Header
	last        time.Time
}

// role of this direction.
func (h *half) role() role { return h.c.roleOf(h.dir) }

func (h *half) resetHead() {
	h.hpos, h.hscan, h.hfirst = 0, 0, false
	h.headTs = time.Time{}
}

// release drops the buffers of an ended direction.
func (h *half) release() {
	h.buf, h.scratch, h.body = nil, nil, nil
}

// feed runs the parser over b, keeping in buf what it cannot consume yet.
func (h *half) feed(b []byte, ts time.Time) {
	for len(b) > 0 {
		if len(h.buf) == 0 {
			h.seq += uint32(len(b))
			n := h.run(b, ts)
			if n < len(b) && !h.ended {
				h.buf = append(h.buf, b[n:]...)
			}
			return
		}
		k := min(len(b), h.c.maxHeader)
		h.buf = append(h.buf, b[:k]...)
		h.seq += uint32(k)
		b = b[k:]
		h.resume(ts)
	}
}

// resume runs the parser over the buffered bytes.
func (h *half) resume(ts time.Time) {
	if len(h.buf) == 0 {
		return
	}
	n := h.run(h.buf, ts)
	if n >= len(h.buf) {
		h.buf = h.buf[:0]
	} else {
		h.buf = h.buf[:copy(h.buf, h.buf[n:])]
	}
}

// run steps the state machine over p and returns how many bytes it consumed.
func (h *half) run(p []byte, ts time.Time) int {
	off, idle := 0, 0
	for off < len(p) {
		n, blocked := h.step(p[off:], ts)
		off += n
		if blocked {
			break
		}
		if n == 0 {
			if idle++; idle > 16 {
				break // a state change that consumes nothing loops no further
			}
		} else {
			idle = 0
		}
	}
	return off
}

// step runs one state over p. It consumes bytes, changes state, or reports
// that it needs more input (blocked) with what it left bounded.
func (h *half) step(p []byte, ts time.Time) (n int, blocked bool) {
	switch h.st {
	case stSniff:
		return h.sniff(p, false)
	case stHead:
		return h.head(p, ts)
	case stScan:
		return h.scan(p)
	case stBody, stChunkData:
		return h.bodyBytes(p, ts)
	case stChunkSize:
		return h.chunkSize(p, ts)
	case stChunkEnd:
		return h.chunkEnd(p, ts)
	case stTrailer:
		return h.trailerBlock(p, ts)
	case stUntilClose:
		h.addBody(p, ts)
		return len(p), false
	case stHold:
		if len(p) > h.c.maxHeader {
			h.st = stHead // nobody answered: read on as HTTP
			return 0, false
		}
		return 0, true
	case stTLS:
		return h.tls(p, false)
	default:
		if h.c.mode == modeUndecodable {
			h.c.undecodable(uint64(len(p)))
		}
		return len(p), false
	}
}

// sniff classifies the first bytes of the direction.
func (h *half) sniff(p []byte, final bool) (int, bool) {
	c := h.c
	if c.mode != modeHTTP {
		h.st = stIgnore
		return 0, false
	}
	switch v, hello := sniffTLS(p, final); v {
	case sniffYes:
		switch hello {
		case 1:
			c.setRole(h.dir)
			h.st = stTLS
		case 2:
			c.setRole(h.dir.other())
			h.st = stIgnore
		default:
			h.st = stIgnore
		}
		c.stop(modeTLS, h)
		return 0, false
	case sniffMaybe:
		return 0, true
	}
	n := min(len(p), len(h2Preface))
	if string(p[:n]) == h2Preface[:n] {
		if n == len(h2Preface) {
			c.setRole(h.dir)
			c.stop(modeHTTP2, h)
			h.st = stIgnore
			return 0, false
		}
		if !final {
			return 0, true
		}
	}
	h.st = stHead
	return 0, false
}

// head accumulates a start line and header block.
func (h *half) head(p []byte, ts time.Time) (int, bool) {
	c := h.c
	if h.hpos == 0 {
		i := 0
		for i < len(p) && (p[i] == '\r' || p[i] == '\n') {
			i++
		}
		if i > 0 {
			return i, false // blank lines between messages
		}
		if h.headTs.IsZero() {
			h.headTs = ts
		}
		// p ends with the last byte fed (run is given the input, or buf,
		// and steps over suffixes of it): p[0], the head's first byte,
		// is len(p) bytes before seq.
		h.headSeq = h.seq - uint32(len(p))
	}
	limit := c.maxHeader
	for {
		nl, e := h.lineEnd(p, limit)
		if nl < 0 {
			if !h.hfirst && !plausibleStart(p, h.role()) {
				return h.garbage(p), false
			}
			if len(p) >= limit {
				return h.overflow(p, ts), false
			}
			h.hscan = max(e, h.hscan)
			return 0, true
		}
		line := trimCR(p[h.hpos:nl])
		h.hpos, h.hscan = nl+1, nl+1
		if !h.hfirst {
			if !validStartLine(line, h.role()) {
				return h.garbage(p), false
			}
			h.hfirst = true
			continue
		}
		if len(line) == 0 {
			h.headDone(p[:nl+1], ts, false)
			return nl + 1, false
		}
	}
}

// lineEnd returns the index of the LF ending the line being scanned,
// searched for from hscan up to limit, or -1; e is where the search ends,
// min(len(p), limit).
func (h *half) lineEnd(p []byte, limit int) (nl, e int) {
	e = min(len(p), limit)
	if h.hscan < e {
		if i := bytes.IndexByte(p[h.hscan:e], '\n'); i >= 0 {
			return h.hscan + i, e
		}
	}
	return -1, e
}

// garbage handles bytes that cannot start a message: at the very start of
// a connection nothing else has read as HTTP, the connection is not HTTP;
// otherwise one byte is skipped and the parser looks for the next message.
func (h *half) garbage(p []byte) int {
	c := h.c
	h.resetHead()
	if h.knownStart && !h.parsed && !c.anyHTTP && h.reason == reasonGarbage {
		c.undecodable(uint64(len(p)))
		c.stop(modeUndecodable, h)
		h.st = stIgnore
		return len(p)
	}
	h.skip(1)
	h.st = stScan
	return 1
}

// overflow handles a head larger than MaxHeader: what its complete lines
// say is kept as an incomplete message, its bytes are counted undecodable
// and the parser resynchronises after them.
func (h *half) overflow(p []byte, ts time.Time) int {
	c := h.c
	n := h.hpos
	if h.hfirst {
		h.headDone(p[:h.hpos], ts, true)
	} else {
		n = min(len(p), c.maxHeader)
	}
	h.resetHead()
	c.undecodable(uint64(n))
	h.reason = reasonGarbage
	if c.mode == modeHTTP {
		h.st = stScan
	}
	return n
}

// skip counts n bytes passed over while resynchronising.
func (h *half) skip(n int) {
	if n <= 0 {
		return
	}
	switch h.reason {
	case reasonGap:
		h.c.stats.LostBytes += uint64(n)
	case reasonMidstream:
		h.unclassified += uint64(n)
	default:
		h.c.undecodable(uint64(n))
	}
}

// scan looks for the next plausible start line. It consumes the bytes
// before it (counting them) and keeps a bounded tail that may hold the
// beginning of one.
func (h *half) scan(p []byte) (int, bool) {
	r := h.role()
	start, partial := findStart(p, h.hscan, r, h.c.maxHeader)
	if start >= 0 {
		h.skip(start)
		h.resetHead()
		h.st = stHead
		return start, false
	}
	keep := tailStart(p, h.c.maxHeader)
	if partial >= 0 && partial < keep {
		keep = partial
	}
	if len(p)-keep > h.c.maxHeader {
		keep = len(p) - h.c.maxHeader
	}
	h.skip(keep)
	h.hscan = max(0, len(p)-keep-statusCheckLen)
	return keep, true
}

// bodyBytes consumes Content-Length body or chunk data.
func (h *half) bodyBytes(p []byte, ts time.Time) (int, bool) {
	n := len(p)
	if int64(n) > h.remaining {
		n = int(h.remaining)
	}
	h.addBody(p[:n], ts)
	h.remaining -= int64(n)
	if h.remaining == 0 {
		if h.st == stBody {
			h.endMsg()
		} else {
			h.st = stChunkEnd
		}
	}
	return n, false
}

// chunkSize reads a chunk-size line (extensions are ignored).
func (h *half) chunkSize(p []byte, ts time.Time) (int, bool) {
	nl, e := h.lineEnd(p, maxChunkLine)
	if nl < 0 {
		if len(p) >= maxChunkLine {
			h.framingError()
			return 0, false
		}
		h.hscan = e
		return 0, true
	}
	h.hscan = 0
	size, ok := parseChunkSize(trimCR(p[:nl]))
	if !ok {
		h.framingError()
		return 0, false
	}
	h.last = ts
	if size == 0 {
		h.resetHead()
		h.st = stTrailer
	} else {
		h.remaining = size
		h.st = stChunkData
	}
	return nl + 1, false
}

// chunkEnd reads the line end after chunk data.
func (h *half) chunkEnd(p []byte, ts time.Time) (int, bool) {
	switch {
	case p[0] == '\n':
		h.st = stChunkSize
		return 1, false
	case p[0] == '\r' && len(p) < 2:
		return 0, true
	case p[0] == '\r' && p[1] == '\n':
		h.st = stChunkSize
		return 2, false
	}
	h.framingError()
	return 0, false
}

// trailerBlock reads the trailer fields after the last chunk.
func (h *half) trailerBlock(p []byte, ts time.Time) (int, bool) {
	limit := h.c.maxHeader
	for {
		nl, e := h.lineEnd(p, limit)
		if nl < 0 {
			if len(p) >= limit {
				h.framingError()
				return 0, false
			}
			h.hscan = max(e, h.hscan)
			return 0, true
		}
		line := trimCR(p[h.hpos:nl])
		if len(line) == 0 {
			if h.hpos > 0 && h.p != nil {
				h.trailer = parseFields(string(p[:h.hpos]))
			}
			h.last = ts
			h.resetHead()
			h.endMsg()
			return nl + 1, false
		}
		h.hpos, h.hscan = nl+1, nl+1
	}
}

// tls collects a ClientHello and records its server name.
func (h *half) tls(p []byte, final bool) (int, bool) {
	name, done := clientHelloSNI(p)
	if done || final || len(p) >= h.c.maxHeader {
		h.c.stats.AddSNI(name)
		h.st = stIgnore
		return 0, false
	}
	return 0, true
}

// framingError ends the message in progress as incomplete and resynchronises.
func (h *half) framingError() {
	h.incomplete = true
	h.finishMsg()
	h.resetHead()
	h.reason = reasonGarbage
	h.st = stScan
	if h.c.mode != modeHTTP {
		h.st = stIgnore
	}
}

// lost handles n missing bytes (n < 0: unknown) before the next data.
func (h *half) lost(n int64, ts time.Time) {
	c := h.c
	reason := reasonGap
	if n < 0 && !h.sawData {
		reason = reasonMidstream
	}
	switch h.st {
	case stSniff:
		if !h.sawData {
			h.reason = reason
			if n > 0 {
				// known bytes were lost before the first byte seen: what
				// comes next may be the middle of a message, so look for
				// the next message start instead of sniffing.
				h.st, h.gap = stScan, true
			}
			return // otherwise nothing seen yet: still sniff what comes
		}
		c.stats.LostBytes += uint64(len(h.buf))
	case stBody, stChunkData:
		if n >= 0 && n <= h.remaining {
			h.remaining -= n
			h.wire += n
			h.trunc, h.holed = true, true
			if h.remaining == 0 {
				if h.st == stBody {
					h.endMsg()
				} else {
					h.st = stChunkEnd
				}
			}
			return
		}
		if n > 0 && h.st == stBody {
			// the gap ran past this body's known end
			h.wire += h.remaining
			h.remaining = 0
			h.trunc = true
		} else {
			h.incomplete = true
		}
		h.finishMsg()
	case stUntilClose:
		h.trunc, h.holed = true, true
		if n > 0 {
			h.wire += n
		}
		return
	case stChunkSize, stChunkEnd, stTrailer:
		h.incomplete = true
		h.finishMsg()
	case stHead:
		if h.hfirst {
			h.headDone(h.buf[:h.hpos], ts, true)
			c.stats.LostBytes += uint64(len(h.buf) - h.hpos)
		} else {
			c.stats.LostBytes += uint64(len(h.buf))
		}
	case stScan:
		h.skip(len(h.buf))
	case stHold:
		c.stats.LostBytes += uint64(len(h.buf))
		h.buf = h.buf[:0]
		h.holdGap = true
		return
	default:
		return
	}
	h.buf = h.buf[:0]
	h.resetHead()
	h.st, h.reason, h.gap = stScan, reason, true
	if c.mode != modeHTTP {
		h.st = stIgnore
	}
}

// finish ends the direction: buffered bytes get a last look, the message in
// progress is finished (Incomplete unless delimited by the end of the
// stream and not reset).
func (h *half) finish(ts time.Time, reset bool) {
	if h.st == stSniff {
		if len(h.buf) > 0 {
			h.sniff(h.buf, true)
		} else {
			h.st = stHead
		}
		h.resume(ts)
	}
	if h.st == stHold {
		h.st = stHead
		if h.holdGap {
			h.st, h.reason = stScan, reasonGap
		}
		h.resume(ts)
	}
	switch h.st {
	case stHead:
		if h.hfirst {
			h.headDone(h.buf[:h.hpos], ts, true)
		} else {
			h.skip(len(h.buf))
		}
	case stScan:
		h.skip(len(h.buf))
	case stBody, stChunkSize, stChunkData, stChunkEnd, stTrailer:
		h.incomplete = true
		h.finishMsg()
	case stUntilClose:
		h.incomplete = reset
		h.finishMsg()
	case stTLS:
		h.tls(h.buf, true)
	}
	h.buf = h.buf[:0]
	h.resetHead()
	h.st = stIgnore
	h.ended = true
}
