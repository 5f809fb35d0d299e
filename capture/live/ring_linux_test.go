package live

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// Ring layout from the kernel's structures as golang.org/x/sys declares
// them, independent of the constants the reader uses.
var (
	tpNextOff    = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Next_offset))
	tpSecOff     = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Sec))
	tpNsecOff    = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Nsec))
	tpSnaplenOff = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Snaplen))
	tpLenOff     = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Len))
	tpMacOff     = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Mac))
	tpNetOff     = int(unsafe.Offsetof(unix.Tpacket3Hdr{}.Net))
	sllOff       = (unix.SizeofTpacket3Hdr + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	bdHdrOff     = int(unsafe.Offsetof(unix.TpacketBlockDesc{}.Hdr))
	bdStatusOff  = bdHdrOff + int(unsafe.Offsetof(unix.TpacketHdrV1{}.Block_status))
	bdNumOff     = bdHdrOff + int(unsafe.Offsetof(unix.TpacketHdrV1{}.Num_pkts))
	bdFirstOff   = bdHdrOff + int(unsafe.Offsetof(unix.TpacketHdrV1{}.Offset_to_first_pkt))
	bdLen        = (int(unsafe.Sizeof(unix.TpacketBlockDesc{})) + 7) &^ 7
)

// TestLayout checks the reader's offsets against the kernel's structures.
func TestLayout(t *testing.T) {
	sll := unix.RawSockaddrLinklayer{}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"tp_next_offset", recNextOff, tpNextOff},
		{"tp_sec", recSecOff, tpSecOff},
		{"tp_nsec", recNsecOff, tpNsecOff},
		{"tp_snaplen", recSnaplenOff, tpSnaplenOff},
		{"tp_len", recLenOff, tpLenOff},
		{"tp_net", recNetOff, tpNetOff},
		{"sockaddr_ll", recSllOff, sllOff},
		{"sll_protocol", sllProtocolOff, sllOff + int(unsafe.Offsetof(sll.Protocol))},
		{"sll_ifindex", sllIfindexOff, sllOff + int(unsafe.Offsetof(sll.Ifindex))},
		{"sll_pkttype", sllPkttypeOff, sllOff + int(unsafe.Offsetof(sll.Pkttype))},
		{"block_status", blockStatusOff, bdStatusOff},
		{"num_pkts", blockNumOff, bdNumOff},
		{"offset_to_first_pkt", blockFirstOff, bdFirstOff},
		{"block header", blockHdrLen, bdLen},
		{"TPACKET3_HDRLEN", recHdrLen, sllOff + unix.SizeofSockaddrLinklayer},
		{"packet offset", netReserve, (sllOff+unix.SizeofSockaddrLinklayer+unix.TPACKET_ALIGNMENT-1)&^(unix.TPACKET_ALIGNMENT-1) + 16},
	} {
		if c.got != c.want {
			t.Errorf("%s at %d, the kernel has it at %d", c.name, c.got, c.want)
		}
	}
}

// synth is a packet to lay out in a synthetic ring.
type synth struct {
	data    []byte
	proto   uint16
	pkttype uint8
	ifindex int32
	sec     uint32
	nsec    uint32
	wire    uint32 // length on the wire; 0 means len(data)
}

// fillBlock lays pkts out in block i the way the kernel does for a cooked
// socket, then hands the block to user space.
func fillBlock(mem []byte, blockSize, i int, pkts []synth) {
	b := mem[i*blockSize : (i+1)*blockSize]
	clear(b)
	ne := binary.NativeEndian
	off := bdLen
	ne.PutUint32(b[bdNumOff:], uint32(len(pkts)))
	ne.PutUint32(b[bdFirstOff:], uint32(off))
	// TPACKET_ALIGN(TPACKET3_HDRLEN) + 16 bytes of room for a link header.
	netAt := (sllOff+unix.SizeofSockaddrLinklayer+15)&^15 + 16
	for j, p := range pkts {
		h := b[off:]
		size := (netAt + len(p.data) + 15) &^ 15
		if j < len(pkts)-1 {
			ne.PutUint32(h[tpNextOff:], uint32(size))
		}
		wire := p.wire
		if wire == 0 {
			wire = uint32(len(p.data))
		}
		ne.PutUint32(h[tpSecOff:], p.sec)
		ne.PutUint32(h[tpNsecOff:], p.nsec)
		ne.PutUint32(h[tpSnaplenOff:], uint32(len(p.data)))
		ne.PutUint32(h[tpLenOff:], wire)
		ne.PutUint16(h[tpMacOff:], uint16(netAt))
		ne.PutUint16(h[tpNetOff:], uint16(netAt))
		sll := h[sllOff:]
		ne.PutUint16(sll[0:], unix.AF_PACKET)
		binary.BigEndian.PutUint16(sll[2:], p.proto)
		ne.PutUint32(sll[4:], uint32(p.ifindex))
		sll[10] = p.pkttype
		copy(h[netAt:], p.data)
		off += size
	}
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[bdStatusOff])), unix.TP_STATUS_USER)
}

