package har

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
)

// obj is a decoded JSON object.
type obj = map[string]any

// member returns m[key] as a T, failing the test when it is absent or of
// another JSON type.
func member[T any](t *testing.T, m obj, path, key string) T {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("%s.%s: missing", path, key)
	}
	tv, ok := v.(T)
	if !ok {
		var zero T
		t.Fatalf("%s.%s: %T, want %T", path, key, v, zero)
	}
	return tv
}

// onlyKnown checks that every member of m is a HAR 1.2 member or a custom
// one (named with a leading "_").
func onlyKnown(t *testing.T, m obj, path string, known ...string) {
	t.Helper()
	for k := range m {
		if !strings.HasPrefix(k, "_") && !slices.Contains(known, k) {
			t.Errorf("%s.%s: not a HAR 1.2 member and not a custom (_) one", path, k)
		}
	}
}

// nameValues checks a list of {name, value} objects and returns them.
func nameValues(t *testing.T, m obj, path, key string) [][2]string {
	t.Helper()
	var out [][2]string
	for i, v := range member[[]any](t, m, path, key) {
		o, ok := v.(obj)
		if !ok {
			t.Fatalf("%s.%s[%d]: %T, want an object", path, key, i, v)
		}
		p := fmt.Sprintf("%s.%s[%d]", path, key, i)
		nv := [2]string{member[string](t, o, p, "name"), member[string](t, o, p, "value")}
		// names and values that are not UTF-8 are also given in base64
		for j, k := range []string{"_nameBase64", "_valueBase64"} {
			if b64, ok := o[k]; ok {
				raw, err := base64.StdEncoding.DecodeString(b64.(string))
				if err != nil {
					t.Fatalf("%s.%s: %v", p, k, err)
				}
				nv[j] = string(raw)
			}
		}
		out = append(out, nv)
	}
	return out
}

// checkEntry checks one written entry against HAR 1.2 and against the
// exchange it was written from.
func checkEntry(t *testing.T, e obj, x *capture.Exchange, path string) {
	t.Helper()
	onlyKnown(t, e, path, "pageref", "startedDateTime", "time", "request", "response", "cache", "timings", "serverIPAddress", "connection", "comment")
	started, err := time.Parse(time.RFC3339Nano, member[string](t, e, path, "startedDateTime"))
	if err != nil {
		t.Errorf("%s.startedDateTime: %v", path, err)
	}
	if !x.Timing.RequestStart.IsZero() && !started.Equal(x.Timing.RequestStart) {
		t.Errorf("%s.startedDateTime = %v, want %v", path, started, x.Timing.RequestStart)
	}
	member[obj](t, e, path, "cache")

	// timings: send, wait, receive required and non-negative; the others -1
	// or non-negative; time is their sum
	tm := member[obj](t, e, path, "timings")
	sum := 0.0
	for _, k := range []string{"send", "wait", "receive"} {
		v := member[float64](t, tm, path+".timings", k)
		if v < 0 {
			t.Errorf("%s.timings.%s = %v, want >= 0", path, k, v)
		}
		sum += v
	}
	for _, k := range []string{"blocked", "dns", "connect", "ssl"} {
		if v, ok := tm[k]; ok {
			if f, ok := v.(float64); !ok || (f < 0 && f != -1) {
				t.Errorf("%s.timings.%s = %v, want -1 or >= 0", path, k, v)
			}
		}
	}
	if total := member[float64](t, e, path, "time"); math.Abs(total-sum) > 1e-6*math.Max(1, sum) {
		t.Errorf("%s.time = %v, want the sum of the timings %v", path, total, sum)
	}
	want := (x.Timing.ResponseEnd.Sub(x.Timing.RequestStart)).Seconds() * 1000
	if !x.Timing.RequestStart.IsZero() && math.Abs(sum-want) > 1e-6*math.Max(1, want) {
		t.Errorf("%s: timings sum to %v ms, the exchange took %v ms", path, sum, want)
	}
	if ip, ok := e["serverIPAddress"]; ok {
		a, err := netip.ParseAddr(ip.(string))
		if err != nil || a != x.Server.Addr() {
			t.Errorf("%s.serverIPAddress = %v, want %v", path, ip, x.Server.Addr())
		}
	} else if x.Server.IsValid() {
		t.Errorf("%s.serverIPAddress missing", path)
	}

	q := member[obj](t, e, path, "request")
	qp := path + ".request"
	onlyKnown(t, q, qp, "method", "url", "httpVersion", "cookies", "headers", "queryString", "postData", "headersSize", "bodySize", "comment")
	if m := member[string](t, q, qp, "method"); m != x.Request.Method {
		t.Errorf("%s.method = %q, want %q", qp, m, x.Request.Method)
	}
	u, err := url.Parse(member[string](t, q, qp, "url"))
	if (err != nil || !u.IsAbs()) && !strings.Contains(x.Request.Host, " ") { // a Host with a space makes no URL
		t.Errorf("%s.url: not an absolute URL: %v", qp, err)
	}
	member[string](t, q, qp, "httpVersion")
	member[float64](t, q, qp, "headersSize")
	if n := member[float64](t, q, qp, "bodySize"); int64(n) != x.Request.WireSize {
		t.Errorf("%s.bodySize = %v, want %d", qp, n, x.Request.WireSize)
	}
	checkHeaders(t, nameValues(t, q, qp, "headers"), x.Request.Header, qp)
	nameValues(t, q, qp, "cookies")
	checkQuery(t, nameValues(t, q, qp, "queryString"), x.Request.Target, qp)
	if pd, ok := q["postData"]; ok {
		pdo, ok := pd.(obj)
		if !ok {
			t.Fatalf("%s.postData: %T, want an object", qp, pd)
		}
		member[string](t, pdo, qp+".postData", "mimeType")
		body := textBody(t, pdo, qp+".postData")
		if !bytes.Equal(body, x.Request.Body) {
			t.Errorf("%s.postData holds %q, want %q", qp, body, x.Request.Body)
		}
	} else if x.Request.Body != nil {
		t.Errorf("%s.postData missing for a body of %d bytes", qp, len(x.Request.Body))
	}

	s := member[obj](t, e, path, "response")
	sp := path + ".response"
	onlyKnown(t, s, sp, "status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize", "comment")
	if st := member[float64](t, s, sp, "status"); int(st) != x.Response.Status {
		t.Errorf("%s.status = %v, want %d", sp, st, x.Response.Status)
	}
	member[string](t, s, sp, "statusText")
	member[string](t, s, sp, "httpVersion")
	member[string](t, s, sp, "redirectURL")
	member[float64](t, s, sp, "headersSize")
	member[float64](t, s, sp, "bodySize")
	nameValues(t, s, sp, "cookies")
	checkHeaders(t, nameValues(t, s, sp, "headers"), x.Response.Header, sp)
	c := member[obj](t, s, sp, "content")
	cp := sp + ".content"
	onlyKnown(t, c, cp, "size", "compression", "mimeType", "text", "encoding", "comment")
	member[string](t, c, cp, "mimeType")
	size := member[float64](t, c, cp, "size")
	if _, ok := c["text"]; ok {
		body := textBody(t, c, cp)
		if int(size) != len(body) {
			t.Errorf("%s.size = %v, the text holds %d bytes", cp, size, len(body))
		}
		if !bytes.Equal(body, x.Response.Body) {
			t.Errorf("%s.text holds %q, want %q", cp, body, x.Response.Body)
		}
	} else if x.Response.Body != nil {
		t.Errorf("%s.text missing for a body of %d bytes", cp, len(x.Response.Body))
	}
}

