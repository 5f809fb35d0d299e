package stream_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// withNATCopies returns ps with, after each packet, its copy on the other
// side of a DNAT (the server rewritten to a pod's address), lag later.
func withNATCopies(t *testing.T, ps []capture.Packet, lag time.Duration) []capture.Packet {
	t.Helper()
	backend := map[netip.Addr]netip.AddrPort{
		netip.MustParseAddr("203.0.113.10"):   netip.MustParseAddrPort("10.244.1.7:8080"),
		netip.MustParseAddr("2001:db8:5::10"): netip.MustParseAddrPort("[fd00:10:244::7]:8080"),
	}
	var out, copies []capture.Packet
	for _, p := range ps {
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
		c.Timestamp = c.Timestamp.Add(lag)
		if lag < time.Millisecond {
			out = append(out, p, c)
		} else {
			out = append(out, p)
			copies = append(copies, c)
		}
	}
	// copies far behind come after every original (the capture is short)
	return append(out, copies...)
}

// TestSkipCopies checks Options.SkipCopies on both sides of a DNAT: the
// view whose handshake completes first is parsed whole (each exchange
// once, as net/http reads it, nothing counted lost) and its copy only
// counted as duplicates; views that cannot be told to be copies (no
// handshake seen, or handshakes too far apart) are parsed as before.
func TestSkipCopies(t *testing.T) {
	conns := pcapgen.Mix(150, 41)
	want := oracle(t, conns)
	for _, tc := range []struct {
		name    string
		opts    pcapgen.Options
		lag     time.Duration
		open    bool // the connections stay open to the end
		skipped bool
	}{
		{name: "copies", opts: pcapgen.Options{Seed: 5, LinkType: layers.LinkTypeRaw}, lag: 20 * time.Microsecond, skipped: true},
		{name: "copies with faults", opts: pcapgen.Options{Seed: 6, LinkType: layers.LinkTypeRaw, Reorder: 0.05, Duplicate: 0.05, Overlap: 0.05}, lag: 50 * time.Microsecond, skipped: true},
		{name: "handshakes far apart", opts: pcapgen.Options{Seed: 7, LinkType: layers.LinkTypeRaw}, lag: 5 * time.Second, open: true},
		{name: "no handshake seen", opts: pcapgen.Options{Seed: 8, LinkType: layers.LinkTypeRaw, StartMidConnection: true}, lag: 20 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := conns
			if tc.open {
				// still open (and registered) when the late views start
				cs = slices.Clone(conns)
				for i := range cs {
					cs[i].CloseWith = "none"
				}
			}
			ps := withNATCopies(t, readPackets(t, genPcap(t, cs, tc.opts)), tc.lag)
			got, stats := runPackets(ps, stream.Options{SkipCopies: true})
			if !tc.skipped {
				// every view parsed: each exchange twice, none counted
				per := perRequest(got)
				if stats.Duplicates != 0 || len(per) == 0 {
					t.Errorf("%d exchanges, %d duplicates counted", len(got), stats.Duplicates)
				}
				for id, n := range per {
					if n != 2 {
						t.Errorf("request %s emitted %d times, want twice", id, n)
					}
				}
				return
			}
			checkOracle(t, canons(got), want)
			// Every view ended with its connection (FIN or RST), the
			// copies too, although their bytes were never handed over.
			a := stream.New(stream.Options{SkipCopies: true}, capture.NewStats(), func(*capture.Exchange) {})
			for _, p := range ps {
				a.Packet(p)
			}
			if n, v := stream.OpenConns(a), stream.RegisteredViews(a); n != 0 || v != 0 {
				t.Errorf("after every connection closed: %d still open, %d views registered", n, v)
			}
			if stats.Duplicates != uint64(len(want)) || stats.Exchanges != uint64(len(want)) {
				t.Errorf("stats: %d exchanges, %d duplicates; want %d of each", stats.Exchanges, stats.Duplicates, len(want))
			}
			if tot := stats.Total(); tot.LostBytes+tot.Truncated+tot.Incomplete+tot.Unanswered+tot.OrphanResponses != 0 {
				t.Errorf("the copies were counted as losses: %+v", tot)
			}
			for server := range stats.Servers {
				if server != "203.0.113.10:8080" && server != "[2001:db8:5::10]:8080" {
					t.Errorf("server %s has statistics: the copies behind the DNAT were parsed", server)
				}
			}
		})
	}
}

// perRequest counts the exchanges of each request id.
func perRequest(got []*capture.Exchange) map[string]int {
	out := make(map[string]int)
	for _, c := range canons(got) {
		out[requestID(c.ReqHeader)]++
	}
	return out
}
