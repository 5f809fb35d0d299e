package pcapgen_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/internal/pcapgen"
	"github.com/specgate/specgate/internal/testenv"
)

// TestMix parses every generated exchange with net/http's readers and
// checks the traffic has the promised make-up.
func TestMix(t *testing.T) {
	const n = 1500
	conns := pcapgen.Mix(n, 42)
	total, chunked, gzipped := 0, 0, 0
	methods := map[string]int{}
	statuses := map[int]int{}
	var maxBody, minBody = 0, 1 << 30
	clients := map[netip.Addr]bool{}
	tuples := map[[2]netip.AddrPort]bool{}
	for ci, c := range conns {
		if len(c.Exchanges) < 1 || len(c.Exchanges) > 100 {
			t.Errorf("connection %d has %d exchanges", ci, len(c.Exchanges))
		}
		if tuples[[2]netip.AddrPort{c.Client, c.Server}] {
			t.Errorf("connection %d reuses %s → %s", ci, c.Client, c.Server)
		}
		tuples[[2]netip.AddrPort{c.Client, c.Server}] = true
		clients[c.Client.Addr()] = true
		for ei, e := range c.Exchanges {
			total++
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(e.Request)))
			if err != nil {
				t.Fatalf("connection %d exchange %d: request: %v\n%s", ci, ei, err, e.Request)
			}
			reqBody, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatalf("request body: %v", err)
			}
			if len(reqBody) > 0 && !json.Valid(reqBody) {
				t.Errorf("request body is not JSON: %q", reqBody)
			}
			methods[req.Method]++
			br := bufio.NewReader(bytes.NewReader(e.Response))
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				t.Fatalf("connection %d exchange %d: response: %v\n%s", ci, ei, err, e.Response)
			}
			statuses[resp.StatusCode]++
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("response body: %v", err)
			}
			if br.Buffered() != 0 {
				t.Errorf("connection %d exchange %d: %d bytes after the response", ci, ei, br.Buffered())
			}
			if slices.Contains(resp.TransferEncoding, "chunked") {
				chunked++
			}
			if resp.Header.Get("Content-Encoding") == "gzip" {
				gzipped++
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("gzip body: %v", err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatalf("gzip body: %v", err)
				}
			}
			if resp.StatusCode == http.StatusNoContent {
				if len(body) != 0 {
					t.Errorf("204 with a body")
				}
				continue
			}
			if !json.Valid(body) {
				t.Errorf("response body is not JSON: %.100q", body)
			}
			maxBody, minBody = max(maxBody, len(body)), min(minBody, len(body))
		}
	}
	if total != n {
		t.Errorf("%d exchanges, want %d", total, n)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if methods[m] < n/50 {
			t.Errorf("only %d %s requests of %d: %v", methods[m], m, n, methods)
		}
	}
	for _, s := range []int{200, 201, 204, 404} {
		if statuses[s] == 0 {
			t.Errorf("no %d responses: %v", s, statuses)
		}
	}
	if chunked < n/20 || chunked > n/5 {
		t.Errorf("%d of %d responses chunked, want about 10%%", chunked, n)
	}
	if gzipped < n/20 || gzipped > n/5 {
		t.Errorf("%d of %d responses gzip-encoded, want about 10%%", gzipped, n)
	}
	if minBody > 200 || maxBody < 20000 || maxBody > 70000 {
		t.Errorf("response bodies from %d to %d bytes, want about 100 B to 64 KB", minBody, maxBody)
	}
	if len(clients) < 3 {
		t.Errorf("%d client addresses", len(clients))
	}

	again := pcapgen.Mix(n, 42)
	if !equalConns(conns, again) {
		t.Error("Mix is not deterministic")
	}
	if equalConns(conns, pcapgen.Mix(n, 43)) {
		t.Error("Mix gives the same traffic for another seed")
	}
}

func equalConns(a, b []pcapgen.Conn) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Client != b[i].Client || a[i].Server != b[i].Server || len(a[i].Exchanges) != len(b[i].Exchanges) {
			return false
		}
		for j, e := range a[i].Exchanges {
			f := b[i].Exchanges[j]
			if !bytes.Equal(e.Request, f.Request) || !bytes.Equal(e.Response, f.Response) || e.Delay != f.Delay {
				return false
			}
		}
	}
	return true
}

