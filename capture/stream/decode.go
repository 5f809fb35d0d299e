package stream

import (
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
	df   gopacket.DecodeFeedback
}

// result says what decode found.
type result int

const (
	resTCP      result = iota // a TCP segment: d.tcp and flow are valid
	resIgnored                // not TCP over IP
	resFragment               // an IP fragment
	resError                  // malformed
)

// SupportedLinkType reports whether frames of link type lt can be decoded.
func SupportedLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw, layers.LinkTypeIPv4,
		layers.LinkTypeIPv6, 12, 14:
		return true
	}
	return false
}

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
		d.meta.Version = 4
		d.meta.Src, _ = netipAddr(d.ip4.SrcIP)
		d.meta.Dst, _ = netipAddr(d.ip4.DstIP)
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
		d.meta.Version = 6
		d.meta.Src, _ = netipAddr(d.ip6.SrcIP)
		d.meta.Dst, _ = netipAddr(d.ip6.DstIP)
	default:
		return gopacket.Flow{}, resIgnored
	}
	if d.tcp.DecodeFromBytes(data, d.df) != nil {
		return gopacket.Flow{}, resError
	}
	d.meta.Proto = uint8(layers.IPProtocolTCP)
	d.meta.SrcPort, d.meta.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
	d.meta.HasPorts = true
	return flow, resTCP
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
