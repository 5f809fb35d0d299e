package har

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/specgate/specgate/capture"
)

// The tests of this file check that the hand-written Writer gives the
// bytes of the encoding/json reference writer (writer_ref_test.go).

// exchangeWriter is what the Writer and the reference writer share.
type exchangeWriter interface {
	Write(*capture.Exchange) error
	Close() error
}

// refWriteAll writes xs with the reference writer.
func refWriteAll(t testing.TB, f Format, c Creator, xs []*capture.Exchange) []byte {
	t.Helper()
	var buf bytes.Buffer
	writeEach(t, newRefWriter(&buf, f, c), xs)
	return buf.Bytes()
}

// newWriteAll writes xs with the Writer.
func newWriteAll(t testing.TB, f Format, c Creator, xs []*capture.Exchange) []byte {
	t.Helper()
	var buf bytes.Buffer
	writeEach(t, NewWriter(&buf, f, c), xs)
	return buf.Bytes()
}

// writeEach writes xs with w and closes it.
func writeEach(t testing.TB, w exchangeWriter, xs []*capture.Exchange) {
	t.Helper()
	for _, x := range xs {
		if err := w.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// matchReference writes xs with both writers in both formats and reports
// the first difference, naming the first exchange that differs alone.
func matchReference(t testing.TB, c Creator, xs []*capture.Exchange) {
	t.Helper()
	for _, f := range []Format{FormatHAR, FormatNDJSON} {
		got, want := newWriteAll(t, f, c, xs), refWriteAll(t, f, c, xs)
		if bytes.Equal(got, want) {
			continue
		}
		which := "the document"
		for i, x := range xs {
			one := []*capture.Exchange{x}
			if !bytes.Equal(newWriteAll(t, f, c, one), refWriteAll(t, f, c, one)) {
				which = fmt.Sprintf("exchange %d (%+v)", i, short(fmt.Sprintf("%+v", *x)))
				got, want = newWriteAll(t, f, c, one), refWriteAll(t, f, c, one)
				break
			}
		}
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(i-60, 0)
		t.Fatalf("%v: %s: byte %d differs from encoding/json:\ngot  %q\nwant %q", f, which, i,
			got[lo:min(i+60, len(got))], want[lo:min(i+60, len(want))])
	}
}

func TestWriterMatchesReference(t *testing.T) {
	for seed := range uint64(4) {
		g := newGen(1000 + seed)
		var xs []*capture.Exchange
		for range 1500 {
			xs = append(xs, g.exchange())
		}
		matchReference(t, Creator{Name: "specgate", Version: "test"}, xs)
	}
	matchReference(t, Creator{Name: "specgate"}, apiExchanges(300))
	matchReference(t, Creator{}, nil)
}

// awkward are strings that JSON encoders get wrong: every byte, bytes
// that are not UTF-8 alone and in runs, and the characters encoding/json
// escapes.
func awkward() []string {
	var all, controls strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	for c := range 0x20 {
		controls.WriteByte(byte(c))
	}
	controls.WriteString("\x7f\"\\/<>&")
	return []string{
		"", " ", all.String(), controls.String(),
		"\xff", "\xc3", "a\xc3(b", "\xe2\x82", "\xe2\x82z", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xf8\x88\x80\x80\x80",
		"\xff\xfe\xfd", "x\xff\xfey\xfd", "\xef\xbf\xbd\xff", "\xff\xef\xbf\xbd\xff", "\uFFFD",
		"a\u2028b\u2029c", "\u2027\u202a", "é€😀", "\U0010FFFF", "%", "%25", "%zz", "+", "a b", "*", "\t\n\r\b\f",
	}
}

// TestWriterMatchesReferenceAdversarial puts awkward strings in every
// field, and checks bodies, lists, times and numbers at their edges.
func TestWriterMatchesReferenceAdversarial(t *testing.T) {
	base := func() *capture.Exchange { return apiExchanges(1)[0] }
	var xs []*capture.Exchange
	add := func(mut func(x *capture.Exchange)) {
		x := base()
		mut(x)
		xs = append(xs, x)
	}
	strs := awkward()
	for _, s := range strs {
		add(func(x *capture.Exchange) { x.Request.Method = s })
		add(func(x *capture.Exchange) { x.Request.Target = s })
		add(func(x *capture.Exchange) { x.Request.Target = "/" + s })
		add(func(x *capture.Exchange) { x.Request.Target = "/p?" + s + "=" + s + "&" + s })
		add(func(x *capture.Exchange) { x.Request.Target = "http://h/" + s })
		add(func(x *capture.Exchange) { x.Request.Host = s })
		add(func(x *capture.Exchange) { x.Request.Host, x.Request.Target = "", "/"+s })
		add(func(x *capture.Exchange) { x.Request.Method, x.Request.Target = "CONNECT", s })
		add(func(x *capture.Exchange) { x.Request.Proto, x.Response.Proto = s, s })
		add(func(x *capture.Exchange) {
			x.Request.Header = append(x.Request.Header, capture.Field{Name: s, Value: s}, capture.Field{Name: "Content-Type", Value: s})
		})
		add(func(x *capture.Exchange) {
			x.Request.Header = capture.Header{{Name: "Content-Type", Value: s}, {Name: "cookie", Value: s + "=" + s + "; " + s + ";a=" + s}}
			x.Request.Trailer = capture.Header{{Name: s, Value: "v"}, {Name: "n", Value: s}}
		})
		add(func(x *capture.Exchange) {
			x.Response.Header = capture.Header{
				{Name: "Set-Cookie", Value: s},
				{Name: "SET-COOKIE", Value: s + "=" + s + "; Path=" + s + "; domain=" + s + "; Expires=" + s + "; " + s},
				{Name: "Set-Cookie", Value: "a=b; Expires=Wed, 21 Oct 2015 07:28:00 GMT" + s + "; secure; HTTPONLY"},
				{Name: "Location", Value: s}, {Name: "Content-Type", Value: s},
			}
			x.Response.Trailer = capture.Header{{Name: s, Value: s}}
		})
		add(func(x *capture.Exchange) { x.Response.Reason = s })
		add(func(x *capture.Exchange) {
			x.ConnID, x.Upgrade, x.Request.Decoded, x.Response.Decoded = s, s, s, s
		})
		add(func(x *capture.Exchange) { x.Request.Body, x.Response.Body = []byte(s), []byte(s) })
		if s != "" {
			add(func(x *capture.Exchange) {
				x.Request.Host = ""
				x.Server = netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone(s), 443)
				x.Client = netip.AddrPortFrom(netip.MustParseAddr("fe80::2").WithZone(s+"%"+s), 5)
			})
			add(func(x *capture.Exchange) {
				x.Request.Host, x.Request.Target = "", "*"
				x.Server = netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone("%"+s), 0)
			})
		}
	}
	for _, target := range []string{"*", "", "x", "//", "/?", "/?&&=&=", "/?%", "/?%4", "/?a=%4", "/?%zz=1", "/?a+b=c+d", "/?%FF=%fe",
		"/?%25%32%35=%2B", "/?a=%e2%80%a8", "/?a=%00%1f", "/?k=v=w", "https://x/*", "http://[::1]:8/?q"} {
		for _, method := range []string{"GET", "OPTIONS", "CONNECT"} {
			add(func(x *capture.Exchange) { x.Request.Method, x.Request.Target = method, target })
			add(func(x *capture.Exchange) { x.Request.Method, x.Request.Target, x.Request.Host = method, target, "" })
			add(func(x *capture.Exchange) {
				x.Request.Method, x.Request.Target, x.Request.Host = method, target, ""
				x.Server = netip.AddrPort{}
			})
		}
	}

	// bodies: large text with escapes, large binary, text spoilt at the end
	rng := rand.New(rand.NewPCG(1, 2))
	var text strings.Builder
	for text.Len() < 1<<20 {
		text.WriteString(strs[rng.IntN(len(strs))])
		text.WriteString(`{"k":"v\n"}`)
	}
	valid := []byte(strings.ToValidUTF8(text.String(), "?"))
	binary := make([]byte, 1<<20)
	for i := range binary {
		binary[i] = byte(rng.Uint32())
	}
	spoilt := append(bytes.Clone(valid), 0xff)
	for _, b := range [][]byte{nil, {}, {0}, valid, binary, spoilt} {
		add(func(x *capture.Exchange) { x.Request.Body, x.Response.Body = b, b })
	}

	// header and attribute names that match only by Unicode case folding
	// (ſ is s, K is k), and by ASCII case
	add(func(x *capture.Exchange) {
		x.Request.Header = capture.Header{{Name: "Coo\u212Aie", Value: "a=1"}, {Name: "COOKIE", Value: "b=2"}, {Name: "content-TYPE", Value: "text/x"},
			{Name: "Content-Type", Value: "second"}, {Name: "\u017Fet-cookie", Value: "no"}}
		x.Response.Header = capture.Header{{Name: "\u017Fet-Coo\u212Aie", Value: "c=3; PATH=/p; \u017Fecure; httpOn\u212Dy; DOMAIN=d; eXpIrEs=Wed, 21 Oct 2015 07:28:00 GMT"},
			{Name: "LOCATION", Value: "/l"}, {Name: "Location", Value: "/second"}, {Name: "CONTENT-TYPE", Value: "a/b"}, {Name: "set-cookie", Value: "d=4; Expires=bad; expires=Sat, 10-Feb-2024 16:28:43 GMT"}}
	})

	// empty and absent lists
	add(func(x *capture.Exchange) {
		x.Request.Header, x.Response.Header = nil, capture.Header{}
		x.Request.Trailer, x.Response.Trailer = capture.Header{}, nil
	})
	for _, interim := range [][]int{nil, {}, {100}, {100, 103, -1, 1 << 40}} {
		add(func(x *capture.Exchange) { x.Response.Interim = interim })
	}
	add(func(x *capture.Exchange) { *x = capture.Exchange{} })

	// numbers
	for _, n := range []int64{0, -1, 1, math.MaxInt64, math.MinInt64, 1e15} {
		add(func(x *capture.Exchange) {
			x.Seq, x.Response.Status = int(n), int(n)
			x.Request.WireSize, x.Response.WireSize = n, -n
		})
	}

	// times: unset, partial, reversed, tiny and huge phases, other zones,
	// years RFC 3339 cannot write
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	far := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	zone := time.FixedZone("X", -(9*3600 + 30*60))
	for _, tm := range []capture.Timing{
		{},
		{RequestStart: t0},
		{RequestStart: t0, ResponseEnd: t0.Add(time.Second)},
		{RequestStart: t0, RequestEnd: t0.Add(-time.Second), ResponseStart: t0, ResponseEnd: t0.Add(1)},
		{RequestStart: t0, RequestEnd: t0.Add(1), ResponseStart: t0.Add(1000), ResponseEnd: t0.Add(999_999_999)},
		{RequestStart: t0, RequestEnd: t0.Add(123_456_789_012), ResponseStart: t0.Add(123_456_789_013), ResponseEnd: t0.Add(123_456_789_999)},
		{RequestStart: t0.AddDate(-200, 0, 0), RequestEnd: far, ResponseStart: far.AddDate(200, 0, 0), ResponseEnd: far.AddDate(290, 0, 0)},
		{RequestStart: t0.In(zone), RequestEnd: t0.In(zone).Add(7), ResponseStart: t0.Add(70), ResponseEnd: t0.Add(700)},
		{RequestStart: time.Date(-3, 1, 1, 0, 0, 0, 0, time.UTC)},
		{RequestStart: time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		add(func(x *capture.Exchange) { x.Timing = tm })
	}
	for _, f := range []Format{FormatHAR, FormatNDJSON} {
		for i, x := range xs {
			one := []*capture.Exchange{x}
			if !bytes.Equal(newWriteAll(t, f, Creator{}, one), refWriteAll(t, f, Creator{}, one)) {
				matchReference(t, Creator{}, one)
				t.Fatalf("%v: exchange %d differs", f, i)
			}
		}
	}
	matchReference(t, Creator{Name: "specgate", Version: "test"}, xs)
	for _, s := range strs {
		matchReference(t, Creator{Name: s, Version: s}, nil)
		matchReference(t, Creator{Name: s}, xs[:1])
	}
}

// TestAppendQuotedMatchesEncodingJSON encodes every string of up to two
// bytes, and random short ones, as encoding/json does; with U+FFFD in
// place of bytes that are not UTF-8, as strings.ToValidUTF8 gives them to
// encoding/json.
func TestAppendQuotedMatchesEncodingJSON(t *testing.T) {
	check := func(s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got, ok := appendQuoted(nil, s, invalidEscape)
		if !bytes.Equal(append(got, '\n'), want.Bytes()) || ok != utf8.ValidString(s) {
			t.Fatalf("%q: got %s (ok %v), encoding/json %s", s, got, ok, want.Bytes())
		}
		if gotB, _ := appendQuoted(nil, []byte(s), invalidEscape); !bytes.Equal(gotB, got) {
			t.Fatalf("%q: as bytes %s, as a string %s", s, gotB, got)
		}
		want.Reset()
		if err := enc.Encode(strings.ToValidUTF8(s, "\uFFFD")); err != nil {
			t.Fatal(err)
		}
		got, _ = appendQuoted(nil, s, invalidReplace)
		if !bytes.Equal(append(got, '\n'), want.Bytes()) {
			t.Fatalf("%q replaced: got %s, encoding/json %s", s, got, want.Bytes())
		}
		got, ok = appendQuoted([]byte("x"), s, invalidFail)
		if ok != utf8.ValidString(s) || (ok && !bytes.Equal(append(got[1:], '\n'), want.Bytes())) {
			t.Fatalf("%q strict: got %s, ok %v", s, got, ok)
		}
	}
	for a := range 256 {
		check(string([]byte{byte(a)}))
		for b := range 256 {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := append(awkward(), "a", "\xe2", "\x80", "\xa8", "\xe2\x80", "\"", "\\")
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			if rng.IntN(3) == 0 {
				b.WriteByte(byte(rng.Uint32()))
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		check(b.String())
	}
	// longer strings, for the eight bytes at a time: every kind of byte at
	// every offset of a word
	alphabet := []string{"a", "a", "a", "Z", " ", "~", "\x7f", "\"", "\\", "\n", "\x00", "\x1f", "é", "€", "😀", "\u2028", "\xff", "\xe2\x80"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(100) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		check(b.String())
	}
	// across the room made at a time (quoteChunk)
	for _, r := range []string{"€", "😀", "\xff", "\xff\xfe", "\u2028", "\"", "\x01"} {
		for at := quoteChunk - 5; at <= quoteChunk+1; at++ {
			check(strings.Repeat("a", at) + r + strings.Repeat("\"b", 3000))
			check(strings.Repeat("\"", at) + r + strings.Repeat("b", 3000))
		}
	}
}

// TestAppendFloatMatchesEncodingJSON writes milliseconds and random
// float64 values as encoding/json does.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	fs := []float64{0, math.Copysign(0, -1), -1, 1, 0.5, 1e-6, 1e-7, 9.99e-7, 1.5e-7, 1e20, 1e21, 1e21 - 65536, -1e21, 1 << 53, 1<<53 + 2, 1<<53 - 1,
		-(1 << 53), 1e300, 5e-324, math.MaxFloat64, 123456.789, 0.000001, ms(1), ms(999_999), ms(math.MaxInt64), ms(-1), ms(1 << 50)}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		fs = append(fs, math.Float64frombits(rng.Uint64()), ms(time.Duration(rng.Int64N(1<<uint(rng.IntN(63))))), float64(rng.Int64N(1<<54)-1<<53))
	}
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, f); !bytes.Equal(got, want) {
			t.Fatalf("%v (%#x): got %s, encoding/json %s", f, math.Float64bits(f), got, want)
		}
	}
}