// generate writes cs with o and returns the file.
func generate(t testing.TB, o pcapgen.Options, cs []pcapgen.Conn) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterleaved(cs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seg is a decoded TCP segment.
type seg struct {
	src, dst  netip.AddrPort
	seq, ack  uint32
	syn, fin  bool
	rst, ackf bool
	payload   []byte
	ts        time.Time
}

// decode reads the file with pcapfile and decodes every packet with
// gopacket, checking the IPv4 and TCP checksums.
func decode(t *testing.T, file []byte, wantLink layers.LinkType, nano bool) []seg {
	t.Helper()
	r, err := pcapfile.NewReader(bytes.NewReader(file), "gen.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var out []seg
	var last time.Time
	subMicro := false
	for i := 0; ; i++ {
		p, err := r.ReadPacket(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.LinkType != wantLink {
			t.Fatalf("packet %d: link type %d, want %d", i, p.LinkType, wantLink)
		}
		if p.Timestamp.Before(last) {
			t.Fatalf("packet %d: timestamp %v before %v", i, p.Timestamp, last)
		}
		last = p.Timestamp
		subMicro = subMicro || p.Timestamp.Nanosecond()%1000 != 0
		out = append(out, decodeOne(t, i, p))
	}
	if subMicro != nano {
		t.Errorf("sub-microsecond timestamps: %v; nanosecond file: %v", subMicro, nano)
	}
	return out
}

func decodeOne(t *testing.T, i int, p capture.Packet) seg {
	t.Helper()
	pkt := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		t.Fatalf("packet %d does not decode: %v", i, el.Error())
	}
	var s seg
	var src, dst netip.Addr
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		if err, res := ip.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("packet %d: bad IPv4 checksum %#x, want %#x", i, res.Actual, res.Correct)
		}
		if int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
			t.Fatalf("packet %d: IPv4 length %d for %d bytes", i, ip.Length, len(ip.Contents)+len(ip.Payload))
		}
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
	case *layers.IPv6:
		if int(ip.Length) != len(ip.Payload) {
			t.Fatalf("packet %d: IPv6 payload length %d for %d bytes", i, ip.Length, len(ip.Payload))
		}
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
	default:
		t.Fatalf("packet %d: no IP layer: %s", i, pkt)
	}
	tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatalf("packet %d: no TCP layer", i)
	}
	if err := tcp.SetNetworkLayerForChecksum(pkt.NetworkLayer()); err != nil {
		t.Fatal(err)
	}
	if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
		t.Fatalf("packet %d: bad TCP checksum %#x, want %#x", i, res.Actual, res.Correct)
	}
	s.src = netip.AddrPortFrom(src.Unmap(), uint16(tcp.SrcPort))
	s.dst = netip.AddrPortFrom(dst.Unmap(), uint16(tcp.DstPort))
	s.seq, s.ack = tcp.Seq, tcp.Ack
	s.syn, s.fin, s.rst, s.ackf = tcp.SYN, tcp.FIN, tcp.RST, tcp.ACK
	s.payload = bytes.Clone(tcp.Payload)
	s.ts = p.Timestamp
	return s
}

// stream is one direction of a connection, put back together by sequence
// number.
type stream struct {
	isn      uint32
	haveSYN  bool
	data     []byte
	have     []bool
	segments int
	// Faults seen: segments below the highest byte seen that bring only
	// new bytes, exact repeats, and segments with other bounds that carry
	// bytes seen before.
	outOfOrder, repeats, overlaps int
	conflict                      bool
	lastAck                       uint32
	fin, rst                      bool
	seen                          map[[2]uint32]bool
}

// reassemble groups segments by direction and places payloads by
// sequence number. Without a SYN, base is the lowest sequence number seen.
func reassemble(t *testing.T, segs []seg) map[[2]netip.AddrPort]*stream {
	t.Helper()
	out := map[[2]netip.AddrPort]*stream{}
	get := func(s seg) *stream {
		k := [2]netip.AddrPort{s.src, s.dst}
		st := out[k]
		if st == nil {
			st = &stream{seen: map[[2]uint32]bool{}}
			out[k] = st
		}
		return st
	}
	// First pass: ISNs.
	for _, s := range segs {
		st := get(s)
		if s.syn {
			st.isn, st.haveSYN = s.seq+1, true
		}
	}
	for _, s := range segs {
		st := get(s)
		if !st.haveSYN && st.segments == 0 && len(s.payload) > 0 {
			st.isn = s.seq
		}
		if s.ackf {
			st.lastAck = s.ack
		}
		st.fin = st.fin || s.fin
		st.rst = st.rst || s.rst
		if len(s.payload) == 0 {
			continue
		}
		st.segments++
		off := int(int32(s.seq - st.isn))
		if off < 0 {
			t.Fatalf("segment %d bytes before the first one seen", -off)
		}
		end := off + len(s.payload)
		key := [2]uint32{uint32(off), uint32(end)}
		switch {
		case st.seen[key]:
			st.repeats++
		case anyHave(st.have[min(off, len(st.have)):min(end, len(st.have))]):
			st.overlaps++
		case off < len(st.data):
			st.outOfOrder++
		}
		st.seen[key] = true
		for len(st.data) < end {
			st.data = append(st.data, 0)
			st.have = append(st.have, false)
		}
		for i, b := range s.payload {
			if st.have[off+i] && st.data[off+i] != b {
				st.conflict = true
			}
			st.data[off+i] = b
			st.have[off+i] = true
		}
	}
	return out
}

