package stream_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// genPcap writes conns, interleaved, as one pcap file.
func genPcap(t testing.TB, conns []pcapgen.Conn, o pcapgen.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterleaved(conns); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readPackets reads every packet of a pcap file, copying their bytes.
func readPackets(t testing.TB, file []byte) []capture.Packet {
	t.Helper()
	r, err := pcapfile.NewReader(bytes.NewReader(file), "generated.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ps []capture.Packet
	for {
		p, err := r.ReadPacket(context.Background())
		if errors.Is(err, io.EOF) {
			return ps
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = bytes.Clone(p.Data)
		ps = append(ps, p)
	}
}

// run feeds every packet of a pcap file to a new Assembler, closes it and
// returns the exchanges in the order they were emitted.
func run(t testing.TB, file []byte, o stream.Options) ([]*capture.Exchange, *capture.Stats) {
	t.Helper()
	r, err := pcapfile.NewReader(bytes.NewReader(file), "generated.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stats := capture.NewStats()
	var out []*capture.Exchange
	a := stream.New(o, stats, func(e *capture.Exchange) { out = append(out, e) })
	for {
		p, err := r.ReadPacket(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a.Packet(p)
	}
	a.Close()
	if got := stats.Exchanges; got != uint64(len(out)) {
		t.Errorf("stats count %d exchanges, %d were emitted", got, len(out))
	}
	return out, stats
}

// runPackets feeds packets to a new Assembler and closes it.
func runPackets(ps []capture.Packet, o stream.Options) ([]*capture.Exchange, *capture.Stats) {
	stats := capture.NewStats()
	var out []*capture.Exchange
	a := stream.New(o, stats, func(e *capture.Exchange) { out = append(out, e) })
	for _, p := range ps {
		a.Packet(p)
	}
	a.Close()
	return out, stats
}

// canon is what an exchange says about the traffic, without what depends
// on the capture (connection ids, timestamps).
type canon struct {
	Client, Server                   string
	Seq                              int
	Method, Target, Host, ReqProto   string
	ReqHeader, ReqTrailer, ReqBody   string
	ReqWire                          int64
	ReqDecoded                       string
	ReqTrunc, ReqInc                 bool
	RespProto                        string
	Status                           int
	Reason                           string
	Interim                          string
	RespHeader, RespTrailer, RespBod string
	RespWire                         int64
	RespDecoded                      string
	RespTrunc, RespInc               bool
	Upgrade                          string
}

func headerString(h capture.Header) string {
	var b strings.Builder
	for _, f := range h {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\n")
	}
	return b.String()
}

func canonOf(e *capture.Exchange) canon {
	return canon{
		Client: e.Client.String(), Server: e.Server.String(), Seq: e.Seq,
		Method: e.Request.Method, Target: e.Request.Target, Host: e.Request.Host, ReqProto: e.Request.Proto,
		ReqHeader: headerString(e.Request.Header), ReqTrailer: headerString(e.Request.Trailer),
		ReqBody: string(e.Request.Body), ReqWire: e.Request.WireSize, ReqDecoded: e.Request.Decoded,
		ReqTrunc: e.Request.Truncated, ReqInc: e.Request.Incomplete,
		RespProto: e.Response.Proto, Status: e.Response.Status, Reason: e.Response.Reason,
		Interim:    fmt.Sprint(e.Response.Interim),
		RespHeader: headerString(e.Response.Header), RespTrailer: headerString(e.Response.Trailer),
		RespBod: string(e.Response.Body), RespWire: e.Response.WireSize, RespDecoded: e.Response.Decoded,
		RespTrunc: e.Response.Truncated, RespInc: e.Response.Incomplete,
		Upgrade: e.Upgrade,
	}
}

func (c canon) flagged() bool { return c.ReqTrunc || c.ReqInc || c.RespTrunc || c.RespInc }

func (c canon) key() string { return fmt.Sprintf("%s>%s#%06d", c.Client, c.Server, c.Seq) }

// short describes c in one line.
func (c canon) short() string {
	return fmt.Sprintf("%s %s→%s #%d %s %s → %d (req %dB trunc=%v inc=%v, resp %dB trunc=%v inc=%v)",
		requestID(c.ReqHeader), c.Client, c.Server, c.Seq, c.Method, c.Target, c.Status,
		len(c.ReqBody), c.ReqTrunc, c.ReqInc, len(c.RespBod), c.RespTrunc, c.RespInc)
}

// diff names the fields in which a and b differ.
func (c canon) diff(o canon) string {
	var d []string
	add := func(name string, x, y any) {
		if x != y {
			s := fmt.Sprintf("%s: %.80q ≠ %.80q", name, fmt.Sprint(x), fmt.Sprint(y))
			d = append(d, s)
		}
	}
	add("client", c.Client, o.Client)
	add("server", c.Server, o.Server)
	add("seq", c.Seq, o.Seq)
	add("method", c.Method, o.Method)
	add("target", c.Target, o.Target)
	add("host", c.Host, o.Host)
	add("request proto", c.ReqProto, o.ReqProto)
	add("request header", c.ReqHeader, o.ReqHeader)
	add("request trailer", c.ReqTrailer, o.ReqTrailer)
	add("request body", c.ReqBody, o.ReqBody)
	add("request wire size", c.ReqWire, o.ReqWire)
	add("request decoded", c.ReqDecoded, o.ReqDecoded)
	add("request truncated", c.ReqTrunc, o.ReqTrunc)
	add("request incomplete", c.ReqInc, o.ReqInc)
	add("response proto", c.RespProto, o.RespProto)
	add("status", c.Status, o.Status)
	add("reason", c.Reason, o.Reason)
	add("interim", c.Interim, o.Interim)
	add("response header", c.RespHeader, o.RespHeader)
	add("response trailer", c.RespTrailer, o.RespTrailer)
	add("response body", c.RespBod, o.RespBod)
	add("response wire size", c.RespWire, o.RespWire)
	add("response decoded", c.RespDecoded, o.RespDecoded)
	add("response truncated", c.RespTrunc, o.RespTrunc)
	add("response incomplete", c.RespInc, o.RespInc)
	add("upgrade", c.Upgrade, o.Upgrade)
	return strings.Join(d, "; ")
}

// canons returns the canonical forms of xs ordered by connection and Seq.
func canons(xs []*capture.Exchange) []canon {
	cs := make([]canon, len(xs))
	for i, e := range xs {
		cs[i] = canonOf(e)
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].key() < cs[j].key() })
	return cs
}

// requestID returns the X-Request-Id that every Mix request carries.
func requestID(header string) string {
	for _, l := range strings.Split(header, "\n") {
		if v, ok := strings.CutPrefix(l, "X-Request-Id: "); ok {
			return v
		}
	}
	return ""
}

// compareCanons reports every difference between got and want, both
// ordered by canons.
func compareCanons(t *testing.T, what string, got, want []canon) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d exchanges, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			if bad++; bad <= 5 {
				t.Errorf("%s: exchange %d differs: %s\n got %s\nwant %s", what, i, got[i].diff(want[i]), got[i].short(), want[i].short())
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d exchanges differ in all", what, bad)
	}
}

// expected is what net/http reads from an exchange's wire bytes: the
// independent account of what the assembler must produce.
type expected struct {
	client, server netip.AddrPort
	seq            int
	method, target string
	host           string
	reqBody        []byte
	status         int
	respBody       []byte // content coding removed
	gzipped        bool
}

// oracle parses every exchange of conns with net/http, keyed by the
// X-Request-Id header.
func oracle(t testing.TB, conns []pcapgen.Conn) map[string]expected {
	t.Helper()
	out := make(map[string]expected)
	for ci, c := range conns {
		for i, x := range c.Exchanges {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(x.Request)))
			if err != nil {
				t.Fatalf("connection %d exchange %d: %v", ci, i, err)
			}
			reqBody, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(x.Response)), req)
			if err != nil {
				t.Fatalf("connection %d exchange %d: %v", ci, i, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			gz := resp.Header.Get("Content-Encoding") == "gzip"
			if gz {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			id := req.Header.Get("X-Request-Id")
			if _, dup := out[id]; dup || id == "" {
				t.Fatalf("request id %q is not unique", id)
			}
			out[id] = expected{
				client: c.Client, server: c.Server, seq: i,
				method: req.Method, target: req.RequestURI, host: req.Host,
				reqBody: reqBody, status: resp.StatusCode, respBody: body, gzipped: gz,
			}
		}
	}
	return out
}

// checkOracle checks that got holds exactly the exchanges of want, each
// unflagged and as net/http read it.
func checkOracle(t *testing.T, got []canon, want map[string]expected) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d exchanges, want %d", len(got), len(want))
	}
	seen := make(map[string]bool)
	bad := 0
	for _, c := range got {
		id := requestID(c.ReqHeader)
		w, ok := want[id]
		var errs []string
		switch {
		case !ok:
			errs = append(errs, "no such request was sent")
		case seen[id]:
			errs = append(errs, "emitted twice")
		default:
			seen[id] = true
			if c.Client != w.client.String() || c.Server != w.server.String() {
				errs = append(errs, fmt.Sprintf("endpoints %s→%s, want %s→%s", c.Client, c.Server, w.client, w.server))
			}
			if c.Seq != w.seq {
				errs = append(errs, fmt.Sprintf("seq %d, want %d", c.Seq, w.seq))
			}
			if c.Method != w.method || c.Target != w.target || c.Host != w.host {
				errs = append(errs, fmt.Sprintf("request %s %s (host %s), want %s %s (host %s)", c.Method, c.Target, c.Host, w.method, w.target, w.host))
			}
			if c.ReqBody != string(w.reqBody) {
				errs = append(errs, fmt.Sprintf("request body of %d bytes, want %d", len(c.ReqBody), len(w.reqBody)))
			}
			if c.Status != w.status {
				errs = append(errs, fmt.Sprintf("status %d, want %d", c.Status, w.status))
			}
			if c.RespBod != string(w.respBody) {
				errs = append(errs, fmt.Sprintf("response body of %d bytes, want %d", len(c.RespBod), len(w.respBody)))
			}
			if w.gzipped != (c.RespDecoded == "gzip") {
				errs = append(errs, fmt.Sprintf("response decoded %q, gzip sent: %v", c.RespDecoded, w.gzipped))
			}
		}
		if c.flagged() {
			errs = append(errs, "flagged truncated or incomplete")
		}
		if len(errs) > 0 {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s", c.short(), strings.Join(errs, "; "))
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d exchanges differ from what net/http reads", bad)
	}
}

