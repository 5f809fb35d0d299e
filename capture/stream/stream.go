// Package stream reassembles TCP and parses HTTP/1.x: it takes captured
// packets and gives [capture.Exchange] values and [capture.Stats].
//
// Reassembly is gopacket's reassembly package (mid-connection starts,
// retransmissions, overlaps, out-of-order segments, bounded buffering); each
// TCP connection feeds one [http1.Conn], told the TCP sequence number of the
// bytes it is given, so that every exchange records in Exchange.Wire where
// its messages began. Copies of a packet with the same addresses (one
// socket seeing it on several interfaces) are retransmissions to the
// reassembler: they neither repeat nor lose anything. Copies with other
// addresses (both sides of a NAT) give the same exchanges twice, or, with
// Options.SkipCopies, are recognised by their initial sequence numbers,
// which no NAT rewrites, and only counted (see mirror.go).
package stream

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/filter"
	"github.com/specgate/specgate/capture/http1"
)

// Options bound the work and memory of an Assembler. Zero values take the
// defaults noted on each field.
type Options struct {
	HTTP http1.Options
	// Filter is applied in user space to every packet (the kernel applies
	// it to live captures before this); nil keeps every packet.
	Filter *filter.Expr
	// MaxBuffered bounds the out-of-order bytes buffered over all
	// connections (default 256 MiB); MaxConnBuffer per connection
	// (default 16 MiB). Past them the oldest gap is skipped and its bytes
	// are counted as lost.
	MaxBuffered   int64
	MaxConnBuffer int64
	// MaxConns bounds the connections tracked at once (default 65536);
	// connections beyond it are counted as given up.
	MaxConns int
	// GapTimeout is how long a hole in a stream is waited for before the
	// bytes after it are delivered and the hole counted as lost (default 2s).
	GapTimeout time.Duration
	// IdleTimeout closes connections that saw no packet for this long
	// (default 2 minutes).
	IdleTimeout time.Duration
	// ConnIDPrefix starts every Exchange.ConnID, so that the connections of
	// several assemblers feeding one output (one per network namespace)
	// keep distinct ids ("kind-worker/17").
	ConnIDPrefix string
	// SkipCopies parses one view of a connection seen on both sides of a
	// NAT (recognised by its handshake, see mirror.go): the other views'
	// exchanges are counted in Stats.Duplicates instead of being emitted.
	// Without it every view gives its exchanges, all with the same Wire.
	SkipCopies bool
}

const pageBytes = 1900 // the reassembly package's page size

func (o *Options) setDefaults() {
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 256 << 20
	}
	if o.MaxConnBuffer <= 0 {
		o.MaxConnBuffer = 16 << 20
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 65536
	}
	if o.GapTimeout <= 0 {
		o.GapTimeout = 2 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
}

// Assembler turns packets into exchanges. It is not safe for concurrent use.
type Assembler struct {
	opts    Options
	stats   *capture.Stats
	emit    func(*capture.Exchange)
	dec     decoder
	asm     *reassembly.Assembler
	conns   int    // connections open now
	nextID  uint64 // connection ids, in order of first packet
	now     time.Time
	lastGap time.Time

	// batch collects exchanges emitted while flushing, which visits
	// connections in map order; they are sorted before delivery so that
	// output stays deterministic.
	batching bool
	batch    []batched

	// byISN finds the connection parsed for a pair of initial sequence
	// numbers, to recognise its copies across NAT (mirror.go).
	byISN map[isnPair]*tcpStream

	// closedQ lists the closed connections still in the reassembler's
	// pool, oldest first; evicting is set while evict drops one
	// (evict.go).
	closedQ  []closedConn
	evicting bool

	// ctx is the context handed with each packet; ctxKept says the
	// reassembler may have kept it (see Packet).
	ctx     *ctxInfo
	ctxKept bool

	// A RST ends both directions of a connection, but the reassembler
	// closes only the half it arrived on; the other half is closed with a
	// synthetic RST so that the 4-tuple can carry a new connection.
	rstFrom   *tcpStream
	rstSeq    uint32
	injecting bool
	synth     layers.TCP
}

// New returns an Assembler that sends every exchange to emit and accounts
// in stats.
func New(opts Options, stats *capture.Stats, emit func(*capture.Exchange)) *Assembler {
	opts.setDefaults()
	if opts.HTTP.Decoders == nil {
		// The assembler's connections are parsed on its goroutine: they
		// can share the content decoders, which are large to make.
		opts.HTTP.Decoders = new(http1.Decoders)
	}
	a := &Assembler{opts: opts, stats: stats, emit: emit, byISN: make(map[isnPair]*tcpStream)}
	a.asm = reassembly.NewAssembler(reassembly.NewStreamPool(&factory{a: a}))
	// The reassembler checks a bound after queueing a segment and then
	// gives up pages until below it, so n allows n-1 pages at rest; zero
	// would mean no bound. Its per-connection bound applies to each
	// direction: each gets half of MaxConnBuffer.
	a.asm.MaxBufferedPagesTotal = int(opts.MaxBuffered/pageBytes) + 1
	a.asm.MaxBufferedPagesPerConnection = int(opts.MaxConnBuffer/pageBytes/2) + 1
	return a
}