// textBody decodes the text of a postData or content object.
func textBody(t *testing.T, o obj, path string) []byte {
	t.Helper()
	text := member[string](t, o, path, "text")
	enc, ok := o["encoding"]
	if !ok {
		return []byte(text)
	}
	if enc != "base64" {
		t.Fatalf("%s.encoding = %v", path, enc)
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		t.Fatalf("%s.text: %v", path, err)
	}
	return b
}

// checkHeaders compares written headers with the exchange's, in order.
func checkHeaders(t *testing.T, got [][2]string, h capture.Header, path string) {
	t.Helper()
	if len(got) != len(h) {
		t.Errorf("%s.headers: %d, want %d", path, len(got), len(h))
		return
	}
	for i, f := range h {
		if got[i][0] != f.Name || got[i][1] != f.Value {
			t.Errorf("%s.headers[%d] = %q, want %q: %q", path, i, got[i], f.Name, f.Value)
		}
	}
}

// checkQuery compares the written queryString with net/url's reading of
// the target's query, when net/url can read it.
func checkQuery(t *testing.T, got [][2]string, target, path string) {
	t.Helper()
	_, rawQuery, _ := strings.Cut(target, "?")
	want, err := url.ParseQuery(rawQuery)
	if err != nil {
		return
	}
	gotm := url.Values{}
	for _, nv := range got {
		gotm.Add(nv[0], nv[1])
	}
	delete(want, "") // "&&" and "=x" pairs: net/url keeps an empty name, HAR lists them too
	delete(gotm, "")
	if fmt.Sprint(gotm) != fmt.Sprint(want) {
		t.Errorf("%s.queryString = %v, net/url reads %v from %q", path, gotm, want, target)
	}
}

