package source_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/testenv"
)

// corpusDir holds real captures from other projects with independent
// accounts of their HTTP: tshark's counts (MANIFEST.tsv) and Zeek's
// http.log for some of them.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpora", "pcap")

// fileResult is what specgate and the independent readers make of one
// capture file.
type fileResult struct {
	name  string
	xs    []*capture.Exchange
	stats *capture.Stats
	cap   capInfo
	http  []httpExchange // net/http over the plain reassembly
	// notHTTP lists the connections whose client bytes net/http could not
	// read as HTTP/1.x from their first byte.
	notHTTP []*tcpConn
}

// readCorpus reads every packet capture of the corpus with source.ReadFile
// (default options, no redaction) and with the independent readers.
func readCorpus(t *testing.T) map[string]*fileResult {
	t.Helper()
	testenv.NeedDir(t, corpusDir)
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*fileResult)
	for _, de := range entries {
		path := filepath.Join(corpusDir, de.Name())
		if !de.Type().IsRegular() || !isCapture(t, path) {
			continue
		}
		fr := &fileResult{name: de.Name(), stats: capture.NewStats()}
		err := source.ReadFile(context.Background(), path, source.Options{}, fr.stats, func(e *capture.Exchange) error {
			fr.xs = append(fr.xs, e)
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", de.Name(), err)
			continue
		}
		fr.cap = readCapture(t, path)
		for _, c := range fr.cap.conns {
			if c.holes > 0 {
				t.Errorf("%s: connection %s → %s misses %d bytes: the plain reassembly cannot vouch for it", de.Name(), c.client, c.server, c.holes)
			}
			xs, unread := readHTTP(c)
			fr.http = append(fr.http, xs...)
			if len(xs) == 0 && unread {
				fr.notHTTP = append(fr.notHTTP, c)
			}
		}
		out[de.Name()] = fr
	}
	if len(out) == 0 {
		t.Fatalf("no capture files in %s", corpusDir)
	}
	return out
}

func isCapture(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	return source.Detect(head[:n]) == source.KindPackets
}

// exchangeKey is what must agree between specgate and net/http.
func exchangeKey(client, server netip.AddrPort, method, target, host, proto, respProto string, status, reqBody, respBody, decoded int, interim []int) string {
	return fmt.Sprintf("%s→%s %s %s %s (host %s) → %s %d %v (request body %d, response body %d, decoded %d)",
		client, server, method, target, proto, host, respProto, status, interim, reqBody, respBody, decoded)
}

