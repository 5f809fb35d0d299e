package pcapfile_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/internal/pcapgen"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// rawFrames returns generated IP packets (no link header) of one family.
func rawFrames(t *testing.T, v6 bool) [][]byte {
	t.Helper()
	if !v6 {
		return frames(t, layers.LinkTypeRaw)
	}
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Options{LinkType: layers.LinkTypeRaw, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	c := pcapgen.Mix(2, 9)[0]
	c.Client = netip.MustParseAddrPort("[2001:db8::1]:40000")
	c.Server = netip.MustParseAddrPort("[2001:db8::2]:80")
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
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if data[0]>>4 != 6 {
			t.Fatalf("generated packet is not IPv6: % x", data[:4])
		}
		out = append(out, data)
	}
}

// TestLinkTypes writes real frames of every accepted link type with
// pcapgo's writers (pcap and pcapng, plain and gzip) and reads them back.
func TestLinkTypes(t *testing.T) {
	null := func(fs [][]byte) [][]byte {
		var out [][]byte
		for _, f := range fs {
			out = append(out, append(binary.LittleEndian.AppendUint32(nil, 2), f...))
		}
		return out
	}
	v4 := rawFrames(t, false)
	tests := []struct {
		name   string
		link   layers.LinkType
		frames [][]byte
	}{
		{"ethernet", layers.LinkTypeEthernet, frames(t, layers.LinkTypeEthernet)},
		{"null", layers.LinkTypeNull, null(v4)},
		{"loop", layers.LinkTypeLoop, frames(t, layers.LinkTypeLoop)},
		{"raw", layers.LinkTypeRaw, v4},
		{"raw12", 12, v4},
		{"raw14", 14, v4},
		{"ipv4", layers.LinkTypeIPv4, v4},
		{"ipv6", layers.LinkTypeIPv6, rawFrames(t, true)},
		{"sll", layers.LinkTypeLinuxSLL, frames(t, layers.LinkTypeLinuxSLL)},
		{"sll2", layers.LinkTypeLinuxSLL2, frames(t, layers.LinkTypeLinuxSLL2)},
	}
	for _, tc := range tests {
		if len(tc.frames) < 5 {
			t.Fatalf("%s: only %d frames to test with", tc.name, len(tc.frames))
		}
		times := make([]time.Time, len(tc.frames))
		for i := range times {
			times[i] = t0.Add(time.Duration(i) * 1500 * time.Microsecond).Add(time.Duration(i*37) * time.Nanosecond)
		}

		var pc bytes.Buffer
		pw := pcapgo.NewWriter(&pc)
		if err := pw.WriteFileHeader(65535, tc.link); err != nil {
			t.Fatal(err)
		}
		var ng bytes.Buffer
		nw, err := pcapgo.NewNgWriter(&ng, tc.link)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range tc.frames {
			ci := gopacket.CaptureInfo{Timestamp: times[i], CaptureLength: len(f), Length: len(f) + i}
			if err := pw.WritePacket(ci, f); err != nil {
				t.Fatal(err)
			}
			if err := nw.WritePacket(ci, f); err != nil {
				t.Fatal(err)
			}
		}
		if err := nw.Flush(); err != nil {
			t.Fatal(err)
		}

		files := []struct {
			suffix, format string
			data           []byte
			res            time.Duration
		}{
			{".pcap", "pcap", pc.Bytes(), time.Microsecond},
			{".pcap.gz", "pcap+gzip", gz(t, pc.Bytes()), time.Microsecond},
			{".pcapng", "pcapng", ng.Bytes(), time.Nanosecond},
			{".pcapng.gz", "pcapng+gzip", gz(t, ng.Bytes()), time.Nanosecond},
		}
		for _, file := range files {
			t.Run(tc.name+file.suffix, func(t *testing.T) {
				r, ps, err := readBytes(t, file.data, tc.name+file.suffix)
				if err != nil {
					t.Fatal(err)
				}
				if got := r.Format(); got != file.format {
					t.Errorf("Format() = %q, want %q", got, file.format)
				}
				if len(ps) != len(tc.frames) {
					t.Fatalf("read %d packets, wrote %d", len(ps), len(tc.frames))
				}
				for i, p := range ps {
					if !bytes.Equal(p.Data, tc.frames[i]) {
						t.Errorf("packet %d: data differs", i)
					}
					if p.LinkType != tc.link {
						t.Errorf("packet %d: link type %d, want %d", i, p.LinkType, tc.link)
					}
					if p.Length != len(tc.frames[i])+i {
						t.Errorf("packet %d: length %d, want %d", i, p.Length, len(tc.frames[i])+i)
					}
					if want := times[i].Truncate(file.res); !p.Timestamp.Equal(want) {
						t.Errorf("packet %d: timestamp %v, want %v", i, p.Timestamp, want)
					}
					if p.Interface != 0 {
						t.Errorf("packet %d: interface %d, want 0", i, p.Interface)
					}
				}
			})
		}
	}
}

