package stream

import (
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/reassembly"
)

// Closed connections.
//
// A connection closed in both directions stays in the reassembler's pool,
// so that the ACKs, FIN retransmissions and copies that trail its close are
// absorbed instead of starting a new connection. The reassembler itself
// drops it only once it has been idle for IdleTimeout (minutes), so that a
// busy capture holds minutes of finished connections: memory that grows
// with the capture's rate and length. The assembler drops each one
// closedLinger after its close instead (capture time), well after anything
// that trails it. The reassembler has no call for removing one connection;
// it does remove a closed connection that a SYN reuses, so the assembler
// hands it a SYN on the same addresses, built as bytes (like the RST of
// closeReverse), while its factory refuses to start a connection for it.

// closedLinger is how long a closed connection is kept, at most
// IdleTimeout.
const closedLinger = 10 * time.Second

// closedConn is a connection waiting to be dropped from the pool.
type closedConn struct {
	net, ports gopacket.Flow
	at         time.Time
}

// closed records that s's connection is closed in the reassembler as of
// ts.
func (a *Assembler) closed(s *tcpStream, ts time.Time) {
	if ts.IsZero() {
		ts = a.now
	}
	a.closedQ = append(a.closedQ, closedConn{net: s.netFlow, ports: s.portFlow, at: ts})
}

// evict drops from the pool the connections closed longer than
// closedLinger (capped at IdleTimeout) before now.
func (a *Assembler) evict(now time.Time) {
	linger := min(closedLinger, a.opts.IdleTimeout)
	n := 0
	for n < len(a.closedQ) && now.Sub(a.closedQ[n].at) >= linger {
		a.dropClosed(&a.closedQ[n])
		n++
	}
	if n == 0 {
		return
	}
	rest := copy(a.closedQ, a.closedQ[n:])
	clear(a.closedQ[rest:])
	a.closedQ = a.closedQ[:rest]
	if cap(a.closedQ) > 1024 && rest < cap(a.closedQ)/4 {
		a.closedQ = append([]closedConn(nil), a.closedQ...) // let a burst's backing array go
	}
}

// dropClosed hands the reassembler a SYN on c's addresses: it removes the
// closed connection it finds there (or, if a new connection took the
// addresses since, does nothing: a SYN on a synchronised half is
// dropped), and the factory starts nothing for it.
func (a *Assembler) dropClosed(c *closedConn) {
	src, dst := c.ports.Endpoints()
	var h [20]byte
	copy(h[0:2], src.Raw())
	copy(h[2:4], dst.Raw())
	h[12] = 5 << 4
	h[13] = 0x02 // SYN
	if len(src.Raw()) != 2 || len(dst.Raw()) != 2 || a.synth.DecodeFromBytes(h[:], gopacket.NilDecodeFeedback) != nil {
		return
	}
	a.evicting = true
	a.asm.AssembleWithContext(c.net, &a.synth, &ctxInfo{ci: gopacket.CaptureInfo{Timestamp: a.now}})
	a.evicting = false
}

// ReassemblyComplete keeps the connection in the pool after both halves
// closed, so that the ACKs after the last FIN do not look like a new
// connection and a SYN reusing the 4-tuple starts a fresh one; evict drops
// it later. finish dropped the parser already.
func (s *tcpStream) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	s.finish(s.last, s.reset)
	s.a.closed(s, s.last)
	return false
}