// TestTimeAndMillisMatchReference checks the hand-written date and
// milliseconds against time.AppendFormat and encoding/json.
func TestTimeAndMillisMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 1, time.UTC), time.Date(2024, 2, 29, 12, 0, 0, 100, time.FixedZone("", 3600))}
	for range 20000 {
		times = append(times, time.Unix(rng.Int64N(1<<40)-1<<39, rng.Int64N(1e9)).In(time.FixedZone("", rng.IntN(50000)-25000)))
	}
	for _, tm := range times {
		if got, want := appendTime([]byte("x"), tm), tm.UTC().AppendFormat([]byte("x"), refTimeLayout); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", tm, got, want)
		}
	}
	ds := []time.Duration{0, 1, 9, 10, 999_999, 1_000_000, 1_000_001, 1e15 - 1, 1e15, 1e15 + 1, -1, math.MaxInt64, math.MinInt64, 1 << 53, 1<<53 + 1}
	for range 100000 {
		ds = append(ds, time.Duration(rng.Int64N(1<<uint(rng.IntN(63)))), time.Duration(rng.Int64N(1e6))*time.Millisecond)
	}
	for _, d := range ds {
		want, err := json.Marshal(refMs(d))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendMillis(nil, d); !bytes.Equal(got, want) {
			t.Fatalf("%d ns: got %s, encoding/json %s", d, got, want)
		}
	}
}