// TestByteOrders reads the same packets from pcap files in both byte
// orders and both timestamp resolutions.
func TestByteOrders(t *testing.T) {
	fs := frames(t, layers.LinkTypeEthernet)
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nano := range []bool{false, true} {
			f := newPcap(order, nano, 1, 262144)
			for i, fr := range fs {
				f.add(t0.Add(time.Duration(i)*time.Second+time.Duration(i)*time.Nanosecond), fr, 0)
			}
			for _, compress := range []bool{false, true} {
				data := f.bytes()
				if compress {
					data = gz(t, data)
				}
				name := order.String()
				if nano {
					name += "-nano"
				}
				if compress {
					name += ".gz"
				}
				t.Run(name, func(t *testing.T) {
					_, ps, err := readBytes(t, data, name)
					if err != nil {
						t.Fatal(err)
					}
					if len(ps) != len(fs) {
						t.Fatalf("read %d packets, wrote %d", len(ps), len(fs))
					}
					for i, p := range ps {
						want := t0.Add(time.Duration(i)*time.Second + time.Duration(i)*time.Nanosecond)
						if !nano {
							want = want.Truncate(time.Microsecond)
						}
						if !p.Timestamp.Equal(want) {
							t.Errorf("packet %d: timestamp %v, want %v", i, p.Timestamp, want)
						}
						if !bytes.Equal(p.Data, fs[i]) || p.Length != len(fs[i]) || p.LinkType != layers.LinkTypeEthernet {
							t.Errorf("packet %d: got %d bytes (length %d, link %d)", i, len(p.Data), p.Length, p.LinkType)
						}
					}
				})
			}
		}
	}
}

// TestPcapngInterfacesAndSections reads a pcapng file with several
// interfaces of different link types and timestamp resolutions, blocks
// that carry no packets, every packet block type, and a second section in
// the other byte order.
func TestPcapngInterfacesAndSections(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	raw := frames(t, layers.LinkTypeRaw)
	sll := frames(t, layers.LinkTypeLinuxSLL)
	sll2 := frames(t, layers.LinkTypeLinuxSLL2)
	sec := uint64(t0.Unix())

	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		other := byteOrder(binary.BigEndian)
		if order == binary.BigEndian {
			other = binary.LittleEndian
		}
		f := newNg(order).
			idb(1, 262144, 0, "eth0").                              // microseconds (the default)
			idb(101, 0, 9, "tun0").                                 // nanoseconds
			idb(276, 65535, 0x80|20, "any").                        // 2^-20 seconds
			block(4, []byte{1, 0, 4, 0, 192, 0, 2, 1, 0, 0, 0, 0}). // name resolution
			epb(0, sec*1e6+123456, eth[0], 0).
			block(5, make([]byte, 12)). // interface statistics
			epb(1, sec*1e9+123456789, raw[1], 1500).
			block(0x40000BAD, []byte("custom block, copy me not")).
			epb(2, (sec+1)<<20, sll2[2], 0).
			pb(0, sec*1e6+999999, eth[3]).
			spb(eth[4]).
			section(other).
			idb(113, 262144, 9, "any").
			epb(0, sec*1e9+5, sll[0], 0)

		want := []struct {
			data  []byte
			link  layers.LinkType
			iface int
			ts    time.Time
			len   int
		}{
			{eth[0], 1, 0, time.Unix(int64(sec), 123456000), len(eth[0])},
			{raw[1], 101, 1, time.Unix(int64(sec), 123456789), 1500},
			{sll2[2], 276, 2, time.Unix(int64(sec)+1, 0), len(sll2[2])},
			{eth[3], 1, 0, time.Unix(int64(sec), 999999000), len(eth[3])},
			{eth[4], 1, 0, time.Time{}, len(eth[4])}, // simple packet blocks have no timestamp
			{sll[0], 113, 3, time.Unix(int64(sec), 5), len(sll[0])},
		}
		for _, compress := range []bool{false, true} {
			data := f.bytes()
			name := order.String()
			if compress {
				data = gz(t, data)
				name += ".gz"
			}
			t.Run(name, func(t *testing.T) {
				r, ps, err := readBytes(t, data, name)
				if err != nil {
					t.Fatal(err)
				}
				if len(ps) != len(want) {
					t.Fatalf("read %d packets, want %d", len(ps), len(want))
				}
				for i, p := range ps {
					w := want[i]
					if !bytes.Equal(p.Data, w.data) {
						t.Errorf("packet %d: data differs", i)
					}
					if p.LinkType != w.link || p.Interface != w.iface || p.Length != w.len {
						t.Errorf("packet %d: link %d interface %d length %d, want %d %d %d", i, p.LinkType, p.Interface, p.Length, w.link, w.iface, w.len)
					}
					if !p.Timestamp.Equal(w.ts) {
						t.Errorf("packet %d: timestamp %v, want %v", i, p.Timestamp, w.ts)
					}
				}
				wantFormat := "pcapng"
				if compress {
					wantFormat += "+gzip"
				}
				if r.Format() != wantFormat {
					t.Errorf("Format() = %q, want %q", r.Format(), wantFormat)
				}
			})
		}
	}
}

