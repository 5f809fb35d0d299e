// Package pcapgen writes realistic TCP/HTTP traffic as pcap files for tests
// and benchmarks: it takes connections and their HTTP exchanges (or makes a
// mix of them) and gives the packets a capture of that traffic would hold.
package pcapgen

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Options shape the capture a Writer produces.
type Options struct {
	// LinkType is the frames' link layer: layers.LinkTypeEthernet (the
	// zero value means Ethernet too), LinkTypeLinuxSLL, LinkTypeLinuxSLL2,
	// LinkTypeRaw or LinkTypeLoop.
	LinkType layers.LinkType
	// MSS is the most payload bytes per segment; 0 means 1460.
	MSS int
	// Seed makes the output deterministic: the same seed, options and
	// connections give the same bytes.
	Seed int64
	// Faults, each a probability in [0,1] applied per data segment and
	// drawn from Seed. Reorder swaps a segment with the next one of its
	// burst; Duplicate writes it twice; Overlap adds a retransmission that
	// spans the end of the previous segment and the start of this one
	// (with the same bytes); Drop leaves it out of the capture (the peer
	// still received it: later ACKs cover it).
	Reorder, Duplicate, Overlap, Drop float64
	// StartMidConnection begins each connection's capture after the
	// handshake and the first request: the first packets seen carry the
	// first response.
	StartMidConnection bool
	// Nanosecond writes a pcap file with nanosecond timestamps.
	Nanosecond bool
}

// Conn is one TCP connection and the HTTP exchanges it carries.
type Conn struct {
	Client, Server netip.AddrPort
	Exchanges      []Exchange
	// Pipelined sends every request before the first response.
	Pipelined bool
	// CloseWith ends the connection: "fin" (the default, also for ""),
	// "rst", or "none" (the capture ends with the connection open).
	CloseWith string
}

// Exchange is one request and its response, as exact wire bytes.
type Exchange struct {
	Request, Response []byte
	// Delay is the server's time between the request's last byte and the
	// response's first.
	Delay time.Duration
}

// snaplen is the snap length in the file header.
const snaplen = 262144

// baseTime is the time of the first packet of every capture.
func baseTime() time.Time { return time.Date(2025, time.March, 3, 9, 30, 0, 0, time.UTC) }

// Writer writes connections as packets of a pcap file.
type Writer struct {
	o     Options
	bw    *bufio.Writer
	pw    *pcapgo.Writer
	rng   *rand.Rand // timings and sequence numbers
	fault *rand.Rand // fault decisions, apart so that faults keep timings
	now   time.Time
	frame []byte
	err   error
}

// NewWriter writes the pcap file header to w and returns a Writer. Close
// flushes it; w itself is not closed.
func NewWriter(w io.Writer, o Options) (*Writer, error) {
	if o.LinkType == 0 {
		o.LinkType = layers.LinkTypeEthernet
	}
	switch o.LinkType {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, layers.LinkTypeLoop:
	default:
		return nil, fmt.Errorf("pcapgen: link type %d is not one the generator writes", o.LinkType)
	}
	if o.MSS == 0 {
		o.MSS = 1460
	}
	if o.MSS < 1 || o.MSS > 65000 {
		return nil, fmt.Errorf("pcapgen: mss %d out of range 1..65000", o.MSS)
	}
	for _, p := range []float64{o.Reorder, o.Duplicate, o.Overlap, o.Drop} {
		if !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("pcapgen: fault probability %v out of range [0,1]", p)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var pw *pcapgo.Writer
	if o.Nanosecond {
		pw = pcapgo.NewWriterNanos(bw)
	} else {
		pw = pcapgo.NewWriter(bw)
	}
	if err := pw.WriteFileHeader(snaplen, o.LinkType); err != nil {
		return nil, fmt.Errorf("pcapgen: writing the file header: %w", err)
	}
	seed := uint64(o.Seed)
	return &Writer{
		o:     o,
		bw:    bw,
		pw:    pw,
		rng:   rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		fault: rand.New(rand.NewPCG(seed, 0xbf58476d1ce4e5b9)),
		now:   baseTime(),
		frame: make([]byte, 0, 128+65536),
	}, nil
}

// WriteConn writes one connection: handshake, data segmented by MSS with
// ACKs, and its close.
func (w *Writer) WriteConn(c Conn) error {
	return w.WriteInterleaved([]Conn{c})
}

// WriteInterleaved writes several connections at once: they start a little
// apart and their packets interleave in time, as on a busy host.
func (w *Writer) WriteInterleaved(cs []Conn) error {
	if w.err != nil {
		return w.err
	}
	q := make(connQueue, 0, len(cs))
	start := w.now
	for i := range cs {
		st, err := w.plan(&cs[i])
		if err != nil {
			return fmt.Errorf("pcapgen: connection %d (%s → %s): %w", i, cs[i].Client, cs[i].Server, err)
		}
		if i > 0 {
			start = start.Add(time.Duration(w.rng.IntN(3000)) * time.Microsecond)
		}
		st.id = i
		if len(st.segs) == 0 {
			continue
		}
		st.at = start.Add(st.segs[0].gap)
		q = append(q, st)
	}
	heap.Init(&q)
	for len(q) > 0 {
		st := q[0]
		s := &st.segs[st.next]
		if err := w.writeSegment(st, s, st.at); err != nil {
			w.err = fmt.Errorf("pcapgen: %w", err)
			return w.err
		}
		if st.at.After(w.now) {
			w.now = st.at
		}
		st.next++
		if st.next == len(st.segs) {
			heap.Pop(&q)
			continue
		}
		st.at = st.at.Add(st.segs[st.next].gap)
		heap.Fix(&q, 0)
	}
	w.now = w.now.Add(time.Millisecond)
	return nil
}

// Close flushes the buffered packets.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("pcapgen: %w", err)
		return w.err
	}
	w.err = errors.New("pcapgen: writer closed")
	return nil
}

// writeSegment serialises s and writes it with timestamp at.
func (w *Writer) writeSegment(st *connState, s *segment, at time.Time) error {
	w.frame = st.frame(w.frame[:0], w.o.LinkType, s)
	ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(w.frame), Length: len(w.frame)}
	return w.pw.WritePacket(ci, w.frame)
}

// connQueue orders connections by the time of their next packet.
type connQueue []*connState

func (q connQueue) Len() int { return len(q) }
func (q connQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].id < q[j].id
}
func (q connQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *connQueue) Push(x any)   { *q = append(*q, x.(*connState)) }
func (q *connQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
