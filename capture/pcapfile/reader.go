// Package pcapfile takes capture files (pcap or pcapng, plain or gzipped) as
// tcpdump, dumpcap or kubectl sniff write them and gives a capture.PacketSource.
package pcapfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/specgate/specgate/capture"
)

// ErrNotCapture is wrapped by the error for input that is neither pcap nor
// pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrTruncated is wrapped by the errors for a file that ends inside a
// header or record, as a file still being written, or copied while it was,
// does. The packets before the cut were returned.
var ErrTruncated = errors.New("the file was cut short")

// ctxEvery is how many packets pass between two looks at the context.
const ctxEvery = 4096

// bufSize is the read buffer between the file and the parser.
const bufSize = 256 << 10

// Magic numbers at the start of a capture file, as little-endian uint32.
const (
	magicMicro     = 0xA1B2C3D4
	magicNano      = 0xA1B23C4D
	magicMicroSwap = 0xD4C3B2A1
	magicNanoSwap  = 0x4D3CB2A1
	magicNg        = 0x0A0D0D0A
)

// Reader reads packets from one pcap or pcapng stream. It is not safe for
// concurrent use.
type Reader struct {
	name   string
	format string
	closer io.Closer
	fr     *framer
	pcap   bool // records are read by pcapRecord
	ng     *pcapgo.NgReader
	link   layers.LinkType // pcap: the file's link type

	// ifaceBase numbers the interfaces of a pcapng file across sections:
	// interface i of a section is ifaceBase+i.
	ifaceBase int
	n         int   // packets returned
	err       error // sticky
}

var _ capture.PacketSource = (*Reader)(nil)

// Open opens a capture file; "-" reads standard input. Gzip-compressed
// files are decompressed transparently.
func Open(path string) (*Reader, error) {
	if path == "-" {
		r, err := NewReader(os.Stdin, "stdin")
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a capture file", path)
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a capture from r; name prefixes its errors. It reads the
// file header before returning. The Reader does not close r.
func NewReader(r io.Reader, name string) (*Reader, error) {
	rd := &Reader{name: name}
	if err := rd.open(r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rd, nil
}

func (r *Reader) open(in io.Reader) error {
	src := bufio.NewReaderSize(in, bufSize)
	compressed := false
	if head, err := src.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return fmt.Errorf("reading the gzip header: %w", err)
		}
		src = bufio.NewReaderSize(zr, bufSize)
		compressed = true
	}
	head, err := src.Peek(4)
	if len(head) < 4 && err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("reading the file header: %w", err)
	}
	if len(head) == 0 {
		if compressed {
			return fmt.Errorf("empty capture in gzip stream: %w", ErrNotCapture)
		}
		return fmt.Errorf("empty file: %w", ErrNotCapture)
	}
	r.fr = &framer{src: src}
	switch magic(head) {
	case magicMicro, magicNano, magicMicroSwap, magicNanoSwap:
		r.format = "pcap"
		if r.link, err = r.fr.pcapHeader(); err != nil {
			return err
		}
		// Records are read straight from src (see framer.pcapRecord):
		// pcapgo, which would buffer and copy them twice, is not used.
		err = r.fr.skipPcapHeader()
		r.pcap = true
	case magicNg:
		r.format = "pcapng"
		r.fr.ng = true
		r.fr.order = binary.LittleEndian // until the section header says
		if err = r.fr.ngHeader(); err != nil {
			return err
		}
		r.ng, err = pcapgo.NewNgReader(r.fr, pcapgo.NgReaderOptions{
			WantMixedLinkType: true,
			SectionEndCallback: func(ifaces []pcapgo.NgInterface, _ pcapgo.NgSectionInfo) {
				r.ifaceBase += len(ifaces)
			},
		})
	default:
		what := "starts with"
		if compressed {
			what = "gzip-compressed data starts with"
		}
		return fmt.Errorf("%w (%s % x)", ErrNotCapture, what, head)
	}
	if compressed {
		r.format += "+gzip"
	}
	if err != nil {
		if ferr := r.fr.failed(); ferr != nil {
			return ferr
		}
		return fmt.Errorf("reading the %s header: %w", r.format, err)
	}
	return nil
}

// magic reads the first four bytes as a little-endian number, or 0.
func magic(head []byte) uint32 {
	if len(head) < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(head)
}

