package pcapgen

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// endpoints are a connection's two ends and what their frames carry.
type endpoints struct {
	v6             bool
	client, server netip.AddrPort
	cmac, smac     [6]byte
	cid, sid       uint16 // next IPv4 identification of each side
}

func newEndpoints(client, server netip.AddrPort) (endpoints, error) {
	c, s := client.Addr().Unmap(), server.Addr().Unmap()
	if !c.IsValid() || !s.IsValid() {
		return endpoints{}, errors.New("client and server need addresses")
	}
	if c.Is4() != s.Is4() {
		return endpoints{}, errors.New("client and server addresses are of different families")
	}
	if client.Port() == 0 || server.Port() == 0 {
		return endpoints{}, errors.New("client and server need ports")
	}
	ep := endpoints{
		v6:     c.Is6(),
		client: netip.AddrPortFrom(c, client.Port()),
		server: netip.AddrPortFrom(s, server.Port()),
		cmac:   macFor(c),
		smac:   macFor(s),
	}
	ep.cid = uint16(hashAddr(client))
	ep.sid = uint16(hashAddr(server))
	return ep, nil
}

func hashAddr(ap netip.AddrPort) uint32 {
	h := fnv.New32a()
	b, _ := ap.MarshalBinary()
	h.Write(b)
	return h.Sum32()
}

// macFor derives a stable, locally administered MAC address from an IP.
func macFor(a netip.Addr) [6]byte {
	h := fnv.New32a()
	b := a.As16()
	h.Write(b[:])
	var m [6]byte
	m[0] = 0x02
	binary.BigEndian.PutUint32(m[2:], h.Sum32())
	return m
}

// Sizes of the headers written.
const (
	ipv4Len   = 20
	ipv6Len   = 40
	tcpLen    = 20
	synOptLen = 8 // MSS, NOP, NOP, SACK permitted
)

// frame appends the frame for s to b. The capture is taken on the server's
// host, which matters for the Linux cooked headers' packet type.
func (st *connState) frame(b []byte, lt layers.LinkType, s *segment) []byte {
	ep := &st.ep
	src, dst := ep.server, ep.client
	smac, dmac := ep.smac, ep.cmac
	if s.fromClient {
		src, dst = dst, src
		smac, dmac = dmac, smac
	}
	ethType := uint16(0x0800)
	if ep.v6 {
		ethType = 0x86DD
	}
	pktType := byte(4) // PACKET_OUTGOING
	if s.fromClient {
		pktType = 0 // PACKET_HOST
	}

	switch lt {
	case layers.LinkTypeEthernet:
		b = append(b, dmac[:]...)
		b = append(b, smac[:]...)
		b = binary.BigEndian.AppendUint16(b, ethType)
	case layers.LinkTypeLinuxSLL:
		b = binary.BigEndian.AppendUint16(b, uint16(pktType))
		b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
		b = binary.BigEndian.AppendUint16(b, 6)
		b = append(b, smac[:]...)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, ethType)
	case layers.LinkTypeLinuxSLL2:
		b = binary.BigEndian.AppendUint16(b, ethType)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint32(b, 2) // interface index
		b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
		b = append(b, pktType, 6)
		b = append(b, smac[:]...)
		b = append(b, 0, 0)
	case layers.LinkTypeLoop:
		af := uint32(2) // AF_INET
		if ep.v6 {
			af = 24 // AF_INET6 on OpenBSD, which wrote LOOP
		}
		b = binary.BigEndian.AppendUint32(b, af)
	}

	optLen := 0
	if s.flags&flagSYN != 0 {
		optLen = synOptLen
	}
	tcpSize := tcpLen + optLen + len(s.payload)

	// The IP header.
	ipStart := len(b)
	var pseudo uint64
	if ep.v6 {
		b = binary.BigEndian.AppendUint32(b, 0x60000000)
		b = binary.BigEndian.AppendUint16(b, uint16(tcpSize))
		b = append(b, 6, 64) // next header TCP, hop limit
		sa, da := src.Addr().As16(), dst.Addr().As16()
		b = append(b, sa[:]...)
		b = append(b, da[:]...)
		pseudo = sum(b[ipStart+8:ipStart+40], 0) + 6 + uint64(tcpSize)
	} else {
		id := &ep.sid
		if s.fromClient {
			id = &ep.cid
		}
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(ipv4Len+tcpSize))
		b = binary.BigEndian.AppendUint16(b, *id)
		*id++
		b = append(b, 0x40, 0, 64, 6, 0, 0) // DF, TTL 64, TCP, checksum
		sa, da := src.Addr().As4(), dst.Addr().As4()
		b = append(b, sa[:]...)
		b = append(b, da[:]...)
		binary.BigEndian.PutUint16(b[ipStart+10:], fold(sum(b[ipStart:], 0)))
		pseudo = sum(b[ipStart+12:ipStart+20], 0) + 6 + uint64(tcpSize)
	}

	// The TCP header.
	tcpStart := len(b)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint32(b, s.seq)
	b = binary.BigEndian.AppendUint32(b, s.ack)
	b = append(b, byte((tcpLen+optLen)/4)<<4, s.flags)
	b = binary.BigEndian.AppendUint16(b, 65535) // window
	b = append(b, 0, 0, 0, 0)                   // checksum, urgent pointer
	if optLen > 0 {
		b = append(b, 2, 4)
		b = binary.BigEndian.AppendUint16(b, 1460)
		b = append(b, 1, 1, 4, 2)
	}
	b = append(b, s.payload...)
	binary.BigEndian.PutUint16(b[tcpStart+16:], fold(sum(b[tcpStart:], pseudo)))
	return b
}

// sum adds b to acc as big-endian 16-bit words (a trailing byte is padded
// with zero), the Internet checksum's running sum.
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold finishes an Internet checksum.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}