func anyHave(h []bool) bool { return slices.Contains(h, true) }

func missing(st *stream) int {
	n := 0
	for _, h := range st.have {
		if !h {
			n++
		}
	}
	return n
}

// wire joins the requests or responses of c.
func wire(c pcapgen.Conn, requests bool, from int) []byte {
	var b []byte
	for _, e := range c.Exchanges[from:] {
		if requests {
			b = append(b, e.Request...)
		} else {
			b = append(b, e.Response...)
		}
	}
	return b
}

// TestWriteReadBack writes generated traffic in every link type and reads
// it back with pcapfile and gopacket: checksums valid, timestamps in
// order, and each direction's payloads, put together by sequence number,
// exactly the exchanges' bytes.
func TestWriteReadBack(t *testing.T) {
	conns := pcapgen.Mix(120, 7)
	conns = append(conns, pcapgen.Conn{
		Client:    netip.MustParseAddrPort("[2001:db8::1]:51000"),
		Server:    netip.MustParseAddrPort("[2001:db8::2]:80"),
		Exchanges: conns[0].Exchanges,
		Pipelined: true,
		CloseWith: "rst",
	}, pcapgen.Conn{
		Client:    netip.MustParseAddrPort("192.0.2.7:51001"),
		Server:    netip.MustParseAddrPort("192.0.2.8:80"),
		Exchanges: conns[1].Exchanges,
		CloseWith: "none",
	})
	tests := []struct {
		link layers.LinkType
		nano bool
		mss  int
	}{
		{0, false, 0}, // Ethernet
		{layers.LinkTypeLinuxSLL, false, 536},
		{layers.LinkTypeLinuxSLL2, true, 0},
		{layers.LinkTypeRaw, false, 9000},
		{layers.LinkTypeLoop, true, 1460},
	}
	for _, tc := range tests {
		want := tc.link
		if want == 0 {
			want = layers.LinkTypeEthernet
		}
		t.Run(fmt.Sprintf("%d-nano=%v-mss=%d", want, tc.nano, tc.mss), func(t *testing.T) {
			file := generate(t, pcapgen.Options{LinkType: tc.link, Nanosecond: tc.nano, MSS: tc.mss, Seed: 1}, conns)
			segs := decode(t, file, want, tc.nano)
			mss := tc.mss
			if mss == 0 {
				mss = 1460
			}
			for i, s := range segs {
				if len(s.payload) > mss {
					t.Fatalf("segment %d carries %d bytes, MSS %d", i, len(s.payload), mss)
				}
			}
			streams := reassemble(t, segs)
			if len(streams) != 2*len(conns) {
				t.Fatalf("%d directions, want %d", len(streams), 2*len(conns))
			}
			for i, c := range conns {
				cs := streams[[2]netip.AddrPort{c.Client, c.Server}]
				ss := streams[[2]netip.AddrPort{c.Server, c.Client}]
				if !cs.haveSYN || !ss.haveSYN {
					t.Fatalf("connection %d: no handshake", i)
				}
				if !bytes.Equal(cs.data, wire(c, true, 0)) || missing(cs) != 0 {
					t.Fatalf("connection %d: requests differ", i)
				}
				if !bytes.Equal(ss.data, wire(c, false, 0)) || missing(ss) != 0 {
					t.Fatalf("connection %d: responses differ", i)
				}
				if cs.outOfOrder+cs.repeats+cs.overlaps+ss.outOfOrder+ss.repeats+ss.overlaps != 0 || cs.conflict || ss.conflict {
					t.Fatalf("connection %d: faults without asking", i)
				}
				switch c.CloseWith {
				case "", "fin":
					if !cs.fin || !ss.fin {
						t.Errorf("connection %d: no FIN from both sides", i)
					}
				case "rst":
					if !cs.rst || cs.fin || ss.fin {
						t.Errorf("connection %d: want an RST and no FIN", i)
					}
				case "none":
					if cs.rst || cs.fin || ss.fin || ss.rst {
						t.Errorf("connection %d: closed, want it left open", i)
					}
				}
				// The final ACKs cover everything the other side sent.
				if c.CloseWith != "rst" && ss.lastAck != cs.isn+uint32(len(cs.data))+b2u(cs.fin) {
					t.Errorf("connection %d: the server's last ACK %d does not cover the requests", i, ss.lastAck-cs.isn)
				}
				if cs.lastAck != ss.isn+uint32(len(ss.data))+b2u(ss.fin) {
					t.Errorf("connection %d: the client's last ACK %d does not cover the responses", i, cs.lastAck-ss.isn)
				}
			}
			if n := countWithTool(t, file); n >= 0 && n != len(segs) {
				t.Errorf("tcpdump counts %d packets, pcapfile read %d", n, len(segs))
			}
			if !bytes.Equal(file, generate(t, pcapgen.Options{LinkType: tc.link, Nanosecond: tc.nano, MSS: tc.mss, Seed: 1}, conns)) {
				t.Error("the same seed gives a different file")
			}
		})
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// countWithTool counts the packets with tcpdump -r, or returns -1 when
// tcpdump is missing outside CI.
func countWithTool(t *testing.T, file []byte) int {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil && !testenv.InCI() {
		return -1
	}
	tcpdump := testenv.NeedCommand(t, "tcpdump")
	path := filepath.Join(t.TempDir(), "f.pcap")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tcpdump, "-r", path, "-n").Output()
	if err != nil {
		t.Fatalf("tcpdump -r: %v", err)
	}
	return bytes.Count(out, []byte("\n"))
}

// TestFaults checks that each fault happens, deterministically, and that
// the data stays consistent.
func TestFaults(t *testing.T) {
	conns := pcapgen.Mix(150, 11)
	base := generate(t, pcapgen.Options{Seed: 5}, conns)
	tests := []struct {
		name string
		o    pcapgen.Options
		// which counters must be non-zero
		outOfOrder, repeats, overlaps, gaps bool
	}{
		{"reorder", pcapgen.Options{Reorder: 0.2}, true, false, false, false},
		{"duplicate", pcapgen.Options{Duplicate: 0.2}, false, true, false, false},
		{"overlap", pcapgen.Options{Overlap: 0.2}, false, false, true, false},
		{"drop", pcapgen.Options{Drop: 0.1}, false, false, false, true},
		{"all", pcapgen.Options{Reorder: 0.1, Duplicate: 0.1, Overlap: 0.1, Drop: 0.05}, true, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Seed = 5
			file := generate(t, tc.o, conns)
			if bytes.Equal(file, base) {
				t.Fatal("no fault in the file")
			}
			if !bytes.Equal(file, generate(t, tc.o, conns)) {
				t.Error("the same seed gives a different file")
			}
			streams := reassemble(t, decode(t, file, layers.LinkTypeEthernet, false))
			var ooo, rep, ovl, gaps int
			for i, c := range conns {
				for _, dir := range []struct {
					k    [2]netip.AddrPort
					want []byte
				}{
					{[2]netip.AddrPort{c.Client, c.Server}, wire(c, true, 0)},
					{[2]netip.AddrPort{c.Server, c.Client}, wire(c, false, 0)},
				} {
					st := streams[dir.k]
					if st.conflict {
						t.Fatalf("connection %d: overlapping segments disagree", i)
					}
					m := missing(st)
					gaps += m
					if len(st.data) > len(dir.want) {
						t.Fatalf("connection %d: %d bytes, more than the %d sent", i, len(st.data), len(dir.want))
					}
					for j, h := range st.have {
						if h && st.data[j] != dir.want[j] {
							t.Fatalf("connection %d: byte %d differs", i, j)
						}
					}
					if m == 0 && len(st.data) != len(dir.want) && !tc.gaps {
						t.Fatalf("connection %d: %d bytes of %d", i, len(st.data), len(dir.want))
					}
					// ACKs still cover what was sent, captured or not.
					if c.CloseWith == "fin" {
						back := streams[[2]netip.AddrPort{dir.k[1], dir.k[0]}]
						if back.lastAck != st.isn+uint32(len(dir.want))+1 {
							t.Fatalf("connection %d: last ACK %d, sent %d", i, back.lastAck-st.isn, len(dir.want))
						}
					}
					ooo += st.outOfOrder
					rep += st.repeats
					ovl += st.overlaps
				}
			}
			check := func(what string, n int, want bool) {
				if (n > 0) != want {
					t.Errorf("%s: %d, want some: %v", what, n, want)
				}
			}
			check("out-of-order segments", ooo, tc.outOfOrder)
			check("repeated segments", rep, tc.repeats)
			check("overlapping segments", ovl, tc.overlaps)
			check("missing bytes", gaps, tc.gaps)
		})
	}
}

