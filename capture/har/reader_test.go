package har

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
)

// inHAR wraps entries (JSON text) in a HAR document.
func inHAR(entries ...string) string {
	return `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[` + strings.Join(entries, ",") + `]}}`
}

// readString reads all of s, returning the exchanges, the reader and the
// error that ended the reading (nil at a clean end).
func readString(name, s string) ([]*capture.Exchange, *Reader, error) {
	return readFrom(strings.NewReader(s), name)
}

// readFrom reads all of in, returning the exchanges, the reader and the
// error that ended the reading (nil at a clean end).
func readFrom(in io.Reader, name string) ([]*capture.Exchange, *Reader, error) {
	r, err := NewReader(in, name)
	if err != nil {
		return nil, nil, err
	}
	var xs []*capture.Exchange
	for {
		x, err := r.Next()
		if errors.Is(err, io.EOF) {
			return xs, r, nil
		}
		if err != nil {
			return xs, r, err
		}
		xs = append(xs, x)
	}
}

// readOne reads the single exchange of a HAR holding entry.
func readOne(t *testing.T, entry string) *capture.Exchange {
	t.Helper()
	xs, r, err := readString("t.har", inHAR(entry))
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != 1 {
		t.Fatalf("read %d exchanges, skipped %+v", len(xs), r.Skipped())
	}
	return xs[0]
}

const okResponse = `"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"content":{"size":0,"mimeType":""}}`

