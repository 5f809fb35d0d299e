package stream_test

import (
	"fmt"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// without returns ps less the data segments of the client (fromClient) or
// the server whose index among that side's data segments is in drop.
func without(t *testing.T, ps []capture.Packet, fromClient bool, drop ...int) []capture.Packet {
	t.Helper()
	var out []capture.Packet
	n := 0
	for _, p := range ps {
		src, _ := endpointsOf(t, p)
		tcp := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
		if len(tcp.Payload) > 0 && (src == testClient) == fromClient {
			i := n
			n++
			skip := false
			for _, d := range drop {
				skip = skip || d == i
			}
			if skip {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// TestLossScenarios leaves chosen segments of one connection out of the
// capture and checks the rule for losses: every exchange that comes out
// is the one sent or carries a flag, and a loss always makes the capture
// count as lossy. The exchanges here fit in one segment each, so leaving
// a segment out removes a whole message.
func TestLossScenarios(t *testing.T) {
	var xs []pcapgen.Exchange
	for _, x := range plainExchanges(t, 100, 100) {
		if len(x.Request) <= 1400 && len(x.Response) <= 1400 && len(xs) < 6 {
			xs = append(xs, x)
		}
	}
	if len(xs) < 6 {
		t.Fatalf("only %d small exchanges", len(xs))
	}
	conn := func(close string, pipelined bool) pcapgen.Conn {
		return pcapgen.Conn{Client: testClient, Server: testServer, CloseWith: close, Pipelined: pipelined, Exchanges: xs}
	}
	cases := []struct {
		name   string
		defect string // the known defect the case shows, if any
		ps     func() []capture.Packet
		// ceiling is the number of problems the defect caused when found
		ceiling int
	}{
		{"first-response-lost", "", func() []capture.Packet {
			return without(t, connPackets(t, conn("fin", false)), false, 0)
		}, 0},
		{"middle-response-lost", "", func() []capture.Packet {
			return without(t, connPackets(t, conn("fin", false)), false, 2)
		}, 0},
		{"middle-request-lost", "", func() []capture.Packet {
			return without(t, connPackets(t, conn("fin", false)), true, 2)
		}, 0},
		{"last-exchange-lost-before-fin", "", func() []capture.Packet {
			ps := without(t, connPackets(t, conn("fin", false)), true, len(xs)-1)
			return without(t, ps, false, len(xs)-1)
		}, 0},
		{"server-hole-then-client-reset", "", func() []capture.Packet {
			return without(t, connPackets(t, conn("rst", false)), false, 1)
		}, 0},
		{"capture-starts-inside-pipelined", stream.DefectMidPipelined, func() []capture.Packet {
			// The handshake and the first request were not captured.
			return without(t, connPackets(t, conn("fin", true))[3:], true, 0)
		}, 5},
	}
	want := oracle(t, []pcapgen.Conn{conn("fin", false)})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, stats := runPackets(tc.ps(), stream.Options{})
			var problems []string
			for _, e := range got {
				c := canonOf(e)
				w, ok := want[requestID(c.ReqHeader)]
				exact := ok && c.Method == w.method && c.Target == w.target && c.Status == w.status &&
					c.ReqBody == string(w.reqBody) && c.RespBod == string(w.respBody) && c.Seq <= w.seq
				if !exact && !c.flagged() {
					problems = append(problems, fmt.Sprintf("silently wrong: %s", c.short()))
				}
			}
			st := stats.Total()
			if len(got) < len(xs) && !stats.Lossy() && st.Unanswered+st.OrphanResponses == 0 {
				problems = append(problems, fmt.Sprintf("%d of %d exchanges and nothing counted: %+v", len(got), len(xs), st))
			}
			if !stats.Lossy() && tc.name != "capture-starts-inside-pipelined" {
				problems = append(problems, fmt.Sprintf("a message was lost but the capture does not count as lossy: %+v", st))
			}
			t.Logf("%d of %d exchanges; %+v", len(got), len(xs), st)
			if tc.defect != "" {
				stream.KnownDefect(t, tc.defect, problems, tc.ceiling)
				return
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}