// TestInterfaceStats reads the counters of pcapng statistics blocks: the
// latest block of each interface counts, over every section.
func TestInterfaceStats(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	const recv, ifdrop, osdrop = 4, 5, 7
	f := newNg(binary.LittleEndian).idb(1, 0, 0, "eth0").idb(113, 0, 0, "any").
		isb(0, map[uint16]uint64{recv: 100, ifdrop: 3}).
		epb(0, 1, eth[0], 0).
		isb(1, map[uint16]uint64{recv: 20, osdrop: 2}).
		isb(9, map[uint16]uint64{recv: 1000}). // no such interface: ignored
		isb(0, map[uint16]uint64{recv: 150, ifdrop: 5}).
		section(binary.BigEndian).idb(1, 0, 0, "eth1").
		epb(0, 2, eth[1], 0).
		isb(0, map[uint16]uint64{recv: 7, 2: 99, 6: 42})
	r, ps, err := readBytes(t, f.bytes(), "x.pcapng")
	if err != nil || len(ps) != 2 {
		t.Fatalf("%d packets, err %v", len(ps), err)
	}
	recvd, dropped, ok := r.InterfaceStats()
	if !ok || recvd != 150+20+7 || dropped != 5+2 {
		t.Errorf("InterfaceStats() = %d, %d, %v; want 177, 7, true", recvd, dropped, ok)
	}

	r, _, err = readBytes(t, newPcap(binary.LittleEndian, false, 1, 65535).add(t0, eth[0], 0).bytes(), "x.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if recvd, dropped, ok := r.InterfaceStats(); ok || recvd != 0 || dropped != 0 {
		t.Errorf("pcap: InterfaceStats() = %d, %d, %v; want none", recvd, dropped, ok)
	}
}

const linkHelp = "; specgate reads Ethernet, Linux cooked (SLL, SLL2), raw IP and loopback captures"