// TestCorpusMatchesNetHTTP checks every exchange specgate reads from the
// corpus against net/http's reading of the same connections (reassembled
// plainly: the captures lose nothing), and that connections net/http
// cannot read as HTTP/1.x are counted as undecodable.
func TestCorpusMatchesNetHTTP(t *testing.T) {
	for _, fr := range sortedResults(readCorpus(t)) {
		t.Run(fr.name, func(t *testing.T) {
			var got, want []string
			for _, e := range fr.xs {
				if e.Request.Truncated || e.Request.Incomplete || e.Response.Truncated || e.Response.Incomplete {
					t.Errorf("exchange flagged in a capture that lost nothing: %s %s", e.Request.Method, e.Request.Target)
				}
				got = append(got, exchangeKey(e.Client, e.Server, e.Request.Method, e.Request.Target, e.Request.Host, e.Request.Proto, e.Response.Proto, e.Response.Status,
					int(e.Request.WireSize), int(e.Response.WireSize), len(e.Response.Body), e.Response.Interim))
			}
			for _, x := range fr.http {
				want = append(want, exchangeKey(x.client, x.server, x.method, x.target, x.host, x.proto, x.respProto, x.status, x.reqBody, x.respBody, x.decodedBody, x.interim))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("specgate and net/http disagree:\nspecgate:\n  %s\nnet/http:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			// Connections that are not HTTP/1.x are counted, per server.
			notHTTP := make(map[string]uint64)
			for _, c := range fr.notHTTP {
				notHTTP[c.server.String()]++
			}
			for _, ss := range fr.stats.SortedServers() {
				if ss.Undecodable != notHTTP[ss.Server] {
					t.Errorf("server %s: %d connections counted undecodable; net/http could read no request on %d", ss.Server, ss.Undecodable, notHTTP[ss.Server])
				}
				delete(notHTTP, ss.Server)
			}
			for s, n := range notHTTP {
				t.Errorf("server %s: %d connections net/http cannot read, but no statistics", s, n)
			}
			if tot := fr.stats.Total(); tot.LostBytes+tot.Unanswered+tot.OrphanResponses+tot.GaveUp+tot.Incomplete+tot.Truncated != 0 {
				t.Errorf("losses counted in a capture that lost nothing: %+v", tot)
			}
		})
	}
}

func sortedResults(m map[string]*fileResult) []*fileResult {
	var out []*fileResult
	for _, fr := range m {
		out = append(out, fr)
	}
	slices.SortFunc(out, func(a, b *fileResult) int { return strings.Compare(a.name, b.name) })
	return out
}

// manifestRow is one line of MANIFEST.tsv: what tshark 4.0 counts.
type manifestRow struct {
	file                      string
	req, json, chunked, gzipM int
}

func readManifest(t *testing.T) map[string]manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cols []string
	out := make(map[string]manifestRow)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = fs
			continue
		}
		if len(fs) != len(cols) {
			t.Fatalf("MANIFEST.tsv: %q has %d fields, the header %d", sc.Text(), len(fs), len(cols))
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = fs[i]
		}
		n := func(c string) int {
			v, err := strconv.Atoi(row[c])
			if err != nil {
				t.Fatalf("MANIFEST.tsv: column %s of %s: %v", c, row["file"], err)
			}
			return v
		}
		out[row["file"]] = manifestRow{file: row["file"], req: n("req"), json: n("json_msgs"), chunked: n("chunked_msgs"), gzipM: n("gzip_msgs")}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusMatchesTshark compares the number of requests specgate reads
// in each file with tshark's. A difference is accepted only with one of
// the named reasons below, each checked on the file.
func TestCorpusMatchesTshark(t *testing.T) {
	results := readCorpus(t)
	manifest := readManifest(t)
	for name := range results {
		if _, ok := manifest[name]; !ok {
			t.Errorf("%s is not in MANIFEST.tsv", name)
		}
	}
	for _, m := range manifest {
		fr := results[m.file]
		if fr == nil {
			t.Errorf("MANIFEST.tsv names %s, which was not read", m.file)
			continue
		}
		t.Run(m.file, func(t *testing.T) {
			ours := len(fr.xs)
			diff := m.req - ours
			var reasons []string
			// Reason: tshark counts HTTP requests carried over UDP (SSDP's
			// M-SEARCH); specgate reads HTTP over TCP only and ignores
			// UDP datagrams.
			if fr.cap.udpRequests > 0 {
				reasons = append(reasons, "HTTP over UDP")
				diff -= fr.cap.udpRequests
				if fr.stats.Ignored < uint64(fr.cap.udpRequests) {
					t.Errorf("%d UDP datagrams carry HTTP requests, but only %d frames were ignored", fr.cap.udpRequests, fr.stats.Ignored)
				}
				for _, e := range fr.xs {
					if e.Request.Method == "M-SEARCH" || e.Request.Method == "NOTIFY" {
						t.Errorf("an exchange came from UDP noise: %s %s", e.Request.Method, e.Request.Target)
					}
				}
			}
			// Reason: tshark misses requests pipelined behind others in
			// the same segments; net/http reads them all from the stream.
			if segs := clientSegments(fr.cap); diff < 0 && m.req <= segs && len(fr.http) > segs {
				reasons = append(reasons, "pipelined requests, more than the client's segments")
				diff += len(fr.http) - m.req
			}
			// Reason: tshark counts lines that start like a request (a
			// method name, then a space or the line's end) but are not
			// HTTP/1.x request lines by RFC 9112 (a version cut short,
			// no target, HTTP/0.9 style); net/http reads none of them and
			// specgate counts their connections as undecodable.
			if n := requestLike(fr.notHTTP); diff > 0 && n > 0 {
				reasons = append(reasons, fmt.Sprintf("%d malformed request lines", n))
				diff -= n
			}
			if diff != 0 || ours != len(fr.http) {
				t.Errorf("tshark counts %d requests, specgate %d, net/http %d; reasons found %v leave %d unexplained", m.req, ours, len(fr.http), reasons, diff)
			}
			if len(reasons) > 0 {
				t.Logf("tshark %d, specgate %d: %s", m.req, ours, strings.Join(reasons, "; "))
			}

			// JSON, chunked and gzip messages, counted from the headers.
			got := messageKinds(fr)
			// Reason: tshark also counts the replies on connections that are
			// not HTTP/1.x (a server answering a malformed request line);
			// specgate emits nothing from those connections.
			var extra [3]int
			for _, c := range fr.notHTTP {
				if resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(c.resp)), nil); err == nil {
					extra[0] += b2i(strings.Contains(resp.Header.Get("Content-Type"), "json"))
					extra[1] += b2i(slices.Contains(resp.TransferEncoding, "chunked"))
					extra[2] += b2i(resp.Header.Get("Content-Encoding") == "gzip")
				}
			}
			for i, k := range []struct {
				name   string
				tshark int
			}{{"JSON", m.json}, {"chunked", m.chunked}, {"gzip", m.gzipM}} {
				if got[i] != k.tshark && got[i]+extra[i] != k.tshark {
					t.Errorf("%s messages: tshark %d, specgate %d (%d more on connections that are not HTTP/1.x)", k.name, k.tshark, got[i], extra[i])
				}
				if got[i] != k.tshark {
					t.Logf("%s messages: tshark %d, specgate %d: %d are replies on connections that are not HTTP/1.x", k.name, k.tshark, got[i], extra[i])
				}
			}
		})
	}
}

