package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// maxRecord is the most captured bytes one packet record may hold. It is
// libpcap's MAXIMUM_SNAPLEN, which tcpdump and Wireshark enforce as well, so
// no file they read is refused; a length above it means a damaged file.
const maxRecord = 262144

// maxInterfaces bounds the interfaces one pcapng section may declare, so
// that a file of empty interface blocks cannot grow the tables without end.
const maxInterfaces = 65536

// pcapng block types that the framer looks into.
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 1
	blockPB  = 2
	blockSPB = 3
	blockISB = 5
	blockEPB = 6

	byteOrderMagic = 0x1A2B3C4D
)

// framer sits between the (decompressed) file and pcapgo. It walks the
// record or block structure as the bytes pass, and stops at the first
// record whose header would make a reader allocate or read more than the
// record holds, refers to an interface that does not exist, or is cut short.
// pcapgo then sees only well-framed records, and errors carry the byte
// offset of the record at fault. In pcapng it also drops the blocks that
// carry nothing specgate uses (name resolution, statistics, decryption
// secrets, custom blocks), so pcapgo never allocates for them.
type framer struct {
	src   *bufio.Reader
	ng    bool
	order binary.ByteOrder

	off       int64 // bytes consumed from src
	unitStart int64 // offset of the current record or block
	remain    int   // bytes of the current unit still to pass on

	// fix holds a rewritten pcap record header, passed on instead of the
	// one in the file (see next).
	fix    [16]byte
	fixPos int
	fixEnd int

	// pcapng: link types and the first snap length of the interfaces the
	// current section has declared so far.
	links []layers.LinkType
	snap0 uint32

	// Interface statistics, indexed by interface across sections (base is
	// the number of interfaces in earlier sections).
	base  int
	stats []ifaceStats

	err error // sticky: io.EOF, or the framing error to report

	// pcap: nano says the timestamps' fraction counts nanoseconds (else
	// microseconds); big holds a record larger than src's buffer.
	nano bool
	big  []byte
}

// Read passes on whole, checked records.
func (f *framer) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.err != nil {
			break
		}
		if f.remain == 0 {
			f.next()
			continue
		}
		if f.fixPos < f.fixEnd {
			c := copy(p[n:], f.fix[f.fixPos:f.fixEnd])
			f.fixPos += c
			f.remain -= c
			n += c
			continue
		}
		want := min(len(p)-n, f.remain)
		c, err := f.src.Read(p[n : n+want])
		n += c
		f.remain -= c
		f.off += int64(c)
		if err != nil {
			f.fail(err)
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

// fail records a read error from src inside the current unit.
func (f *framer) fail(err error) {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		f.err = fmt.Errorf("truncated %s at byte %d: %w", f.unitName(), f.unitStart, ErrTruncated)
		return
	}
	f.err = fmt.Errorf("reading at byte %d: %w", f.off, err)
}

// unitName names the record or block that starts at unitStart.
func (f *framer) unitName() string {
	if !f.ng {
		if f.unitStart == 0 {
			return "pcap file header"
		}
		return "packet record"
	}
	return "pcapng block"
}

// peek returns the next n bytes, or sets f.err: io.EOF when the file ends
// cleanly before them, a truncation error when it ends inside them.
func (f *framer) peek(n int) []byte {
	b, err := f.src.Peek(n)
	if err == nil {
		return b
	}
	if len(b) == 0 && err == io.EOF {
		f.err = io.EOF
		return nil
	}
	f.fail(err)
	return nil
}

// next starts the next unit, or sets f.err.
func (f *framer) next() {
	f.unitStart = f.off
	f.fixPos, f.fixEnd = 0, 0
	if f.ng {
		f.nextBlock()
	} else {
		f.nextRecord()
	}
}

// pcapHeader checks the pcap file header at the start of src and starts the
// unit that passes it on.
func (f *framer) pcapHeader() (layers.LinkType, error) {
	b, err := f.src.Peek(24)
	if len(b) < 24 {
		if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, fmt.Errorf("truncated pcap file header (%d of 24 bytes): %w", len(b), ErrTruncated)
		}
		return 0, fmt.Errorf("reading the pcap file header: %w", err)
	}
	switch m := binary.LittleEndian.Uint32(b); m {
	case magicMicro, magicNano:
		f.order = binary.LittleEndian
		f.nano = m == magicNano
	default:
		f.order = binary.BigEndian
		f.nano = m == magicNanoSwap
	}
	major, minor := f.order.Uint16(b[4:]), f.order.Uint16(b[6:])
	if major != 2 || minor != 4 {
		return 0, fmt.Errorf("unsupported pcap version %d.%d (specgate reads 2.4)", major, minor)
	}
	// The upper 16 bits hold FCS and reserved flags.
	lt := layers.LinkType(f.order.Uint32(b[20:]) & 0xFFFF)
	if !supported(lt) {
		return lt, &LinkTypeError{LinkType: lt}
	}
	f.remain = 24
	return lt, nil
}

