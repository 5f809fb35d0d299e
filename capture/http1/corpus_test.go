package http1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/gopacket/gopacket/reassembly"
	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/testenv"
)

// corpusDir holds third-party captures beside the repository.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpora", "pcap")

// gopacketStream adapts a Conn to gopacket's own TCP reassembly, an
// independent reassembler that feeds the parser the way specgate's does.
type gopacketStream struct {
	c     *Conn
	reset bool
	seen  bool
	last  time.Time
}

type gopacketFactory struct {
	xs    []*capture.Exchange
	conns []*Conn
}

func (f *gopacketFactory) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	ip := func(e gopacket.Endpoint) netip.Addr { a, _ := netip.AddrFromSlice(e.Raw()); return a.Unmap() }
	a := netip.AddrPortFrom(ip(netFlow.Src()), uint16(tcp.SrcPort))
	b := netip.AddrPortFrom(ip(netFlow.Dst()), uint16(tcp.DstPort))
	c := NewConn(Info{A: a, B: b, ID: fmt.Sprintf("%d", len(f.conns))}, Options{}, func(x *capture.Exchange) { f.xs = append(f.xs, x) })
	f.conns = append(f.conns, c)
	return &gopacketStream{c: c}
}

func dirOf(d reassembly.TCPFlowDirection) Dir {
	if d == reassembly.TCPDirClientToServer {
		return DirAB
	}
	return DirBA
}

func (s *gopacketStream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if tcp.SYN && !s.seen {
		if tcp.ACK {
			s.c.SetClient(dirOf(dir).other())
		} else {
			s.c.SetClient(dirOf(dir))
		}
	}
	s.seen = true
	if tcp.RST {
		s.reset = true
	}
	*start = true
	return true
}

func (s *gopacketStream) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	dir, _, end, skip := sg.Info()
	d := dirOf(dir)
	ts := ac.GetCaptureInfo().Timestamp
	s.last = ts
	if skip != 0 {
		s.c.Lost(d, skip, ts)
	}
	if n, _ := sg.Lengths(); n > 0 {
		s.c.Data(d, sg.Fetch(n), ts)
	}
	if end {
		s.c.End(d, ts)
	}
}

func (s *gopacketStream) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	ts := s.last
	if ac != nil { // nil when flushed at the end of the file
		ts = ac.GetCaptureInfo().Timestamp
	}
	s.c.Close(ts, s.reset)
	return true
}

type captureContext gopacket.CaptureInfo

func (c *captureContext) GetCaptureInfo() gopacket.CaptureInfo { return gopacket.CaptureInfo(*c) }

// parsePcap runs a capture file through gopacket's reassembly and the parser.
func parsePcap(t *testing.T, path string) ([]*capture.Exchange, *capture.Stats) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	if bytes.HasPrefix(raw, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		src, link = r, r.LinkType()
	}
	f := &gopacketFactory{}
	asm := reassembly.NewAssembler(reassembly.NewStreamPool(f))
	var last time.Time
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		pkt := gopacket.NewPacket(data, link, gopacket.Default)
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || pkt.NetworkLayer() == nil {
			continue
		}
		ctx := captureContext(ci)
		asm.AssembleWithContext(pkt.NetworkLayer().NetworkFlow(), tcp, &ctx)
		last = ci.Timestamp
	}
	asm.FlushAll()
	st := capture.NewStats()
	for _, c := range f.conns {
		c.Close(last, false) // no-op for connections already closed
		cs := c.Stats()
		st.Server(cs.Server).Add(cs)
	}
	st.Exchanges = uint64(len(f.xs))
	return f.xs, st
}

// zeekRow is one transaction of a Zeek http.log.
type zeekRow struct {
	method, host, uri string
	reqLen, respLen   int
	status, info      int
}

func readZeekLog(t *testing.T, path string) []zeekRow {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var names []string
	var rows []zeekRow
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
			names = strings.Split(rest, "\t")
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		f := map[string]string{}
		for i, v := range strings.Split(line, "\t") {
			if i < len(names) {
				f[names[i]] = v
			}
		}
		num := func(k string) int { n, _ := strconv.Atoi(f[k]); return n }
		rows = append(rows, zeekRow{f["method"], f["host"], f["uri"], num("request_body_len"), num("response_body_len"), num("status_code"), num("info_code")})
	}
	return rows
}

func rowOf(x *capture.Exchange) zeekRow {
	info := 0
	if len(x.Response.Interim) > 0 {
		info = x.Response.Interim[len(x.Response.Interim)-1]
	}
	return zeekRow{x.Request.Method, x.Request.Host, x.Request.Target, len(x.Request.Body), len(x.Response.Body), x.Response.Status, info}
}