// checkHAR decodes a written HAR document and checks every entry.
func checkHAR(t *testing.T, data []byte, xs []*capture.Exchange) {
	t.Helper()
	var doc obj
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("written HAR does not decode: %v", err)
	}
	onlyKnown(t, doc, "", "log")
	log := member[obj](t, doc, "", "log")
	onlyKnown(t, log, "log", "version", "creator", "browser", "pages", "entries", "comment")
	if v := member[string](t, log, "log", "version"); v != "1.2" {
		t.Errorf("log.version = %q", v)
	}
	cr := member[obj](t, log, "log", "creator")
	member[string](t, cr, "log.creator", "name")
	member[string](t, cr, "log.creator", "version")
	entries := member[[]any](t, log, "log", "entries")
	if len(entries) != len(xs) {
		t.Fatalf("log.entries: %d, wrote %d", len(entries), len(xs))
	}
	for i, e := range entries {
		eo, ok := e.(obj)
		if !ok {
			t.Fatalf("log.entries[%d]: %T", i, e)
		}
		checkEntry(t, eo, xs[i], fmt.Sprintf("log.entries[%d]", i))
	}
	// pretty-printed with two-space indentation, as encoding/json would
	var ind bytes.Buffer
	if err := json.Indent(&ind, data, "", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ind.Bytes(), data) {
		t.Errorf("written HAR is not indented as json.Indent(_, \"\", \"  \") would")
	}
}

func TestWrittenHARStructure(t *testing.T) {
	g := newGen(11)
	var xs []*capture.Exchange
	for range 500 {
		xs = append(xs, g.exchange())
	}
	checkHAR(t, writeAll(t, FormatHAR, xs), xs)
	checkHAR(t, writeAll(t, FormatHAR, nil), nil)
}

func TestWrittenNDJSONStructure(t *testing.T) {
	g := newGen(12)
	var xs []*capture.Exchange
	for range 500 {
		xs = append(xs, g.exchange())
	}
	data := writeAll(t, FormatNDJSON, xs)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	i := 0
	for sc.Scan() {
		line := sc.Bytes()
		var compact bytes.Buffer
		if err := json.Compact(&compact, line); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !bytes.Equal(compact.Bytes(), line) {
			t.Errorf("line %d is not compact", i+1)
		}
		var e obj
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		checkEntry(t, e, xs[i], fmt.Sprintf("line %d", i+1))
		i++
	}
	if i != len(xs) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Fatalf("%d lines for %d exchanges", i, len(xs))
	}
}

