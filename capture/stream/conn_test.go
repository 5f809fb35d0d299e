package stream_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

var (
	testClient = netip.MustParseAddrPort("192.0.2.7:41000")
	testServer = netip.MustParseAddrPort("192.0.2.80:8080")
)

// plainExchanges returns n exchanges of Mix whose responses have a
// Content-Length body of at least minBody bytes sent without content
// coding, so that a prefix of the body is a prefix of what is decoded.
func plainExchanges(t testing.TB, n, minBody int) []pcapgen.Exchange {
	t.Helper()
	var out []pcapgen.Exchange
	for _, c := range pcapgen.Mix(600, 5) {
		for _, x := range c.Exchanges {
			head, body, ok := bytes.Cut(x.Response, []byte("\r\n\r\n"))
			if !ok || len(body) < minBody || !bytes.Contains(head, []byte("Content-Length:")) || bytes.Contains(head, []byte("Content-Encoding")) {
				continue
			}
			out = append(out, x)
			if len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("Mix has fewer than %d plain responses of %d bytes", n, minBody)
	return nil
}

// closeDelimited returns the wire bytes of a response whose body ends when
// the server closes the connection, as net/http writes it.
func closeDelimited(t testing.TB, body string) []byte {
	t.Helper()
	resp := &http.Response{
		StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		ContentLength: -1,
		Body:          io.NopCloser(strings.NewReader(body)),
	}
	var b bytes.Buffer
	if err := resp.Write(&b); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("Content-Length")) || !bytes.Contains(b.Bytes(), []byte("Connection: close")) {
		t.Fatalf("net/http did not write a close-delimited response:\n%s", b.Bytes())
	}
	return b.Bytes()
}

// bodyOf returns the body of a response's wire bytes, as net/http reads it.
func bodyOf(t testing.TB, wire []byte) []byte {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wire)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// connPackets writes one connection and returns its packets.
func connPackets(t testing.TB, c pcapgen.Conn) []capture.Packet {
	t.Helper()
	return readPackets(t, genPcap(t, []pcapgen.Conn{c}, pcapgen.Options{Seed: 9}))
}

// serverRST returns an Ethernet frame in which the server resets the
// connection at the next sequence number it would send, 1ms after last.
func serverRST(t testing.TB, ps []capture.Packet) capture.Packet {
	t.Helper()
	var seq, ack uint32
	found := false
	for _, p := range ps {
		pk := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
		tcp := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if uint16(tcp.SrcPort) != testServer.Port() {
			continue
		}
		next := tcp.Seq + uint32(len(tcp.Payload))
		if tcp.SYN || tcp.FIN {
			next++
		}
		seq, ack, found = next, tcp.Ack, true
	}
	if !found {
		t.Fatal("no packet from the server")
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: testServer.Addr().AsSlice(), DstIP: testClient.Addr().AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(testServer.Port()), DstPort: layers.TCPPort(testClient.Port()), Seq: seq, Ack: ack, RST: true, ACK: true}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	last := ps[len(ps)-1]
	return capture.Packet{Data: buf.Bytes(), Timestamp: last.Timestamp.Add(time.Millisecond), Length: len(buf.Bytes()), LinkType: layers.LinkTypeEthernet}
}

// TestEndings checks how the end of a connection — FIN, a reset from
// either side, or the end of the capture — finishes the exchanges on it.
func TestEndings(t *testing.T) {
	xs := plainExchanges(t, 3, 3000)
	cut := xs[2]
	cutLen := bytes.Index(cut.Response, []byte("\r\n\r\n")) + 4 + 1000 // the head and 1000 body bytes
	cut.Response = cut.Response[:cutLen]
	fullCutBody := bodyOf(t, xs[2].Response)
	cdBody := `{"items":[{"id":1,"title":"read until the server closes"}]}`
	cd := pcapgen.Exchange{Request: xs[2].Request, Response: closeDelimited(t, cdBody)}

	type want struct {
		incomplete bool   // of the last response
		body       []byte // of the last response
	}
	cases := []struct {
		name      string
		last      pcapgen.Exchange
		close     string
		serverRST bool
		want      want
	}{
		{"fin", xs[2], "fin", false, want{false, fullCutBody}},
		{"client-rst-after-response", xs[2], "rst", false, want{false, fullCutBody}},
		{"capture-ends-open", xs[2], "none", false, want{false, fullCutBody}},
		{"fin-mid-response", cut, "fin", false, want{true, fullCutBody[:1000]}},
		{"client-rst-mid-response", cut, "rst", false, want{true, fullCutBody[:1000]}},
		{"server-rst-mid-response", cut, "none", true, want{true, fullCutBody[:1000]}},
		{"capture-ends-mid-response", cut, "none", false, want{true, fullCutBody[:1000]}},
		{"close-delimited-fin", cd, "fin", false, want{false, []byte(cdBody)}},
		{"close-delimited-client-rst", cd, "rst", false, want{true, []byte(cdBody)}},
		{"close-delimited-server-rst", cd, "none", true, want{true, []byte(cdBody)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := pcapgen.Conn{Client: testClient, Server: testServer, CloseWith: tc.close,
				Exchanges: []pcapgen.Exchange{xs[0], xs[1], tc.last}}
			ps := connPackets(t, c)
			if tc.serverRST {
				ps = append(ps, serverRST(t, ps))
			}
			got, stats := runPackets(ps, stream.Options{})
			if len(got) != 3 {
				t.Fatalf("%d exchanges, want 3", len(got))
			}
			want := oracle(t, []pcapgen.Conn{{Client: testClient, Server: testServer, Exchanges: xs[:2]}})
			checkOracle(t, canons(got[:2]), want)
			last := got[2]
			if last.Client != testClient || last.Server != testServer || last.Seq != 2 || last.Response.Status != 200 {
				t.Errorf("last exchange %s→%s #%d status %d", last.Client, last.Server, last.Seq, last.Response.Status)
			}
			if last.Response.Incomplete != tc.want.incomplete {
				t.Errorf("last response Incomplete = %v, want %v", last.Response.Incomplete, tc.want.incomplete)
			}
			if !bytes.Equal(last.Response.Body, tc.want.body) {
				t.Errorf("last response body of %d bytes, want %d", len(last.Response.Body), len(tc.want.body))
			}
			if last.Request.Incomplete || last.Request.Truncated || last.Response.Truncated {
				t.Errorf("flags: request incomplete %v truncated %v, response truncated %v", last.Request.Incomplete, last.Request.Truncated, last.Response.Truncated)
			}
			st := stats.Servers[testServer.String()]
			if st == nil || st.Connections != 1 || st.Exchanges != 3 || st.Incomplete != uint64(b2i(tc.want.incomplete)) ||
				st.Unanswered != 0 || st.OrphanResponses != 0 || st.LostBytes != 0 {
				t.Errorf("server stats %+v", st)
			}
		})
	}
}

// TestRoles checks that the client is told from the server whichever of
// them the capture saw first: from the SYN, from the SYN-ACK when the SYN
// was missed, and from the bytes when no handshake was captured.
func TestRoles(t *testing.T) {
	xs := plainExchanges(t, 2, 100)
	c := pcapgen.Conn{Client: testClient, Server: testServer, Exchanges: xs}
	all := connPackets(t, c)
	want := oracle(t, []pcapgen.Conn{c})
	cases := []struct {
		name string
		skip int // packets left out at the start
	}{
		{"syn", 0},
		{"syn-ack-first", 1},
		{"ack-first", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, stats := runPackets(all[tc.skip:], stream.Options{})
			checkOracle(t, canons(got), want)
			if st := stats.Servers[testServer.String()]; st == nil || st.Connections != 1 || st.Exchanges != 2 {
				t.Errorf("stats by server: %v", stats.SortedServers())
			}
		})
	}
	// The server speaks first: a response whose request was not captured
	// comes before the capture sees anything from the client.
	t.Run("server-first", func(t *testing.T) {
		var ps []capture.Packet
		for _, p := range all[3:] { // no handshake
			src, _ := endpointsOf(t, p)
			if src == testClient && len(ps) == 0 {
				continue // the first request is not captured
			}
			ps = append(ps, p)
		}
		got, stats := runPackets(ps, stream.Options{})
		if len(got) != 1 || got[0].Client != testClient || got[0].Server != testServer || got[0].Request.Target != want[requestID(canonOf(got[0]).ReqHeader)].target {
			t.Fatalf("got %d exchanges: %v", len(got), got)
		}
		st := stats.Servers[testServer.String()]
		if st == nil || st.OrphanResponses != 1 {
			t.Errorf("the response without its request is not counted: %v", stats.SortedServers())
		}
	})
}

