// Package filter parses capture filters written like pcap-filter(7): "tcp port 80 and host 10.0.0.1".
// It gives an [Expr] that compiles to classic BPF for live sockets and matches decoded packets in user space.
//
// The language is the common subset of what users type after tcpdump: host,
// net, port and portrange primitives with src/dst qualifiers, the protocols
// ip, ip6, tcp, udp, sctp, icmp and icmp6, and and/or/not with parentheses.
// Each primitive means what libpcap makes of it, so a filter keeps the same
// packets here as in tcpdump; [Parse] lists the few differences.
package filter

import (
	"net/netip"
	"strconv"
	"strings"
)

// Expr is a parsed filter expression. It is immutable and safe for
// concurrent use. A nil *Expr is the empty filter that matches every packet.
type Expr struct {
	root *node
}

// Meta is what user space knows about a decoded packet, read the way the
// compiled BPF program reads it (see [Meta.DecodeNetwork]).
type Meta struct {
	// Version is the IP version, 4 or 6; packets of any other version
	// match only negations ("not tcp").
	Version  uint8
	Src, Dst netip.Addr
	// Proto is the IPv4 protocol, or the IPv6 next header: 6 TCP, 17 UDP,
	// 1 ICMP, 58 ICMPv6, 132 SCTP. As in libpcap, an IPv6 Fragment header
	// (44) is looked through once: Proto is the header it announces.
	Proto            uint8
	SrcPort, DstPort uint16
	// HasPorts reports that a TCP, UDP or SCTP header with its ports
	// follows the IP header: for IPv4 when the fragment offset is 0, for
	// IPv6 only when the next header is that protocol directly (libpcap
	// walks no extension headers for ports).
	HasPorts bool
}

// node kinds.
type kind uint8

const (
	kAnd kind = iota
	kOr
	kNot
	kVersion   // ip, ip6
	kProto     // tcp, udp, sctp, icmp, icmp6
	kHost      // [src|dst] host ADDR
	kNet       // [src|dst] net PREFIX
	kPort      // [tcp|udp|sctp] [src|dst] port N
	kPortRange // [tcp|udp|sctp] [src|dst] portrange N-M
)

// dir is the direction qualifier of an address or port primitive.
type dir uint8

const (
	dirAny  dir = iota // src or dst (the default)
	dirSrc             // src
	dirDst             // dst
	dirBoth            // src and dst
)

// IP protocol numbers the language names.
const (
	protoICMP     = 1
	protoTCP      = 6
	protoUDP      = 17
	protoFragment = 44
	protoICMPv6   = 58
	protoSCTP     = 132
)

// node is one element of the parsed expression tree. And and Or are n-ary
// (nested operators of the same kind are flattened); Not has one kid.
type node struct {
	kind kind
	kids []*node
	// version is the IP version a kVersion or kProto node requires
	// (0: either).
	version uint8
	// proto is the protocol of kProto, or the one a port primitive is
	// restricted to (0: TCP, UDP and SCTP).
	proto  uint8
	dir    dir
	addr   netip.Addr   // kHost
	prefix netip.Prefix // kNet
	lo, hi uint16       // kPort (lo == hi) and kPortRange
}

// String returns the canonical form of e: every qualifier spelled out, and/or
// groups of different operators parenthesised. Parse(e.String()) gives an
// equivalent expression; a nil e gives "".
func (e *Expr) String() string {
	if e == nil || e.root == nil {
		return ""
	}
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case kAnd, kOr:
		op := " and "
		if n.kind == kOr {
			op = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(op)
			}
			k.writeOperand(b)
		}
	case kNot:
		b.WriteString("not ")
		n.kids[0].writeOperand(b)
	case kVersion:
		if n.version == 4 {
			b.WriteString("ip")
		} else {
			b.WriteString("ip6")
		}
	case kProto:
		b.WriteString(protoName(n.proto))
	case kHost:
		b.WriteString(dirPrefix(n.dir))
		b.WriteString("host ")
		b.WriteString(n.addr.String())
	case kNet:
		b.WriteString(dirPrefix(n.dir))
		b.WriteString("net ")
		b.WriteString(n.prefix.String())
	case kPort, kPortRange:
		if n.proto != 0 {
			b.WriteString(protoName(n.proto))
			b.WriteByte(' ')
		}
		b.WriteString(dirPrefix(n.dir))
		if n.kind == kPort {
			b.WriteString("port ")
			b.WriteString(strconv.Itoa(int(n.lo)))
		} else {
			b.WriteString("portrange ")
			b.WriteString(strconv.Itoa(int(n.lo)))
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(n.hi)))
		}
	}
}

