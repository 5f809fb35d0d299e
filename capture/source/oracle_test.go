package source_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture/pcapfile"
)

// This file holds an account of capture files independent of the code
// under test: a plain reassembler for captures without loss (segments
// sorted by sequence number, repeated bytes dropped) and net/http's own
// readers for the HTTP on top.

// tcpConn is one TCP connection of a capture, reassembled naively.
type tcpConn struct {
	client, server netip.AddrPort
	synSeen        bool
	// req and resp are the bytes each side sent; holes counts bytes
	// missing between the segments seen.
	req, resp   []byte
	holes       int
	reqSegments [][]byte // the client's data segments, in capture order
}

// capInfo is what the plain reading of a capture found.
type capInfo struct {
	conns []*tcpConn
	// udpRequests counts UDP datagrams that carry an HTTP request line
	// (SSDP, for one).
	udpRequests int
}

type segment struct {
	seq  uint32
	data []byte
}

// readCapture reads a capture file with pcapfile and gopacket's layers and
// reassembles every TCP connection by sequence numbers.
func readCapture(t *testing.T, path string) capInfo {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type half struct {
		segs []segment
		isn  uint32
		base bool
	}
	type conn struct {
		tcpConn
		half [2]half // 0: the sender of the first packet
		a    netip.AddrPort
	}
	conns := map[[2]netip.AddrPort]*conn{}
	var order []*conn
	var info capInfo
	for {
		p, err := r.ReadPacket(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pk := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
		nl := pk.NetworkLayer()
		if nl == nil {
			continue
		}
		if udp, ok := pk.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(udp.Payload))); err == nil {
				info.udpRequests++
			}
			continue
		}
		tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			continue
		}
		sa, _ := netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
		da, _ := netip.AddrFromSlice(nl.NetworkFlow().Dst().Raw())
		src := netip.AddrPortFrom(sa, uint16(tcp.SrcPort))
		dst := netip.AddrPortFrom(da, uint16(tcp.DstPort))
		key := [2]netip.AddrPort{src, dst}
		if dst.Compare(src) < 0 {
			key = [2]netip.AddrPort{dst, src}
		}
		c := conns[key]
		if c == nil {
			c = &conn{a: src}
			c.client, c.server = src, dst
			conns[key] = c
			order = append(order, c)
		}
		d := 0
		if src != c.a {
			d = 1
		}
		h := &c.half[d]
		if tcp.SYN {
			h.isn, h.base = tcp.Seq+1, true
			if !tcp.ACK {
				c.client, c.server, c.synSeen = src, dst, true
			}
		}
		if len(tcp.Payload) > 0 {
			if !h.base {
				h.isn, h.base = tcp.Seq, true
			}
			h.segs = append(h.segs, segment{tcp.Seq, bytes.Clone(tcp.Payload)})
			if src == c.client {
				c.reqSegments = append(c.reqSegments, bytes.Clone(tcp.Payload))
			}
		}
	}
	for _, c := range order {
		for d := range c.half {
			h := &c.half[d]
			sort.SliceStable(h.segs, func(i, j int) bool { return h.segs[i].seq-h.isn < h.segs[j].seq-h.isn })
			var out []byte
			for _, s := range h.segs {
				off := int(s.seq - h.isn)
				switch {
				case off > len(out):
					c.holes += off - len(out)
					out = append(out, make([]byte, off-len(out))...)
					out = append(out, s.data...)
				case off+len(s.data) > len(out):
					out = append(out, s.data[len(out)-off:]...)
				}
			}
			if (c.a == c.client) == (d == 0) {
				c.req = out
			} else {
				c.resp = out
			}
		}
		if !c.synSeen && len(c.req) == 0 && len(c.resp) > 0 {
			// Without a handshake, the side that spoke first is the client.
			c.client, c.server, c.req, c.resp = c.server, c.client, c.resp, c.req
		}
		info.conns = append(info.conns, &c.tcpConn)
	}
	return info
}

// httpExchange is one exchange as net/http reads it.
type httpExchange struct {
	client, server netip.AddrPort
	method, target string
	host, proto    string
	reqBody        int // after transfer decoding
	status         int
	respProto      string
	interim        []int
	respBody       int // after transfer decoding
	decodedBody    int // after content decoding too (gzip only)
	json, gzip     [2]bool
	chunked        [2]bool
}

// readHTTP reads the requests of c's client stream and the responses of
// its server stream with net/http, pairing them in order. Reading stops at
// the first thing net/http does not read, and after a protocol switch.
// unread reports whether the client stream had bytes net/http could not
// read as a request.
func readHTTP(c *tcpConn) (xs []httpExchange, unread bool) {
	rq := bufio.NewReader(bytes.NewReader(c.req))
	var reqs []*http.Request
	for {
		if _, err := rq.Peek(1); err != nil {
			break
		}
		req, err := http.ReadRequest(rq)
		if err != nil {
			unread = true
			break
		}
		x := httpExchange{client: c.client, server: c.server, method: req.Method, target: req.RequestURI, host: req.Host, proto: req.Proto}
		n, err := io.Copy(io.Discard, req.Body)
		if err != nil {
			unread = true
			break
		}
		x.reqBody = int(n)
		x.json[0] = strings.Contains(req.Header.Get("Content-Type"), "json")
		x.chunked[0] = len(req.TransferEncoding) > 0
		xs = append(xs, x)
		reqs = append(reqs, req)
		if req.Header.Get("Upgrade") != "" || req.Method == http.MethodConnect {
			break // what follows may not be HTTP
		}
	}
	rs := bufio.NewReader(bytes.NewReader(c.resp))
	for i := range xs {
		for {
			resp, err := http.ReadResponse(rs, reqs[i])
			if err != nil {
				return xs[:i], unread
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return xs[:i], unread
			}
			if resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
				xs[i].interim = append(xs[i].interim, resp.StatusCode)
				continue
			}
			x := &xs[i]
			x.status, x.respProto = resp.StatusCode, resp.Proto
			x.respBody, x.decodedBody = len(body), len(body)
			x.json[1] = strings.Contains(resp.Header.Get("Content-Type"), "json")
			x.chunked[1] = len(resp.TransferEncoding) > 0
			if resp.Header.Get("Content-Encoding") == "gzip" {
				x.gzip[1] = true
				if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
					if d, err := io.ReadAll(zr); err == nil {
						x.decodedBody = len(d)
					}
				}
			}
			if resp.StatusCode == http.StatusSwitchingProtocols || reqs[i].Method == http.MethodConnect && resp.StatusCode/100 == 2 {
				return xs[:i+1], unread
			}
			break
		}
	}
	return xs, unread
}