// TestWriteNetHTTP writes exchanges made by net/http's client and server
// and checks the derived HAR members (URL, query, cookies, redirect)
// against what net/http itself parsed.
func TestWriteNetHTTP(t *testing.T) {
	expires := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	type seen struct {
		req     *http.Request
		body    []byte
		cookies []*http.Cookie
	}
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{req: r, body: b, cookies: r.Cookies()})
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc123", Path: "/api", Domain: "example.com", Expires: expires, HttpOnly: true, Secure: true})
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/todos?from=redirect", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Trailer", "X-Checksum")
		fmt.Fprintf(w, `{"path":%q,"n":%d}`, r.URL.Path, len(b))
		w.Header().Set("X-Checksum", "ok")
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	reqs := []struct{ method, target, body string }{
		{"GET", "/todos?done=true&tag=a%20b&tag=c+d&empty=&flag", ""},
		{"POST", "/todos", `{"title":"buy milk","due":"2031-01-01"}`},
		{"PUT", "/todos/42?caf%C3%A9=%E2%82%AC", "\x00\xff\xfebinary"},
		{"GET", "/redirect", ""},
	}
	server := netip.MustParseAddrPort(srv.Listener.Addr().String())
	var xs []*capture.Exchange
	var resps []*http.Response
	for _, rq := range reqs {
		start := time.Now().UTC().Round(0)
		var body io.Reader
		if rq.body != "" {
			body = strings.NewReader(rq.body)
		}
		req, err := http.NewRequest(rq.method, srv.URL+rq.target, body)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
		req.AddCookie(&http.Cookie{Name: "pref", Value: "x"})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		end := time.Now().UTC().Round(0)
		s := got[len(got)-1]
		x := &capture.Exchange{
			Request: capture.Request{Method: s.req.Method, Target: s.req.RequestURI, Host: s.req.Host, Proto: s.req.Proto,
				Header: sortedHeader(s.req.Header), WireSize: int64(len(s.body))},
			Response: capture.Response{Proto: resp.Proto, Status: resp.StatusCode, Reason: strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" "),
				Header: sortedHeader(resp.Header), Trailer: sortedHeader(resp.Trailer), Body: rb, WireSize: int64(len(rb))},
			Timing: capture.Timing{RequestStart: start, RequestEnd: start, ResponseStart: end, ResponseEnd: end},
			Server: server,
			Client: netip.MustParseAddrPort(s.req.RemoteAddr),
		}
		if len(s.body) > 0 {
			x.Request.Body = s.body
		}
		xs = append(xs, x)
		resps = append(resps, resp)
	}
	data := writeAll(t, FormatHAR, xs)
	checkHAR(t, data, xs)

	var doc struct {
		Log struct {
			Entries []struct {
				Request struct {
					URL         string `json:"url"`
					QueryString []struct{ Name, Value string }
					Cookies     []struct{ Name, Value string }
				} `json:"request"`
				Response struct {
					RedirectURL string `json:"redirectURL"`
					Cookies     []struct {
						Name, Value, Path, Domain, Expires string
						HTTPOnly                           bool `json:"httpOnly"`
						Secure                             bool
					}
				} `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for i, e := range doc.Log.Entries {
		s, resp := got[i], resps[i]
		if want := srv.URL + reqs[i].target; e.Request.URL != want {
			t.Errorf("entry %d: url %q, want %q", i, e.Request.URL, want)
		}
		q := url.Values{}
		for _, p := range e.Request.QueryString {
			q.Add(p.Name, p.Value)
		}
		if fmt.Sprint(q) != fmt.Sprint(s.req.URL.Query()) {
			t.Errorf("entry %d: queryString %v, net/http read %v", i, q, s.req.URL.Query())
		}
		var cs []string
		for _, c := range e.Request.Cookies {
			cs = append(cs, c.Name+"="+c.Value)
		}
		var wantCs []string
		for _, c := range s.cookies {
			wantCs = append(wantCs, c.Name+"="+c.Value)
		}
		if fmt.Sprint(cs) != fmt.Sprint(wantCs) {
			t.Errorf("entry %d: request cookies %v, net/http read %v", i, cs, wantCs)
		}
		rc := resp.Cookies()
		if len(e.Response.Cookies) != len(rc) {
			t.Fatalf("entry %d: %d response cookies, net/http read %d", i, len(e.Response.Cookies), len(rc))
		}
		for j, c := range e.Response.Cookies {
			w := rc[j]
			if c.Name != w.Name || c.Value != w.Value || c.Path != w.Path || c.Domain != w.Domain || c.HTTPOnly != w.HttpOnly || c.Secure != w.Secure {
				t.Errorf("entry %d: response cookie %+v, net/http read %+v", i, c, w)
			}
			if !w.Expires.IsZero() {
				if exp, err := time.Parse(time.RFC3339, c.Expires); err != nil || !exp.Equal(w.Expires) {
					t.Errorf("entry %d: cookie expires %q, net/http read %v", i, c.Expires, w.Expires)
				}
			}
		}
		if e.Response.RedirectURL != resp.Header.Get("Location") {
			t.Errorf("entry %d: redirectURL %q, Location %q", i, e.Response.RedirectURL, resp.Header.Get("Location"))
		}
	}
	if doc.Log.Entries[3].Response.RedirectURL == "" {
		t.Error("the redirect has no redirectURL")
	}

	back, _ := readAll(t, "nethttp.har", data)
	for i := range xs {
		if d := diff(canonical(xs[i]), back[i]); d != "" {
			t.Errorf("exchange %d: %s", i, d)
		}
	}
}

// sortedHeader turns a net/http header map into fields ordered by name.
func sortedHeader(h http.Header) capture.Header {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out capture.Header
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, capture.Field{Name: k, Value: v})
		}
	}
	return out
}

func TestWriterCloseAndErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, FormatHAR, Creator{Name: "a\"<b>", Version: "1"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Creator Creator
			Entries []any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Log.Creator.Name != "a\"<b>" || doc.Log.Entries == nil || len(doc.Log.Entries) != 0 {
		t.Errorf("empty document: %+v", doc.Log)
	}
	if !strings.Contains(buf.String(), `"a\"<b>"`) {
		t.Errorf("HTML characters escaped: %s", buf.String())
	}
	if err := w.Write(&capture.Exchange{}); err == nil {
		t.Error("Write after Close succeeded")
	}

	fw := NewWriter(failWriter{}, FormatNDJSON, Creator{})
	var err error
	for range 2000 { // enough to overflow the buffer
		if err = fw.Write(newGen(1).exchange()); err != nil {
			break
		}
	}
	if err == nil {
		err = fw.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error not reported: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestFormatForPath(t *testing.T) {
	tests := []struct {
		path string
		want Format
		ok   bool
	}{
		{"traffic.har", FormatHAR, true},
		{"/tmp/X.HAR", FormatHAR, true},
		{"traffic.ndjson", FormatNDJSON, true},
		{"traffic.jsonl", FormatNDJSON, true},
		{"traffic.har.gz", FormatHAR, false},
		{"traffic.json", FormatHAR, false},
		{"har", FormatHAR, false},
	}
	for _, tt := range tests {
		got, ok := FormatForPath(tt.path)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("FormatForPath(%q) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
