package live

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/testenv"
	"golang.org/x/net/bpf"
)

// The test binary doubles as a helper process, chosen by helperEnv: "open"
// opens a source and prints the outcome (run unprivileged), "traffic"
// serves HTTP inside a network namespace and makes requests on demand.
const (
	helperEnv       = "SPECGATE_LIVE_HELPER"
	helperIfacesEnv = "SPECGATE_LIVE_IFACES"
	helperNetnsEnv  = "SPECGATE_LIVE_NETNS"
	helperListenEnv = "SPECGATE_LIVE_LISTEN"
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); mode {
	case "":
		os.Exit(m.Run())
	case "open":
		os.Exit(helperOpen())
	case "traffic":
		os.Exit(helperTraffic())
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		os.Exit(2)
	}
}

// helperOpen prints the effective capabilities, then "ok" or the error of
// Open.
func helperOpen() int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "CapEff:") {
			fmt.Println("capeff:" + strings.TrimSpace(strings.TrimPrefix(line, "CapEff:")))
		}
	}
	var ifaces []string
	if v := os.Getenv(helperIfacesEnv); v != "" {
		ifaces = strings.Split(v, ",")
	}
	src, err := Open(context.Background(), Config{Interfaces: ifaces, Netns: os.Getenv(helperNetnsEnv), BufferBytes: 1 << 20})
	if err != nil {
		fmt.Println("error: " + err.Error())
		return 0
	}
	src.Close()
	fmt.Println("ok")
	return 0
}

// helperMsg is one line of the traffic helper's output.
type helperMsg struct {
	Ready bool             `json:",omitempty"`
	Convs map[string]*conv `json:",omitempty"`
	Err   string           `json:",omitempty"`
}

// helperTraffic serves HTTP on helperListenEnv and, for each line read from
// stdin, makes requests to its own server over loopback, printing what the
// clients sent and received.
func helperTraffic() int {
	enc := json.NewEncoder(os.Stdout)
	addr := os.Getenv(helperListenEnv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		enc.Encode(helperMsg{Err: err.Error()})
		return 1
	}
	srv := &http.Server{Handler: echoHandler("inside")}
	go srv.Serve(ln)
	defer srv.Close()
	enc.Encode(helperMsg{Ready: true})
	port := ln.Addr().(*net.TCPAddr).Port
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		convs, err := runTraffic(context.Background(), net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "inside", smallSizes)
		msg := helperMsg{Convs: convs}
		if err != nil {
			msg.Err = err.Error()
		}
		enc.Encode(msg)
	}
	return 0
}

// conv is what one TCP connection carried, seen from its client.
type conv struct {
	mu  sync.Mutex
	C2S []byte // client to server
	S2C []byte // server to client
}

// recorder collects conversations by client address.
type recorder struct {
	mu    sync.Mutex
	convs map[string]*conv
}

func (r *recorder) conv(client string) *conv {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.convs[client]
	if c == nil {
		c = &conv{}
		r.convs[client] = c
	}
	return c
}

// recConn records what a client connection writes and reads.
type recConn struct {
	net.Conn
	c *conv
}

// Write records b before writing it: the reply may arrive, and the
// traffic end, before a Write returns.
func (rc *recConn) Write(b []byte) (int, error) {
	rc.c.mu.Lock()
	start := len(rc.c.C2S)
	rc.c.C2S = append(rc.c.C2S, b...)
	rc.c.mu.Unlock()
	n, err := rc.Conn.Write(b)
	if n < len(b) {
		rc.c.mu.Lock()
		rc.c.C2S = rc.c.C2S[:start+n]
		rc.c.mu.Unlock()
	}
	return n, err
}

func (rc *recConn) Read(b []byte) (int, error) {
	n, err := rc.Conn.Read(b)
	if n == 0 {
		return n, err
	}
	rc.c.mu.Lock()
	rc.c.S2C = append(rc.c.S2C, b[:n]...)
	rc.c.mu.Unlock()
	return n, err
}

// echoHandler answers every request with JSON naming tag, padded to the
// size asked for in the resp query parameter.
func echoHandler(tag string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		size, _ := strconv.Atoi(r.URL.Query().Get("resp"))
		size = min(max(size, 0), 1<<20)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tag":%q,"path":%q,"got":%d,"pad":"%s"}`, tag, r.URL.Path, n, strings.Repeat("p", size))
	})
}

