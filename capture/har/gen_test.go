package har

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/specgate/specgate/capture"
)

// gen makes varied exchanges: every field of capture.Exchange, with the
// awkward cases a capture produces (binary and empty bodies, bytes that are
// not UTF-8, trailers, interim responses, IPv6 and zoned addresses).
type gen struct{ rng *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }
func (g *gen) chance(p float64) bool    { return g.rng.Float64() < p }

// text returns a short string drawn from an alphabet with JSON and HTML
// specials, Unicode, and (rarely) raw bytes that are not UTF-8.
func (g *gen) text(n int, raw bool) string {
	const alphabet = "abcXYZ019 -_.~/:;=&?%+\"\\<>'\t{}[],é€😀\u2028"
	rs := []rune(alphabet)
	var b strings.Builder
	for range g.rng.IntN(n + 1) {
		if raw && g.chance(0.05) {
			b.WriteByte(byte(0x80 + g.rng.IntN(0x80)))
			continue
		}
		b.WriteRune(rs[g.rng.IntN(len(rs))])
	}
	return b.String()
}

func (g *gen) header(kind string) capture.Header {
	switch g.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return capture.Header{}
	}
	names := []string{"Content-Type", "Accept", "X-Trace", "x-lower", "Cookie", "Set-Cookie", "Location", "Content-Encoding", "Vary", "Vary"}
	var h capture.Header
	for range g.rng.IntN(10) {
		name := names[g.rng.IntN(len(names))]
		var v string
		switch name {
		case "Content-Type":
			v = g.pick("application/json", "text/html; charset=utf-8", "application/octet-stream", "")
		case "Cookie":
			v = g.pick("a=1; b=two", "session=x%20y;flag", " =; ;k=v=w", "")
		case "Set-Cookie":
			v = g.pick("id=42; Path=/; Domain=example.com; Expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly; Secure",
				"NID=511=abc; expires=Sat, 10-Feb-2024 16:28:43 GMT; path=/; domain=.google.com; HttpOnly", "x=y; Expires=soon", "bare")
		default:
			v = g.text(24, true)
		}
		h = append(h, capture.Field{Name: name, Value: v})
	}
	if g.chance(0.05) {
		h = append(h, capture.Field{Name: "X-Raw\xff", Value: "\xe9t\xe9"})
	}
	return h
}

func (g *gen) body() []byte {
	switch g.rng.IntN(7) {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		b := make([]byte, g.rng.IntN(300))
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		return b
	case 3:
		return []byte(`{"id":1,"name":"<b>caf\u00e9</b> & co","tags":["a","b"],"nested":{"x":null}}`)
	case 4:
		return []byte("line1\nline2\r\n\x00\x01\u2028" + g.text(40, false))
	case 5:
		return []byte("caf\xe9 latin-1") // not UTF-8
	}
	return []byte(g.text(200, false))
}

func (g *gen) target(method string) string {
	if method == "CONNECT" {
		return g.pick("example.com:443", "[::1]:8443")
	}
	if method == "OPTIONS" && g.chance(0.3) {
		return "*"
	}
	var b strings.Builder
	if g.chance(0.1) {
		b.WriteString(g.pick("http://api.example.com", "https://example.org:8443"))
	}
	for range 1 + g.rng.IntN(4) {
		b.WriteString("/" + g.pick("todos", "v1", "a%2Fb", "caf%C3%A9", "é", "x+y", "42", ""))
	}
	if g.chance(0.6) {
		b.WriteString("?")
		for i := range g.rng.IntN(5) {
			if i > 0 {
				b.WriteString(g.pick("&", "&&"))
			}
			b.WriteString(g.pick("q", "a%20b", "x+y", "", "k") + g.pick("=1", "=", "", "=%E2%82%AC", "=a+b", "=%zz", "=v=w"))
		}
	}
	if g.chance(0.02) {
		b.WriteString("/\xff\xfe")
	}
	return b.String()
}

func (g *gen) addr() netip.AddrPort {
	port := uint16(g.rng.IntN(65536))
	switch g.rng.IntN(6) {
	case 0:
		return netip.AddrPort{}
	case 1:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(g.rng.IntN(256)), byte(g.rng.IntN(256))}), port)
	case 2:
		return netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), port)
	case 3:
		return netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), port)
	case 4:
		return netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.7"), port)
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

