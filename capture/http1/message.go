package http1

import (
	"bytes"
	"strings"
	"time"
)

// A message's life in one direction: its head becomes a request (queued)
// or a response (paired with the oldest request still waiting), its framing
// picks the body state, and finishMsg hands the body, decoded, to the
// exchange.

// headDone turns a complete (or, when cut, truncated) head into a message.
func (h *half) headDone(block []byte, ts time.Time, cut bool) {
	c := h.c
	start := h.headTs
	if start.IsZero() {
		start = ts
	}
	h.resetHead()
	hd, ok := parseHead(block, h.role())
	if !ok {
		h.skip(len(block))
		h.st = stScan
		return
	}
	c.anyHTTP = true
	h.parsed = true
	if h.unclassified > 0 {
		c.stats.LostBytes += h.unclassified
		h.unclassified = 0
	}
	h.reason = reasonGarbage
	if hd.isReq {
		c.setRole(h.dir)
		h.request(&hd, start, ts, cut)
	} else {
		c.setRole(h.dir.other())
		h.response(&hd, start, ts, cut)
	}
}

// request starts reading a request.
func (h *half) request(hd *msgHead, start, ts time.Time, cut bool) {
	c := h.c
	p := &pending{method: hd.method}
	r := &p.x.Request
	r.Method, r.Target, r.Host, r.Proto, r.Header = hd.method, hd.target, hd.host, hd.proto, hd.header
	p.x.Timing.RequestStart = start
	if h.seqKnown {
		p.x.Wire.Request = h.headSeq
	}
	p.upgrade = hd.method == "CONNECT" || (hd.upgrade != "" && hd.connUpgrade)
	if !c.push(p, h) {
		return
	}
	h.beginMsg(p, true, hd.cl, hd.codings, ts)
	if cut {
		h.cutMsg()
		return
	}
	h.frame(hd, false)
}

// response starts reading a response and pairs it with its request.
func (h *half) response(hd *msgHead, start, ts time.Time, cut bool) {
	c := h.c
	status := hd.status
	afterGap := h.gap
	h.gap = false
	t := c.responseTarget(afterGap, start)
	if status/100 == 1 && status != 101 {
		if t != nil {
			if len(t.x.Response.Interim) < maxInterim {
				t.x.Response.Interim = append(t.x.Response.Interim, status)
			}
		} else {
			c.stats.OrphanResponses++
		}
		h.st = stHead
		if cut {
			h.st = stScan
		}
		return
	}
	if t == nil {
		c.stats.OrphanResponses++
	} else {
		t.respSeen = true
		rs := &t.x.Response
		rs.Proto, rs.Status, rs.Reason, rs.Header = hd.proto, status, hd.reason, hd.header
		t.x.Timing.ResponseStart = start
		if h.seqKnown {
			t.x.Wire.Response = h.headSeq
		}
	}
	h.beginMsg(t, false, hd.cl, hd.codings, ts)
	if cut {
		h.cutMsg()
		if t != nil && t.upgrade {
			c.release(ts)
		}
		return
	}
	method := ""
	if t != nil {
		method = t.method
	}
	if status == 101 || (method == "CONNECT" && status/100 == 2) {
		name := upgradeName(hd, t)
		if t != nil {
			t.x.Upgrade = name
		}
		h.endMsg()
		c.stats.AddUpgrade(name)
		c.stop(modeUpgraded, h)
		h.st = stIgnore
		return
	}
	if t != nil && t.upgrade {
		c.release(ts) // the server declined to switch: the client goes on in HTTP/1.x
	}
	h.frame(hd, method == "HEAD" || status == 204 || status == 304)
}

// upgradeName names the protocol a 101 or CONNECT 2xx switched to.
func upgradeName(hd *msgHead, t *pending) string {
	if t != nil && t.method == "CONNECT" {
		return "connect"
	}
	name := hd.upgrade
	if name == "" && t != nil {
		name = t.x.Request.Header.Get("Upgrade")
	}
	if i := strings.IndexByte(name, ','); i >= 0 {
		name = name[:i]
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = "unknown"
	}
	return name
}

