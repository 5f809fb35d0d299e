package pcapfile_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/internal/pcapgen"
)

// The builders below write capture files byte by byte from the format
// descriptions, in either byte order, so that tests can make what pcapgo's
// writers cannot: big-endian files, several sections, odd block types,
// and damaged files.

// byteOrder is a byte order that can also append.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// pcapFile builds a pcap file.
type pcapFile struct {
	order byteOrder
	nano  bool
	buf   bytes.Buffer
}

func newPcap(order byteOrder, nano bool, link uint32, snap uint32) *pcapFile {
	f := &pcapFile{order: order, nano: nano}
	magic := uint32(0xA1B2C3D4)
	if nano {
		magic = 0xA1B23C4D
	}
	var h [24]byte
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], snap)
	order.PutUint32(h[20:], link)
	f.buf.Write(h[:])
	return f
}

// add writes one record; origLen 0 means len(data).
func (f *pcapFile) add(ts time.Time, data []byte, origLen int) *pcapFile {
	if origLen == 0 {
		origLen = len(data)
	}
	frac := uint32(ts.Nanosecond() / 1000)
	if f.nano {
		frac = uint32(ts.Nanosecond())
	}
	var h [16]byte
	f.order.PutUint32(h[0:], uint32(ts.Unix()))
	f.order.PutUint32(h[4:], frac)
	f.order.PutUint32(h[8:], uint32(len(data)))
	f.order.PutUint32(h[12:], uint32(origLen))
	f.buf.Write(h[:])
	f.buf.Write(data)
	return f
}

func (f *pcapFile) bytes() []byte { return bytes.Clone(f.buf.Bytes()) }

// ngFile builds a pcapng file.
type ngFile struct {
	order byteOrder
	buf   bytes.Buffer
	// noComments leaves out the comment option of packet blocks.
	noComments bool
}

func newNg(order byteOrder) *ngFile {
	f := &ngFile{}
	f.section(order)
	return f
}

// option encodes one option; opts end with an end-of-options option.
func (f *ngFile) option(code uint16, value []byte) []byte {
	b := f.order.AppendUint16(nil, code)
	b = f.order.AppendUint16(b, uint16(len(value)))
	b = append(b, value...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (f *ngFile) endOptions() []byte { return []byte{0, 0, 0, 0} }

// block writes a block of type typ around body (padded to 4 bytes).
func (f *ngFile) block(typ uint32, body []byte) *ngFile {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	var h [8]byte
	f.order.PutUint32(h[0:], typ)
	f.order.PutUint32(h[4:], n)
	f.buf.Write(h[:])
	f.buf.Write(body)
	f.buf.Write(f.order.AppendUint32(nil, n))
	return f
}

// section starts a new section in the given byte order.
func (f *ngFile) section(order byteOrder) *ngFile {
	f.order = order
	b := order.AppendUint32(nil, 0x1A2B3C4D)
	b = order.AppendUint16(b, 1)
	b = order.AppendUint16(b, 0)
	b = order.AppendUint64(b, ^uint64(0))
	b = append(b, f.option(4, []byte("specgate test"))...) // shb_userappl
	b = append(b, f.endOptions()...)
	return f.block(0x0A0D0D0A, b)
}

// idb declares an interface; tsresol 0 leaves the default (microseconds).
func (f *ngFile) idb(link uint16, snap uint32, tsresol byte, name string) *ngFile {
	b := f.order.AppendUint16(nil, link)
	b = append(b, 0, 0)
	b = f.order.AppendUint32(b, snap)
	if name != "" {
		b = append(b, f.option(2, []byte(name))...)
	}
	if tsresol != 0 {
		b = append(b, f.option(9, []byte{tsresol})...)
	}
	b = append(b, f.endOptions()...)
	return f.block(1, b)
}

// epb writes an enhanced packet block; ts is in the interface's units.
func (f *ngFile) epb(iface uint32, ts uint64, data []byte, origLen int) *ngFile {
	if origLen == 0 {
		origLen = len(data)
	}
	b := f.order.AppendUint32(nil, iface)
	b = f.order.AppendUint32(b, uint32(ts>>32))
	b = f.order.AppendUint32(b, uint32(ts))
	b = f.order.AppendUint32(b, uint32(len(data)))
	b = f.order.AppendUint32(b, uint32(origLen))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	if !f.noComments {
		b = append(b, f.option(1, []byte("a comment"))...)
		b = append(b, f.endOptions()...)
	}
	return f.block(6, b)
}

// pb writes an obsolete packet block.
func (f *ngFile) pb(iface uint16, ts uint64, data []byte) *ngFile {
	b := f.order.AppendUint16(nil, iface)
	b = f.order.AppendUint16(b, 0)
	b = f.order.AppendUint32(b, uint32(ts>>32))
	b = f.order.AppendUint32(b, uint32(ts))
	b = f.order.AppendUint32(b, uint32(len(data)))
	b = f.order.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	return f.block(2, b)
}

// spb writes a simple packet block.
func (f *ngFile) spb(data []byte) *ngFile {
	b := f.order.AppendUint32(nil, uint32(len(data)))
	b = append(b, data...)
	return f.block(3, b)
}

// isb writes an interface statistics block with the given 64-bit
// counters (option code → value).
func (f *ngFile) isb(iface uint32, counters map[uint16]uint64) *ngFile {
	b := f.order.AppendUint32(nil, iface)
	b = append(b, make([]byte, 8)...) // timestamp
	b = append(b, f.option(1, []byte("counters"))...)
	for _, code := range []uint16{2, 3, 4, 5, 6, 7, 8} {
		if v, ok := counters[code]; ok {
			b = append(b, f.option(code, f.order.AppendUint64(nil, v))...)
		}
	}
	b = append(b, f.endOptions()...)
	return f.block(5, b)
}

func (f *ngFile) bytes() []byte { return bytes.Clone(f.buf.Bytes()) }

// frames returns real frames of a generated HTTP exchange on link type
// lt, as pcapgen writes them.
func frames(t testing.TB, lt layers.LinkType) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Options{LinkType: lt, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := pcapgen.Mix(3, 5)[0]
	c.Client = netip.MustParseAddrPort("192.0.2.1:40000")
	c.Server = netip.MustParseAddrPort("192.0.2.2:80")
	if err := w.WriteConn(c); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
}

// readAll reads every packet, copying the data.
func readAll(t testing.TB, r *pcapfile.Reader) ([]capture.Packet, error) {
	t.Helper()
	var out []capture.Packet
	for {
		p, err := r.ReadPacket(context.Background())
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		p.Data = bytes.Clone(p.Data)
		out = append(out, p)
	}
}

// readBytes opens b as name and reads it to the end.
func readBytes(t testing.TB, b []byte, name string) (*pcapfile.Reader, []capture.Packet, error) {
	t.Helper()
	r, err := pcapfile.NewReader(bytes.NewReader(b), name)
	if err != nil {
		return nil, nil, err
	}
	ps, err := readAll(t, r)
	return r, ps, err
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