// nextRecord checks a pcap record header. A record whose original length is
// below its captured length (some writers got this wrong; libpcap accepts
// it) is passed on with the original length raised to the captured one.
func (f *framer) nextRecord() {
	b := f.peek(16)
	if b == nil {
		return
	}
	caplen, origlen := f.order.Uint32(b[8:]), f.order.Uint32(b[12:])
	if caplen > maxRecord {
		f.err = fmt.Errorf("packet record at byte %d claims %d captured bytes, more than the %d any capture holds: the file is damaged", f.off, caplen, maxRecord)
		return
	}
	f.remain = 16 + int(caplen)
	if origlen < caplen {
		copy(f.fix[:], b)
		f.order.PutUint32(f.fix[12:], caplen)
		f.fixEnd = 16
		if _, err := f.src.Discard(16); err != nil {
			f.fail(err)
			return
		}
		f.off += 16
	}
}

// skipPcapHeader passes over the file header that pcapHeader checked, for
// pcapRecord, which reads the records that follow.
func (f *framer) skipPcapHeader() error {
	if _, err := f.src.Discard(24); err != nil {
		f.fail(err)
		return f.err
	}
	f.off, f.remain = 24, 0
	return nil
}

// pcapRecord returns the next record of a pcap file, its 16-byte header
// and then its data. It applies nextRecord's checks, but hands the record
// out of src's buffer (valid until the next call) instead of copying it
// through Read into pcapgo's buffer: a pcap record needs no more parsing
// than its header, and every byte of a large capture was otherwise copied
// once more. A record larger than the buffer is copied into big.
func (f *framer) pcapRecord() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.unitStart = f.off
	b := f.peek(16)
	if b == nil {
		return nil, f.err
	}
	caplen := f.order.Uint32(b[8:])
	if caplen > maxRecord {
		f.err = fmt.Errorf("packet record at byte %d claims %d captured bytes, more than the %d any capture holds: the file is damaged", f.off, caplen, maxRecord)
		return nil, f.err
	}
	n := 16 + int(caplen)
	var rec []byte
	if n <= f.src.Size() {
		var err error
		if rec, err = f.src.Peek(n); err != nil {
			f.fail(err)
			return nil, f.err
		}
		f.src.Discard(n) // the bytes stay in the buffer until the next read
	} else {
		if cap(f.big) < n {
			f.big = make([]byte, n)
		}
		rec = f.big[:n]
		if _, err := io.ReadFull(f.src, rec); err != nil {
			f.fail(err)
			return nil, f.err
		}
	}
	f.off += int64(n)
	return rec, nil
}

// ngHeader checks the section header block at the start of src.
func (f *framer) ngHeader() error {
	b, err := f.src.Peek(28)
	if len(b) < 28 {
		if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("truncated pcapng section header (%d of 28 bytes): %w", len(b), ErrTruncated)
		}
		return fmt.Errorf("reading the pcapng section header: %w", err)
	}
	f.nextBlock()
	return f.err
}

