package stream_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

func TestExploreConn(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	file := genPcap(t, conns, pcapgen.Options{Seed: 2, Drop: 0.2})
	parts := byConn(t, readPackets(t, file), conns)
	for ci, c := range conns {
		if c.Client.String() != "198.51.100.57:45714" && c.Client.String() != "198.51.100.140:45915" {
			continue
		}
		for _, p := range parts[ci] {
			pk := gopacket.NewPacket(p.Data, layers.LinkTypeEthernet, gopacket.Default)
			tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if len(tcp.Payload) == 0 && !tcp.FIN && !tcp.RST && !tcp.SYN {
				continue
			}
			t.Logf("%s %d->%d seq=%d ack=%d len=%d fin=%v rst=%v %q", p.Timestamp.Format("05.000000"), tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack, len(tcp.Payload), tcp.FIN, tcp.RST, string(tcp.Payload[:min(20, len(tcp.Payload))]))
		}
		got, st := runPackets(parts[ci], stream.Options{})
		for _, e := range got {
			t.Logf("#%d %s %s -> %d  reqstart %s respstart %s", e.Seq, e.Request.Method, e.Request.Target, e.Response.Status, e.Timing.RequestStart.Format("05.000000"), e.Timing.ResponseStart.Format("05.000000"))
		}
		t.Logf("%+v", st.Total())
	}
}