// TestIdleTimeout checks that Tick closes a connection whose last packet
// is older than IdleTimeout, emitting what waited for its end, and leaves
// a younger one open.
func TestIdleTimeout(t *testing.T) {
	const idle = time.Minute
	xs := plainExchanges(t, 1, 100)
	body := `{"done":true}`
	mk := func(client netip.AddrPort) []capture.Packet {
		return connPackets(t, pcapgen.Conn{Client: client, Server: testServer, CloseWith: "none",
			Exchanges: []pcapgen.Exchange{xs[0], {Request: xs[0].Request, Response: closeDelimited(t, body)}}})
	}
	old := mk(testClient)
	young := shift(mk(netip.AddrPortFrom(testClient.Addr(), testClient.Port()+1)), 30*time.Second)
	oldLast := old[len(old)-1].Timestamp
	youngLast := young[len(young)-1].Timestamp

	stats := capture.NewStats()
	var got []*capture.Exchange
	a := stream.New(stream.Options{IdleTimeout: idle}, stats, func(e *capture.Exchange) { got = append(got, e) })
	for _, p := range append(old, young...) {
		a.Packet(p)
	}
	// Each connection's first exchange has a Content-Length response: it
	// is out at once; the second waits for the connection's end.
	count := func(port uint16) (n int) {
		for _, e := range got {
			if e.Client.Port() == port {
				n++
			}
		}
		return n
	}
	if count(testClient.Port()) != 1 || count(testClient.Port()+1) != 1 || stats.Total().Connections != 0 {
		t.Fatalf("before any timeout: %d and %d exchanges, %d connections closed", count(testClient.Port()), count(testClient.Port()+1), stats.Total().Connections)
	}
	a.Tick(oldLast.Add(idle - time.Second))
	if len(got) != 2 {
		t.Fatalf("a connection idle for less than IdleTimeout was closed: %d exchanges", len(got))
	}
	a.Tick(oldLast.Add(idle + time.Second))
	if count(testClient.Port()) != 2 || count(testClient.Port()+1) != 1 {
		t.Fatalf("after the old connection's idle timeout: %d and %d exchanges", count(testClient.Port()), count(testClient.Port()+1))
	}
	e := got[len(got)-1]
	if string(e.Response.Body) != body || e.Seq != 1 {
		t.Errorf("close-delimited response: seq %d body %q", e.Seq, e.Response.Body)
	}
	if stats.Total().Connections != 1 {
		t.Errorf("%d connections closed, want 1", stats.Total().Connections)
	}
	a.Tick(youngLast.Add(idle + time.Second))
	if count(testClient.Port()+1) != 2 || stats.Total().Connections != 2 {
		t.Errorf("after the young connection's idle timeout: %d exchanges, %d connections", count(testClient.Port()+1), stats.Total().Connections)
	}
	a.Close()
	if len(got) != 4 || stats.Exchanges != 4 {
		t.Errorf("%d exchanges in all (stats %d), want 4", len(got), stats.Exchanges)
	}

	// In a capture file, packet time drives the same timeout: a packet
	// of another connection later than IdleTimeout closes the idle one.
	t.Run("packet-time", func(t *testing.T) {
		stats := capture.NewStats()
		var got []*capture.Exchange
		a := stream.New(stream.Options{IdleTimeout: idle}, stats, func(e *capture.Exchange) { got = append(got, e) })
		for _, p := range append(old, shift(young, 2*idle)...) {
			a.Packet(p)
		}
		if len(got) != 3 || got[1].Client != testClient || string(got[1].Response.Body) != body {
			t.Errorf("%d exchanges before Close; the idle connection was not closed by packet time", len(got))
		}
		a.Close()
		if len(got) != 4 {
			t.Errorf("%d exchanges after Close, want 4", len(got))
		}
	})
}