func TestUnsupportedLinkType(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)

	pc := newPcap(binary.LittleEndian, false, 127, 65535).add(t0, eth[0], 0).bytes()
	_, err := pcapfile.NewReader(bytes.NewReader(pc), "x.pcap")
	want := "x.pcap: unsupported link type 127 (IEEE802_11_RADIO)" + linkHelp
	if err == nil || err.Error() != want {
		t.Errorf("pcap: err = %v, want %q", err, want)
	}
	var lte *pcapfile.LinkTypeError
	if !errors.As(err, &lte) || lte.LinkType != 127 {
		t.Errorf("pcap: err %v is not a LinkTypeError for 127", err)
	}

	// The upper bits of the pcap link type field are flags; they do not
	// make Ethernet something else.
	pc = newPcap(binary.LittleEndian, false, 1|0x10000000, 65535).add(t0, eth[0], 0).bytes()
	if _, ps, err := readBytes(t, pc, "fcs.pcap"); err != nil || len(ps) != 1 || ps[0].LinkType != 1 {
		t.Errorf("Ethernet with FCS flag: %d packets, err %v", len(ps), err)
	}

	// In pcapng the error comes with the first packet of such an
	// interface, after the good packets before it.
	ng := newNg(binary.LittleEndian).idb(1, 0, 0, "eth0").idb(9999, 0, 0, "odd").
		epb(0, 1, eth[0], 0).epb(1, 2, eth[1], 0).epb(0, 3, eth[2], 0).bytes()
	_, ps, err := readBytes(t, ng, "x.pcapng")
	want = "x.pcapng: interface 1: unsupported link type 9999 (unknown)" + linkHelp
	if err == nil || err.Error() != want {
		t.Errorf("pcapng: err = %v, want %q", err, want)
	}
	if len(ps) != 1 {
		t.Errorf("pcapng: %d packets before the error, want 1", len(ps))
	}
}