// TestURLHelpersMatchReference checks the byte classes and the query
// decoding against the reference writer's net/url-based ones.
func TestURLHelpersMatchReference(t *testing.T) {
	for c := range 256 {
		if mustEscape(byte(c)) != refMustEscape(byte(c)) {
			t.Errorf("mustEscape(%#x) = %v", c, mustEscape(byte(c)))
		}
	}
	ins := []string{"", "a", "+", "%", "%4", "%41", "%4g", "a%41+b", "%%41", "%41%", "%e2%82%AC", "%ff", "++%2b%2B", "x%zz"}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(10) {
			const alphabet = "%+aF09g\xff"
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		ins = append(ins, b.String())
	}
	for _, s := range ins {
		if got, want := appendUnescaped([]byte("p"), s), "p"+refUnescape(s); string(got) != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	}
}

// FuzzWriterMatchesReference builds an exchange from the fuzzer's strings
// and checks that both writers give the same bytes.
func FuzzWriterMatchesReference(f *testing.F) {
	f.Add("GET", "/a?b=c%20d&e+f=%ff", "host:80", "X-Name", "val\xff", "OK", "", "a=b; c=d", "s=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/", []byte(`{"a":"\u2028"}`), int64(1500))
	f.Add("OPTIONS", "*", "", "\x00", "\u2028", "Caf\xe9", "eth0", "", "x", []byte{0xff, 0xfe}, int64(-3))
	f.Add("CONNECT", "[::1]:443", "", "", "", "", "%25", ";;=", "a=\xff; domain=\xfe", []byte(nil), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, method, target, host, name, value, reason, zone, cookie, setCookie string, body []byte, n int64) {
		t0 := time.Unix(0, n).UTC()
		d := time.Duration(n & (1<<40 - 1))
		x := &capture.Exchange{
			Request: capture.Request{Method: method, Target: target, Host: host, Proto: name,
				Header: capture.Header{{Name: name, Value: value}, {Name: "Cookie", Value: cookie}, {Name: "Content-Type", Value: value}},
				Body:   body, WireSize: n, Truncated: n&1 != 0, Decoded: reason},
			Response: capture.Response{Proto: value, Status: int(n), Reason: reason,
				Header:  capture.Header{{Name: "Set-Cookie", Value: setCookie}, {Name: "Location", Value: target}},
				Trailer: capture.Header{{Name: value, Value: name}}, Body: []byte(value), Interim: []int{int(n)}, Incomplete: n&2 != 0},
			Timing: capture.Timing{RequestStart: t0, RequestEnd: t0.Add(d), ResponseStart: t0.Add(2 * d), ResponseEnd: t0.Add(3*d + 1)},
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}), uint16(n)),
			ConnID: cookie, Seq: int(n), Upgrade: zone, Redacted: n&4 != 0,
			Service: zone, Caller: host, Wire: capture.WireID{Request: uint32(n), Response: uint32(n >> 32)},
		}
		if zone != "" {
			x.Server = netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone(zone), uint16(n>>16))
		}
		matchReference(t, Creator{Name: name, Version: reason}, []*capture.Exchange{x, x})
	})
}