func blockStatus(mem []byte, blockSize, i int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&mem[i*blockSize+bdStatusOff])))
}

// TestRingMergeAndSkip walks two synthetic rings: packets come out in
// timestamp order, the outgoing copies on loopback and non-IP packets are
// skipped, and blocks go back to the kernel only once read past.
func TestRingMergeAndSkip(t *testing.T) {
	const bs = 4096
	a := &ring{mem: make([]byte, 2*bs), blockSize: bs, blocks: 2, index: 0, loopback: true, fd: -1}
	b := &ring{mem: make([]byte, 2*bs), blockSize: bs, blocks: 2, index: 1, loopIdx: []int32{1}, fd: -1}
	ip := func(s string) []byte { return append([]byte{0x45}, s...) }
	fillBlock(a.mem, bs, 0, []synth{
		{data: ip("a1"), proto: 0x0800, ifindex: 1, sec: 1},
		{data: ip("a3"), proto: 0x0800, ifindex: 1, sec: 3, pkttype: unix.PACKET_OUTGOING},
		{data: ip("a5"), proto: 0x0806, ifindex: 1, sec: 5},
	})
	fillBlock(a.mem, bs, 1, []synth{{data: ip("a7"), proto: 0x86dd, ifindex: 1, sec: 7, wire: 1500}})
	fillBlock(b.mem, bs, 0, []synth{
		{data: ip("b2"), proto: 0x0800, ifindex: 2, sec: 2, pkttype: unix.PACKET_OUTGOING},
		{data: ip("b4"), proto: 0x0800, ifindex: 1, sec: 4, pkttype: unix.PACKET_OUTGOING},
		{data: ip("b6"), proto: 0x86dd, ifindex: 1, sec: 6, nsec: 5},
	})
	s := &Source{rings: []*ring{a, b}, snaplen: 1 << 16}
	want := []struct {
		data  string
		iface int
		sec   int64
		len   int
	}{{"a1", 0, 1, 3}, {"b2", 1, 2, 3}, {"b6", 1, 6, 3}, {"a7", 0, 7, 1500}}
	for i, w := range want {
		p, ok := s.next()
		if !ok {
			t.Fatalf("packet %d: none", i)
		}
		if !bytes.Equal(p.Data, ip(w.data)) || p.Interface != w.iface || p.Timestamp.Unix() != w.sec || p.Length != w.len || p.LinkType != layers.LinkTypeRaw {
			t.Errorf("packet %d = %q if %d at %v len %d; want %q if %d at %d len %d", i, p.Data, p.Interface, p.Timestamp, p.Length, ip(w.data), w.iface, w.sec, w.len)
		}
		if w.data == "a7" {
			// a7 is the last packet of a's block 1: still user space's.
			if st := blockStatus(a.mem, bs, 1); st&unix.TP_STATUS_USER == 0 {
				t.Errorf("block holding the packet just returned was released")
			}
		}
	}
	if p, ok := s.next(); ok {
		t.Fatalf("extra packet %q", p.Data)
	}
	for _, r := range []*ring{a, b} {
		for i := range 2 {
			if r == b && i == 1 {
				continue // never filled
			}
			if st := blockStatus(r.mem, bs, i); st != unix.TP_STATUS_KERNEL {
				t.Errorf("ring %d block %d: status %#x after reading, want it back with the kernel", r.index, i, st)
			}
		}
	}
	// The walk wraps around to block 0.
	fillBlock(a.mem, bs, 0, []synth{{data: ip("a9"), proto: 0x0800, sec: 9}})
	if p, ok := s.next(); !ok || !bytes.Equal(p.Data, ip("a9")) {
		t.Errorf("after wrap-around got %q, %v", p.Data, ok)
	}
	// Snaplen caps Data.
	s.snaplen = 2
	fillBlock(a.mem, bs, 1, []synth{{data: ip("long"), proto: 0x0800, sec: 10}})
	if p, ok := s.next(); !ok || len(p.Data) != 2 || p.Length != 5 {
		t.Errorf("with snaplen 2 got %q of %d", p.Data, p.Length)
	}
}