// clientSegments counts the client data segments of all connections.
func clientSegments(ci capInfo) int {
	n := 0
	for _, c := range ci.conns {
		n += len(c.reqSegments)
	}
	return n
}

// requestLike counts the connections whose client bytes begin with a
// method name (upper-case letters, '_' or '-') followed by a space or the
// end of the line.
func requestLike(cs []*tcpConn) int {
	n := 0
	for _, c := range cs {
		line, _, _ := strings.Cut(string(c.req), "\n")
		line = strings.TrimSuffix(line, "\r")
		method, _, _ := strings.Cut(line, " ")
		ok := method != ""
		for _, r := range method {
			ok = ok && (r >= 'A' && r <= 'Z' || r == '_' || r == '-')
		}
		if ok {
			n++
		}
	}
	return n
}

// zeekRow is one line of Zeek's http.log.
type zeekRow struct {
	client, server netip.AddrPort
	depth          int
	method, host   string
	uri, version   string
	reqBody        int
	respBody       int
	status, info   int
}

// zeekLog is one baseline http.log and the trace it came from.
type zeekLog struct {
	file         string
	transactions int
	rows         []zeekRow
}

type zeekLogs []*zeekLog

// forFile returns the log whose connections are those of fr's capture.
func (zs zeekLogs) forFile(fr *fileResult) *zeekLog {
	conns := make(map[[2]netip.AddrPort]bool)
	for _, c := range fr.cap.conns {
		conns[[2]netip.AddrPort{c.client, c.server}] = true
	}
	for _, z := range zs {
		all := len(z.rows) > 0
		for _, r := range z.rows {
			all = all && conns[[2]netip.AddrPort{r.client, r.server}]
		}
		if all {
			return z
		}
	}
	return nil
}