// TestCorpus reads real captures from other projects through gopacket's
// reassembly and checks the exchanges against what Zeek (an independent
// HTTP analyser) logged for the same traces and against tshark's counts
// in MANIFEST.tsv.
func TestCorpus(t *testing.T) {
	testenv.NeedDir(t, corpusDir)
	cases := []struct {
		file        string
		exchanges   int
		gzip        int    // gzip-decoded messages (MANIFEST's gzip_msgs)
		zeekLog     string // Zeek's log for this trace: every row must match
		zeekSome    string // Zeek's log for this trace: every exchange must be in it
		undecodable uint64
		upgrades    map[string]uint64
	}{
		{file: "akita__simple_http.pcap", exchanges: 1},
		{file: "akita__simple_http_two.pcap", exchanges: 2},
		// MANIFEST counts 6 requests: 4 of them are SSDP over UDP, not TCP
		{file: "akita__simple_http_two_with_noise.pcap", exchanges: 2},
		{file: "deepflow__http_sw8.pcap", exchanges: 3},
		// one connection speaks Zabbix's own protocol
		{file: "ndpi__zabbix-jsonrpc.pcap", exchanges: 1, undecodable: 1},
		// tshark counts 5 requests: it misses those pipelined in one segment
		{file: "suricata-verify__http-pipelined-40tx.pcap", exchanges: 40},
		{file: "zeek__100-continue-chunked.pcap", exchanges: 1, zeekLog: "scripts.base.protocols.http.100-continue.http.log"},
		{file: "zeek__docker-engine-api.pcap", exchanges: 6, upgrades: map[string]uint64{"tcp": 1}},
		{file: "zeek__httpbin-get-gzip.pcap", exchanges: 1, gzip: 1},
		{file: "zeek__httpbin-multipart.pcap", exchanges: 1, zeekLog: "scripts.base.protocols.http.multipart-extract.http.log"},
		{file: "zeek__httpbin-post.pcap", exchanges: 1},
		{file: "zeek__keepalive-5tx.pcap", exchanges: 5, gzip: 2, zeekLog: "scripts.base.protocols.http.http-pipelining.http.log"},
		// 49 connections, 40 of them with deliberately malformed request lines
		{file: "zeek__methods-49tx.pcap", exchanges: 9, undecodable: 40, zeekSome: "scripts.base.protocols.http.http-methods.http.log"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			xs, st := parsePcap(t, filepath.Join(corpusDir, c.file))
			tot := st.Total()
			if len(xs) != c.exchanges {
				t.Errorf("%d exchanges, want %d", len(xs), c.exchanges)
			}
			gz := 0
			for _, x := range xs {
				for _, d := range []string{x.Request.Decoded, x.Response.Decoded} {
					if d == "gzip" {
						gz++
					}
				}
			}
			if gz != c.gzip {
				t.Errorf("%d gzip-decoded messages, want %d", gz, c.gzip)
			}
			if tot.Incomplete+tot.Truncated+tot.LostBytes+tot.Unanswered+tot.OrphanResponses != 0 || tot.Undecodable != c.undecodable {
				t.Errorf("counters %+v", tot)
			}
			if len(tot.Upgrades) != len(c.upgrades) || (len(c.upgrades) > 0 && fmt.Sprint(tot.Upgrades) != fmt.Sprint(c.upgrades)) {
				t.Errorf("upgrades %v, want %v", tot.Upgrades, c.upgrades)
			}
			if c.zeekLog != "" {
				want := readZeekLog(t, filepath.Join(corpusDir, "zeek-http-logs", c.zeekLog))
				if len(want) != len(xs) {
					t.Fatalf("%d exchanges, Zeek logged %d", len(xs), len(want))
				}
				for i, w := range want {
					if got := rowOf(xs[i]); got != w {
						t.Errorf("exchange %d: %+v, Zeek logged %+v", i, got, w)
					}
				}
			}
			if c.zeekSome != "" {
				rows := readZeekLog(t, filepath.Join(corpusDir, "zeek-http-logs", c.zeekSome))
				for _, x := range xs {
					got := rowOf(x)
					found := false
					for i, r := range rows {
						if r.method == got.method && r.uri == got.uri && r.status == got.status && r.respLen == got.respLen {
							rows = append(rows[:i], rows[i+1:]...)
							found = true
							break
						}
					}
					if !found {
						t.Errorf("exchange %+v is not in Zeek's log", got)
					}
				}
			}
		})
	}
}