// TestRingGeometry checks that a ring holds a full packet per block and
// respects the buffer size.
func TestRingGeometry(t *testing.T) {
	for _, c := range []struct {
		snaplen, buffer int
	}{{262144, 64 << 20}, {65535, 1 << 20}, {1, 1}, {1 << 30, 1 << 40}, {1500, 8 << 20}} {
		g := ringGeometry(c.snaplen, c.buffer, 100*time.Millisecond)
		snap := min(c.snaplen, maxSnaplen)
		if g.blockSize-blockHdrLen < g.frameSize || g.frameSize < snap+netReserve || g.frameSize%16 != 0 {
			t.Errorf("%+v: block %d, frame %d cannot hold %d bytes", c, g.blockSize, g.frameSize, snap)
		}
		if g.blockSize%4096 != 0 || g.blockSize&(g.blockSize-1) != 0 {
			t.Errorf("%+v: block size %d is not a power-of-two number of pages", c, g.blockSize)
		}
		if g.blocks < 2 || (g.blocks > 2 && g.blocks*g.blockSize > c.buffer) {
			t.Errorf("%+v: %d blocks of %d bytes", c, g.blocks, g.blockSize)
		}
		if g.tovMillis < 1 || g.tovMillis > 100 {
			t.Errorf("%+v: block timeout %d ms", c, g.tovMillis)
		}
	}
}

// FuzzRingBlock feeds arbitrary block contents to the walker: it must not
// panic, must stop, and must hand the block back to the kernel.
func FuzzRingBlock(f *testing.F) {
	const bs = 4096
	seed := func(pkts []synth) []byte {
		mem := make([]byte, bs)
		fillBlock(mem, bs, 0, pkts)
		return mem
	}
	f.Add(seed([]synth{{data: []byte{0x45, 1, 2}, proto: 0x0800, sec: 1}}))
	f.Add(seed([]synth{
		{data: bytes.Repeat([]byte{0x60}, 1000), proto: 0x86dd, sec: 1},
		{data: []byte{1}, proto: 0x0806, sec: 2},
		{data: bytes.Repeat([]byte{0x45}, 2000), proto: 0x0800, pkttype: unix.PACKET_OUTGOING, sec: 3},
	}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, block []byte) {
		mem := make([]byte, 2*bs)
		copy(mem[:bs], block)
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&mem[bdStatusOff])), unix.TP_STATUS_USER)
		r := &ring{mem: mem, blockSize: bs, blocks: 2, fd: -1}
		s := &Source{rings: []*ring{r}, snaplen: 1 << 16}
		for range bs + 2 {
			p, ok := s.next()
			if !ok {
				if st := blockStatus(mem, bs, 0); st != unix.TP_STATUS_KERNEL {
					t.Fatalf("block status %#x after the walk", st)
				}
				return
			}
			if len(p.Data) > bs {
				t.Fatalf("%d bytes from a %d-byte block", len(p.Data), bs)
			}
		}
		t.Fatal("the walk did not stop")
	})
}

// BenchmarkRingWalk measures the per-packet cost of walking a ring.
func BenchmarkRingWalk(b *testing.B) {
	const bs = 1 << 16
	var pkts []synth
	for i := 0; ; i++ {
		p := synth{data: bytes.Repeat([]byte{0x45}, 200), proto: 0x0800, sec: uint32(i)}
		if (len(pkts)+1)*((96+200+15)&^15)+bdLen > bs {
			break
		}
		pkts = append(pkts, p)
	}
	mem := make([]byte, 2*bs)
	fillBlock(mem, bs, 0, pkts)
	fillBlock(mem, bs, 1, pkts)
	filled := slices.Clone(mem)
	r := &ring{mem: mem, blockSize: bs, blocks: 2, fd: -1}
	s := &Source{rings: []*ring{r}, snaplen: 1 << 16}
	b.ReportAllocs()
	b.SetBytes(200)
	for b.Loop() {
		if _, ok := s.next(); !ok {
			copy(mem, filled)
			if _, ok := s.next(); !ok {
				b.Fatal("no packet after refilling")
			}
		}
	}
}
