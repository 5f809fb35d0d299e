package live

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/testenv"
)

// TestLoopbackHTTP captures real HTTP traffic on loopback, by name and
// through "any", and checks that the TCP payload rebuilds exactly what the
// clients sent and received (every segment once, no outgoing copies), and
// that traffic to another port does not pass the filter.
func TestLoopbackHTTP(t *testing.T) {
	testenv.NeedRoot(t)
	for _, tc := range []struct {
		name   string
		ifaces []string
		buffer int
	}{
		{"lo", []string{"lo"}, 8 << 20},
		{"any", nil, 0}, // default ring size
		{"any by name", []string{"any"}, 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, port := listenLoopback(t)
			other, otherPort := listenLoopback(t)
			startServer(t, ln, "main")
			startServer(t, other, "other")

			src, err := Open(t.Context(), Config{Interfaces: tc.ifaces, Filter: portFilter(t, layers.IPProtocolTCP, port), BufferBytes: tc.buffer})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if got, want := src.Interfaces(), []string{cmpOr(tc.ifaces, "any")}; !slices.Equal(got, want) {
				t.Errorf("Interfaces() = %q, want %q", got, want)
			}
			col := collect(src)

			var wg sync.WaitGroup
			var mainConvs, otherConvs map[string]*conv
			var mainErr, otherErr error
			wg.Go(func() {
				mainConvs, mainErr = runTraffic(t.Context(), ln.Addr().String(), "main", largeSizes)
			})
			wg.Go(func() {
				otherConvs, otherErr = runTraffic(t.Context(), other.Addr().String(), "other", smallSizes)
			})
			wg.Wait()
			if mainErr != nil || otherErr != nil {
				t.Fatalf("traffic: %v; %v", mainErr, otherErr)
			}
			pkts := col.finish(t)

			res := reassemble(t, pkts, port)
			compareConvs(t, res.convs, mainConvs)
			if res.otherPorts != 0 {
				t.Errorf("%d packets not on port %d passed the filter (port %d carried %d connections)", res.otherPorts, port, otherPort, len(otherConvs))
			}
			for k := range res.ifaces {
				if !strings.HasSuffix(k, "/0") {
					t.Errorf("packets of %s: Interface is not 0", k)
				}
			}

			packets, drops, err := src.KernelStats()
			if err != nil {
				t.Fatal(err)
			}
			if packets < uint64(len(pkts)) || drops != 0 {
				t.Errorf("KernelStats() = %d packets, %d drops; delivered %d packets", packets, drops, len(pkts))
			}
			t.Logf("%d packets delivered; kernel: %d accepted, %d dropped", len(pkts), packets, drops)
		})
	}
}

func cmpOr(ifaces []string, def string) string {
	if len(ifaces) == 0 {
		return def
	}
	return ifaces[0]
}

// TestNetns captures from the root namespace on a namespace's loopback
// (by /var/run/netns path and by /proc/PID/ns/net) while the same port
// carries other traffic on the root namespace's loopback, which must not
// be seen.
func TestNetns(t *testing.T) {
	name, path := newNetns(t, false)

	// The namespace's loopback starts down.
	_, err := Open(t.Context(), Config{Interfaces: []string{"lo"}, Netns: path, BufferBytes: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "live capture on lo: the interface is down") {
		t.Fatalf("Open on a down interface: %v", err)
	}
	run(t, "ip", "-n", name, "link", "set", "lo", "up")

	ifs, err := Interfaces(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		t.Errorf("Interfaces(%s) = %v, want only lo", path, ifs)
	}
	rootIfs, err := Interfaces("")
	if err != nil {
		t.Fatal(err)
	}
	if len(rootIfs) < 2 {
		t.Logf("the root namespace has only %d interfaces; the comparison below is weak", len(rootIfs))
	}

	rootLn, port := listenLoopback(t)
	startServer(t, rootLn, "root")
	helper := startTrafficHelper(t, name, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))

	for _, tc := range []struct {
		name   string
		netns  string
		ifaces []string
	}{
		{"netns path, any", path, nil},
		{"proc path, lo", "/proc/" + strconv.Itoa(helper.cmd.Process.Pid) + "/ns/net", []string{"lo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(t.Context(), Config{Interfaces: tc.ifaces, Netns: tc.netns, Filter: portFilter(t, layers.IPProtocolTCP, port), BufferBytes: 8 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			col := collect(src)
			var rootConvs map[string]*conv
			var rootErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				rootConvs, rootErr = runTraffic(t.Context(), rootLn.Addr().String(), "root", smallSizes)
			})
			inside := helper.traffic(t)
			wg.Wait()
			if rootErr != nil {
				t.Fatal(rootErr)
			}
			if len(rootConvs) == 0 {
				t.Fatal("no root-namespace traffic was made")
			}
			res := reassemble(t, col.finish(t), port)
			compareConvs(t, res.convs, inside)
		})
	}
}