// ctxInfo carries a packet's capture info through reassembly.
type ctxInfo struct{ ci gopacket.CaptureInfo }

func (c *ctxInfo) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// Packet decodes and reassembles one frame.
func (a *Assembler) Packet(p capture.Packet) {
	a.stats.Packets++
	a.stats.Bytes += uint64(len(p.Data))
	flow, res := a.dec.decode(p)
	switch res {
	case resIgnored:
		a.stats.Ignored++
		return
	case resFragment:
		a.stats.Fragments++
		return
	case resError:
		a.stats.DecodeErrors++
		return
	}
	if a.opts.Filter != nil && !a.opts.Filter.Match(a.dec.filterMeta()) {
		a.stats.Unmatched++
		return
	}
	if p.Timestamp.After(a.now) {
		a.now = p.Timestamp
	}
	// The reassembler keeps a packet's context with the pages of a
	// segment it queues, and reads the capture time from it later; a
	// segment delivered at once leaves nothing behind. So one context is
	// reused until Accept finds that a segment may be queued (ctxKept),
	// which then keeps it: one allocation per queued segment rather than
	// per packet.
	if a.ctx == nil || a.ctxKept {
		a.ctx, a.ctxKept = new(ctxInfo), false
	}
	ac := a.ctx
	ac.ci = gopacket.CaptureInfo{Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: p.Length, InterfaceIndex: p.Interface}
	a.asm.AssembleWithContext(flow, &a.dec.tcp, ac)
	if a.rstFrom != nil {
		a.closeReverse(flow, ac)
	}
	if a.lastGap.IsZero() {
		a.lastGap = a.now
	} else if a.now.Sub(a.lastGap) >= time.Second {
		a.Tick(a.now)
	}
}

// closeReverse feeds the reassembler a RST in the direction opposite to
// the one just seen, at the next sequence number of that direction.
func (a *Assembler) closeReverse(flow gopacket.Flow, ac reassembly.AssemblerContext) {
	a.rstFrom = nil
	// The reassembler keys on the ports as decoded, so the segment is
	// built as bytes and decoded: a 20-byte header with only RST set.
	var h [20]byte
	binary.BigEndian.PutUint16(h[0:], uint16(a.dec.tcp.DstPort))
	binary.BigEndian.PutUint16(h[2:], uint16(a.dec.tcp.SrcPort))
	binary.BigEndian.PutUint32(h[4:], a.rstSeq)
	h[12] = 5 << 4
	h[13] = 0x04 // RST
	if a.synth.DecodeFromBytes(h[:], gopacket.NilDecodeFeedback) != nil {
		return
	}
	a.injecting = true
	a.asm.AssembleWithContext(flow.Reverse(), &a.synth, ac)
	a.injecting = false
}

// Tick delivers data waiting behind holes older than the gap timeout and
// closes connections idle longer than the idle timeout, as of now (packet
// time for files, wall time for live captures).
func (a *Assembler) Tick(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	a.lastGap = a.now
	a.flush(func() {
		a.asm.FlushWithOptions(reassembly.FlushOptions{
			T:  a.now.Add(-a.opts.GapTimeout),
			TC: a.now.Add(-a.opts.IdleTimeout),
		})
	})
	a.evict(a.now)
}

// Close flushes every connection: the capture is over.
func (a *Assembler) Close() {
	a.flush(func() { a.asm.FlushAll() })
}

// flush runs f with emitted exchanges batched, then delivers them in a
// deterministic order.
func (a *Assembler) flush(f func()) {
	a.batching = true
	f()
	a.batching = false
	b := a.batch
	a.batch = nil
	sort.SliceStable(b, func(i, j int) bool {
		x, y := b[i].e, b[j].e
		if !x.Timing.RequestStart.Equal(y.Timing.RequestStart) {
			return x.Timing.RequestStart.Before(y.Timing.RequestStart)
		}
		if x.ConnID != y.ConnID {
			return connLess(x.ConnID, y.ConnID)
		}
		return x.Seq < y.Seq
	})
	for _, x := range b {
		a.deliver(x.e, x.copies)
	}
}

// batched is an exchange held for sorting, with the number of copies of
// its connection that were not parsed.
type batched struct {
	e      *capture.Exchange
	copies int
}