// frame chooses how the message's body is delimited.
func (h *half) frame(hd *msgHead, noBody bool) {
	switch {
	case noBody:
		h.endMsg()
	case hd.chunked:
		h.resetHead()
		h.st = stChunkSize
	case hd.teOther:
		h.st = stUntilClose
	case hd.clBad:
		h.framingError()
	case hd.cl > 0:
		h.remaining = hd.cl
		h.st = stBody
	case hd.cl == 0 || h.isReq:
		h.endMsg()
	default:
		h.st = stUntilClose
	}
}

// release lets a client held after an upgrade request read on in HTTP/1.x.
func (c *Conn) release(ts time.Time) {
	if !c.roleKnown {
		return
	}
	cl := &c.half[c.client]
	if cl.st != stHold {
		return
	}
	cl.st = stHead
	if cl.holdGap {
		cl.st, cl.reason, cl.holdGap = stScan, reasonGap, false
	}
	cl.resume(ts)
}

// beginMsg starts a message's body.
func (h *half) beginMsg(p *pending, isReq bool, cl int64, codings string, ts time.Time) {
	h.inMsg, h.isReq, h.p = true, isReq, p
	h.remaining, h.wire = 0, 0
	h.trunc, h.incomplete, h.holed, h.sizeUnknown = false, false, false, false
	h.codings, h.trailer, h.last = codings, nil, ts
	if p != nil && codings == "" && cl > 0 && cl <= preallocBody && cl <= h.c.maxBody {
		h.body, h.own = make([]byte, 0, cl), true
	} else {
		h.body, h.own = h.scratch[:0], false
	}
}

// addBody appends body bytes, bounded by MaxBody.
func (h *half) addBody(b []byte, ts time.Time) {
	h.wire += int64(len(b))
	h.last = ts
	if h.p == nil || h.holed || len(b) == 0 {
		return
	}
	if room := h.c.maxBody - int64(len(h.body)); int64(len(b)) > room {
		b = b[:room]
		h.trunc = true
	}
	h.body = append(h.body, b...)
}

// cutMsg ends a message whose head was cut short.
func (h *half) cutMsg() {
	h.incomplete, h.sizeUnknown = true, true
	h.finishMsg()
	h.st = stScan
	if h.c.mode != modeHTTP {
		h.st = stIgnore
	}
}

// endMsg completes the message and moves on to the next one.
func (h *half) endMsg() {
	p, isReq := h.p, h.isReq
	h.finishMsg()
	h.resetHead()
	switch {
	case h.c.mode != modeHTTP:
		h.st = stIgnore
	case isReq && p != nil && p.upgrade && !p.respSeen:
		h.st = stHold
	default:
		h.st = stHead
	}
}

// finishMsg hands the message's body and flags to its exchange.
func (h *half) finishMsg() {
	if !h.inMsg {
		return
	}
	h.inMsg = false
	p := h.p
	h.p = nil
	raw := h.body
	h.body = nil
	if !h.own {
		if cap(raw) <= keepScratch {
			h.scratch = raw[:0]
		} else {
			h.scratch = nil
		}
	}
	if p == nil {
		return
	}
	var body []byte
	decoded := ""
	trunc := h.trunc
	if len(raw) > 0 {
		if h.codings != "" {
			if h.c.dec == nil {
				h.c.dec = new(decoders)
			}
			out, names, more, ok := h.c.dec.decode(raw, h.codings, h.c.maxBody, trunc || h.incomplete)
			if ok {
				body, decoded = out, names
				trunc = trunc || more
			}
		}
		if decoded == "" {
			if h.own {
				body = raw
			} else {
				body = bytes.Clone(raw)
			}
		}
	}
	wire := h.wire
	if h.sizeUnknown {
		wire = -1
	}
	if h.isReq {
		r := &p.x.Request
		r.Body, r.WireSize, r.Truncated, r.Decoded, r.Trailer = body, wire, trunc, decoded, h.trailer
		r.Incomplete = r.Incomplete || h.incomplete
		p.reqDone = true
		p.x.Timing.RequestEnd = h.last
	} else {
		r := &p.x.Response
		r.Body, r.WireSize, r.Truncated, r.Decoded, r.Trailer = body, wire, trunc, decoded, h.trailer
		r.Incomplete = r.Incomplete || h.incomplete
		p.respDone = true
		p.x.Timing.ResponseEnd = h.last
	}
	h.trailer = nil
}