func TestReadForeignEntries(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	tests := []struct {
		name  string
		entry string
		check func(t *testing.T, x *capture.Exchange)
	}{
		{"browser timings", `{"startedDateTime":"2024-05-01T10:00:00.123+02:00","time":117.75,
			"request":{"method":"GET","url":"http://a.example/"},` + okResponse + `,
			"timings":{"blocked":10,"dns":1,"connect":2,"ssl":1,"send":0.5,"wait":100,"receive":3.25}}`,
			func(t *testing.T, x *capture.Exchange) {
				start := utc("2024-05-01T08:00:00.136Z") // after blocked, dns and connect (ssl is part of connect)
				want := capture.Timing{RequestStart: start, RequestEnd: start.Add(500 * time.Microsecond),
					ResponseStart: start.Add(100500 * time.Microsecond), ResponseEnd: start.Add(103750 * time.Microsecond)}
				if x.Timing != want {
					t.Errorf("timing %+v, want %+v", x.Timing, want)
				}
			}},
		{"negative and missing timings", `{"startedDateTime":"2024-05-01T08:00:00Z","request":{"method":"GET","url":"http://a.example/"},` + okResponse + `,
			"timings":{"blocked":-1,"send":-1,"wait":5}}`,
			func(t *testing.T, x *capture.Exchange) {
				start := utc("2024-05-01T08:00:00Z")
				if x.Timing.RequestStart != start || x.Timing.RequestEnd != start || x.Timing.ResponseEnd != start.Add(5*time.Millisecond) {
					t.Errorf("timing %+v", x.Timing)
				}
			}},
		{"no timings: time is the wait", `{"startedDateTime":"2024-05-01T08:00:00Z","time":42,"request":{"method":"GET","url":"http://a.example/"},` + okResponse + `}`,
			func(t *testing.T, x *capture.Exchange) {
				if d := x.Timing.ResponseEnd.Sub(x.Timing.RequestStart); d != 42*time.Millisecond {
					t.Errorf("took %v", d)
				}
			}},
		{"no startedDateTime", `{"request":{"method":"GET","url":"http://a.example/"},` + okResponse + `,"timings":{"send":1,"wait":1,"receive":1}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Timing != (capture.Timing{}) {
					t.Errorf("timing %+v, want none", x.Timing)
				}
			}},
		{"target kept raw, host with port, IPv6 server in brackets", `{"request":{"method":"GET","url":"https://api.example.com:8443/a%2Fb/c?x=1&y=%20#frag"},` + okResponse + `,"serverIPAddress":"[2001:db8::5]"}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Target != "/a%2Fb/c?x=1&y=%20" || x.Request.Host != "api.example.com:8443" {
					t.Errorf("target %q host %q", x.Request.Target, x.Request.Host)
				}
				if x.Server != netip.MustParseAddrPort("[2001:db8::5]:8443") {
					t.Errorf("server %v", x.Server)
				}
			}},
		{"empty path, default https port", `{"request":{"method":"GET","url":"https://example.com?q=1"},` + okResponse + `,"serverIPAddress":"93.184.216.34"}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Target != "/?q=1" || x.Server != netip.MustParseAddrPort("93.184.216.34:443") {
					t.Errorf("target %q server %v", x.Request.Target, x.Server)
				}
			}},
		{"unparseable server address", `{"request":{"method":"GET","url":"http://example.com/"},` + okResponse + `,"serverIPAddress":"example.com"}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Server.IsValid() {
					t.Errorf("server %v", x.Server)
				}
			}},
		{"lower-case http/1.1", `{"request":{"method":"GET","url":"http://a/","httpVersion":"http/1.1"},"response":{"status":200,"httpVersion":"http/1.0"}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Proto != "HTTP/1.1" || x.Response.Proto != "HTTP/1.0" {
					t.Errorf("protos %q %q", x.Request.Proto, x.Response.Proto)
				}
			}},
		{"h2 and h3 kept as given", `{"request":{"method":"GET","url":"http://a/","httpVersion":"http/2.0"},"response":{"status":200,"httpVersion":"h3"}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Proto != "http/2.0" || x.Response.Proto != "h3" {
					t.Errorf("protos %q %q", x.Request.Proto, x.Response.Proto)
				}
			}},
		{"form params without text", `{"request":{"method":"POST","url":"http://a/login","postData":{"mimeType":"application/x-www-form-urlencoded",
			"params":[{"name":"user","value":"al ice"},{"name":"pw","value":"a&b=c"},{"name":"user","value":"é"}]}},` + okResponse + `}`,
			func(t *testing.T, x *capture.Exchange) {
				v, err := url.ParseQuery(string(x.Request.Body))
				if err != nil || fmt.Sprint(v) != fmt.Sprint(url.Values{"user": {"al ice", "é"}, "pw": {"a&b=c"}}) {
					t.Errorf("body %q reads as %v (%v)", x.Request.Body, v, err)
				}
			}},
		{"multipart params: parts not recorded", `{"request":{"method":"POST","url":"http://a/up","postData":{"mimeType":"multipart/form-data",
			"params":[{"name":"file","fileName":"a.pdf","value":"(binary)"}]}},` + okResponse + `}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Body != nil || !x.Request.Truncated {
					t.Errorf("body %q truncated %v", x.Request.Body, x.Request.Truncated)
				}
			}},
		{"text wins over params", `{"request":{"method":"POST","url":"http://a/","postData":{"mimeType":"application/x-www-form-urlencoded","text":"a=1","params":[{"name":"b","value":"2"}]}},` + okResponse + `}`,
			func(t *testing.T, x *capture.Exchange) {
				if string(x.Request.Body) != "a=1" {
					t.Errorf("body %q", x.Request.Body)
				}
			}},
		{"base64 content", `{"request":{"method":"GET","url":"http://a/img"},"response":{"status":200,"content":{"size":4,"mimeType":"image/png","text":"iVBORw==","encoding":"base64"}}}`,
			func(t *testing.T, x *capture.Exchange) {
				if !bytes.Equal(x.Response.Body, []byte{0x89, 'P', 'N', 'G'}) {
					t.Errorf("body %q", x.Response.Body)
				}
			}},
		{"content size without text: truncated", `{"request":{"method":"GET","url":"http://a/"},"response":{"status":200,"bodySize":-1,"content":{"size":500,"mimeType":"text/html"}}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Response.Body != nil || !x.Response.Truncated || x.Response.WireSize != -1 {
					t.Errorf("body %q truncated %v wire %d", x.Response.Body, x.Response.Truncated, x.Response.WireSize)
				}
			}},
		{"decoded text of a gzip response", `{"request":{"method":"GET","url":"http://a/"},"response":{"status":200,"bodySize":31,"headers":[{"name":"Content-Encoding","value":"GZip"}],
			"content":{"size":11,"mimeType":"application/json","text":"{\"a\":\"\u00e9\"}"}}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Response.Decoded != "gzip" || string(x.Response.Body) != `{"a":"é"}` || x.Response.WireSize != 31 || x.Response.Truncated {
					t.Errorf("decoded %q body %q wire %d", x.Response.Decoded, x.Response.Body, x.Response.WireSize)
				}
			}},
		{"empty text is an empty body", `{"request":{"method":"POST","url":"http://a/","postData":{"mimeType":"","text":""}},"response":{"status":204,"content":{"size":0,"text":""}}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Body == nil || len(x.Request.Body) != 0 || x.Response.Body == nil || len(x.Response.Body) != 0 {
					t.Errorf("bodies %#v %#v", x.Request.Body, x.Response.Body)
				}
			}},
		{"no postData, no sizes", `{"request":{"method":"GET","url":"http://a/"},"response":{"status":200}}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Request.Body != nil || x.Request.WireSize != -1 || x.Response.WireSize != -1 || x.Response.Truncated {
					t.Errorf("%+v", x)
				}
			}},
		{"Chrome members ignored, numbers written oddly", `{"_initiator":{"type":"script","stack":{"callFrames":[]}},"_priority":"High","_resourceType":"fetch",
			"request":{"method":"GET","url":"http://a/","headers":[{"name":"A","value":"1"},{"name":"a","value":"2"}],"bodySize":"0"},
			"response":{"status":"404","statusText":"Not Found","bodySize":12.0,"_transferSize":300,"_error":null,"headers":null,"content":{"size":null,"mimeType":null}},"connection":"166037"}`,
			func(t *testing.T, x *capture.Exchange) {
				if x.Response.Status != 404 || x.Request.WireSize != 0 || x.Response.WireSize != 12 || x.ConnID != "166037" {
					t.Errorf("%+v", x)
				}
				if len(x.Request.Header) != 2 || x.Request.Header[1] != (capture.Field{Name: "a", Value: "2"}) || x.Response.Header != nil {
					t.Errorf("headers %v / %v", x.Request.Header, x.Response.Header)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, readOne(t, tt.entry))
		})
	}
}

func TestReadSkips(t *testing.T) {
	good := `{"request":{"method":"GET","url":"http://a/ok"},` + okResponse + `}`
	tests := []struct {
		name, entry, reason string
	}{
		{"no method", `{"request":{"url":"http://a/"},` + okResponse + `}`, "missing method"},
		{"no request", `{` + okResponse + `}`, "missing request"},
		{"relative URL", `{"request":{"method":"GET","url":"testloadimpact"},` + okResponse + `}`, `invalid URL "testloadimpact": not absolute`},
		{"bad URL", `{"request":{"method":"GET","url":"http://a b/%zz"},` + okResponse + `}`, `invalid URL "http://a b/%zz"`},
		{"no host", `{"request":{"method":"GET","url":"http:///x"},` + okResponse + `}`, "no host"},
		{"data URL", `{"request":{"method":"GET","url":"data:image/png;base64,AAAA"},` + okResponse + `}`, `not an HTTP URL "data:image/png;base64,AAAA"`},
		{"status 0", `{"request":{"method":"GET","url":"http://a/"},"response":{"status":0,"_error":"net::ERR_FAILED"}}`, "status 0"},
		{"no response", `{"request":{"method":"GET","url":"http://a/"}}`, "no response"},
		{"bad status", `{"request":{"method":"GET","url":"http://a/"},"response":{"status":42}}`, "invalid status 42"},
		{"bad base64", `{"request":{"method":"GET","url":"http://a/"},"response":{"status":200,"content":{"text":"!!!","encoding":"base64"}}}`, "invalid base64 response body"},
		{"wrong type", `{"request":{"method":"GET","url":"http://a/","headers":"none"},` + okResponse + `}`, "cannot unmarshal string"},
		{"not an object", `42`, "cannot unmarshal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []Format{FormatHAR, FormatNDJSON} {
				var in string
				if f == FormatHAR {
					in = inHAR(good, tt.entry, good)
				} else {
					if tt.entry == "42" || tt.name == "no request" { // structural in NDJSON, see TestReadErrors
						continue
					}
					in = good + "\n" + tt.entry + "\n" + good + "\n"
				}
				xs, r, err := readString("t."+f.String(), in)
				if err != nil {
					t.Fatalf("%v: %v", f, err)
				}
				if len(xs) != 2 || r.SkippedCount() != 1 {
					t.Fatalf("%v: read %d, skipped %d; want 2 and 1", f, len(xs), r.SkippedCount())
				}
				s := r.Skipped()[0]
				if s.Index != 1 || !strings.Contains(s.Reason, tt.reason) || strings.Contains(s.Reason, "\n") {
					t.Errorf("%v: skip %+v, want index 1 and a reason containing %q", f, s, tt.reason)
				}
				if f == FormatNDJSON && s.Line != 2 {
					t.Errorf("skip line %d, want 2", s.Line)
				}
			}
		})
	}
}

func TestReadSkippedBounded(t *testing.T) {
	bad := `{"request":{"url":"http://a/"},` + okResponse + `}`
	n := maxSkips + 500
	xs, r, err := readString("t.ndjson", strings.Repeat(bad+"\n", n))
	if err != nil || len(xs) != 0 {
		t.Fatal(err, len(xs))
	}
	if r.SkippedCount() != n || len(r.Skipped()) != maxSkips {
		t.Errorf("count %d kept %d", r.SkippedCount(), len(r.Skipped()))
	}
}

func TestReadErrors(t *testing.T) {
	good := `{"request":{"method":"GET","url":"http://a/ok"},` + okResponse + `}`
	tests := []struct {
		name, file, in string
		want           string // the whole error
		okBefore       int    // exchanges read before it
	}{
		{"no log", "traffic.har", `{"version":"1.2"}`, "traffic.har: not a HAR file: no log.entries", 0},
		{"no entries", "traffic.har", `{"log":{"version":"1.2","pages":[]}}`, "traffic.har: not a HAR file: no log.entries", 0},
		{"empty object", "traffic.har", `{}`, "traffic.har: not a HAR file: no log.entries", 0},
		{"not JSON", "traffic.har", `hello`, "traffic.har: not a HAR file: invalid character 'h' looking for beginning of value at byte 0", 0},
		{"an array", "traffic.har", `[{"log":{}}]`, "traffic.har: not a HAR file: the top level is an array, not an object", 0},
		{"a number", "traffic.har", `9330:4:type;`, "traffic.har: not a HAR file: the top level is a number, not an object", 0},
		{"log not an object", "traffic.har", `{"log":[]}`, "traffic.har: not a HAR file: log is an array, not an object", 0},
		{"entries not an array", "traffic.har", `{"log":{"entries":{}}}`, "traffic.har: not a HAR file: log.entries is an object, not an array", 0},
		{"empty", "traffic.har", ``, "traffic.har: not a HAR file: empty input", 0},
		{"blank", "traffic.har", " \n\t", "traffic.har: not a HAR file: empty input", 0},
		{"truncated", "traffic.har", inHAR(good, good)[:len(inHAR(good, good))-30], fmt.Sprintf("traffic.har: incomplete HAR: unexpected end of input at byte %d", len(inHAR(good, good))-30), 1},
		{"syntax error inside", "traffic.har", `{"log":{"entries":[` + good + `,{"request":]}}`, "traffic.har: invalid HAR: invalid character ']' looking for beginning of value at byte ", 1},
		{"ndjson line not an object", "traffic.ndjson", good + "\n\n[1]\n", "traffic.ndjson:3: not a HAR entry: the line is not a JSON object", 1},
		{"ndjson line without request", "traffic.ndjson", good + "\n" + `{"level":"info","msg":"x","time":1}` + "\n", "traffic.ndjson:2: not a HAR entry: no request", 1},
		{"ndjson syntax error", "traffic.ndjson", good + "\n" + `{"request": }` + "\n", "traffic.ndjson:2: not a HAR entry: invalid character '}' looking for beginning of value", 1},
		{"ndjson cut short", "traffic.ndjson", good + "\n" + good[:40], fmt.Sprintf("traffic.ndjson:2: incomplete NDJSON: unexpected end of input at byte %d", len(good)+1+40), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, _, err := readString(tt.file, tt.in)
			if err == nil {
				t.Fatalf("no error; read %d", len(xs))
			}
			if got := err.Error(); got != tt.want && !(strings.HasSuffix(tt.want, " ") && strings.HasPrefix(got, tt.want)) {
				t.Errorf("error\n got %q\nwant %q", got, tt.want)
			}
			if len(xs) != tt.okBefore {
				t.Errorf("read %d exchanges before the error, want %d", len(xs), tt.okBefore)
			}
		})
	}
}

func TestReadEmptyNDJSON(t *testing.T) {
	for _, name := range []string{"capture.ndjson", "capture.jsonl"} {
		xs, r, err := readString(name, "")
		if err != nil || len(xs) != 0 || r.Format() != FormatNDJSON {
			t.Errorf("%s: %v, %d", name, err, len(xs))
		}
	}
}

// TestReadLayouts reads documents whose members come in unusual orders or
// with extra bytes around them.
func TestReadLayouts(t *testing.T) {
	e1 := `{"request":{"method":"GET","url":"http://a/1"},` + okResponse + `}`
	e2 := `{"_initiator":{"type":"other"},"request":{"method":"POST","url":"http://a/2"},` + okResponse + `}`
	tests := []struct {
		name, in string
		format   Format
	}{
		{"entries first", `{"log":{"entries":[` + e1 + `,` + e2 + `],"version":"1.2","creator":{"name":"x"},"pages":[{"id":"p","title":"{\"log\":1}"}]}}`, FormatHAR},
		{"entries last", `{"log":{"version":"1.2","pages":[{"id":"p"}],"comment":"c","entries":[` + e1 + `,` + e2 + `]}}`, FormatHAR},
		{"members around log", `{"_x":{"entries":[]},"log":{"entries":[` + e1 + `,` + e2 + `]},"comment":"after"}`, FormatHAR},
		{"byte-order mark and blanks", "\xEF\xBB\xBF\r\n  " + inHAR(e1, e2) + "\n\n", FormatHAR},
		{"ndjson", e1 + "\n" + e2 + "\n", FormatNDJSON},
		{"ndjson, CRLF, blank lines, no final newline", "\r\n" + e1 + "\r\n\r\n  \r\n" + e2, FormatNDJSON},
		{"ndjson of Chrome entries", e2 + "\n" + e1 + "\n", FormatNDJSON},
		{"ndjson with a byte-order mark", "\xEF\xBB\xBF" + e1 + "\n" + e2 + "\n", FormatNDJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, r, err := readString("in", tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tt.format {
				t.Errorf("format %v, want %v", r.Format(), tt.format)
			}
			if len(xs) != 2 {
				t.Fatalf("read %d, want 2", len(xs))
			}
			methods := xs[0].Request.Method + xs[1].Request.Method
			if methods != "GETPOST" && methods != "POSTGET" {
				t.Errorf("methods %s", methods)
			}
		})
	}
}

// TestReadPrefixes cuts written files at every byte: a cut document is an
// error (never a silent success), except where only trailing blanks were
// cut, and what was read before the error is a prefix of what was written.
func TestReadPrefixes(t *testing.T) {
	g := newGen(5)
	xs := []*capture.Exchange{g.exchange(), g.exchange(), g.exchange()}
	for _, f := range []Format{FormatHAR, FormatNDJSON} {
		data := writeAll(t, f, xs)
		complete := len(bytes.TrimRight(data, "\n"))
		for cut := 0; cut < len(data); cut++ {
			if cut > 1024 && cut < len(data)-256 && cut%5 != 0 {
				continue // every byte near the ends, every fifth in between
			}
			got, _, err := readString("cut."+f.String(), string(data[:cut]))
			for i, x := range got {
				if d := diff(canonical(xs[i]), x); d != "" {
					t.Fatalf("%v cut at %d: exchange %d: %s", f, cut, i, d)
				}
			}
			switch {
			case cut >= complete:
				if err != nil || len(got) != len(xs) {
					t.Fatalf("%v cut at %d of %d: %v, read %d", f, cut, len(data), err, len(got))
				}
			case f == FormatNDJSON && (cut == 0 || data[cut-1] == '\n' || data[cut] == '\n'):
				// a whole number of lines
				if err != nil {
					t.Fatalf("%v cut at %d after a line: %v", f, cut, err)
				}
			default:
				if err == nil {
					t.Fatalf("%v cut at %d of %d: no error, read %d", f, cut, len(data), len(got))
				}
				msg := err.Error()
				if cut > 0 && !strings.Contains(msg, "incomplete") || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "cut."+f.String()) {
					t.Fatalf("%v cut at %d: error %q", f, cut, msg)
				}
				if cut > 0 && !strings.HasSuffix(msg, fmt.Sprintf("at byte %d", cut)) {
					t.Fatalf("%v cut at %d: error %q does not give the end", f, cut, msg)
				}
			}
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{`{"log":{"version":"1.2"`, true},
		{"\xEF\xBB\xBF\n{\n  \"log\": {", true},
		{`{"startedDateTime":"2024-01-01T00:00:00Z","request":{"me`, true},
		{`{"_initiator":{"type":"other"},"_priority":"High","request":{`, true},
		{`{"comment":"x","log":`, true},
		{`{"level":"info","msg":"started"}`, false},
		{`{"lo`, false},
		{`[{"log":{}}]`, false},
		{`GET / HTTP/1.1`, false},
		{"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", false}, // a pcap header
		{``, false},
	}
	for _, tt := range tests {
		if got := Sniff([]byte(tt.head)); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

// TestReadStreams reads from a pipe that delivers a few bytes at a time and
// never ends on its own: the first exchange must come out before the input
// ends, as it does for a capture written while it is read.
func TestReadStreams(t *testing.T) {
	e := `{"request":{"method":"GET","url":"http://a/"},` + okResponse + `}` + "\n"
	for _, in := range []string{e, `{"log":{"entries":[` + strings.TrimSpace(e) + ","} {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < len(in); i += 7 {
				pw.Write([]byte(in[i:min(i+7, len(in))]))
			}
		}()
		done := make(chan error, 1)
		go func() {
			r, err := NewReader(pr, "pipe")
			if err == nil {
				_, err = r.Next()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("no exchange from an unfinished stream %.20q…", in)
		}
		pw.Close()
	}
}

// entryStream produces a HAR document or NDJSON of n copies of one entry
// without holding the document, to read files larger than memory bounds.
type entryStream struct {
	head, entry, sep, tail string
	n, i                   int
	pending                []byte
}

func (s *entryStream) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		switch {
		case s.i == 0 && s.head != "":
			s.pending = []byte(s.head)
			s.head = ""
		case s.i < s.n:
			if s.i > 0 {
				s.pending = append(s.pending, s.sep...)
			}
			s.pending = append(s.pending, s.entry...)
			s.i++
		case s.tail != "":
			s.pending = []byte(s.tail)
			s.tail = ""
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// TestReadBoundedMemory reads 32 MB documents and checks the heap stays far
// below the input size.
func TestReadBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MB")
	}
	body := strings.Repeat("x", 60<<10)
	entry := `{"request":{"method":"POST","url":"http://a/x","postData":{"mimeType":"text/plain","text":"` + body + `"}},"response":{"status":200,"content":{"size":1,"text":"y"}}}`
	const n = 550 // ~33 MB
	for _, s := range []*entryStream{
		{head: `{"log":{"entries":[`, entry: entry, sep: ",", tail: `]}}`, n: n},
		{entry: entry + "\n", n: n},
	} {
		r, err := NewReader(s, "big")
		if err != nil {
			t.Fatal(err)
		}
		var peak uint64
		var ms runtime.MemStats
		count := 0
		for {
			x, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(x.Request.Body) != len(body) {
				t.Fatalf("body %d bytes", len(x.Request.Body))
			}
			count++
			if count%100 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		if count != n {
			t.Fatalf("read %d of %d", count, n)
		}
		t.Logf("%v: heap peak %d MB reading %d MB", r.Format(), peak>>20, n*len(entry)>>20)
		if peak > 8<<20 {
			t.Errorf("%v: heap reached %d MB reading %d MB", r.Format(), peak>>20, n*len(entry)>>20)
		}
	}
}
