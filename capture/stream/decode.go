package stream

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/filter"
)

// decoder turns frames into TCP segments, decoding into reused layers so
// that the per-packet path allocates nothing.
type decoder struct {
	eth  layers.Ethernet
	vlan layers.Dot1Q
	sll  layers.LinuxSLL
	sll2 layers.LinuxSLL2
	loop layers.Loopback
	ip4  layers.IPv4
	ip6  layers.IPv6
	tcp  layers.TCP
	meta filter.Meta
	// version is the IP version of the last segment decoded.
	version uint8
	df      gopacket.DecodeFeedback
}

// result says what decode found.
type result int

const (
	resTCP      result = iota // a TCP segment: d.tcp and flow are valid
	resIgnored                // not TCP over IP
	resFragment               // an IP fragment
	resError                  // malformed
)

// decode decodes p down to TCP. On resTCP, flow is the network flow and
// d.tcp holds the segment (its Payload aliases p.Data).
func (d *decoder) decode(p capture.Packet) (gopacket.Flow, result) {
	data := p.Data
	var et layers.EthernetType
	switch p.LinkType {
	case layers.LinkTypeEthernet:
		if d.eth.DecodeFromBytes(data, d.df) != nil {
			return gopacket.Flow{}, resError
		}
		et, data = d.eth.EthernetType, d.eth.Payload
		for i := 0; i < 2 && (et == layers.EthernetTypeDot1Q || et == layers.EthernetTypeQinQ); i++ {
			if d.vlan.DecodeFromBytes(data, d.df) != nil {
				return gopacket.Flow{}, resError
			}
			et, data = d.vlan.Type, d.vlan.Payload
		}
	case layers.LinkTypeLinuxSLL:
		if d.sll.DecodeFromBytes(data, d.df) != nil {
			return gopacket.Flow{}, resError
		}
		et, data = d.sll.EthernetType, d.sll.Payload
	case layers.LinkTypeLinuxSLL2:
		if d.sll2.DecodeFromBytes(data, d.df) != nil {
			return gopacket.Flow{}, resError
		}
		et, data = d.sll2.ProtocolType, d.sll2.Payload
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if d.loop.DecodeFromBytes(data, d.df) != nil {
			return gopacket.Flow{}, resError
		}
		switch d.loop.Family {
		case layers.ProtocolFamilyIPv4:
			et = layers.EthernetTypeIPv4
		case layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin, layers.ProtocolFamilyIPv6Linux:
			et = layers.EthernetTypeIPv6
		default:
			return gopacket.Flow{}, resIgnored
		}
		data = d.loop.Payload
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		if len(data) == 0 {
			return gopacket.Flow{}, resError
		}
		switch data[0] >> 4 {
		case 4:
			et = layers.EthernetTypeIPv4
		case 6:
			et = layers.EthernetTypeIPv6
		default:
			return gopacket.Flow{}, resIgnored
		}
	default:
		return gopacket.Flow{}, resIgnored
	}

	var flow gopacket.Flow
	switch et {
	case layers.EthernetTypeIPv4:
		if d.ip4.DecodeFromBytes(data, d.df) != nil {
			return gopacket.Flow{}, resError
		}
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			return gopacket.Flow{}, resFragment
		}
		if d.ip4.Protocol != layers.IPProtocolTCP {
			return gopacket.Flow{}, resIgnored
		}
		flow = d.ip4.NetworkFlow()
		data = d.ip4.Payload
		d.version = 4
	case layers.EthernetTypeIPv6:
		if d.ip6.DecodeFromBytes(data, d.df) != nil {
			return gopacket.Flow{}, resError
		}
		nh, payload, ok := skipIPv6Extensions(d.ip6.NextHeader, d.ip6.Payload)
		if !ok {
			return gopacket.Flow{}, resFragment
		}
		if nh != layers.IPProtocolTCP {
			return gopacket.Flow{}, resIgnored
		}
		flow = d.ip6.NetworkFlow()
		data = payload
		d.version = 6
	default:
		return gopacket.Flow{}, resIgnored
	}
	if d.tcp.DecodeFromBytes(data, d.df) != nil {
		return gopacket.Flow{}, resError
	}
	return flow, resTCP
}

// filterMeta describes the segment decode just returned, for the packet
// filter; only captures with a filter pay for it.
func (d *decoder) filterMeta() *filter.Meta {
	m := &d.meta
	m.Version = d.version
	if d.version == 4 {
		m.Src, _ = netip.AddrFromSlice(d.ip4.SrcIP)
		m.Dst, _ = netip.AddrFromSlice(d.ip4.DstIP)
	} else {
		m.Src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
		m.Dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
	}
	m.Proto = uint8(layers.IPProtocolTCP)
	m.SrcPort, m.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
	m.HasPorts = true
	return m
}

// skipIPv6Extensions walks the IPv6 extension headers that can precede TCP.
// It returns ok=false for fragments, which are not reassembled.
func skipIPv6Extensions(nh layers.IPProtocol, b []byte) (layers.IPProtocol, []byte, bool) {
	for i := 0; i < 8; i++ {
		switch nh {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			if len(b) < 8 {
				return nh, nil, true
			}
			n := 8 + int(b[1])*8
			if len(b) < n {
				return nh, nil, true
			}
			nh, b = layers.IPProtocol(b[0]), b[n:]
		case layers.IPProtocolIPv6Fragment:
			return nh, nil, false
		default:
			return nh, b, true
		}
	}
	return nh, b, true
}