// readZeekLogs reads zeek_http_oracle.json and the logs it names.
func readZeekLogs(t *testing.T) zeekLogs {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "zeek_http_oracle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index []struct {
		Transactions int    `json:"transactions"`
		BaselineFile string `json:"baseline_file"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatalf("zeek_http_oracle.json: %v", err)
	}
	var out zeekLogs
	for _, ix := range index {
		z := &zeekLog{file: ix.BaselineFile, transactions: ix.Transactions}
		f, err := os.Open(filepath.Join(corpusDir, "zeek-http-logs", ix.BaselineFile))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		var fields []string
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
				fields = strings.Split(rest, "\t")
				continue
			}
			if strings.HasPrefix(line, "#") || line == "" {
				continue
			}
			vs := strings.Split(line, "\t")
			if len(vs) != len(fields) {
				t.Fatalf("%s: a row of %d fields under %d names", ix.BaselineFile, len(vs), len(fields))
			}
			v := map[string]string{}
			for i, n := range fields {
				switch vs[i] {
				case "-":
					v[n] = ""
				case "(empty)":
					v[n] = ""
				default:
					v[n] = vs[i]
				}
			}
			num := func(n string) int {
				if v[n] == "" {
					return 0
				}
				x, err := strconv.Atoi(v[n])
				if err != nil {
					t.Fatalf("%s: field %s: %v", ix.BaselineFile, n, err)
				}
				return x
			}
			ap := func(h, p string) netip.AddrPort {
				a, err := netip.ParseAddr(v[h])
				if err != nil {
					t.Fatalf("%s: field %s: %v", ix.BaselineFile, h, err)
				}
				return netip.AddrPortFrom(a, uint16(num(p)))
			}
			z.rows = append(z.rows, zeekRow{
				client: ap("id.orig_h", "id.orig_p"), server: ap("id.resp_h", "id.resp_p"),
				depth: num("trans_depth"), method: v["method"], host: v["host"], uri: v["uri"], version: v["version"],
				reqBody: num("request_body_len"), respBody: num("response_body_len"),
				status: num("status_code"), info: num("info_code"),
			})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if len(z.rows) != z.transactions {
			t.Errorf("%s: %d rows, the index says %d transactions", z.file, len(z.rows), z.transactions)
		}
		out = append(out, z)
	}
	if len(out) == 0 {
		t.Fatal("zeek_http_oracle.json names no logs")
	}
	return out
}

// TestCorpusMatchesZeek compares specgate's exchanges with Zeek's http.log
// for the traces Zeek's own tests use. Each Zeek transaction must be an
// exchange with the same method, URI, Host, status, interim status and
// body lengths (Zeek's response_body_len is after content decoding), or
// fall under a named reason checked here.
func TestCorpusMatchesZeek(t *testing.T) {
	results := readCorpus(t)
	for _, z := range readZeekLogs(t) {
		t.Run(z.file, func(t *testing.T) {
			var fr *fileResult
			for _, r := range sortedResults(results) {
				if (zeekLogs{z}).forFile(r) != nil {
					fr = r
					break
				}
			}
			if fr == nil {
				t.Fatalf("no capture in the corpus holds the connections of %s", z.file)
			}
			t.Logf("trace: %s", fr.name)
			notHTTP := make(map[[2]netip.AddrPort]bool)
			for _, c := range fr.notHTTP {
				notHTTP[[2]netip.AddrPort{c.client, c.server}] = true
			}
			matched := make(map[*capture.Exchange]bool)
			reasons := map[string]int{}
			undecodable := make(map[string]uint64)
			for _, r := range z.rows {
				key := [2]netip.AddrPort{r.client, r.server}
				if notHTTP[key] {
					// Reason: the client's first bytes are not an HTTP/1.x
					// request line (RFC 9112), as net/http confirms; Zeek
					// logs what it salvaged, specgate counts the connection
					// as undecodable and emits nothing from it.
					reason := "not HTTP/1.x: Zeek parsed no request"
					switch {
					case r.version == "0.9":
						reason = "not HTTP/1.x: Zeek read it as HTTP/0.9"
					case r.method != "":
						reason = "not HTTP/1.x: Zeek salvaged a malformed request line"
					}
					reasons[reason]++
					undecodable[r.server.String()]++
					for _, e := range fr.xs {
						if e.Client == r.client && e.Server == r.server {
							t.Errorf("%s: an exchange from a connection that is not HTTP/1.x: %s %s", r.client, e.Request.Method, e.Request.Target)
						}
					}
					continue
				}
				var e *capture.Exchange
				for _, x := range fr.xs {
					if x.Client == r.client && x.Server == r.server && x.Seq == r.depth-1 {
						e = x
					}
				}
				if e == nil {
					t.Errorf("Zeek's transaction %d on %s → %s (%s %s → %d) has no exchange", r.depth, r.client, r.server, r.method, r.uri, r.status)
					continue
				}
				matched[e] = true
				var interim int
				if len(e.Response.Interim) > 0 {
					interim = e.Response.Interim[len(e.Response.Interim)-1]
				}
				host, _, _ := strings.Cut(e.Request.Host, ":")
				// Zeek's version column holds the version of the reply once
				// one is seen (a request sent as HTTP/1.1 and answered as
				// HTTP/1.0 is logged 1.0); the request's own version is
				// checked against net/http by TestCorpusMatchesNetHTTP.
				if e.Request.Proto != e.Response.Proto {
					reasons["the version logged is the reply's"]++
				}
				if e.Request.Method != r.method || e.Request.Target != r.uri || host != r.host ||
					e.Response.Proto != "HTTP/"+r.version || e.Response.Status != r.status || interim != r.info ||
					len(e.Request.Body) != r.reqBody || len(e.Response.Body) != r.respBody {
					t.Errorf("transaction %d on %s:\n zeek     %s %s host %s HTTP/%s → %d (interim %d), bodies %d/%d\n specgate %s %s host %s %s → %d (interim %d), bodies %d/%d",
						r.depth, r.client, r.method, r.uri, r.host, r.version, r.status, r.info, r.reqBody, r.respBody,
						e.Request.Method, e.Request.Target, host, e.Request.Proto, e.Response.Status, interim, len(e.Request.Body), len(e.Response.Body))
				}
			}
			for _, e := range fr.xs {
				if !matched[e] {
					t.Errorf("specgate's exchange %s %s on %s has no Zeek transaction", e.Request.Method, e.Request.Target, e.Client)
				}
			}
			for server, n := range undecodable {
				if got := fr.stats.Server(server).Undecodable; got != n {
					t.Errorf("server %s: %d connections counted undecodable, want %d", server, got, n)
				}
			}
			t.Logf("%d Zeek transactions: %d matched; %v", len(z.rows), len(matched), reasons)
		})
	}
}

// TestUDPNoise checks that HTTP carried over UDP (SSDP) in a capture with
// real HTTP over TCP is left out: the UDP datagrams are ignored frames and
// the TCP exchanges come out alone.
func TestUDPNoise(t *testing.T) {
	results := readCorpus(t)
	fr := results["akita__simple_http_two_with_noise.pcap"]
	quiet := results["akita__simple_http_two.pcap"]
	if fr == nil || quiet == nil {
		t.Fatal("the akita captures are missing from the corpus")
	}
	if fr.cap.udpRequests < 4 {
		t.Fatalf("only %d UDP datagrams with HTTP requests: not the capture expected", fr.cap.udpRequests)
	}
	if fr.stats.Ignored < uint64(fr.cap.udpRequests) {
		t.Errorf("%d frames ignored, %d UDP datagrams carry HTTP", fr.stats.Ignored, fr.cap.udpRequests)
	}
	// The same TCP traffic with and without the noise.
	if len(fr.xs) != len(quiet.xs) {
		t.Fatalf("%d exchanges with the noise, %d without", len(fr.xs), len(quiet.xs))
	}
	for i := range fr.xs {
		a, b := fr.xs[i], quiet.xs[i]
		if a.Request.Method != b.Request.Method || a.Request.Target != b.Request.Target || a.Response.Status != b.Response.Status ||
			string(a.Response.Body) != string(b.Response.Body) || a.Client != b.Client || a.Server != b.Server {
			t.Errorf("exchange %d: %s %s → %d with the noise, %s %s → %d without", i, a.Request.Method, a.Request.Target, a.Response.Status, b.Request.Method, b.Request.Target, b.Response.Status)
		}
	}
	for _, ss := range fr.stats.SortedServers() {
		if strings.HasSuffix(ss.Server, ":1900") || strings.HasSuffix(ss.Server, ":5353") {
			t.Errorf("statistics for a UDP service: %+v", *ss)
		}
	}
}

// messageKinds counts the messages of fr's exchanges that are JSON,
// chunked and gzip-encoded, by their headers.
func messageKinds(fr *fileResult) [3]int {
	var n [3]int
	for _, e := range fr.xs {
		for _, h := range []capture.Header{e.Request.Header, e.Response.Header} {
			n[0] += b2i(strings.Contains(h.Get("Content-Type"), "json"))
			n[1] += b2i(strings.Contains(h.Get("Transfer-Encoding"), "chunked"))
			n[2] += b2i(h.Get("Content-Encoding") == "gzip")
		}
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