// TestStartMidConnection: no handshake, no first request; the capture
// begins with the first response.
func TestStartMidConnection(t *testing.T) {
	conns := pcapgen.Mix(200, 3)
	file := generate(t, pcapgen.Options{Seed: 2, StartMidConnection: true}, conns)
	segs := decode(t, file, layers.LinkTypeEthernet, false)
	for _, s := range segs {
		if s.syn {
			t.Fatal("a SYN in a capture that starts mid-connection")
		}
	}
	streams := reassemble(t, segs)
	for i, c := range conns {
		ss := streams[[2]netip.AddrPort{c.Server, c.Client}]
		if !bytes.Equal(ss.data, wire(c, false, 0)) {
			t.Fatalf("connection %d: responses differ", i)
		}
		cs := streams[[2]netip.AddrPort{c.Client, c.Server}]
		if len(c.Exchanges) == 1 {
			if cs != nil && len(cs.data) != 0 {
				t.Fatalf("connection %d: request bytes of its only exchange", i)
			}
			continue
		}
		if !bytes.Equal(cs.data, wire(c, true, 1)) {
			t.Fatalf("connection %d: requests after the first differ", i)
		}
	}
}

// TestTshark has Wireshark's HTTP dissector count the requests and check
// every checksum.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (Debian: tshark)")
	}
	conns := pcapgen.Mix(300, 21)
	var want []string
	for _, c := range conns {
		for _, e := range c.Exchanges {
			want = append(want, strings.Fields(string(e.Request))[0])
		}
	}
	path := filepath.Join(t.TempDir(), "mix.pcap")
	if err := os.WriteFile(path, generate(t, pcapgen.Options{Seed: 9}, conns), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-Y", "http.request", "-T", "fields", "-e", "http.request.method").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("tshark sees %d requests, generated %d", len(got), len(want))
	}
	out, err = exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-Y", "ip.checksum.status != 1 || tcp.checksum.status != 1 || tcp.analysis.flags", "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("tshark flags frames (bad checksum or TCP analysis): %s", out)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []pcapgen.Options{
		{LinkType: layers.LinkTypeIEEE80211Radio},
		{MSS: -1},
		{Reorder: 1.5},
		{Drop: -0.1},
	} {
		if _, err := pcapgen.NewWriter(io.Discard, o); err == nil {
			t.Errorf("NewWriter(%+v): no error", o)
		}
	}
	w, err := pcapgen.NewWriter(io.Discard, pcapgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ex := []pcapgen.Exchange{{Request: []byte("GET / HTTP/1.1\r\n\r\n")}}
	for _, c := range []pcapgen.Conn{
		{Client: netip.MustParseAddrPort("192.0.2.1:1"), Server: netip.MustParseAddrPort("[2001:db8::1]:80"), Exchanges: ex},
		{Client: netip.MustParseAddrPort("192.0.2.1:1"), Server: netip.MustParseAddrPort("192.0.2.2:80"), Exchanges: ex, CloseWith: "slam"},
		{Server: netip.MustParseAddrPort("192.0.2.2:80"), Exchanges: ex},
		{Client: netip.MustParseAddrPort("192.0.2.1:1"), Server: netip.MustParseAddrPort("192.0.2.2:80"), Exchanges: []pcapgen.Exchange{{}}},
	} {
		if err := w.WriteConn(c); err == nil {
			t.Errorf("WriteConn(%v → %v, close %q): no error", c.Client, c.Server, c.CloseWith)
		}
	}
}

// BenchmarkGenerate writes generated traffic; packets/s is what the
// benchmark file's generation rate depends on.
func BenchmarkGenerate(b *testing.B) {
	conns := pcapgen.Mix(2000, 1)
	packets := 0
	b.ReportAllocs()
	for b.Loop() {
		cw := &countWriter{}
		w, err := pcapgen.NewWriter(cw, pcapgen.Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.WriteInterleaved(conns); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(cw.n)
	}
	r, err := pcapfile.NewReader(bytes.NewReader(generate(b, pcapgen.Options{Seed: 1}, conns)), "x")
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := r.ReadPacket(context.Background()); err != nil {
			break
		}
		packets++
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