// TestBadInput checks the one-line errors for broken and foreign files.
func TestBadInput(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	good := newPcap(binary.LittleEndian, false, 1, 65535).
		add(t0, eth[0], 0).add(t0, eth[1], 0).add(t0, eth[2], 0).bytes()
	// Where the third record starts, from the format: a 24-byte file
	// header and a 16-byte header before each record's data.
	third := 24 + 16 + len(eth[0]) + 16 + len(eth[1])

	huge := newPcap(binary.LittleEndian, false, 1, 65535).add(t0, eth[0], 0).bytes()
	binary.LittleEndian.PutUint32(huge[24+8:], 0xFFFFFFF0)
	tooBig := newPcap(binary.BigEndian, false, 1, 0xFFFFFFFF).add(t0, eth[0], 0).bytes()
	binary.BigEndian.PutUint32(tooBig[24+8:], 262145)
	v22 := newPcap(binary.LittleEndian, false, 1, 65535).bytes()
	v22[6] = 2

	ngGood := newNg(binary.LittleEndian).idb(1, 0, 0, "").epb(0, 1, eth[0], 0).epb(0, 2, eth[1], 0).bytes()
	// Block sizes from the format: the section header carries one
	// 13-byte option, the interface none, each packet a 9-byte comment.
	pad := func(n int) int { return (4 - n%4) % 4 }
	shbLen := 28 + (4 + 13 + pad(13)) + 4
	idbLen := 20 + 4
	epbLen := func(n int) int { return 32 + n + pad(n) + (4 + 9 + pad(9)) + 4 }
	secondEPB := shbLen + idbLen + epbLen(len(eth[0]))
	if !bytes.Equal(ngGood[secondEPB:secondEPB+4], []byte{6, 0, 0, 0}) {
		t.Fatalf("test layout: no enhanced packet block at %d", secondEPB)
	}
	ngBadBOM := bytes.Clone(ngGood)
	copy(ngBadBOM[8:], []byte{1, 2, 3, 4})
	ngBadLen := bytes.Clone(ngGood)
	binary.LittleEndian.PutUint32(ngBadLen[secondEPB+4:], 13)
	ngBadIface := bytes.Clone(ngGood)
	binary.LittleEndian.PutUint32(ngBadIface[secondEPB+8:], 7)
	ngHugeCap := bytes.Clone(ngGood)
	binary.LittleEndian.PutUint32(ngHugeCap[secondEPB+20:], 1<<30)
	ngV2 := append(bytes.Clone(ngGood), newNg(binary.LittleEndian).bytes()...)
	binary.LittleEndian.PutUint16(ngV2[len(ngGood)+12:], 2)

	garbage := gz(t, []byte("garbage, and more garbage"))
	badCRC := gz(t, good)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer
	halfGzip := gz(t, good)
	halfGzip = halfGzip[:len(halfGzip)*2/3]

	tests := []struct {
		name    string
		data    []byte
		packets int
		want    string // exact error
		is      error
	}{
		{"empty", nil, 0, "x.pcap: empty file: not a pcap or pcapng file", pcapfile.ErrNotCapture},
		{"json", []byte(`{"log":{"version":"1.2"}}`), 0, "x.pcap: not a pcap or pcapng file (starts with 7b 22 6c 6f)", pcapfile.ErrNotCapture},
		{"short", []byte("ab"), 0, "x.pcap: not a pcap or pcapng file (starts with 61 62)", pcapfile.ErrNotCapture},
		{"gzip of garbage", garbage, 0, "x.pcap: not a pcap or pcapng file (gzip-compressed data starts with 67 61 72 62)", pcapfile.ErrNotCapture},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, "x.pcap: reading the gzip header: gzip: invalid header", nil},
		{"gzip checksum", badCRC, 3, "x.pcap: reading at byte " + strconv.Itoa(len(good)) + ": gzip: invalid checksum", nil},
		{"truncated file header", good[:10], 0, "x.pcap: truncated pcap file header (10 of 24 bytes): the file was cut short", pcapfile.ErrTruncated},
		{"truncated record", good[:third+30], 2, "x.pcap: truncated packet record at byte " + strconv.Itoa(third) + ": the file was cut short", pcapfile.ErrTruncated},
		{"truncated record header", good[:third+7], 2, "x.pcap: truncated packet record at byte " + strconv.Itoa(third) + ": the file was cut short", pcapfile.ErrTruncated},
		{"absurd caplen", huge, 0, "x.pcap: packet record at byte 24 claims 4294967280 captured bytes, more than the 262144 any capture holds: the file is damaged", nil},
		{"caplen over the maximum", tooBig, 0, "x.pcap: packet record at byte 24 claims 262145 captured bytes, more than the 262144 any capture holds: the file is damaged", nil},
		{"pcap version", v22, 0, "x.pcap: unsupported pcap version 2.2 (specgate reads 2.4)", nil},
		{"pcapng cut", ngGood[:len(ngGood)-3], 1, "x.pcap: truncated pcapng block at byte " + strconv.Itoa(secondEPB) + ": the file was cut short", pcapfile.ErrTruncated},
		{"pcapng cut header", ngGood[:20], 0, "x.pcap: truncated pcapng section header (20 of 28 bytes): the file was cut short", pcapfile.ErrTruncated},
		{"pcapng byte order", ngBadBOM, 0, "x.pcap: section header at byte 0 has no byte-order magic: the file is damaged", nil},
		{"pcapng block length", ngBadLen, 1, "x.pcap: pcapng block at byte " + strconv.Itoa(secondEPB) + " has an invalid length 13: the file is damaged", nil},
		{"pcapng interface", ngBadIface, 1, "x.pcap: packet block at byte " + strconv.Itoa(secondEPB) + " refers to interface 7, but the section declares 1: the file is damaged", nil},
		{"pcapng caplen", ngHugeCap, 1, "x.pcap: packet block at byte " + strconv.Itoa(secondEPB) + " claims 1073741824 captured bytes in a " + strconv.Itoa(epbLen(len(eth[1]))-32) + "-byte block: the file is damaged", nil},
		{"pcapng version", ngV2, 2, "x.pcap: section at byte " + strconv.Itoa(len(ngGood)) + " has pcapng version 2.0; specgate reads 1.0", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ps, err := readBytes(t, tc.data, "x.pcap")
			if err == nil {
				t.Fatalf("no error; read %d packets", len(ps))
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %q\nwant %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if len(ps) != tc.packets {
				t.Errorf("read %d packets before the error, want %d", len(ps), tc.packets)
			}
		})
	}

	t.Run("truncated gzip", func(t *testing.T) {
		_, ps, err := readBytes(t, halfGzip, "x.pcap.gz")
		if !errors.Is(err, pcapfile.ErrTruncated) || !strings.HasPrefix(err.Error(), "x.pcap.gz: truncated ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v, want a one-line truncation error", err)
		}
		if len(ps) > 2 {
			t.Errorf("read %d packets from two thirds of a three-packet file", len(ps))
		}
	})
	t.Run("sticky", func(t *testing.T) {
		r, err := pcapfile.NewReader(bytes.NewReader(good[:third+30]), "x.pcap")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(t, r); err == nil {
			t.Fatal("no error")
		}
		_, err1 := r.ReadPacket(context.Background())
		_, err2 := r.ReadPacket(context.Background())
		if err1 == nil || err1 != err2 || err1 == io.EOF {
			t.Errorf("later reads returned %v, %v; want the same error again", err1, err2)
		}
	})
}