// nextBlock checks a pcapng block header and either starts passing the
// block on or skips it.
func (f *framer) nextBlock() {
	b := f.peek(8)
	if b == nil {
		return
	}
	typ := f.order.Uint32(b)
	if typ == blockSHB {
		if b = f.peek(12); b == nil {
			return
		}
		switch {
		case binary.LittleEndian.Uint32(b[8:]) == byteOrderMagic:
			f.order = binary.LittleEndian
		case binary.BigEndian.Uint32(b[8:]) == byteOrderMagic:
			f.order = binary.BigEndian
		default:
			f.err = fmt.Errorf("section header at byte %d has no byte-order magic: the file is damaged", f.off)
			return
		}
	}
	length := f.order.Uint32(b[4:])
	if length < 12 || length%4 != 0 || length > 1<<30 {
		f.err = fmt.Errorf("pcapng block at byte %d has an invalid length %d: the file is damaged", f.off, length)
		return
	}
	minLen, keep := uint32(12), false
	switch typ {
	case blockSHB:
		minLen, keep = 28, true
	case blockIDB:
		minLen, keep = 20, true
	case blockEPB, blockPB:
		minLen, keep = 32, true
	case blockSPB:
		minLen, keep = 16, true
	}
	if length < minLen {
		f.err = fmt.Errorf("pcapng block at byte %d has an invalid length %d: the file is damaged", f.off, length)
		return
	}
	if typ == blockISB {
		f.readStats(length)
	}
	if !keep {
		f.skip(int64(length))
		return
	}
	switch typ {
	case blockSHB:
		if b = f.peek(16); b == nil {
			return
		}
		// pcapgo would stop at a version it does not know; say so here,
		// with the offset.
		if major, minor := f.order.Uint16(b[12:]), f.order.Uint16(b[14:]); major != 1 || minor != 0 {
			f.err = fmt.Errorf("section at byte %d has pcapng version %d.%d; specgate reads 1.0", f.off, major, minor)
			return
		}
		f.base += len(f.links)
		f.links = f.links[:0]
		f.snap0 = 0
	case blockIDB:
		if b = f.peek(16); b == nil {
			return
		}
		if len(f.links) >= maxInterfaces {
			f.err = fmt.Errorf("pcapng section declares more than %d interfaces at byte %d: the file is damaged", maxInterfaces, f.off)
			return
		}
		if len(f.links) == 0 {
			f.snap0 = f.order.Uint32(b[12:])
		}
		f.links = append(f.links, layers.LinkType(f.order.Uint16(b[8:])))
	case blockEPB, blockPB:
		if b = f.peek(28); b == nil {
			return
		}
		var iface uint32
		if typ == blockEPB {
			iface = f.order.Uint32(b[8:])
		} else {
			iface = uint32(f.order.Uint16(b[8:]))
		}
		if !f.checkPacket(iface, f.order.Uint32(b[20:]), length-32) {
			return
		}
	case blockSPB:
		if b = f.peek(12); b == nil {
			return
		}
		caplen := f.order.Uint32(b[8:])
		if f.snap0 != 0 && caplen > f.snap0 {
			caplen = f.snap0
		}
		if !f.checkPacket(0, caplen, length-16) {
			return
		}
	}
	f.remain = int(length)
}

// checkPacket checks a packet block's interface and captured length against
// the section and the block's room for data.
func (f *framer) checkPacket(iface, caplen, room uint32) bool {
	if int64(iface) >= int64(len(f.links)) {
		f.err = fmt.Errorf("packet block at byte %d refers to interface %d, but the section declares %d: the file is damaged", f.off, iface, len(f.links))
		return false
	}
	if lt := f.links[iface]; !supported(lt) {
		f.err = fmt.Errorf("interface %d: %w", iface, &LinkTypeError{LinkType: lt})
		return false
	}
	if caplen > maxRecord || caplen > room {
		f.err = fmt.Errorf("packet block at byte %d claims %d captured bytes in a %d-byte block: the file is damaged", f.off, caplen, room)
		return false
	}
	return true
}

// ifaceStats are the counters of an interface's latest statistics block.
type ifaceStats struct {
	seen       bool
	recv, drop uint64
}

// Options of an interface statistics block.
const (
	isbIfRecv = 4
	isbIfDrop = 5
	isbOSDrop = 7
)

// readStats notes the counters of the statistics block at the front of src
// (which skip then drops). A block that is too large or malformed is
// ignored: the counters are a report, not data.
func (f *framer) readStats(length uint32) {
	if length > 64<<10 || length < 24 {
		return
	}
	b, err := f.src.Peek(int(length))
	if err != nil {
		return // skip reports the truncation
	}
	iface := int64(f.order.Uint32(b[8:]))
	if iface >= int64(len(f.links)) || f.base+int(iface) >= maxInterfaces {
		return
	}
	var st ifaceStats
	st.seen = true
	for opts := b[20 : length-4]; len(opts) >= 4; {
		code, n := f.order.Uint16(opts), int(f.order.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		if v := opts[4 : 4+n]; n == 8 {
			switch code {
			case isbIfRecv:
				st.recv = f.order.Uint64(v)
			case isbIfDrop, isbOSDrop:
				st.drop += f.order.Uint64(v)
			}
		}
		opts = opts[min(len(opts), 4+n+(4-n%4)%4):]
	}
	i := f.base + int(iface)
	for len(f.stats) <= i {
		f.stats = append(f.stats, ifaceStats{})
	}
	f.stats[i] = st
}

// skip drops a whole block that pcapgo does not need to see.
func (f *framer) skip(n int64) {
	for n > 0 {
		d, err := f.src.Discard(int(min(n, 1<<20)))
		n -= int64(d)
		f.off += int64(d)
		if err != nil {
			f.fail(err)
			return
		}
	}
}

// failed returns the framing error, if the framer stopped on one rather
// than at the clean end of the file.
func (f *framer) failed() error {
	if f.err == nil || errors.Is(f.err, io.EOF) {
		return nil
	}
	return f.err
}
