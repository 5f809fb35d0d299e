package stream_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

func TestExploreConn(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	ps := readPackets(t, genPcap(t, conns, pcapgen.Options{Seed: 1, Drop: 0.005}))
	var mine []capture.Packet
	for _, p := range ps {
		pk := gopacket.NewPacket(p.Data, layers.LinkTypeEthernet, gopacket.Default)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp.SrcPort == 45910 || tcp.DstPort == 45910 {
			if ip, ok := pk.NetworkLayer().(*layers.IPv4); ok && (ip.SrcIP.String() == "198.51.100.140" || ip.DstIP.String() == "198.51.100.140") {
				mine = append(mine, p)
				t.Logf("%s %d->%d seq=%d ack=%d len=%d %q", p.Timestamp.Format("05.000000"), tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack, len(tcp.Payload), string(tcp.Payload[:min(20, len(tcp.Payload))]))
			}
		}
	}
	got, st := runPackets(mine, stream.Options{})
	for _, e := range got {
		t.Logf("#%d %s %s -> %d  reqstart %s", e.Seq, e.Request.Method, e.Request.Target, e.Response.Status, e.Timing.RequestStart.Format("05.000000"))
	}
	t.Logf("%+v", st.Total())
}