// shift returns ps with every timestamp moved by d.
func shift(ps []capture.Packet, d time.Duration) []capture.Packet {
	out := make([]capture.Packet, len(ps))
	for i, p := range ps {
		p.Timestamp = p.Timestamp.Add(d)
		out[i] = p
	}
	return out
}

// endpointsOf decodes the transport endpoints of a packet.
func endpointsOf(t testing.TB, p capture.Packet) (src, dst netip.AddrPort) {
	t.Helper()
	pk := gopacket.NewPacket(p.Data, p.LinkType, gopacket.NoCopy)
	nl, tl := pk.NetworkLayer(), pk.TransportLayer()
	if nl == nil || tl == nil {
		t.Fatalf("packet without network or transport layer: %v", pk)
	}
	ns, nd := nl.NetworkFlow().Endpoints()
	ts, td := tl.TransportFlow().Endpoints()
	sa, _ := netip.AddrFromSlice(ns.Raw())
	da, _ := netip.AddrFromSlice(nd.Raw())
	return netip.AddrPortFrom(sa, binary.BigEndian.Uint16(ts.Raw())), netip.AddrPortFrom(da, binary.BigEndian.Uint16(td.Raw()))
}

// byConn splits packets by the connection of conns they belong to.
func byConn(t testing.TB, ps []capture.Packet, conns []pcapgen.Conn) [][]capture.Packet {
	t.Helper()
	idx := make(map[netip.AddrPort]int, len(conns))
	for i, c := range conns {
		idx[c.Client] = i
	}
	out := make([][]capture.Packet, len(conns))
	for _, p := range ps {
		src, dst := endpointsOf(t, p)
		i, ok := idx[src]
		if !ok {
			if i, ok = idx[dst]; !ok {
				t.Fatalf("packet %s → %s belongs to no connection", src, dst)
			}
		}
		out[i] = append(out[i], p)
	}
	return out
}

// byRequestID indexes canonical exchanges by their X-Request-Id.
func byRequestID(cs []canon) map[string]canon {
	m := make(map[string]canon, len(cs))
	for _, c := range cs {
		m[requestID(c.ReqHeader)] = c
	}
	return m
}
