package live

import (
	"encoding/binary"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offsets in the TPACKET_V3 ring (linux/if_packet.h). A block starts with a
// tpacket_block_desc; its records are a tpacket3_hdr followed by the
// sockaddr_ll of the packet, then, at tp_net, the packet itself.
const (
	blockStatusOff = 8  // tpacket_hdr_v1.block_status
	blockNumOff    = 12 // tpacket_hdr_v1.num_pkts
	blockFirstOff  = 16 // tpacket_hdr_v1.offset_to_first_pkt
	blockHdrLen    = 48 // sizeof(struct tpacket_block_desc), 8-aligned

	recNextOff    = 0  // tp_next_offset
	recSecOff     = 4  // tp_sec
	recNsecOff    = 8  // tp_nsec
	recSnaplenOff = 12 // tp_snaplen
	recLenOff     = 16 // tp_len
	recNetOff     = 26 // tp_net
	recSllOff     = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))

	sllProtocolOff = recSllOff + 2  // sll_protocol, network byte order
	sllIfindexOff  = recSllOff + 4  // sll_ifindex
	sllPkttypeOff  = recSllOff + 10 // sll_pkttype
	recHdrLen      = recSllOff + unix.SizeofSockaddrLinklayer

	// netReserve is what the kernel puts between a record's start and a
	// cooked packet: TPACKET_ALIGN(TPACKET3_HDRLEN) plus 16 bytes kept
	// free for a link-layer header.
	netReserve = 80 + 16

	minBlockSize = 64 << 10
	maxSnaplen   = 1 << 20
	maxBuffer    = 1 << 30
	maxBlockTov  = 10 * time.Millisecond

	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
)

// geometry is the shape of one ring.
type geometry struct {
	blockSize int
	blocks    int
	frameSize int
	tovMillis int // how long a partly filled block waits before it is handed over
}

// ringGeometry sizes a ring: blocks large enough for one packet of snaplen
// bytes, as many as fit in bufferBytes (at least two).
func ringGeometry(snaplen, bufferBytes int, poll time.Duration) geometry {
	snaplen = min(snaplen, maxSnaplen)
	bufferBytes = min(bufferBytes, maxBuffer)
	frame := align16(netReserve + snaplen)
	block := max(os.Getpagesize(), minBlockSize)
	for block < frame+blockHdrLen {
		block <<= 1
	}
	blocks := max(bufferBytes/block, 2)
	tov := min(poll, maxBlockTov)
	return geometry{
		blockSize: block,
		blocks:    blocks,
		frameSize: frame,
		tovMillis: max(int(tov/time.Millisecond), 1),
	}
}

func align16(n int) int { return (n + 15) &^ 15 }

// record is one parsed tpacket3_hdr and its sockaddr_ll.
type record struct {
	sec, nsec uint32
	snaplen   uint32
	length    uint32
	next      uint32
	net       int // offset of the packet in the ring memory
	ifindex   int32
	proto     uint16
	pkttype   uint8
}

// before reports whether r was captured before o.
func (r *record) before(o *record) bool {
	return r.sec < o.sec || (r.sec == o.sec && r.nsec < o.nsec)
}

// ring is one socket and its memory-mapped TPACKET_V3 receive ring.
type ring struct {
	fd        int
	mem       []byte
	blockSize int
	blocks    int

	name     string  // interface name, for messages
	index    int     // Packet.Interface
	loopback bool    // bound to a loopback interface
	loopIdx  []int32 // for an "any" socket: ifindexes of loopback interfaces

	blk   int    // block being walked, or the next one to wait for
	open  bool   // blk belongs to user space and is being walked
	left  uint32 // records of blk not consumed yet
	off   int    // offset in blk of the next record
	ready bool   // cur holds the record at off
	cur   record
}

// status returns the block_status word of block i.
func (r *ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[i*r.blockSize+blockStatusOff]))
}

// peek makes cur the next unconsumed record, handing finished blocks back
// to the kernel first; it reports false when no record is ready.
func (r *ring) peek() bool {
	if r.ready {
		return true
	}
	for range r.blocks + 1 {
		if r.open && r.left == 0 {
			r.release()
		}
		if !r.open {
			if atomic.LoadUint32(r.status(r.blk))&unix.TP_STATUS_USER == 0 {
				return false
			}
			base := r.blk * r.blockSize
			r.open = true
			r.left = binary.NativeEndian.Uint32(r.mem[base+blockNumOff:])
			r.off = int(binary.NativeEndian.Uint32(r.mem[base+blockFirstOff:]))
			if r.left == 0 {
				continue
			}
		}
		if r.parse() {
			r.ready = true
			return true
		}
		r.left = 0 // a record that does not fit: give up on the rest of the block
	}
	return false
}

// parse reads the record at off in the open block into cur, checking that
// it lies inside the block.
func (r *ring) parse() bool {
	if r.off < blockHdrLen || r.off > r.blockSize-recHdrLen {
		return false
	}
	base := r.blk * r.blockSize
	h := r.mem[base+r.off : base+r.blockSize]
	netOff := int(binary.NativeEndian.Uint16(h[recNetOff:]))
	snaplen := binary.NativeEndian.Uint32(h[recSnaplenOff:])
	if netOff < recHdrLen || netOff > len(h) || uint64(snaplen) > uint64(len(h)-netOff) {
		return false
	}
	r.cur = record{
		sec:     binary.NativeEndian.Uint32(h[recSecOff:]),
		nsec:    binary.NativeEndian.Uint32(h[recNsecOff:]),
		snaplen: snaplen,
		length:  binary.NativeEndian.Uint32(h[recLenOff:]),
		next:    binary.NativeEndian.Uint32(h[recNextOff:]),
		net:     base + r.off + netOff,
		ifindex: int32(binary.NativeEndian.Uint32(h[sllIfindexOff:])),
		proto:   binary.BigEndian.Uint16(h[sllProtocolOff:]),
		pkttype: h[sllPkttypeOff],
	}
	return true
}

// advance consumes cur. The block stays with user space until the next
// peek, so the packet's bytes remain valid until then.
func (r *ring) advance() {
	r.ready = false
	if r.left == 0 {
		return
	}
	r.left--
	if r.left > 0 {
		if r.cur.next == 0 {
			r.left = 0
			return
		}
		r.off += int(r.cur.next)
	}
}

// release hands the open block back to the kernel and moves to the next.
func (r *ring) release() {
	atomic.StoreUint32(r.status(r.blk), unix.TP_STATUS_KERNEL)
	r.open = false
	r.left = 0
	r.blk++
	if r.blk == r.blocks {
		r.blk = 0
	}
}

// data returns the bytes of cur.
func (r *ring) data() []byte {
	return r.mem[r.cur.net : r.cur.net+int(r.cur.snaplen)]
}

// skip reports whether cur is not delivered: not IPv4 or IPv6, or the
// outgoing copy of a loopback packet (the incoming copy is delivered).
func (r *ring) skip() bool {
	if r.cur.proto != etherTypeIPv4 && r.cur.proto != etherTypeIPv6 {
		return true
	}
	if r.cur.pkttype != unix.PACKET_OUTGOING {
		return false
	}
	if r.loopback {
		return true
	}
	for _, i := range r.loopIdx {
		if i == r.cur.ifindex {
			return true
		}
	}
	return false
}