// writeOperand writes n as an operand of and, or or not: and/or groups
// are parenthesised, everything else binds tighter already.
func (n *node) writeOperand(b *strings.Builder) {
	if n.kind == kAnd || n.kind == kOr {
		b.WriteByte('(')
		n.write(b)
		b.WriteByte(')')
		return
	}
	n.write(b)
}

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoSCTP:
		return "sctp"
	case protoICMP:
		return "icmp"
	case protoICMPv6:
		return "icmp6"
	}
	return "proto" + strconv.Itoa(int(p))
}

func dirPrefix(d dir) string {
	switch d {
	case dirSrc:
		return "src "
	case dirDst:
		return "dst "
	case dirBoth:
		return "src and dst "
	}
	return ""
}

// Match reports whether a packet described by m passes e. A nil e matches
// every packet; a nil m is no packet, which only negations match. Match
// does not allocate.
//
// Match and the program from CompileNetwork agree on every whole IP packet.
// On a packet cut short before bytes a primitive reads, the program gives
// up and rejects it, as libpcap's do, while Match decides on what m holds.
func (e *Expr) Match(m *Meta) bool {
	if e == nil || e.root == nil {
		return true
	}
	var mm Meta
	if m != nil {
		mm = *m
	}
	// Compare addresses in the packet's own family, whatever form the
	// caller built them in (a 4-in-6 form for IPv4, a 4-byte form for an
	// IPv6 packet carrying a mapped address).
	switch mm.Version {
	case 4:
		mm.Src, mm.Dst = mm.Src.Unmap(), mm.Dst.Unmap()
	case 6:
		if mm.Src.Is4() {
			mm.Src = netip.AddrFrom16(mm.Src.As16())
		}
		if mm.Dst.Is4() {
			mm.Dst = netip.AddrFrom16(mm.Dst.As16())
		}
	}
	return e.root.match(&mm)
}

func (n *node) match(m *Meta) bool {
	switch n.kind {
	case kAnd:
		for _, k := range n.kids {
			if !k.match(m) {
				return false
			}
		}
		return true
	case kOr:
		for _, k := range n.kids {
			if k.match(m) {
				return true
			}
		}
		return false
	case kNot:
		return !n.kids[0].match(m)
	case kVersion:
		return m.Version == n.version
	case kProto:
		return versionOK(n.version, m.Version) && m.Proto == n.proto
	case kHost:
		if m.Version != family(n.addr) {
			return false
		}
		return dirMatch(n.dir, m.Src == n.addr, m.Dst == n.addr)
	case kNet:
		if m.Version != family(n.prefix.Addr()) {
			return false
		}
		return dirMatch(n.dir, n.prefix.Contains(m.Src), n.prefix.Contains(m.Dst))
	case kPort, kPortRange:
		if !versionOK(0, m.Version) || !m.HasPorts {
			return false
		}
		if n.proto != 0 {
			if m.Proto != n.proto {
				return false
			}
		} else if !isPortProto(m.Proto) {
			return false
		}
		return dirMatch(n.dir,
			n.lo <= m.SrcPort && m.SrcPort <= n.hi,
			n.lo <= m.DstPort && m.DstPort <= n.hi)
	}
	return false
}

// versionOK reports whether a packet of IP version got satisfies a
// requirement of want (0: IPv4 or IPv6).
func versionOK(want, got uint8) bool {
	if want == 0 {
		return got == 4 || got == 6
	}
	return got == want
}

// family returns the IP version of a filter address.
func family(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

func dirMatch(d dir, src, dst bool) bool {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return src && dst
	}
	return src || dst
}

// isPortProto reports whether p is a protocol whose header starts with
// source and destination ports that "port" looks at.
func isPortProto(p uint8) bool {
	return p == protoTCP || p == protoUDP || p == protoSCTP
}