// Request body sizes: empty, small, and larger than a loopback segment.
var (
	smallSizes = []int{0, 300, 5000, 70000}
	largeSizes = []int{0, 300, 5000, 70000, 250000}
)

// runTraffic POSTs bodies of the given sizes to addr over a keep-alive
// client and a one-request-per-connection client; it returns what every
// connection carried, by client address.
func runTraffic(ctx context.Context, addr, tag string, sizes []int) (map[string]*conv, error) {
	rec := &recorder{convs: map[string]*conv{}}
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, a)
		if err != nil {
			return nil, err
		}
		return &recConn{Conn: c, c: rec.conv(c.LocalAddr().String())}, nil
	}
	for _, keepAlive := range []bool{true, false} {
		tr := &http.Transport{DialContext: dial, DisableKeepAlives: !keepAlive, DisableCompression: true}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for i, n := range sizes {
			body := bytes.Repeat([]byte(tag+"."), n/(len(tag)+1)+1)[:n]
			url := fmt.Sprintf("http://%s/%s/items/%d?resp=%d", addr, tag, i, n/2+17)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return nil, err
			}
			if want := fmt.Sprintf(`{"tag":%q`, tag); !bytes.HasPrefix(got, []byte(want)) {
				return nil, fmt.Errorf("response from %s starts %.40q, want %q", addr, got, want)
			}
		}
		tr.CloseIdleConnections()
	}
	return rec.snapshot(), nil
}

// snapshot copies what was recorded so far.
func (r *recorder) snapshot() map[string]*conv {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]*conv, len(r.convs))
	for k, c := range r.convs {
		c.mu.Lock()
		out[k] = &conv{C2S: slices.Clone(c.C2S), S2C: slices.Clone(c.S2C)}
		c.mu.Unlock()
	}
	return out
}

// startServer serves echoHandler(tag) on ln until the test ends.
func startServer(t testing.TB, ln net.Listener, tag string) {
	t.Helper()
	srv := &http.Server{Handler: echoHandler(tag)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// listenLoopback listens on 127.0.0.1 at a free port.
func listenLoopback(t testing.TB) (net.Listener, uint16) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, uint16(ln.Addr().(*net.TCPAddr).Port)
}

// portFilter is a classic BPF program, offsets from the IPv4 header, that
// accepts unfragmented IPv4 packets of the given protocol to or from port.
func portFilter(t testing.TB, proto layers.IPProtocol, port uint16) []bpf.RawInstruction {
	t.Helper()
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 0, Size: 1},                                 // 0: version and IHL
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0},                    // 1
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x40, SkipFalse: 9},          // 2: IPv4?
		bpf.LoadAbsolute{Off: 9, Size: 1},                                 // 3: protocol
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(proto), SkipFalse: 7}, // 4
		bpf.LoadAbsolute{Off: 6, Size: 2},                                 // 5: fragment offset
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 5},       // 6
		bpf.LoadMemShift{Off: 0},                                          // 7: X = header length
		bpf.LoadIndirect{Off: 0, Size: 2},                                 // 8: source port
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipTrue: 3},   // 9
		bpf.LoadIndirect{Off: 2, Size: 2},                                 // 10: destination port
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipTrue: 1},   // 11
		bpf.RetConstant{Val: 0},                                           // 12: drop
		bpf.RetConstant{Val: 262144},                                      // 13: accept
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// collector reads packets from a source in the background, copying them.
type collector struct {
	done chan struct{} // closed by finish: the traffic is over
	out  chan collected
}

type collected struct {
	pkts []capture.Packet
	err  error
}

// collect starts reading src. finish returns what it read once the
// source has been idle for two poll intervals after the traffic ended.
func collect(src *Source) *collector {
	c := &collector{done: make(chan struct{}), out: make(chan collected, 1)}
	go func() {
		var res collected
		idle := 0
		for {
			p, err := src.ReadPacket(context.Background())
			if errors.Is(err, capture.ErrTimeout) {
				select {
				case <-c.done:
					idle++
				default:
				}
				if idle >= 2 {
					break
				}
				continue
			}
			if err != nil {
				res.err = err
				break
			}
			idle = 0
			p.Data = slices.Clone(p.Data)
			res.pkts = append(res.pkts, p)
		}
		c.out <- res
	}()
	return c
}