func connLess(x, y string) bool {
	if len(x) != len(y) {
		return len(x) < len(y)
	}
	return x < y
}

// deliver hands e on; copies counts the copies of it that other views of
// its connection would have given.
func (a *Assembler) deliver(e *capture.Exchange, copies int) {
	a.stats.Exchanges++
	a.stats.Duplicates += uint64(copies)
	a.emit(e)
}

// onExchange receives the exchanges of s's parser.
func (s *tcpStream) onExchange(e *capture.Exchange) {
	a := s.a
	if a.batching {
		a.batch = append(a.batch, batched{e, s.copies})
		return
	}
	a.deliver(e, s.copies)
}

// factory makes one tcpStream per connection.
type factory struct{ a *Assembler }

func (f *factory) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	a := f.a
	if a.evicting {
		return nil // the SYN that drops a closed connection starts nothing
	}
	src, dst := endpoints(netFlow, tcpFlow)
	if a.conns >= a.opts.MaxConns {
		a.stats.Server(dst.String()).GaveUp++
		return refused{}
	}
	a.conns++
	a.nextID++
	s := &tcpStream{a: a, netFlow: netFlow, portFlow: tcpFlow}
	s.conn = http1.NewConn(http1.Info{A: src, B: dst, ID: a.opts.ConnIDPrefix + strconv.FormatUint(a.nextID, 10)}, a.opts.HTTP, s.onExchange)
	return s
}

func endpoints(netFlow, tcpFlow gopacket.Flow) (netip.AddrPort, netip.AddrPort) {
	ns, nd := netFlow.Endpoints()
	ts, td := tcpFlow.Endpoints()
	sa, _ := netip.AddrFromSlice(ns.Raw())
	da, _ := netip.AddrFromSlice(nd.Raw())
	return netip.AddrPortFrom(sa, port(ts.Raw())), netip.AddrPortFrom(da, port(td.Raw()))
}