// TestMultipleInterfaces captures on loopback and a veth whose peer is in
// another namespace, both at once: packets of each interface carry its
// index, and on the veth both directions (outgoing included) arrive once.
func TestMultipleInterfaces(t *testing.T) {
	name, _ := newNetns(t, true)
	veth, peer := randomName("sgv", 8), randomName("sgp", 8)
	run(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", peer, "netns", name)
	t.Cleanup(func() { exec.Command("ip", "link", "delete", veth).Run() })
	b := randomName("", 2)
	n, _ := strconv.ParseUint(b, 16, 8)
	local, remote := "10.213."+strconv.Itoa(int(n))+".1", "10.213."+strconv.Itoa(int(n))+".2"
	run(t, "ip", "addr", "add", local+"/30", "dev", veth)
	run(t, "ip", "link", "set", veth, "up")
	run(t, "ip", "-n", name, "addr", "add", remote+"/30", "dev", peer)
	run(t, "ip", "-n", name, "link", "set", peer, "up")

	ln, port := listenLoopback(t)
	startServer(t, ln, "main")
	startTrafficHelper(t, name, net.JoinHostPort("0.0.0.0", strconv.Itoa(int(port))))

	src, err := Open(t.Context(), Config{Interfaces: []string{"lo", veth}, Filter: portFilter(t, layers.IPProtocolTCP, port), BufferBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := src.Interfaces(); !slices.Equal(got, []string{"lo", veth}) {
		t.Errorf("Interfaces() = %q", got)
	}
	col := collect(src)
	var wg sync.WaitGroup
	var loConvs, vethConvs map[string]*conv
	var loErr, vethErr error
	wg.Go(func() { loConvs, loErr = runTraffic(t.Context(), ln.Addr().String(), "main", smallSizes) })
	wg.Go(func() {
		// The veth may still be settling (duplicate address detection).
		deadline := time.Now().Add(5 * time.Second)
		for {
			vethConvs, vethErr = runTraffic(t.Context(), net.JoinHostPort(remote, strconv.Itoa(int(port))), "inside", smallSizes)
			if vethErr == nil || time.Now().After(deadline) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	wg.Wait()
	if loErr != nil || vethErr != nil {
		t.Fatalf("traffic: %v; %v", loErr, vethErr)
	}
	res := reassemble(t, col.finish(t), port)
	compareConvs(t, res.convs, merge(loConvs, vethConvs))
	for k, count := range res.ifaces {
		want := "/0"
		if strings.HasPrefix(k, local+":") {
			want = "/1"
		}
		if !strings.HasSuffix(k, want) {
			t.Errorf("%d packets of %s: want Interface %s", count, k, want[1:])
		}
	}

	// Taking the veth down is reported once, then the capture goes on.
	run(t, "ip", "link", "set", veth, "down")
	_, err = src.ReadPacket(t.Context())
	if !errors.Is(err, syscall.ENETDOWN) || !strings.Contains(err.Error(), "live capture on "+veth+": the interface went down") {
		t.Errorf("ReadPacket after the interface went down: %v", err)
	}
	if _, err := src.ReadPacket(t.Context()); !errors.Is(err, capture.ErrTimeout) {
		t.Errorf("ReadPacket after the error was reported: %v, want ErrTimeout", err)
	}
}

// TestOpenErrors checks the one-line errors that name the fix.
func TestOpenErrors(t *testing.T) {
	testenv.NeedRoot(t)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ifc := range ifs {
		names = append(names, ifc.Name)
	}
	slices.Sort(names)
	missing := "/var/run/netns/" + randomName("specgate-missing-", 8)
	regular := filepath.Join(t.TempDir(), "hostname")
	if err := os.WriteFile(regular, []byte("specgate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		want   string
		target error
	}{
		{"unknown interface", Config{Interfaces: []string{"eth9"}},
			`no interface "eth9" in the network namespace (available: ` + strings.Join(names, ", ") + ")", nil},
		{"missing namespace", Config{Netns: missing},
			"network namespace " + missing + ": no such file", os.ErrNotExist},
		{"regular file", Config{Netns: regular},
			regular + " is not a network namespace", nil},
		{"other namespace type", Config{Netns: "/proc/self/ns/uts"},
			"/proc/self/ns/uts is not a network namespace (it is a UTS namespace)", nil},
		{"any with others", Config{Interfaces: []string{"lo", "any"}},
			`"any" already means every interface`, nil},
		{"empty name", Config{Interfaces: []string{""}}, "empty interface name", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(t.Context(), tc.cfg)
			if err == nil {
				src.Close()
				t.Fatalf("Open(%+v) succeeded", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q\nwant it to contain %q on one line", err, tc.want)
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error %q is not %v", err, tc.target)
			}
		})
	}
	if _, err := Interfaces(regular); err == nil || !strings.Contains(err.Error(), "is not a network namespace") {
		t.Errorf("Interfaces(%s): %v", regular, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Open(ctx, Config{Interfaces: []string{"lo"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}

// TestUnprivileged runs Open as uid 65534 without capabilities, in a
// helper process.
func TestUnprivileged(t *testing.T) {
	_, nsPath := newNetns(t, true)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a directory only root can enter: copy it.
	dir, err := os.MkdirTemp("", "specgate-live-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "live.test")
	if err := os.WriteFile(helper, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		ifaces string
		netns  string
		want   string
	}{
		{"CAP_NET_RAW", "lo", "", "live capture on lo: permission denied: capturing needs CAP_NET_RAW; run as root, with sudo, " +
			"or grant it with 'sudo setcap cap_net_raw,cap_net_admin=eip $(command -v specgate)', or read a capture file with -r"},
		{"CAP_NET_RAW any", "", "", "live capture on any: permission denied: capturing needs CAP_NET_RAW"},
		// Naming its own namespace needs no setns, so no CAP_SYS_ADMIN.
		{"own namespace", "lo", "/proc/self/ns/net", "live capture on lo: permission denied: capturing needs CAP_NET_RAW"},
		{"CAP_SYS_ADMIN", "lo", nsPath, "entering network namespace " + nsPath + ": permission denied: it needs CAP_SYS_ADMIN"},
		{"unknown interface", "eth9", "", `no interface "eth9" in the network namespace (available: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(helper, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=open", helperIfacesEnv+"="+tc.ifaces, helperNetnsEnv+"="+tc.netns)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 2 || lines[0] != "capeff:0000000000000000" {
				t.Fatalf("helper output %q: want no capabilities, then one line", out)
			}
			if !strings.HasPrefix(lines[1], "error: ") || !strings.Contains(lines[1], tc.want) {
				t.Errorf("got %q\nwant an error containing %q", lines[1], tc.want)
			}
		})
	}
}

// sendUDP sends count datagrams of size bytes to 127.0.0.1:port.
func sendUDP(t testing.TB, port uint16, count, size int) {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := make([]byte, size)
	for i := range count {
		payload[0] = byte(i)
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
}

// udpSink binds a UDP port on 127.0.0.1 and reads nothing from it.
func udpSink(t testing.TB) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// readN reads n packets, failing after a few idle poll intervals.
func readN(t testing.TB, src *Source, n int) []capture.Packet {
	t.Helper()
	var out []capture.Packet
	idle := 0
	for len(out) < n {
		p, err := src.ReadPacket(t.Context())
		if errors.Is(err, capture.ErrTimeout) {
			if idle++; idle > 20 {
				t.Fatalf("read %d of %d packets", len(out), n)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = slices.Clone(p.Data)
		out = append(out, p)
	}
	return out
}

// TestKernelStatsAndSnaplen checks that the kernel counters accumulate
// across reads and that Snaplen truncates packets while Length keeps the
// size on the wire.
func TestKernelStatsAndSnaplen(t *testing.T) {
	testenv.NeedRoot(t)
	port := udpSink(t)
	const snaplen, size = 100, 1000
	src, err := Open(t.Context(), Config{Interfaces: []string{"lo"}, Filter: portFilter(t, layers.IPProtocolUDP, port), Snaplen: snaplen, BufferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	before := time.Now()
	sendUDP(t, port, 50, size)
	after := time.Now()
	pkts := readN(t, src, 50)
	for i, p := range pkts {
		if p.Timestamp.Before(before.Add(-5*time.Millisecond)) || p.Timestamp.After(after.Add(5*time.Millisecond)) {
			t.Errorf("packet %d: timestamp %v, sent between %v and %v", i, p.Timestamp, before, after)
		}
		if len(p.Data) != snaplen || p.Length != size+28 || p.Data[28] != byte(i) {
			t.Fatalf("packet %d: %d bytes captured of %d, payload starts %d; want %d of %d, %d", i, len(p.Data), p.Length, p.Data[min(28, len(p.Data)-1)], snaplen, size+28, byte(i))
		}
	}
	p1, d1, err := src.KernelStats()
	if err != nil {
		t.Fatal(err)
	}
	if p1 != 50 {
		// the outgoing copies on loopback are rejected in the kernel
		t.Errorf("after 50 packets, KernelStats() = %d packets", p1)
	}
	sendUDP(t, port, 50, size)
	readN(t, src, 50)
	p2, d2, err := src.KernelStats()
	if err != nil {
		t.Fatal(err)
	}
	p3, d3, err := src.KernelStats()
	if err != nil {
		t.Fatal(err)
	}
	if p2 < p1+50 || p3 != p2 || d1 != 0 || d2 != 0 || d3 != 0 {
		t.Errorf("KernelStats() gave %d, %d, %d packets (50 more before the second, none before the third); drops %d, %d, %d", p1, p2, p3, d1, d2, d3)
	}
	// Nothing more arrived: the queue is empty.
	if _, err := src.ReadPacket(t.Context()); !errors.Is(err, capture.ErrTimeout) {
		t.Errorf("ReadPacket after the last packet: %v, want ErrTimeout", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	p4, _, err := src.KernelStats()
	if err != nil || p4 != p3 {
		t.Errorf("KernelStats() after Close = %d, %v; want %d", p4, err, p3)
	}
}

// TestWaiting checks ErrTimeout when idle, ctx.Err() on cancel or
// deadline, and that Close wakes a waiting ReadPacket.
func TestWaiting(t *testing.T) {
	testenv.NeedRoot(t)
	port := udpSink(t)
	open := func(poll time.Duration) *Source {
		src, err := Open(t.Context(), Config{Interfaces: []string{"lo"}, Filter: portFilter(t, layers.IPProtocolUDP, port), PollInterval: poll, BufferBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name     string
		poll     time.Duration
		ctx      func() context.Context
		close    bool // close the source after 100 ms
		want     error
		min, max time.Duration
	}{
		{"idle", 150 * time.Millisecond, t.Context, false, capture.ErrTimeout, 140 * time.Millisecond, 2 * time.Second},
		{"cancelled", time.Minute, func() context.Context { return cancelled }, false, context.Canceled, 0, time.Second},
		{"cancel while waiting", time.Minute, func() context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx
		}, false, context.Canceled, 90 * time.Millisecond, 2 * time.Second},
		{"deadline", time.Minute, func() context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, false, context.DeadlineExceeded, 90 * time.Millisecond, 2 * time.Second},
		{"closed while waiting", time.Minute, t.Context, true, net.ErrClosed, 90 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := open(tc.poll)
			if tc.close {
				time.AfterFunc(100*time.Millisecond, func() { src.Close() })
			}
			start := time.Now()
			_, err := src.ReadPacket(tc.ctx())
			took := time.Since(start)
			if !errors.Is(err, tc.want) {
				t.Errorf("ReadPacket: %v, want %v", err, tc.want)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("ReadPacket took %v, want %v to %v", took, tc.min, tc.max)
			}
		})
	}
	src := open(time.Second)
	for range 2 {
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := src.ReadPacket(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadPacket after Close: %v", err)
	}
}

// procCounts returns the numbers of open descriptors and memory mappings.
func procCounts(t testing.TB) (fds, maps int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	m, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents), strings.Count(string(m), "\n")
}

// TestOpenCloseReleases opens and closes sources 100 times and checks that
// no descriptor or mapping is left behind.
func TestOpenCloseReleases(t *testing.T) {
	testenv.NeedRoot(t)
	_, nsPath := newNetns(t, true)
	open := func(i int) {
		cfg := Config{BufferBytes: 1 << 20, PollInterval: time.Millisecond}
		switch i % 3 {
		case 0:
			cfg.Interfaces = []string{"lo"}
		case 2:
			cfg.Netns = nsPath
		}
		src, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.ReadPacket(t.Context()); err != nil && !errors.Is(err, capture.ErrTimeout) {
			t.Fatal(err)
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
	}
	open(0) // let the runtime and the net package settle
	fds0, maps0 := procCounts(t)
	for i := range 100 {
		open(i)
	}
	fds1, maps1 := procCounts(t)
	if fds1 != fds0 {
		t.Errorf("open descriptors: %d before, %d after 100 Open/Close", fds0, fds1)
	}
	// The Go heap may grow meanwhile; a leaked ring per Open would add 100.
	if maps1 > maps0+10 {
		t.Errorf("memory mappings: %d before, %d after 100 Open/Close", maps0, maps1)
	}
}
