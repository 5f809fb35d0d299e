package stream

import (
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Copies of one connection across NAT.
//
// Inside a node a connection to a Service is seen before and after the
// DNAT (and a NodePort's after the masquerade too): two views with other
// addresses, so the reassembler tracks them as two connections. Each view
// is whole: NAT happens between interfaces, and every interface sees both
// directions of what crosses it with the same addresses. Parsing both only
// for source.Dedup to drop one exchange of each pair doubles the work of a
// capture in a node, so the copies are recognised as soon as their
// handshake completes: NAT rewrites addresses and ports, never sequence
// numbers, and the initial sequence numbers that the two ends drew (64
// random bits between them) name the connection. The view whose handshake
// completes first is parsed; a later one with the same pair is a mirror:
// the reassembler still follows it to its end, but its bytes are not
// parsed, and each exchange of the parsed view counts its mirrors in
// Stats.Duplicates, as Dedup would have. A view whose handshake was not
// seen (the capture started later) is parsed, and Dedup drops its copies
// as before. The copies of a packet are taken within microseconds of each
// other; a view whose handshake completes more than copyWindow (capture
// time) after the registered one is not taken for a copy, so that
// generated traffic that reuses sequence numbers is parsed whole.
//
// Options.SkipCopies turns this on; source, which deduplicates exchanges
// anyway, always does.

// copyWindow bounds the time between the handshakes of two views of one
// connection.
const copyWindow = time.Second

// isnPair is the initial sequence numbers of a connection's client and
// server.
type isnPair struct{ client, server uint32 }

// isnSeen collects the handshake of one view.
type isnSeen struct {
	syn, synAck   bool
	client, serve uint32
	done          bool
	at            time.Time // when the handshake completed
}

// handshake notes a SYN (from the client) or SYN-ACK (from the server)
// seen, and once both are known, registers the connection
// or finds that it is a copy of one registered.
func (s *tcpStream) handshake(tcp *layers.TCP, ts time.Time) {
	h := &s.isn
	if h.done || !s.a.opts.SkipCopies {
		return
	}
	if tcp.ACK {
		h.synAck, h.serve = true, tcp.Seq
	} else {
		h.syn, h.client = true, tcp.Seq
	}
	if !h.syn || !h.synAck {
		return
	}
	h.done, h.at = true, ts
	key := isnPair{client: h.client, server: h.serve}
	a := s.a
	if p, ok := a.byISN[key]; ok && p != s && !p.closed && ts.Sub(p.isn.at).Abs() <= copyWindow {
		s.mirror = true
		s.conn = nil
		p.copies++
		return
	}
	a.byISN[key] = s
	s.registered = true
}

// unregister removes s's entry when the stream ends.
func (s *tcpStream) unregister() {
	if !s.registered {
		return
	}
	s.registered = false
	key := isnPair{client: s.isn.client, server: s.isn.serve}
	if s.a.byISN[key] == s {
		delete(s.a.byISN, key)
	}
}
