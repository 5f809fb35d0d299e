package stream_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// v6Only returns conns moved to IPv6 addresses, one client address per
// connection.
func v6Only(conns []pcapgen.Conn) []pcapgen.Conn {
	out := make([]pcapgen.Conn, len(conns))
	for i, c := range conns {
		c.Client = netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("2001:db8:c::%x", i+1)), c.Client.Port())
		c.Server = netip.MustParseAddrPort("[2001:db8:5::10]:8080")
		out[i] = c
	}
	return out
}

// TestLinkTypes writes the same traffic with every link layer the
// generator knows, over IPv4 and IPv6, and checks that each gives the
// exchanges net/http reads from the wire bytes, identical across them.
func TestLinkTypes(t *testing.T) {
	mixed := pcapgen.Mix(200, 31)
	for _, tc := range []struct {
		name  string
		conns []pcapgen.Conn
	}{
		{"mixed", mixed},
		{"ipv6", v6Only(mixed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := oracle(t, tc.conns)
			v6 := 0
			for _, w := range want {
				if w.client.Addr().Is6() {
					v6++
				}
			}
			if v6 == 0 {
				t.Fatal("no IPv6 traffic to test")
			}
			var ref []canon
			for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeLoop} {
				t.Run(lt.String(), func(t *testing.T) {
					file := genPcap(t, tc.conns, pcapgen.Options{Seed: 4, LinkType: lt})
					got, stats := run(t, file, stream.Options{})
					cs := canons(got)
					checkOracle(t, cs, want)
					if stats.Ignored+stats.DecodeErrors+stats.Fragments != 0 {
						t.Errorf("ignored %d, decode errors %d, fragments %d", stats.Ignored, stats.DecodeErrors, stats.Fragments)
					}
					if ref == nil {
						ref = cs
					} else {
						compareCanons(t, lt.String(), cs, ref)
					}
				})
			}
		})
	}
}

// exchangeLine prints everything an exchange carries, timing and
// connection id included.
func exchangeLine(e *capture.Exchange) string {
	return fmt.Sprintf("%s %s %+v %s %d", e.ConnID, e.Timing.RequestStart.Format(time.RFC3339Nano), canonOf(e), e.Timing.ResponseEnd.Format(time.RFC3339Nano), e.Seq)
}

// TestDeterminism checks that the same capture gives the same exchanges
// in the same order every time, also for the exchanges that wait for the
// end of their connection and come out together when the capture ends or
// when idle connections are closed: they come out ordered by the time
// their request started.
func TestDeterminism(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		file := genPcap(t, pcapgen.Mix(300, 41), pcapgen.Options{Seed: 5, Reorder: 0.1, Duplicate: 0.1, Drop: 0.01})
		first, _ := run(t, file, stream.Options{})
		for range 3 {
			again, _ := run(t, file, stream.Options{})
			sameSequence(t, again, first)
		}
	})

	// Many connections left open, each with its last response cut short:
	// those exchanges are emitted only when the connection is flushed.
	var conns []pcapgen.Conn
	for i, c := range pcapgen.Mix(400, 42) {
		last := &c.Exchanges[len(c.Exchanges)-1]
		last.Response = bytes.Clone(last.Response[:len(last.Response)*2/3])
		c.CloseWith = "none"
		c.Client = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.9"), uint16(20000+i))
		c.Server = netip.MustParseAddrPort("203.0.113.10:8080")
		conns = append(conns, c)
	}
	if len(conns) < 20 {
		t.Fatalf("only %d connections", len(conns))
	}
	ps := readPackets(t, genPcap(t, conns, pcapgen.Options{Seed: 6}))
	last := ps[len(ps)-1].Timestamp
	for _, tc := range []struct {
		name string
		end  func(a *stream.Assembler)
	}{
		{"close", func(a *stream.Assembler) { a.Close() }},
		{"idle", func(a *stream.Assembler) { a.Tick(last.Add(time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first []*capture.Exchange
			for i := range 10 {
				var out []*capture.Exchange
				a := stream.New(stream.Options{}, capture.NewStats(), func(e *capture.Exchange) { out = append(out, e) })
				for _, p := range ps {
					a.Packet(p)
				}
				live := len(out)
				tc.end(a)
				flushed := out[live:]
				if len(flushed) != len(conns) {
					t.Fatalf("%d exchanges flushed at the end, want one per connection (%d)", len(flushed), len(conns))
				}
				for j := 1; j < len(flushed); j++ {
					if flushed[j].Timing.RequestStart.Before(flushed[j-1].Timing.RequestStart) {
						t.Fatalf("flushed exchanges out of request order at %d: %s after %s", j,
							flushed[j].Timing.RequestStart.Format(time.RFC3339Nano), flushed[j-1].Timing.RequestStart.Format(time.RFC3339Nano))
					}
				}
				if i == 0 {
					first = out
				} else {
					sameSequence(t, out, first)
				}
			}
		})
	}
}

// sameSequence fails unless got and want are the same exchanges in the
// same order.
func sameSequence(t *testing.T, got, want []*capture.Exchange) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d exchanges, then %d", len(want), len(got))
	}
	for i := range got {
		if g, w := exchangeLine(got[i]), exchangeLine(want[i]); g != w {
			t.Fatalf("exchange %d differs between runs:\n%.300s\n%.300s", i, g, w)
		}
	}
}