// TestOrigLenBelowCapLen: some writers store an original length below the
// captured length; libpcap reads such records, and so does specgate.
func TestOrigLenBelowCapLen(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	f := newPcap(binary.LittleEndian, false, 1, 65535).add(t0, eth[0], 10).add(t0, eth[1], 0).bytes()
	_, ps, err := readBytes(t, f, "x.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !bytes.Equal(ps[0].Data, eth[0]) || ps[0].Length != len(eth[0]) || !bytes.Equal(ps[1].Data, eth[1]) {
		t.Errorf("pcap: got %d packets; first has %d bytes, length %d", len(ps), len(ps[0].Data), ps[0].Length)
	}
	ng := newNg(binary.BigEndian).idb(1, 0, 0, "").epb(0, 1, eth[0], 10).epb(0, 2, eth[1], 0).bytes()
	_, ps, err = readBytes(t, ng, "x.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !bytes.Equal(ps[0].Data, eth[0]) || ps[0].Length != len(eth[0]) || !bytes.Equal(ps[1].Data, eth[1]) {
		t.Errorf("pcapng: got %d packets; first has %d bytes, length %d", len(ps), len(ps[0].Data), ps[0].Length)
	}
}

// TestAllocationBound: however a header lies about lengths, reading it
// allocates about one record's buffer, not what the header claims.
func TestAllocationBound(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	ng := newNg(binary.LittleEndian).idb(1, 0, 0, "").epb(0, 1, eth[0], 0).bytes()
	epb := 28 + 20
	binary.LittleEndian.PutUint32(ng[epb+4:], 0xFFFFFFF0) // block length
	binary.LittleEndian.PutUint32(ng[epb+20:], 0xFFFFFFF0)
	pc := newPcap(binary.LittleEndian, false, 1, 0xFFFFFFFF).add(t0, eth[0], 0).bytes()
	binary.LittleEndian.PutUint32(pc[24+8:], 262144) // allowed, but the file is short
	for name, data := range map[string][]byte{"pcapng": ng, "pcap": pc, "pcap.gz": gz(t, pc)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := readBytes(t, data, name)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
			t.Errorf("%s: reading a %d-byte file allocated %d bytes", name, len(data), got)
		}
	}
}

func TestSniff(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	head := func(b []byte) []byte { return b[:min(64, len(b))] }
	le := newPcap(binary.LittleEndian, false, 1, 65535).add(t0, eth[0], 0).bytes()
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"pcap le", le, true},
		{"pcap be", newPcap(binary.BigEndian, false, 1, 65535).bytes(), true},
		{"pcap nano le", newPcap(binary.LittleEndian, true, 1, 65535).bytes(), true},
		{"pcap nano be", newPcap(binary.BigEndian, true, 1, 65535).bytes(), true},
		{"pcapng le", newNg(binary.LittleEndian).bytes(), true},
		{"pcapng be", newNg(binary.BigEndian).bytes(), true},
		{"pcap gzip", gz(t, le), true},
		{"pcapng gzip", gz(t, newNg(binary.BigEndian).idb(1, 0, 0, "x").bytes()), true},
		{"magic only", le[:4], true},
		{"har", []byte(`{"log": {"version": "1.2", "entries": []}}`), false},
		{"ndjson", []byte("{\"request\":{}}\n"), false},
		{"text with crlf", []byte("\n\r\r\nhello, world, not a capture"), false},
		{"gzip of text", gz(t, []byte("hello, world")), false},
		{"pcap magic, wrong version", append([]byte{0xd4, 0xc3, 0xb2, 0xa1, 9, 0}, make([]byte, 18)...), false},
		{"empty", nil, false},
		{"one byte", []byte{0xd4}, false},
		{"gzip magic only", []byte{0x1f, 0x8b}, false},
	}
	for _, tc := range tests {
		if got := pcapfile.Sniff(head(tc.head)); got != tc.want {
			t.Errorf("%s: Sniff = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestContext(t *testing.T) {
	f := newPcap(binary.LittleEndian, false, 101, 65535)
	pkt := rawFrames(t, false)[0]
	for i := range 10000 {
		f.add(t0.Add(time.Duration(i)*time.Millisecond), pkt, 0)
	}
	data := f.bytes()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := pcapfile.NewReader(bytes.NewReader(data), "x.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadPacket(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: err = %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r, err = pcapfile.NewReader(bytes.NewReader(data), "x.pcap")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		if n == 10 {
			cancel()
		}
		_, err := r.ReadPacket(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("after %d packets: err = %v", n, err)
			}
			break
		}
	}
	if n > 10+5000 {
		t.Errorf("read %d packets after cancelling at 10", n)
	}
}