func (c *collector) finish(t testing.TB) []capture.Packet {
	t.Helper()
	close(c.done)
	select {
	case res := <-c.out:
		if res.err != nil {
			t.Fatalf("ReadPacket: %v", res.err)
		}
		return res.pkts
	case <-time.After(20 * time.Second):
		t.Fatal("capture did not go idle")
		return nil
	}
}

// flow is one captured TCP connection, by direction (0: to the server).
type flow struct {
	syn    [2]bool
	isn    [2]uint32
	segs   [2][]segment
	client string
}

type segment struct {
	seq  uint32
	data []byte
}

// reassembled is what the captured packets carried on a server port.
type reassembled struct {
	convs      map[string]*conv // by client address
	otherPorts int              // packets with neither port equal to the server's
	ifaces     map[string]int   // packets per "client address/Interface"
}

// reassemble decodes the captured packets independently of the source
// (gopacket) and rebuilds each TCP connection to port by sequence number.
// A packet captured twice (byte for byte: a retransmission differs at least
// in its IP ID or TCP timestamp) fails the test, and so does a gap or a
// retransmission that disagrees with the data first seen.
func reassemble(t testing.TB, pkts []capture.Packet, port uint16) reassembled {
	t.Helper()
	flows := map[string]*flow{}
	res := reassembled{convs: map[string]*conv{}, ifaces: map[string]int{}}
	seen := map[string]int{}
	twice := 0
	for i, p := range pkts {
		if p.LinkType != layers.LinkTypeRaw {
			t.Fatalf("packet %d: link type %v, want Raw", i, p.LinkType)
		}
		if p.Length != len(p.Data) {
			t.Errorf("packet %d: %d of %d bytes captured", i, len(p.Data), p.Length)
		}
		if j, dup := seen[string(p.Data)]; dup {
			if twice++; twice <= 3 {
				t.Errorf("packets %d and %d are the same packet (%d bytes)", j, i, len(p.Data))
			}
		}
		seen[string(p.Data)] = i
		pkt := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: %v", i, el.Error())
		}
		var src, dst net.IP
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, dst = ip.SrcIP, ip.DstIP
		case *layers.IPv6:
			src, dst = ip.SrcIP, ip.DstIP
		default:
			t.Fatalf("packet %d: no IP header: %v", i, pkt)
		}
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("packet %d: not TCP, yet the filter passed it: %v", i, pkt)
		}
		var dir int
		var client string
		switch port {
		case uint16(tcp.DstPort):
			client = net.JoinHostPort(src.String(), strconv.Itoa(int(tcp.SrcPort)))
		case uint16(tcp.SrcPort):
			dir = 1
			client = net.JoinHostPort(dst.String(), strconv.Itoa(int(tcp.DstPort)))
		default:
			res.otherPorts++
			continue
		}
		res.ifaces[client+"/"+strconv.Itoa(p.Interface)]++
		f := flows[client]
		if f == nil {
			f = &flow{client: client}
			flows[client] = f
		}
		if tcp.SYN {
			if f.syn[dir] && f.isn[dir] != tcp.Seq+1 {
				t.Errorf("%s direction %d: SYNs with different sequence numbers", client, dir)
			}
			f.syn[dir] = true
			f.isn[dir] = tcp.Seq + 1
		}
		if len(tcp.Payload) > 0 {
			f.segs[dir] = append(f.segs[dir], segment{seq: tcp.Seq, data: tcp.Payload})
		}
	}
	if twice > 0 {
		t.Errorf("%d packets were delivered twice", twice)
	}
	retrans := 0
	for client, f := range flows {
		c := &conv{}
		for dir := range 2 {
			if !f.syn[dir] {
				t.Errorf("%s direction %d: no SYN captured", client, dir)
				continue
			}
			stream, n := f.stream(t, dir)
			retrans += n
			if dir == 0 {
				c.C2S = stream
			} else {
				c.S2C = stream
			}
		}
		res.convs[client] = c
	}
	if retrans > 0 {
		t.Logf("%d TCP retransmissions (real packets on the wire) were captured", retrans)
	}
	return res
}