// TestGapTimeout leaves one segment of a response out of the capture and
// checks that the bytes after the hole wait for it until GapTimeout, then
// go on, with the hole counted as lost and the body marked truncated.
func TestGapTimeout(t *testing.T) {
	const gap = 5 * time.Second
	xs := plainExchanges(t, 2, 6000)
	c := pcapgen.Conn{Client: testClient, Server: testServer, CloseWith: "none", Exchanges: xs}
	all := connPackets(t, c)
	// Leave out the second data segment of the first response.
	var ps []capture.Packet
	var lost int
	var after time.Time // when the first segment past the hole was seen
	seen := 0
	for _, p := range all {
		src, _ := endpointsOf(t, p)
		pk := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
		n := len(pk.Layer(layers.LayerTypeTCP).(*layers.TCP).Payload)
		if src == testServer && n > 0 {
			seen++
			if seen == 2 {
				lost = n
				continue
			}
			if seen == 3 {
				after = p.Timestamp
			}
		}
		ps = append(ps, p)
	}
	if lost == 0 || after.IsZero() {
		t.Fatal("the first response has fewer than three segments")
	}
	full := bodyOf(t, xs[0].Response)

	stats := capture.NewStats()
	var got []*capture.Exchange
	a := stream.New(stream.Options{GapTimeout: gap}, stats, func(e *capture.Exchange) { got = append(got, e) })
	for _, p := range ps {
		a.Packet(p)
	}
	if len(got) != 0 {
		t.Fatalf("%d exchanges emitted while the hole may still be filled", len(got))
	}
	a.Tick(after.Add(gap - 10*time.Millisecond))
	if len(got) != 0 {
		t.Fatalf("the hole was skipped before GapTimeout")
	}
	a.Tick(after.Add(gap + 10*time.Millisecond))
	if len(got) != 2 {
		t.Fatalf("%d exchanges after GapTimeout, want 2", len(got))
	}
	x := got[0].Response
	if !x.Truncated || x.Incomplete || x.WireSize != int64(len(full)) || len(x.Body) >= len(full) || !bytes.HasPrefix(full, x.Body) {
		t.Errorf("response with a hole: truncated %v incomplete %v wire size %d (sent %d) body %d bytes", x.Truncated, x.Incomplete, x.WireSize, len(full), len(x.Body))
	}
	want := oracle(t, []pcapgen.Conn{{Client: testClient, Server: testServer, Exchanges: xs}})
	delete(want, requestID(canonOf(got[0]).ReqHeader))
	checkOracle(t, canons(got[1:]), want)
	// A connection's counters are added to the statistics when it ends.
	a.Close()
	if st := stats.Total(); st.LostBytes != uint64(lost) || st.Truncated != 1 || st.Exchanges != 2 {
		t.Errorf("LostBytes %d (want %d), Truncated %d (want 1), Exchanges %d (want 2)", st.LostBytes, lost, st.Truncated, st.Exchanges)
	}
}