func port(b []byte) uint16 {
	if len(b) != 2 {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// tcpStream adapts one reassembled connection to an http1.Conn.
type tcpStream struct {
	a    *Assembler
	conn *http1.Conn
	// the connection's addresses, as the reassembler keys it
	netFlow, portFlow gopacket.Flow
	last              time.Time
	reset             bool
	closed            bool
	// midstream marks directions whose first bytes came without a SYN: the
	// capture may have started inside a message.
	midstream [2]bool
	// live is set once the connection showed a SYN or carried data; the
	// stray ACKs after a close make connections that are never live.
	live bool
	// Per direction: seen once a packet went that way; base is the
	// sequence number of the first data byte, dataEnd the one after the
	// last data byte seen, fin whether a FIN was seen; delivered counts the
	// bytes handed to the parser or reported lost. What lies between base
	// and dataEnd but was not delivered is reported as lost at the end.
	seen, fin, ended [2]bool
	base, dataEnd    [2]uint32
	delivered        [2]int64

	// Copies across NAT (mirror.go): the initial sequence numbers seen;
	// whether this stream holds its pair's entry in byISN; copies counts
	// the copies found of this connection, and mirror is set on a copy,
	// which is not parsed (conn is nil).
	isn        isnSeen
	registered bool
	copies     int
	mirror     bool
}

func dirOf(d reassembly.TCPFlowDirection) http1.Dir {
	if d == reassembly.TCPDirClientToServer {
		return http1.DirAB
	}
	return http1.DirBA
}

func (s *tcpStream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if s.a.evicting {
		return false // a new connection took the addresses: leave it be
	}
	if s.a.injecting {
		*start = nextSeq == -1
		return true
	}
	if s.closed {
		return false
	}
	d := dirOf(dir)
	if tcp.SYN || len(tcp.Payload) > 0 {
		s.live = true
	}
	dataStart := tcp.Seq
	if tcp.SYN {
		dataStart++
	}
	dataEnd := dataStart + uint32(len(tcp.Payload))
	if !s.seen[d] {
		s.seen[d], s.base[d], s.dataEnd[d] = true, dataStart, dataStart
	}
	if reassembly.Sequence(s.dataEnd[d]).Difference(reassembly.Sequence(dataEnd)) > 0 {
		s.dataEnd[d] = dataEnd
	}
	s.fin[d] = s.fin[d] || tcp.FIN
	if ci.Timestamp.After(s.last) {
		s.last = ci.Timestamp
	}
	if tcp.SYN && !s.mirror {
		d := dirOf(dir)
		if tcp.ACK { // SYN-ACK: the other side is the client
			d = dirOf(dir.Reverse())
		}
		s.conn.SetClient(d)
		s.handshake(tcp, ci.Timestamp)
	}
	if nextSeq == -1 && !tcp.SYN {
		// No SYN seen in this direction: start where the capture starts.
		*start = true
		s.midstream[dirOf(dir)] = true
	}
	if len(tcp.Payload) > 0 && nextSeq != -1 && reassembly.Sequence(tcp.Seq) != nextSeq {
		// not the next bytes: the reassembler may queue the segment with
		// its context (a retransmission is not queued; the rule need only
		// not miss a queued one)
		s.a.ctxKept = true
	}
	if tcp.RST && (nextSeq == -1 || reassembly.Sequence(tcp.Seq) == nextSeq) {
		s.reset = true
		s.a.rstFrom = s
		// the other direction's next sequence number: after its data, and
		// after its FIN if it sent one
		s.a.rstSeq = s.dataEnd[d^1]
		if s.fin[d^1] {
			s.a.rstSeq++
		}
	}
	return true
}

func (s *tcpStream) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	if s.closed {
		return
	}
	dir, _, end, skip := sg.Info()
	if s.mirror {
		// a copy: the reassembler still follows it to its end, unparsed
		if end && s.reset {
			s.finish(s.last, true)
		}
		return
	}
	d := dirOf(dir)
	// the time of the first packet delivered
	ts := sg.CaptureInfo(0).Timestamp
	if ts.IsZero() && ac != nil {
		ts = ac.GetCaptureInfo().Timestamp
	}
	if ts.IsZero() {
		ts = s.last
	}
	if s.midstream[d] {
		s.midstream[d] = false
		if skip == 0 {
			skip = -1
		}
	}
	if skip != 0 {
		s.conn.Lost(d, skip, ts)
		if skip > 0 {
			s.delivered[d] += int64(skip)
		}
	}
	if n, _ := sg.Lengths(); n > 0 {
		// the sequence number of the first byte delivered: Wire in the
		// exchanges is where their messages begin in the TCP stream
		s.conn.SetSeq(d, s.base[d]+uint32(s.delivered[d]))
		s.feed(d, sg, n, ts)
		s.delivered[d] += int64(n)
	}
	if end {
		if s.reset {
			s.finish(ts, true)
			return
		}
		s.reportMissing(d, ts)
		s.ended[d] = true
		s.conn.End(d, ts)
	}
}

// feed hands n reassembled bytes to the parser. Bytes that waited behind
// a hole arrive together; each run of them is stamped with the time of the
// packet that carried it, so that timing (and pairing after a gap) stays
// true to the capture.
func (s *tcpStream) feed(d http1.Dir, sg reassembly.ScatterGather, n int, ts time.Time) {
	data := sg.Fetch(n)
	first := sg.CaptureInfo(0).Timestamp
	last := sg.CaptureInfo(n - 1).Timestamp
	if first.Equal(last) {
		if first.IsZero() {
			first = ts
		}
		s.conn.Data(d, data, first)
		return
	}
	for off := 0; off < n; {
		t := sg.CaptureInfo(off).Timestamp
		// the run ends at the first offset with another timestamp
		lo, hi := off+1, n
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if sg.CaptureInfo(mid).Timestamp.Equal(t) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		s.conn.Data(d, data[off:lo], t)
		off = lo
	}
}

// reportMissing tells the parser about bytes of direction d that were seen
// in the capture but never delivered in order (a hole before a FIN or a
// RST), so that they are counted as lost rather than vanish.
func (s *tcpStream) reportMissing(d http1.Dir, ts time.Time) {
	if !s.seen[d] || s.ended[d] {
		return
	}
	want := int64(reassembly.Sequence(s.base[d]).Difference(reassembly.Sequence(s.dataEnd[d])))
	if missing := want - s.delivered[d]; missing > 0 {
		s.conn.Lost(d, int(missing), ts)
		s.delivered[d] += missing
	}
}

func (s *tcpStream) finish(ts time.Time, reset bool) {
	if s.closed {
		return
	}
	s.closed = true
	s.a.conns--
	s.unregister()
	if s.mirror {
		return
	}
	s.reportMissing(http1.DirAB, ts)
	s.reportMissing(http1.DirBA, ts)
	s.conn.Close(ts, reset)
	if s.live {
		cs := s.conn.Stats()
		s.a.stats.Server(cs.Server).Add(cs)
	}
	// The reassembler keeps closed connections until they go idle; drop
	// the parser and its buffers now.
	s.conn = nil
}

// refused is the stream of a connection over the MaxConns bound.
type refused struct{}

func (refused) Accept(*layers.TCP, gopacket.CaptureInfo, reassembly.TCPFlowDirection, reassembly.Sequence, *bool, reassembly.AssemblerContext) bool {
	return false
}
func (refused) ReassembledSG(reassembly.ScatterGather, reassembly.AssemblerContext) {}
func (refused) ReassemblyComplete(reassembly.AssemblerContext) bool                 { return true }
