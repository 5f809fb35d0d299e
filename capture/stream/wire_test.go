package stream_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// isns reads the initial sequence numbers of every connection from its
// SYN and SYN-ACK, keyed by the client's address.
func isns(t testing.TB, ps []capture.Packet) map[netip.AddrPort][2]uint32 {
	t.Helper()
	out := make(map[netip.AddrPort][2]uint32)
	for _, p := range ps {
		pk := gopacket.NewPacket(p.Data, p.LinkType, gopacket.NoCopy)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || !tcp.SYN {
			continue
		}
		src, dst := endpointsOf(t, p)
		if tcp.ACK {
			v := out[dst]
			v[1] = tcp.Seq
			out[dst] = v
		} else {
			v := out[src]
			v[0] = tcp.Seq
			out[src] = v
		}
	}
	return out
}

// expectedWire computes, from the connections' wire bytes and their
// initial sequence numbers, the Wire of every exchange, keyed by its
// X-Request-Id: the first byte of a connection's data follows the SYN, and
// each message follows the ones before it in its direction.
func expectedWire(t testing.TB, conns []pcapgen.Conn, isn map[netip.AddrPort][2]uint32) map[string]capture.WireID {
	t.Helper()
	want := oracle(t, conns)
	byConnSeq := make(map[netip.AddrPort][]capture.WireID)
	for _, c := range conns {
		n, ok := isn[c.Client]
		if !ok {
			t.Fatalf("no handshake for %s", c.Client)
		}
		req, resp := n[0]+1, n[1]+1
		for _, x := range c.Exchanges {
			byConnSeq[c.Client] = append(byConnSeq[c.Client], capture.WireID{Request: req, Response: resp})
			req += uint32(len(x.Request))
			resp += uint32(len(x.Response))
		}
	}
	out := make(map[string]capture.WireID, len(want))
	for id, w := range want {
		out[id] = byConnSeq[w.client][w.seq]
	}
	return out
}

// TestWire checks every exchange's Wire against the sequence numbers
// computed from the handshake and the message sizes, on clean traffic,
// with reordered, duplicated and overlapping segments, and in a capture
// that starts in the middle of every connection.
func TestWire(t *testing.T) {
	conns := pcapgen.Mix(300, 12)
	clean := readPackets(t, genPcap(t, conns, pcapgen.Options{Seed: 3}))
	want := expectedWire(t, conns, isns(t, clean))
	pipelined := make(map[netip.AddrPort]bool)
	for _, c := range conns {
		pipelined[c.Client] = c.Pipelined
	}
	for _, tc := range []struct {
		name string
		o    pcapgen.Options
		// mid: the first exchange of every connection is not captured
		mid bool
	}{
		{"clean", pcapgen.Options{Seed: 3}, false},
		{"faults", pcapgen.Options{Seed: 3, Reorder: 0.2, Duplicate: 0.2, Overlap: 0.2}, false},
		{"mid-connection", pcapgen.Options{Seed: 3, StartMidConnection: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := readPackets(t, genPcap(t, conns, tc.o))
			want := want
			if !tc.mid {
				// the generator draws faults and sequence numbers from one
				// source: read the latter from this capture's handshakes
				want = expectedWire(t, conns, isns(t, ps))
			}
			got, _ := runPackets(ps, stream.Options{})
			checked := 0
			for _, x := range got {
				id := requestID(headerString(x.Request.Header))
				w, ok := want[id]
				if !ok {
					t.Errorf("exchange %q was never sent", id)
					continue
				}
				if tc.mid && pipelined[x.Client] {
					// a known defect pairs the responses of these with the
					// wrong requests (TestStartMidConnection): only the
					// request's number can be checked
					w.Response = x.Wire.Response
				}
				if x.Wire != w {
					t.Errorf("%s %s: wire %+v, want %+v", x.Request.Method, x.Request.Target, x.Wire, w)
				}
				checked++
			}
			if min := len(want) - len(conns); checked < min {
				t.Errorf("checked %d exchanges, want at least %d", checked, min)
			}
		})
	}
}

// copyPackets returns ps with every packet seen again on a second
// interface, lag packets later and a few microseconds after: what a
// capture on the "any" interface of a node sees when a packet crosses a
// pod's veth, a bridge and the node's interface with the same addresses.
func copyPackets(ps []capture.Packet, lag int) []capture.Packet {
	var out []capture.Packet
	for i := range ps {
		out = append(out, ps[i])
		if j := i - lag; j >= 0 {
			c := ps[j]
			c.Interface = 1
			c.Timestamp = c.Timestamp.Add(3 * time.Microsecond)
			out = append(out, c)
		}
	}
	for j := max(len(ps)-lag, 0); j < len(ps); j++ {
		c := ps[j]
		c.Interface = 1
		c.Timestamp = c.Timestamp.Add(3 * time.Microsecond)
		out = append(out, c)
	}
	return out
}

