package filter

import (
	"encoding/binary"
	"net/netip"
)

// DecodeNetwork fills m from a packet that starts at its IP header (what an
// AF_PACKET SOCK_DGRAM socket or a raw-IP capture holds), reading the fields
// exactly where the compiled program reads them. It reports false, leaving
// m zeroed, when data is not an IPv4 or IPv6 packet or is shorter than its
// fixed header. It does not allocate.
func (m *Meta) DecodeNetwork(data []byte) bool {
	*m = Meta{}
	if len(data) == 0 {
		return false
	}
	switch data[0] >> 4 {
	case 4:
		if len(data) < 20 {
			return false
		}
		m.Version = 4
		m.Src = netip.AddrFrom4([4]byte(data[12:16]))
		m.Dst = netip.AddrFrom4([4]byte(data[16:20]))
		m.Proto = data[9]
		// Like libpcap, trust the header length field as it is and look
		// for ports only in the fragment at offset 0.
		ihl := int(data[0]&0x0f) * 4
		if binary.BigEndian.Uint16(data[6:8])&0x1fff == 0 && isPortProto(m.Proto) {
			m.readPorts(data, ihl)
		}
	case 6:
		if len(data) < 40 {
			return false
		}
		m.Version = 6
		m.Src = netip.AddrFrom16([16]byte(data[8:24]))
		m.Dst = netip.AddrFrom16([16]byte(data[24:40]))
		next := data[6]
		m.Proto = next
		if next == protoFragment && len(data) > 40 {
			m.Proto = data[40]
		}
		if isPortProto(next) {
			m.readPorts(data, 40)
		}
	default:
		return false
	}
	return true
}

// readPorts sets the ports from the four bytes at off, when data holds them.
func (m *Meta) readPorts(data []byte, off int) {
	if len(data) < off+4 {
		return
	}
	m.SrcPort = binary.BigEndian.Uint16(data[off:])
	m.DstPort = binary.BigEndian.Uint16(data[off+2:])
	m.HasPorts = true
}
