package pcapfile_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/internal/pcapgen"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic,
// return more than a record can hold, or return a multi-line error or one
// without the file name.
func FuzzReader(f *testing.F) {
	eth := frames(f, layers.LinkTypeEthernet)
	raw := frames(f, layers.LinkTypeRaw)
	pc := newPcap(binary.LittleEndian, false, 1, 65535).add(t0, eth[0], 0).add(t0, eth[1], 30).bytes()
	f.Add(pc)
	f.Add(newPcap(binary.BigEndian, true, 276, 262144).add(t0, eth[2], 0).bytes())
	ng := newNg(binary.LittleEndian).idb(1, 0, 0, "eth0").idb(101, 100, 9, "").
		epb(0, 1, eth[0], 0).block(4, make([]byte, 8)).isb(1, map[uint16]uint64{4: 10, 5: 1}).epb(1, 2, raw[1], 0).spb(eth[2]).pb(1, 3, raw[3]).
		section(binary.BigEndian).idb(113, 0, 0x80|10, "").epb(0, 4, eth[1], 0).bytes()
	f.Add(ng)
	f.Add(gz(f, pc))
	f.Add(gz(f, ng))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a})

	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(err error) {
			if err == nil || err == io.EOF {
				return
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "f: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line prefixed with the file name", msg)
			}
		}
		r, err := pcapfile.NewReader(bytes.NewReader(data), "f")
		check(err)
		if err != nil {
			return
		}
		for range 100000 {
			p, err := r.ReadPacket(context.Background())
			if err != nil {
				check(err)
				r.InterfaceStats()
				return
			}
			if len(p.Data) > 262144 || p.Length < len(p.Data) {
				t.Fatalf("a packet of %d bytes, length %d", len(p.Data), p.Length)
			}
		}
		t.Fatal("more packets than the input could hold")
	})
}

// benchFile is a generated capture of realistic HTTP traffic in the given
// format.
func benchFile(b *testing.B, format string) (data []byte, packets int) {
	b.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.WriteInterleaved(pcapgen.Mix(2000, 1)); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	pc := buf.Bytes()
	r, err := pcapgo.NewReader(bytes.NewReader(pc))
	if err != nil {
		b.Fatal(err)
	}
	var ng bytes.Buffer
	nw, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		b.Fatal(err)
	}
	for {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		packets++
		if err := nw.WritePacket(gopacket.CaptureInfo{Timestamp: ci.Timestamp, CaptureLength: len(d), Length: ci.Length}, d); err != nil {
			b.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		b.Fatal(err)
	}
	switch format {
	case "pcap":
		return pc, packets
	case "pcapng":
		return ng.Bytes(), packets
	default:
		return gz(b, pc), packets
	}
}

// BenchmarkRead reads a generated capture of about 10,000 packets (2,000
// HTTP exchanges) from memory.
func BenchmarkRead(b *testing.B) {
	for _, format := range []string{"pcap", "pcapng", "pcap+gzip"} {
		b.Run(format, func(b *testing.B) {
			data, packets := benchFile(b, format)
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, err := pcapfile.NewReader(bytes.NewReader(data), "bench")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := r.ReadPacket(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != packets {
					b.Fatalf("read %d packets, want %d", n, packets)
				}
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// TestReadAllocs: once its buffers have grown, reading a packet allocates
// nothing, in pcap and pcapng.
func TestReadAllocs(t *testing.T) {
	eth := frames(t, layers.LinkTypeEthernet)
	pc := newPcap(binary.LittleEndian, false, 1, 262144)
	ng := newNg(binary.LittleEndian)
	ng.noComments = true // pcapgo allocates a string for each comment
	ng.idb(1, 262144, 0, "eth0").idb(113, 0, 9, "any")
	for i := range 3000 {
		pc.add(t0, eth[i%len(eth)], 0)
		ng.epb(uint32(i%2), uint64(i), eth[i%len(eth)], 0)
	}
	for name, data := range map[string][]byte{"pcap": pc.bytes(), "pcapng": ng.bytes(), "pcap+gzip": gz(t, pc.bytes())} {
		r, err := pcapfile.NewReader(bytes.NewReader(data), name)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for range 100 { // grow the buffers
			if _, err := r.ReadPacket(ctx); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := r.ReadPacket(ctx); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet", name, allocs)
		}
	}
}