// TestSameTupleCopiesAreRetransmissions checks that copies of every packet
// with the same addresses and ports (one socket seeing a packet on several
// interfaces) are absorbed by reassembly: the same exchanges, each once,
// and the same per-server counters: nothing counted twice, lost or cut.
func TestSameTupleCopiesAreRetransmissions(t *testing.T) {
	conns := pcapgen.Mix(300, 21)
	ps := readPackets(t, genPcap(t, conns, pcapgen.Options{Seed: 8, LinkType: layers.LinkTypeLinuxSLL}))
	ref, refStats := runPackets(ps, stream.Options{})
	want := oracle(t, conns)
	checkOracle(t, canons(ref), want)
	for _, lag := range []int{0, 1, 5} {
		got, stats := runPackets(copyPackets(ps, lag), stream.Options{})
		cs := canons(got)
		checkOracle(t, cs, want)
		compareCanons(t, "copies", cs, canons(ref))
		if stats.Packets != 2*refStats.Packets {
			t.Errorf("lag %d: %d packets, want %d", lag, stats.Packets, 2*refStats.Packets)
		}
		if g, w := stats.Total(), refStats.Total(); !reflect.DeepEqual(g, w) {
			t.Errorf("lag %d: counters with copies\n%+v\nwithout\n%+v", lag, g, w)
		}
		if tot := stats.Total(); tot.LostBytes+tot.Truncated+tot.Incomplete+tot.Unanswered+tot.OrphanResponses != 0 {
			t.Errorf("lag %d: copies counted as losses: %+v", lag, tot)
		}
		wires := make(map[capture.WireID]bool)
		for _, x := range got {
			if x.Wire.IsZero() || wires[x.Wire] {
				t.Errorf("lag %d: wire %+v is zero or repeated", lag, x.Wire)
			}
			wires[x.Wire] = true
		}
	}
}

// natCopy rewrites a packet as a DNAT rule does on its way to the backend:
// packets to server go to backend instead, packets from server come from
// backend; checksums are recomputed, sequence numbers untouched.
func natCopy(t testing.TB, p capture.Packet, server, backend netip.AddrPort) capture.Packet {
	t.Helper()
	pk := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
	tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil {
		t.Fatalf("not TCP: %v", pk)
	}
	src, dst := endpointsOf(t, p)
	var net gopacket.NetworkLayer
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		if dst == server {
			ip.DstIP = backend.Addr().AsSlice()
		}
		if src == server {
			ip.SrcIP = backend.Addr().AsSlice()
		}
		net = ip
	case *layers.IPv6:
		if dst == server {
			ip.DstIP = backend.Addr().AsSlice()
		}
		if src == server {
			ip.SrcIP = backend.Addr().AsSlice()
		}
		net = ip
	default:
		t.Fatalf("no IP layer: %v", pk)
	}
	if dst == server {
		tcp.DstPort = layers.TCPPort(backend.Port())
	}
	if src == server {
		tcp.SrcPort = layers.TCPPort(backend.Port())
	}
	if err := tcp.SetNetworkLayerForChecksum(net); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		net.(gopacket.SerializableLayer), tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	p.Data = buf.Bytes()
	p.LinkType = layers.LinkTypeRaw
	p.Length = len(p.Data)
	return p
}

// TestNATCopiesShareWire checks that the two copies of a connection on
// either side of a DNAT (a Service address, then the pod behind it) give
// two exchanges each, with different servers and the same Wire.
func TestNATCopiesShareWire(t *testing.T) {
	conns := pcapgen.Mix(200, 33)
	ps := readPackets(t, genPcap(t, conns, pcapgen.Options{Seed: 2, LinkType: layers.LinkTypeRaw}))
	backend := map[netip.Addr]netip.AddrPort{
		netip.MustParseAddr("203.0.113.10"):   netip.MustParseAddrPort("10.244.1.7:8080"),
		netip.MustParseAddr("2001:db8:5::10"): netip.MustParseAddrPort("[fd00:10:244::7]:8080"),
	}
	var both []capture.Packet
	for _, p := range ps {
		both = append(both, p)
		src, dst := endpointsOf(t, p)
		server := dst
		if src.Port() == 8080 {
			server = src
		}
		b, ok := backend[server.Addr()]
		if !ok {
			t.Fatalf("unexpected server %s", server)
		}
		c := natCopy(t, p, server, b)
		c.Timestamp = c.Timestamp.Add(20 * time.Microsecond)
		both = append(both, c)
	}
	got, stats := runPackets(both, stream.Options{})
	want := oracle(t, conns)
	if len(got) != 2*len(want) {
		t.Fatalf("%d exchanges, want %d (each twice)", len(got), 2*len(want))
	}
	if tot := stats.Total(); tot.LostBytes+tot.Truncated+tot.Incomplete != 0 {
		t.Errorf("losses counted: %+v", tot)
	}
	byWire := make(map[capture.WireID][]*capture.Exchange)
	for _, x := range got {
		byWire[x.Wire] = append(byWire[x.Wire], x)
	}
	if len(byWire) != len(want) {
		t.Fatalf("%d distinct wires, want %d", len(byWire), len(want))
	}
	for w, xs := range byWire {
		if len(xs) != 2 {
			t.Errorf("wire %+v: %d exchanges, want 2", w, len(xs))
			continue
		}
		a, b := xs[0], xs[1]
		if a.Server == b.Server || a.Client != b.Client {
			t.Errorf("wire %+v: servers %s and %s, clients %s and %s: want two servers, one client", w, a.Server, b.Server, a.Client, b.Client)
		}
		ca, cb := canonOf(a), canonOf(b)
		ca.Server, cb.Server = "", ""
		if ca != cb {
			t.Errorf("wire %+v: the copies differ: %s", w, ca.diff(cb))
		}
	}
}
