package filter

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Pools that random packets and random expressions both draw from, so
// that primitives match often. Each holds near misses as well.
var (
	poolV4 = []string{"10.0.0.1", "10.0.0.2", "10.0.1.7", "10.1.2.3", "192.168.1.10", "192.168.2.3", "172.16.0.1", "127.0.0.1", "8.8.8.8"}
	poolV6 = []string{"2001:db8::1", "2001:db8::2", "2001:db8:1::5", "2001:db9::1", "fe80::1", "::1", "::ffff:10.0.0.1"}
	// poolPorts holds the numbers the expressions use and neighbours of
	// the range bounds.
	poolPorts = []uint16{0, 22, 53, 79, 80, 81, 123, 443, 1024, 5432, 7999, 8000, 8080, 8100, 8101, 9000, 65535}
)

// genPacket builds one random packet starting at its IP header, as real
// bytes serialised by gopacket: IPv4 with and without options, first and
// later fragments, IPv6 plain, with a Fragment or a Hop-by-Hop header; TCP,
// UDP, SCTP, ICMP, ICMPv6 and a protocol without ports.
func genPacket(t testing.TB, r *rand.Rand) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	payload := gopacket.Payload(randBytes(r, r.IntN(24)))
	var ls []gopacket.SerializableLayer
	if r.IntN(10) < 6 {
		ip := &layers.IPv4{
			Version: 4, TTL: 64, Id: uint16(r.Uint32()),
			SrcIP: pickIP(r, poolV4), DstIP: pickIP(r, poolV4),
		}
		if r.IntN(10) < 3 {
			// Router Alert, then NOPs up to a random length.
			ip.Options = append(ip.Options, layers.IPv4Option{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}})
			for range r.IntN(9) {
				ip.Options = append(ip.Options, layers.IPv4Option{OptionType: 1, OptionLength: 1})
			}
		}
		ip.Protocol = pickProto(r, layers.IPProtocolICMPv4)
		later := false
		switch r.IntN(10) {
		case 0, 1: // first fragment
			ip.Flags = layers.IPv4MoreFragments
		case 2, 3: // a later fragment, with or without more after it
			later = true
			ip.FragOffset = uint16(1 + r.IntN(200))
			if r.IntN(2) == 0 {
				ip.Flags = layers.IPv4MoreFragments
			}
		}
		ls = append(ls, ip)
		if later {
			ls = append(ls, gopacket.Payload(randBytes(r, 8+r.IntN(32))))
		} else {
			ls = append(ls, transport(r, ip.Protocol, ip)...)
		}
	} else {
		ip := &layers.IPv6{
			Version: 6, HopLimit: 64,
			SrcIP: pickIP(r, poolV6), DstIP: pickIP(r, poolV6),
		}
		proto := pickProto(r, layers.IPProtocolICMPv6)
		ls = append(ls, ip)
		switch r.IntN(10) {
		case 0, 1: // Fragment header
			ip.NextHeader = layers.IPProtocolIPv6Fragment
			fr := &layers.IPv6Fragment{NextHeader: proto, Identification: r.Uint32()}
			ls = append(ls, fr)
			if r.IntN(2) == 0 {
				fr.MoreFragments = true
				ls = append(ls, transport(r, proto, ip)...)
			} else {
				fr.FragmentOffset = uint16(1 + r.IntN(200))
				ls = append(ls, gopacket.Payload(randBytes(r, 8+r.IntN(32))))
			}
		case 2: // Hop-by-Hop header
			ip.HopByHop = &layers.IPv6HopByHop{
				Options: []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}},
			}
			ip.HopByHop.NextHeader = proto
			ls = append(ls, transport(r, proto, ip)...)
		default:
			ip.NextHeader = proto
			ls = append(ls, transport(r, proto, ip)...)
		}
	}
	ls = append(ls, payload)
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// genNonIP returns bytes that are not an IPv4 or IPv6 packet.
func genNonIP(r *rand.Rand) []byte {
	b := randBytes(r, 20+r.IntN(40))
	b[0] = byte([]int{0, 1, 5, 7, 15}[r.IntN(5)])<<4 | b[0]&0x0f
	return b
}

func pickIP(r *rand.Rand, pool []string) net.IP {
	a := netip.MustParseAddr(pool[r.IntN(len(pool))])
	return net.IP(a.AsSlice())
}

func pickPort(r *rand.Rand) uint16 {
	if r.IntN(5) == 0 {
		return uint16(r.Uint32())
	}
	return poolPorts[r.IntN(len(poolPorts))]
}

