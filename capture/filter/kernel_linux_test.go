//go:build linux

package filter

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/specgate/specgate/internal/testenv"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openFiltered opens an AF_PACKET SOCK_DGRAM socket on the loopback
// interface with the program attached before the socket is bound, so that
// no packet reaches it unfiltered.
func openFiltered(t *testing.T, e *Expr) int {
	t.Helper()
	raw, err := e.CompileNetwork(65535)
	if err != nil {
		t.Fatalf("compile %q: %v", e, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	prog := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		prog[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		t.Fatalf("attach %q (%d instructions): %v", e, len(raw), err)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: lo.Index}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatalf("timeout: %v", err)
	}
	return fd
}

// loopFlow is one UDP path over the loopback interface.
type loopFlow struct {
	name string
	conn *net.UDPConn // sender, connected to the receiver
	meta Meta         // what each of its datagrams looks like
}

func newLoopFlow(t *testing.T, name, network, addr string) (*loopFlow, bool) {
	t.Helper()
	rc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		return nil, false
	}
	t.Cleanup(func() { rc.Close() })
	sc, err := net.DialUDP(network, nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { sc.Close() })
	src := sc.LocalAddr().(*net.UDPAddr).AddrPort()
	dst := rc.LocalAddr().(*net.UDPAddr).AddrPort()
	v := uint8(6)
	if src.Addr().Unmap().Is4() {
		v = 4
	}
	return &loopFlow{name: name, conn: sc, meta: Meta{
		Version: v, Src: src.Addr().Unmap(), Dst: dst.Addr().Unmap(), Proto: protoUDP,
		SrcPort: src.Port(), DstPort: dst.Port(), HasPorts: true,
	}}, true
}

// TestKernelFilter attaches compiled programs to real AF_PACKET sockets
// and sends UDP datagrams over the loopback interface: the kernel must
// accept each program and deliver exactly the datagrams that Match
// accepts.
func TestKernelFilter(t *testing.T) {
	testenv.NeedRoot(t)
	var flows []*loopFlow
	for i, addr := range []string{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.2:0"} {
		f, ok := newLoopFlow(t, fmt.Sprintf("v4-%d", i), "udp4", addr)
		if !ok {
			t.Fatalf("listen on %s failed", addr)
		}
		flows = append(flows, f)
	}
	if f, ok := newLoopFlow(t, "v6", "udp6", "[::1]:0"); ok {
		flows = append(flows, f)
	} else {
		t.Log("no IPv6 loopback: IPv6 flow left out")
	}
	a, b, c := flows[0].meta, flows[1].meta, flows[2].meta
	exprs := []string{
		fmt.Sprintf("udp and dst port %d", a.DstPort),
		fmt.Sprintf("udp port %d or %d", a.DstPort, b.DstPort),
		fmt.Sprintf("src port %d", b.SrcPort),
		fmt.Sprintf("portrange %d-%d", min(a.DstPort, c.DstPort), max(a.DstPort, c.DstPort)),
		"dst host 127.0.0.2",
		"net 127.0.0.0/24 and not host 127.0.0.2",
		"ip6 and udp",
		"host ::1 or dst host 127.0.0.2",
		fmt.Sprintf("not udp port %d", a.DstPort),
		"tcp",
		"",
		// Long enough to need jumps past a conditional jump's reach.
		strings.Repeat("(host 192.0.2.1 and port 1) or ", 60) + fmt.Sprintf("udp dst port %d", a.DstPort),
	}
	for _, s := range exprs {
		e, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		fd := openFiltered(t, e)
		marker := fmt.Appendf(nil, "specgate-filter-%d-%q", time.Now().UnixNano(), s)
		const perFlow = 3
		for _, f := range flows {
			for i := range perFlow {
				if _, err := f.conn.Write(append(marker, byte('0'+i))); err != nil {
					t.Fatalf("send on %s: %v", f.name, err)
				}
			}
		}
		got := readMarked(t, fd, marker, flows)
		for _, f := range flows {
			want := 0
			if e.Match(&f.meta) {
				want = perFlow
			}
			if got[f.name] != want {
				t.Errorf("%q: kernel delivered %d datagrams of flow %s (%+v), want %d", s, got[f.name], f.name, f.meta, want)
			}
		}
		unix.Close(fd)
	}
}

// readMarked reads from the packet socket until it stays quiet and counts
// the inbound datagrams carrying marker, by the flow they belong to.
func readMarked(t *testing.T, fd int, marker []byte, flows []*loopFlow) map[string]int {
	t.Helper()
	got := make(map[string]int)
	buf := make([]byte, 65536)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return got
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		// Loopback shows each packet twice, outgoing and incoming.
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		pkt := buf[:n]
		if !bytes.Contains(pkt, marker) {
			continue
		}
		var m Meta
		if !m.DecodeNetwork(pkt) {
			t.Fatalf("delivered packet does not decode: %x", pkt)
		}
		matched := false
		for _, f := range flows {
			if m == f.meta {
				got[f.name]++
				matched = true
			}
		}
		if !matched {
			t.Errorf("delivered packet %+v belongs to no flow", m)
		}
	}
}