// ReadPacket returns the next frame. Its Data is valid until the next call.
// It returns io.EOF at the end of the file, and ctx.Err() once ctx is done
// (looked at every few thousand packets). After any other error the Reader
// returns that error for good; the packets before it were good.
func (r *Reader) ReadPacket(ctx context.Context) (capture.Packet, error) {
	if r.err != nil {
		return capture.Packet{}, r.err
	}
	if r.n%ctxEvery == 0 {
		if err := ctx.Err(); err != nil {
			return capture.Packet{}, err
		}
	}
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		link = r.link
	)
	if r.pcap {
		data, ci, err = r.pcapRecord()
	} else {
		data, ci, err = r.ng.ZeroCopyReadPacketData()
		if err == nil {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				link = lt
			}
			ci.InterfaceIndex += r.ifaceBase
		}
	}
	if err != nil {
		r.err = r.readError(err)
		return capture.Packet{}, r.err
	}
	r.n++
	if ci.Length < len(data) {
		// Some writers store an original length below the captured one.
		ci.Length = len(data)
	}
	return capture.Packet{
		Data:      data,
		Timestamp: ci.Timestamp,
		Length:    ci.Length,
		LinkType:  link,
		Interface: ci.InterfaceIndex,
	}, nil
}

// pcapRecord reads a pcap record as pcapgo's ZeroCopyReadPacketData
// does, but without copying it (see framer.pcapRecord). The framer's checks
// leave none of pcapgo's record checks to fail: a record is at most
// maxRecord bytes, pcapgo's own bound, and an original length below the
// captured one is raised by ReadPacket.
func (r *Reader) pcapRecord() ([]byte, gopacket.CaptureInfo, error) {
	rec, err := r.fr.pcapRecord()
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	o := r.fr.order
	frac := o.Uint32(rec[4:8])
	if !r.fr.nano {
		frac *= 1000 // in 32 bits, as pcapgo computes it
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(int64(o.Uint32(rec[0:4])), int64(frac)).UTC(),
		CaptureLength: int(o.Uint32(rec[8:12])),
		Length:        int(o.Uint32(rec[12:16])),
	}
	return rec[16:], ci, nil
}

// readError turns an error from pcapgo into the one to report.
func (r *Reader) readError(err error) error {
	if ferr := r.fr.failed(); ferr != nil {
		return fmt.Errorf("%s: %w", r.name, ferr)
	}
	if err == io.EOF {
		return io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: truncated record after packet %d: %w", r.name, r.n, ErrTruncated)
	}
	return fmt.Errorf("%s: after packet %d: %w", r.name, r.n, err)
}

// InterfaceStats reports the counters that the capturing tool recorded
// in the file: packets the interfaces received and dropped (the kernel's and
// the interface's drops), summed over interfaces from each one's latest
// pcapng statistics block. ok is false when the file records none, as pcap
// files never do; received is 0 if no block counts received packets. The
// counters are complete once ReadPacket has returned io.EOF: tools write
// them at the end.
func (r *Reader) InterfaceStats() (received, dropped uint64, ok bool) {
	for _, st := range r.fr.stats {
		if !st.seen {
			continue
		}
		ok = true
		received += st.recv
		dropped += st.drop
	}
	return received, dropped, ok
}

// Format names the file format: "pcap" or "pcapng", with "+gzip" appended
// for compressed files.
func (r *Reader) Format() string { return r.format }

// Close closes the file that Open opened. It does not close standard input
// or a reader given to NewReader.
func (r *Reader) Close() error {
	r.err = fmt.Errorf("%s: read after close", r.name)
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	if err := c.Close(); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	return nil
}

// Sniff reports whether head, the first bytes of a file, looks like a pcap
// file (any of its four magic numbers), a pcapng file, or gzip-compressed
// data that starts like one of those. Give it the first 64 bytes or more;
// a gzip header that stores a long file name needs more.
func Sniff(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return false
		}
		var b [16]byte
		n, _ := io.ReadFull(zr, b[:])
		return sniffPlain(b[:n])
	}
	return sniffPlain(head)
}

// sniffPlain checks uncompressed bytes for a capture file's magic number,
// and the version or byte-order magic after it when head reaches that far.
func sniffPlain(head []byte) bool {
	switch magic(head) {
	case magicMicro, magicNano:
		return len(head) < 6 || binary.LittleEndian.Uint16(head[4:]) == 2
	case magicMicroSwap, magicNanoSwap:
		return len(head) < 6 || binary.BigEndian.Uint16(head[4:]) == 2
	case magicNg:
		if len(head) < 12 {
			return true
		}
		bom := binary.LittleEndian.Uint32(head[8:])
		return bom == byteOrderMagic || bom == 0x4D3C2B1A
	}
	return false
}