// pickProto picks a transport; icmp is the ICMP of the packet's IP
// version, but now and then the other one turns up.
func pickProto(r *rand.Rand, icmp layers.IPProtocol) layers.IPProtocol {
	switch n := r.IntN(20); {
	case n < 7:
		return layers.IPProtocolTCP
	case n < 13:
		return layers.IPProtocolUDP
	case n < 15:
		return layers.IPProtocolSCTP
	case n < 17:
		return icmp
	case n < 18:
		if icmp == layers.IPProtocolICMPv4 {
			return layers.IPProtocolICMPv6
		}
		return layers.IPProtocolICMPv4
	}
	return layers.IPProtocolGRE
}

type checksummer interface {
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

// transport returns the layer of proto with random ports and fields.
func transport(r *rand.Rand, proto layers.IPProtocol, ip gopacket.NetworkLayer) []gopacket.SerializableLayer {
	var l gopacket.SerializableLayer
	switch proto {
	case layers.IPProtocolTCP:
		l = &layers.TCP{SrcPort: layers.TCPPort(pickPort(r)), DstPort: layers.TCPPort(pickPort(r)),
			Seq: r.Uint32(), ACK: r.IntN(2) == 0, SYN: r.IntN(4) == 0, Window: 512}
	case layers.IPProtocolUDP:
		l = &layers.UDP{SrcPort: layers.UDPPort(pickPort(r)), DstPort: layers.UDPPort(pickPort(r))}
	case layers.IPProtocolSCTP:
		l = &layers.SCTP{SrcPort: layers.SCTPPort(pickPort(r)), DstPort: layers.SCTPPort(pickPort(r)), VerificationTag: r.Uint32()}
	case layers.IPProtocolICMPv4:
		l = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: uint16(r.Uint32()), Seq: 1}
	case layers.IPProtocolICMPv6:
		l = &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
	default:
		return []gopacket.SerializableLayer{gopacket.Payload(randBytes(r, 4+r.IntN(16)))}
	}
	if c, ok := l.(checksummer); ok {
		_ = c.SetNetworkLayerForChecksum(ip)
	}
	return []gopacket.SerializableLayer{l}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// gopacketMeta decodes a packet with gopacket's layers, independently of
// Meta.DecodeNetwork, following libpcap's reading rules: the IPv4 protocol
// field and ports of the fragment at offset 0; the IPv6 next header (a
// Fragment header looked through for the protocol), ports only when the
// transport header follows the fixed header directly.
func gopacketMeta(t testing.TB, data []byte) (Meta, bool) {
	t.Helper()
	var m Meta
	if len(data) == 0 {
		return m, false
	}
	switch data[0] >> 4 {
	case 4:
		var ip layers.IPv4
		if err := ip.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("decode IPv4: %v", err)
		}
		m.Version = 4
		m.Src = addrOf(t, ip.SrcIP)
		m.Dst = addrOf(t, ip.DstIP)
		m.Proto = uint8(ip.Protocol)
		if ip.FragOffset == 0 {
			m.SrcPort, m.DstPort, m.HasPorts = ports(t, ip.Protocol, ip.Payload)
		}
	case 6:
		var ip layers.IPv6
		if err := ip.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("decode IPv6: %v", err)
		}
		m.Version = 6
		m.Src = addrOf(t, ip.SrcIP)
		m.Dst = addrOf(t, ip.DstIP)
		m.Proto = uint8(ip.NextHeader)
		switch {
		case ip.NextHeader == layers.IPProtocolIPv6Fragment:
			var fr layers.IPv6Fragment
			if err := fr.DecodeFromBytes(ip.Payload, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("decode IPv6 fragment: %v", err)
			}
			m.Proto = uint8(fr.NextHeader)
		case ip.HopByHop == nil:
			m.SrcPort, m.DstPort, m.HasPorts = ports(t, ip.NextHeader, ip.Payload)
		}
	default:
		return m, false
	}
	return m, true
}

func addrOf(t testing.TB, ip net.IP) netip.Addr {
	t.Helper()
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		t.Fatalf("bad address %v", ip)
	}
	return a
}

func ports(t testing.TB, proto layers.IPProtocol, payload []byte) (src, dst uint16, ok bool) {
	t.Helper()
	switch proto {
	case layers.IPProtocolTCP:
		var l layers.TCP
		if err := l.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("decode TCP: %v", err)
		}
		return uint16(l.SrcPort), uint16(l.DstPort), true
	case layers.IPProtocolUDP:
		var l layers.UDP
		if err := l.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("decode UDP: %v", err)
		}
		return uint16(l.SrcPort), uint16(l.DstPort), true
	case layers.IPProtocolSCTP:
		p := gopacket.NewPacket(payload, layers.LayerTypeSCTP, gopacket.NoCopy)
		l, _ := p.Layer(layers.LayerTypeSCTP).(*layers.SCTP)
		if l == nil {
			t.Fatalf("decode SCTP: %v", p.ErrorLayer())
		}
		return uint16(l.SrcPort), uint16(l.DstPort), true
	}
	return 0, 0, false
}