func (g *gen) interim() []int {
	switch g.rng.IntN(5) {
	case 0:
		return []int{100}
	case 1:
		return []int{100, 103}
	case 2:
		return []int{}
	}
	return nil
}

func (g *gen) timing() capture.Timing {
	if g.chance(0.15) {
		return capture.Timing{}
	}
	start := time.Unix(1_600_000_000+g.rng.Int64N(300_000_000), g.rng.Int64N(1e9)).UTC()
	d := func() time.Duration {
		if g.chance(0.2) {
			return 0
		}
		return time.Duration(g.rng.Int64N(int64(5 * time.Second)))
	}
	var t capture.Timing
	t.RequestStart = start
	t.RequestEnd = t.RequestStart.Add(d())
	t.ResponseStart = t.RequestEnd.Add(d())
	t.ResponseEnd = t.ResponseStart.Add(d())
	return t
}

func (g *gen) size(body []byte) int64 {
	switch g.rng.IntN(3) {
	case 0:
		return -1
	case 1:
		return int64(len(body))
	}
	return g.rng.Int64N(1 << 40)
}

func (g *gen) exchange() *capture.Exchange {
	x := &capture.Exchange{}
	q := &x.Request
	q.Method = g.pick("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "PROPFIND")
	q.Target = g.target(q.Method)
	q.Host = g.pick("api.example.com", "localhost:8080", "[::1]:8080", "", "exa mple", "h\xffst")
	q.Proto = g.pick("HTTP/1.1", "HTTP/1.0", "")
	q.Header = g.header("request")
	q.Trailer = g.header("trailer")
	q.Body = g.body()
	q.WireSize = g.size(q.Body)
	q.Truncated, q.Incomplete = g.chance(0.2), g.chance(0.2)
	q.Decoded = g.pick("", "", "gzip", "br")
	r := &x.Response
	r.Proto = g.pick("HTTP/1.1", "HTTP/1.0", "")
	r.Status = 100 + g.rng.IntN(500)
	r.Reason = g.pick("OK", "", "Not Found", "Caf\xe9", g.text(12, true))
	r.Header = g.header("response")
	r.Trailer = g.header("trailer")
	r.Interim = g.interim()
	r.Body = g.body()
	r.WireSize = g.size(r.Body)
	r.Truncated, r.Incomplete = g.chance(0.2), g.chance(0.2)
	r.Decoded = g.pick("", "", "gzip", "deflate")
	x.Timing = g.timing()
	x.Client, x.Server = g.addr(), g.addr()
	x.ConnID = g.pick("", "c1", fmt.Sprintf("10.0.0.1:%d-10.0.0.2:80", g.rng.IntN(65536)))
	x.Seq = g.rng.IntN(4)
	x.Upgrade = g.pick("", "", "websocket", "h2c")
	x.Redacted = g.pick("", "x") != ""
	x.Service = g.pick("", "", "default/todo-service", "kube-system/kube-dns", "ns/\"quoted\" <svc> & ü")
	x.Caller = g.pick("", "", "default/todo", "outside", "team\tb/web\u2028")
	if g.chance(0.7) {
		x.Wire = capture.WireID{Request: g.rng.Uint32(), Response: g.rng.Uint32()}
		switch g.rng.IntN(6) {
		case 0:
			x.Wire.Request = 0
		case 1:
			x.Wire.Response = 1<<32 - 1
		}
	}
	return x
}

// canonical returns x as a Reader gives it back: empty header lists and
// interim lists are nil (HAR writes empty and absent lists alike).
func canonical(x *capture.Exchange) *capture.Exchange {
	c := *x
	for _, h := range []*capture.Header{&c.Request.Header, &c.Request.Trailer, &c.Response.Header, &c.Response.Trailer} {
		if len(*h) == 0 {
			*h = nil
		}
	}
	if len(c.Response.Interim) == 0 {
		c.Response.Interim = nil
	}
	return &c
}

// diff names the first differing field of two exchanges.
func diff(want, got *capture.Exchange) string {
	return diffValue("Exchange", reflect.ValueOf(*want), reflect.ValueOf(*got))
}

func diffValue(path string, a, b reflect.Value) string {
	if a.Kind() == reflect.Struct && a.Type().PkgPath() == reflect.TypeFor[capture.Exchange]().PkgPath() {
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := diffValue(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: want %#v, got %#v", path, a.Interface(), b.Interface())
	}
	return ""
}
