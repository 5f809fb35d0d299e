package live

import (
	"net"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestBridgeCopies captures with "any" inside a namespace laid out as a
// node: an uplink to the test's namespace, and a bridge whose port leads to
// a pod namespace serving HTTP. Every packet crosses the uplink, the bridge
// and the port; the bridge's copies are rejected in the kernel (the bridge
// sends exactly what its port sends, byte for byte, which reassemble
// fails on), and both directions of every conversation still arrive whole.
func TestBridgeCopies(t *testing.T) {
	node, nodePath := newNetns(t, true)
	pod, _ := newNetns(t, true)
	b := randomName("", 2)
	n, _ := strconv.ParseUint(b, 16, 8)
	sub := strconv.Itoa(int(n))
	uplinkHost, uplinkNode := "10.216."+sub+".1", "10.216."+sub+".2"
	gateway, podIP := "10.215."+sub+".1", "10.215."+sub+".2"

	up, upPeer := randomName("sgu", 8), randomName("sgn", 8)
	run(t, "ip", "link", "add", up, "type", "veth", "peer", "name", upPeer, "netns", node)
	t.Cleanup(func() { exec.Command("ip", "link", "delete", up).Run() })
	run(t, "ip", "addr", "add", uplinkHost+"/30", "dev", up)
	run(t, "ip", "link", "set", up, "up")
	run(t, "ip", "route", "add", "10.215."+sub+".0/24", "via", uplinkNode)
	run(t, "ip", "-n", node, "addr", "add", uplinkNode+"/30", "dev", upPeer)
	run(t, "ip", "-n", node, "link", "set", upPeer, "up")
	run(t, "ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")

	br, port, podEnd := randomName("sgb", 8), randomName("sgp", 8), randomName("sge", 8)
	run(t, "ip", "-n", node, "link", "add", br, "type", "bridge")
	run(t, "ip", "-n", node, "addr", "add", gateway+"/24", "dev", br)
	run(t, "ip", "-n", node, "link", "set", br, "up")
	run(t, "ip", "-n", node, "link", "add", port, "type", "veth", "peer", "name", podEnd, "netns", pod)
	run(t, "ip", "-n", node, "link", "set", port, "master", br)
	run(t, "ip", "-n", node, "link", "set", port, "up")
	run(t, "ip", "-n", pod, "addr", "add", podIP+"/24", "dev", podEnd)
	run(t, "ip", "-n", pod, "link", "set", podEnd, "up")
	run(t, "ip", "-n", pod, "route", "add", "default", "via", gateway)

	ln, srvPort := listenLoopback(t) // only for a free port number
	ln.Close()
	startTrafficHelper(t, pod, net.JoinHostPort("0.0.0.0", strconv.Itoa(int(srvPort))))

	var bridges []int32
	if err := inNetns(nodePath, func() error {
		var err error
		bridges, err = bridgeIndexes()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(bridges) != 1 {
		t.Fatalf("bridgeIndexes() in the node = %v, want the one bridge", bridges)
	}

	src, err := Open(t.Context(), Config{Netns: nodePath, Filter: portFilter(t, layers.IPProtocolTCP, srvPort), BufferBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	col := collect(src)
	addr := net.JoinHostPort(podIP, strconv.Itoa(int(srvPort)))
	deadline := time.Now().Add(5 * time.Second)
	var convs map[string]*conv
	for {
		// The links may still be settling.
		convs, err = runTraffic(t.Context(), addr, "inside", smallSizes)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	pkts := col.finish(t)
	res := reassemble(t, pkts, srvPort)
	compareConvs(t, res.convs, convs)

	// The uplink and the port each give one copy of every packet.
	packets, drops, err := src.KernelStats()
	if err != nil {
		t.Fatal(err)
	}
	if packets != uint64(len(pkts)) || drops != 0 {
		t.Errorf("KernelStats() = %d packets, %d drops; %d delivered", packets, drops, len(pkts))
	}
}

// TestCopyFilterLayout checks the prefix's jumps for each kind of socket:
// every jump to reject lands on it, and everything else falls through to
// the instruction after it.
func TestCopyFilterLayout(t *testing.T) {
	for _, tc := range []struct {
		name           string
		t              target
		loops, bridges []int32
		rejects        []uint32 // the interface or packet type values that lead to reject
		empty          bool
	}{
		{name: "named interface", t: target{name: "eth0", ifindex: 2}, loops: []int32{1}, bridges: []int32{5}, empty: true},
		{name: "loopback", t: target{name: "lo", ifindex: 1, loopback: true}, rejects: []uint32{unix.PACKET_OUTGOING}},
		{name: "any", t: target{name: "any"}, loops: []int32{1}, bridges: []int32{5, 9}, rejects: []uint32{5, 9, 1}},
		{name: "any without bridges", t: target{name: "any"}, loops: []int32{1, 3}, rejects: []uint32{1, 3}},
		{name: "too many bridges", t: target{name: "any"}, loops: []int32{1}, bridges: make([]int32, maxCopyRules+1), rejects: []uint32{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := copyFilter(tc.t, tc.loops, tc.bridges)
			if tc.empty {
				if prog != nil {
					t.Fatalf("copyFilter = %v, want none", prog)
				}
				return
			}
			if _, err := bpf.Assemble(prog); err != nil {
				t.Fatal(err)
			}
			reject := len(prog) - 1
			if r, ok := prog[reject].(bpf.RetConstant); !ok || r.Val != 0 {
				t.Fatalf("last instruction %v, want reject", prog[reject])
			}
			if j, ok := prog[reject-1].(bpf.Jump); !ok || j.Skip != 1 {
				t.Fatalf("instruction before reject %v, want a jump over it", prog[reject-1])
			}
			var rejects []uint32
			for i, ins := range prog[:reject] {
				j, ok := ins.(bpf.JumpIf)
				if !ok {
					continue
				}
				switch j.Cond {
				case bpf.JumpEqual:
					if i+1+int(j.SkipTrue) != reject || j.SkipFalse != 0 {
						t.Errorf("instruction %d %v does not jump to reject", i, j)
					}
					rejects = append(rejects, j.Val)
				case bpf.JumpNotEqual:
					if i+1+int(j.SkipTrue) != len(prog) || j.Val != unix.PACKET_OUTGOING {
						t.Errorf("instruction %d %v: packets that are not outgoing must go to the user's filter", i, j)
					}
				default:
					t.Errorf("instruction %d: unexpected %v", i, j)
				}
			}
			if !slices.Equal(rejects, tc.rejects) {
				t.Errorf("rejected values %v, want %v", rejects, tc.rejects)
			}
		})
	}
}