func TestOpen(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	dir := t.TempDir()
	path := filepath.Join(dir, "f.pcap.gz")
	pc := newPcap(binary.LittleEndian, true, 1, 65535).add(t0, eth[0], 0).add(t0, eth[1], 0).bytes()
	if err := os.WriteFile(path, gz(t, pc), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := readAll(t, r)
	if err != nil || len(ps) != 2 || r.Format() != "pcap+gzip" {
		t.Errorf("read %d packets, err %v, format %q", len(ps), err, r.Format())
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := r.ReadPacket(context.Background()); err == nil || err == io.EOF {
		t.Errorf("read after Close: %v", err)
	}

	missing := filepath.Join(dir, "missing.pcap")
	_, err = pcapfile.Open(missing)
	if err == nil || err.Error() != missing+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	_, err = pcapfile.Open(dir)
	if err == nil || err.Error() != dir+": is a directory, not a capture file" {
		t.Errorf("directory: err = %v", err)
	}

	t.Run("stdin", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			pw.Write(pc)
			pw.Close()
		}()
		saved := os.Stdin
		os.Stdin = pr
		defer func() { os.Stdin = saved; pr.Close() }()
		r, err := pcapfile.Open("-")
		if err != nil {
			t.Fatal(err)
		}
		ps, err := readAll(t, r)
		if err != nil || len(ps) != 2 {
			t.Errorf("stdin: %d packets, err %v", len(ps), err)
		}
		r.Close()
		if _, err := pr.Stat(); err != nil {
			t.Errorf("Close closed standard input: %v", err)
		}
	})
}

// TestLargestRecord reads records of the largest size a capture holds,
// between small ones, both through Open's read buffer (smaller than such
// a record, so it is copied out) and through a larger buffer (handed out
// of it), and gets every byte and length back.
func TestLargestRecord(t *testing.T) {
	big := make([]byte, 262144)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	small := frames(t, layers.LinkTypeEthernet)[0]
	f := newPcap(binary.LittleEndian, true, 1, 262144).
		add(t0, small, 0).add(t0.Add(time.Nanosecond), big, len(big)+100).add(t0.Add(2*time.Nanosecond), small, 0).
		add(t0.Add(3*time.Nanosecond), big, 0).bytes()
	for _, tc := range []struct {
		name string
		in   io.Reader
	}{
		{"small buffer", bytes.NewReader(f)},
		{"large buffer", bufio.NewReaderSize(bytes.NewReader(f), 1<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := pcapfile.NewReader(tc.in, "x.pcap")
			if err != nil {
				t.Fatal(err)
			}
			ps, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			want := [][]byte{small, big, small, big}
			lengths := []int{len(small), len(big) + 100, len(small), len(big)}
			if len(ps) != len(want) {
				t.Fatalf("read %d packets, want %d", len(ps), len(want))
			}
			for i, p := range ps {
				if !bytes.Equal(p.Data, want[i]) || p.Length != lengths[i] || !p.Timestamp.Equal(t0.Add(time.Duration(i))) {
					t.Errorf("packet %d: %d bytes (length %d) at %v; want %d (length %d) at %v",
						i, len(p.Data), p.Length, p.Timestamp, len(want[i]), lengths[i], t0.Add(time.Duration(i)))
				}
			}
		})
	}
}