// stream puts one direction's segments in sequence order; overlapping
// data must agree. It returns the bytes and the number of retransmitted
// segments.
func (f *flow) stream(t testing.TB, dir int) ([]byte, int) {
	t.Helper()
	segs := f.segs[dir]
	rel := func(s segment) int64 { return int64(s.seq - f.isn[dir]) }
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(rel(a), rel(b)) })
	var stream []byte
	retrans := 0
	for _, s := range segs {
		off := rel(s)
		if off > int64(len(stream)) {
			t.Errorf("%s direction %d: gap: segment at offset %d after %d bytes", f.client, dir, off, len(stream))
			return stream, retrans
		}
		end := off + int64(len(s.data))
		if off < int64(len(stream)) {
			retrans++
			overlap := min(end, int64(len(stream)))
			if !bytes.Equal(stream[off:overlap], s.data[:overlap-off]) {
				t.Errorf("%s direction %d: retransmitted bytes at %d differ", f.client, dir, off)
			}
		}
		if end > int64(len(stream)) {
			stream = append(stream, s.data[int64(len(stream))-off:]...)
		}
	}
	return stream, retrans
}

// compareConvs checks that the captured conversations are exactly the
// recorded ones, byte for byte.
func compareConvs(t testing.TB, got, want map[string]*conv) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("no traffic was recorded")
	}
	var total int
	for client, w := range want {
		total += len(w.C2S) + len(w.S2C)
		g := got[client]
		if g == nil {
			t.Errorf("connection from %s (%d bytes sent, %d received) not captured", client, len(w.C2S), len(w.S2C))
			continue
		}
		if !bytes.Equal(g.C2S, w.C2S) {
			t.Errorf("%s to server: captured %d bytes, sent %d; first difference at %d", client, len(g.C2S), len(w.C2S), firstDiff(g.C2S, w.C2S))
		}
		if !bytes.Equal(g.S2C, w.S2C) {
			t.Errorf("%s from server: captured %d bytes, received %d; first difference at %d", client, len(g.S2C), len(w.S2C), firstDiff(g.S2C, w.S2C))
		}
	}
	for client, g := range got {
		if want[client] == nil {
			t.Errorf("captured a connection from %s (%d+%d bytes) that was not made here", client, len(g.C2S), len(g.S2C))
		}
	}
	t.Logf("%d connections, %d payload bytes compared", len(want), total)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// merge puts several recorded conversation sets together.
func merge(sets ...map[string]*conv) map[string]*conv {
	out := map[string]*conv{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}

// randomName returns prefix followed by random hex digits.
func randomName(prefix string, hexDigits int) string {
	b := make([]byte, (hexDigits+1)/2)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)[:hexDigits]
}

// run runs a command, failing the test with its output.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// newNetns creates a network namespace with ip(8), deleted when the test
// ends; its loopback is brought up when up is true.
func newNetns(t testing.TB, up bool) (name, path string) {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	name = randomName("specgate-live-", 8)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", name).Run() })
	if up {
		run(t, "ip", "-n", name, "link", "set", "lo", "up")
	}
	return name, "/var/run/netns/" + name
}

// trafficHelper is the test binary running as a traffic helper.
type trafficHelper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	dec   *json.Decoder
}

// startTrafficHelper runs the traffic helper inside the namespace, serving
// on listen, and waits until it is ready.
func startTrafficHelper(t testing.TB, netns, listen string) *trafficHelper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", netns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=traffic", helperListenEnv+"="+listen)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &trafficHelper{cmd: cmd, stdin: stdin, dec: json.NewDecoder(stdout)}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	var msg helperMsg
	if err := h.dec.Decode(&msg); err != nil || !msg.Ready {
		t.Fatalf("traffic helper did not start: %v %s", err, msg.Err)
	}
	return h
}

// traffic asks the helper for one round of requests and returns what its
// clients sent and received.
func (h *trafficHelper) traffic(t testing.TB) map[string]*conv {
	t.Helper()
	if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	var msg helperMsg
	if err := h.dec.Decode(&msg); err != nil {
		t.Fatalf("traffic helper: %v", err)
	}
	if msg.Err != "" {
		t.Fatalf("traffic helper: %s", msg.Err)
	}
	return msg.Convs
}
