package pcapgen

import (
	"errors"
	"fmt"
	"time"
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// segment is one packet of a connection, before serialisation.
type segment struct {
	fromClient bool
	flags      uint8
	seq, ack   uint32
	payload    []byte
	// gap is the time since the connection's previous packet.
	gap time.Duration
}

// connState is a planned connection: its packets and endpoints.
type connState struct {
	id   int
	ep   endpoints
	segs []segment
	next int       // index of the next segment to write
	at   time.Time // timestamp of segs[next]
}

// Timings, in microseconds: the spacing of back-to-back segments, the
// one-way network delay, the client's pause between exchanges, and the
// delayed-ACK timer.
const (
	backToBackMin, backToBackMax = 2, 25
	oneWayMin, oneWayMax         = 40, 160
	thinkMin, thinkMax           = 200, 3000
	delayedACK                   = 40000
)

// planner builds a connection's segments.
type planner struct {
	w          *Writer
	segs       []segment
	cseq, sseq uint32 // next sequence number each side sends
	pending    time.Duration
}

// usec draws a duration from lo to hi microseconds, to the nanosecond.
func (w *Writer) usec(lo, hi int) time.Duration {
	return time.Duration(lo)*time.Microsecond + time.Duration(w.rng.IntN((hi-lo)*1000+1))
}

// emit appends a packet that follows the previous one after gap (plus any
// time waiting in p.pending).
func (p *planner) emit(fromClient bool, flags uint8, seq uint32, payload []byte, gap time.Duration) {
	var ack uint32
	if flags&flagACK != 0 {
		if fromClient {
			ack = p.sseq
		} else {
			ack = p.cseq
		}
	}
	p.segs = append(p.segs, segment{
		fromClient: fromClient, flags: flags, seq: seq, ack: ack,
		payload: payload, gap: gap + p.pending,
	})
	p.pending = 0
}

// plan turns a Conn into its packets.
func (w *Writer) plan(c *Conn) (*connState, error) {
	ep, err := newEndpoints(c.Client, c.Server)
	if err != nil {
		return nil, err
	}
	switch c.CloseWith {
	case "", "fin", "rst", "none":
	default:
		return nil, fmt.Errorf("close %q is not fin, rst or none", c.CloseWith)
	}
	for i, e := range c.Exchanges {
		if len(e.Request) == 0 {
			return nil, fmt.Errorf("exchange %d has no request bytes", i)
		}
		if e.Delay < 0 {
			return nil, errors.New("negative delay")
		}
	}
	p := &planner{w: w}
	cISN, sISN := w.rng.Uint32(), w.rng.Uint32()
	p.cseq, p.sseq = cISN, sISN

	// The handshake.
	p.cseq++
	p.emit(true, flagSYN, cISN, nil, 0)
	p.sseq++
	p.emit(false, flagSYN|flagACK, sISN, nil, w.usec(oneWayMin, oneWayMax))
	p.emit(true, flagACK, p.cseq, nil, w.usec(oneWayMin, oneWayMax))
	skipUntil := len(p.segs) // packets before this index are not captured

	if c.Pipelined {
		for i, e := range c.Exchanges {
			gap := w.usec(backToBackMin, backToBackMax)
			if i == 0 {
				gap = w.usec(thinkMin, thinkMax)
			}
			p.burst(true, e.Request, gap)
			if i == 0 {
				skipUntil = len(p.segs)
			}
		}
		p.ackBurst(false, 0)
		for i, e := range c.Exchanges {
			gap := w.usec(backToBackMin, backToBackMax)
			if i == 0 {
				gap = e.Delay + w.usec(oneWayMin, oneWayMax)
			}
			p.burst(false, e.Response, gap)
		}
		p.ackBurst(true, w.usec(oneWayMin, oneWayMax))
	} else {
		for i, e := range c.Exchanges {
			p.burst(true, e.Request, w.usec(thinkMin, thinkMax))
			if i == 0 {
				skipUntil = len(p.segs)
			}
			think := e.Delay + w.usec(backToBackMin, backToBackMax)
			if think >= delayedACK*time.Microsecond || len(e.Response) == 0 {
				// The server's delayed ACK fires before it answers.
				p.ackBurst(false, min(think, delayedACK*time.Microsecond))
				think -= min(think, delayedACK*time.Microsecond)
			}
			if len(e.Response) > 0 {
				p.burst(false, e.Response, think+w.usec(oneWayMin, oneWayMax))
				p.ackBurst(true, w.usec(oneWayMin, oneWayMax))
			}
		}
	}

	gap := w.usec(thinkMin, thinkMax)
	switch c.CloseWith {
	case "", "fin":
		p.emit(true, flagFIN|flagACK, p.cseq, nil, gap)
		p.cseq++
		p.emit(false, flagFIN|flagACK, p.sseq, nil, w.usec(oneWayMin, oneWayMax))
		p.sseq++
		p.emit(true, flagACK, p.cseq, nil, w.usec(oneWayMin, oneWayMax))
	case "rst":
		p.emit(true, flagRST|flagACK, p.cseq, nil, gap)
	}

	segs := p.segs
	if w.o.StartMidConnection {
		segs = segs[skipUntil:]
	}
	return &connState{ep: ep, segs: segs}, nil
}

// ackBurst appends a pure ACK from the given side after gap.
func (p *planner) ackBurst(fromClient bool, gap time.Duration) {
	seq := p.sseq
	if fromClient {
		seq = p.cseq
	}
	p.emit(fromClient, flagACK, seq, nil, gap)
}

// burst appends data sent by one side in one go, cut at the MSS, with the
// receiver's ACK for every second segment, and applies the faults.
func (p *planner) burst(fromClient bool, data []byte, gap time.Duration) {
	w := p.w
	mss := w.o.MSS
	start := p.sseq
	if fromClient {
		start = p.cseq
	}
	n := (len(data) + mss - 1) / mss

	// What the capture holds of the burst, in capture order; orig is the
	// segment's index in sending order.
	type piece struct {
		orig       int
		off, end   int
		retransmit bool
	}
	pieces := make([]piece, 0, n+n/4+1)
	for i := range n {
		off, end := i*mss, min((i+1)*mss, len(data))
		if w.o.Drop == 0 || w.fault.Float64() >= w.o.Drop {
			pieces = append(pieces, piece{orig: i, off: off, end: end})
			if w.o.Duplicate > 0 && w.fault.Float64() < w.o.Duplicate {
				pieces = append(pieces, piece{orig: i, off: off, end: end, retransmit: true})
			}
		}
		if w.o.Overlap > 0 && i > 0 && w.fault.Float64() < w.o.Overlap {
			// A retransmission spanning the end of the previous segment
			// (always a full one) and the start of this one.
			a := off - 1 - w.fault.IntN(mss)
			b := off + 1 + w.fault.IntN(end-off)
			pieces = append(pieces, piece{orig: i, off: a, end: b, retransmit: true})
		}
	}
	if w.o.Reorder > 0 {
		for i := 0; i+1 < len(pieces); i++ {
			if w.fault.Float64() < w.o.Reorder {
				pieces[i], pieces[i+1] = pieces[i+1], pieces[i]
				i++
			}
		}
	}

	acked := make([]bool, n)
	for k, pc := range pieces {
		flags := uint8(flagACK)
		if pc.end == len(data) {
			flags |= flagPSH
		}
		g := w.usec(backToBackMin, backToBackMax)
		if k == 0 {
			g = gap
		}
		p.emit(fromClient, flags, start+uint32(pc.off), data[pc.off:pc.end], g)
		// The receiver acknowledges every second segment it got in
		// order, except the last, which the end of the burst covers.
		if !pc.retransmit && pc.orig%2 == 1 && pc.orig < n-1 && !acked[pc.orig] {
			acked[pc.orig] = true
			end := start + uint32((pc.orig+1)*mss)
			ack := segment{fromClient: !fromClient, flags: flagACK, ack: end, gap: w.usec(oneWayMin, oneWayMax)}
			if fromClient {
				ack.seq = p.sseq
			} else {
				ack.seq = p.cseq
			}
			p.segs = append(p.segs, ack)
		}
	}
	if len(pieces) == 0 {
		// Everything was dropped from the capture; time still passed.
		p.pending += gap
	}
	if fromClient {
		p.cseq += uint32(len(data))
	} else {
		p.sseq += uint32(len(data))
	}
}
