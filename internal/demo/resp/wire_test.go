package resp

import (
	"bufio"
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// appendReply appends r in its wire form: the inverse of readReply.
func appendReply(b []byte, r Reply) []byte {
	switch r.Type {
	case SimpleString, ErrorReply:
		b = append(b, byte(r.Type))
		b = append(b, r.Str...)
	case Integer:
		b = append(b, ':')
		b = strconv.AppendInt(b, r.Int, 10)
	case BulkString:
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(r.Str)), 10)
		b = append(b, '\r', '\n')
		b = append(b, r.Str...)
	case Array:
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(len(r.Elems)), 10)
		b = append(b, '\r', '\n')
		for _, e := range r.Elems {
			b = appendReply(b, e)
		}
		return b
	default:
		b = append(b, "$-1"...)
	}
	return append(b, '\r', '\n')
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		wire string
		want Reply
	}{
		{"+OK\r\n", Reply{Type: SimpleString, Str: "OK"}},
		{"+\r\n", Reply{Type: SimpleString}},
		{"-ERR unknown command 'FOO'\r\n", Reply{Type: ErrorReply, Str: "ERR unknown command 'FOO'"}},
		{":0\r\n", Reply{Type: Integer}},
		{":-42\r\n", Reply{Type: Integer, Int: -42}},
		{":9223372036854775807\r\n", Reply{Type: Integer, Int: 1<<63 - 1}},
		{"$5\r\nhello\r\n", Reply{Type: BulkString, Str: "hello"}},
		{"$0\r\n\r\n", Reply{Type: BulkString}},
		{"$4\r\na\r\nb\r\n", Reply{Type: BulkString, Str: "a\r\nb"}},
		{"$-1\r\n", Reply{Type: Nil}},
		{"*-1\r\n", Reply{Type: Nil}},
		{"*0\r\n", Reply{Type: Array, Elems: []Reply{}}},
		{"*3\r\n$1\r\na\r\n:7\r\n$-1\r\n", Reply{Type: Array, Elems: []Reply{
			{Type: BulkString, Str: "a"}, {Type: Integer, Int: 7}, {Type: Nil}}}},
		{"*2\r\n*1\r\n+x\r\n*0\r\n", Reply{Type: Array, Elems: []Reply{
			{Type: Array, Elems: []Reply{{Type: SimpleString, Str: "x"}}}, {Type: Array, Elems: []Reply{}}}}},
	} {
		r := bufio.NewReader(strings.NewReader(tc.wire + "+next\r\n"))
		got, err := readReply(r)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("readReply(%q) = %+v, %v; want %+v", tc.wire, got, err, tc.want)
			continue
		}
		// The reply is consumed exactly: the next one reads cleanly.
		if next, err := readReply(r); err != nil || next.Str != "next" {
			t.Errorf("after %q: next reply %+v, %v", tc.wire, next, err)
		}
	}
}

func TestReadReplyRefuses(t *testing.T) {
	for _, tc := range []struct {
		wire     string
		protocol bool // a protocol error rather than a short read
	}{
		{"", false},
		{"+OK", false},
		{"$5\r\nhel", false},
		{"*2\r\n:1\r\n", false},
		{"+OK\n", true},
		{"\r\n", true},
		{"?what\r\n", true},
		{":12a\r\n", true},
		{":\r\n", true},
		{"$-2\r\n", true},
		{"$x\r\n", true},
		{"$3\r\nabcd\r\n", true},
		{"$99999999999\r\n", true},
		{"*-5\r\n", true},
		{"*2000000\r\n", true},
		{strings.Repeat("*1\r\n", maxDepth+1) + ":1\r\n", true},
		{"+" + strings.Repeat("x", maxLine) + "\r\n", true},
	} {
		_, err := readReply(bufio.NewReader(strings.NewReader(tc.wire)))
		if err == nil {
			t.Errorf("readReply(%.40q) succeeded", tc.wire)
			continue
		}
		if got := errors.Is(err, errProtocol); got != tc.protocol {
			t.Errorf("readReply(%.40q): %v; protocol error %v, want %v", tc.wire, err, got, tc.protocol)
		}
	}
	// Nesting up to the limit is fine.
	wire := strings.Repeat("*1\r\n", maxDepth) + ":1\r\n"
	if _, err := readReply(bufio.NewReader(strings.NewReader(wire))); err != nil {
		t.Errorf("arrays nested %d deep: %v", maxDepth, err)
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(appendCommand(nil, []string{"HSET", "k", "", "a b\r\n"}))
	want := "*4\r\n$4\r\nHSET\r\n$1\r\nk\r\n$0\r\n\r\n$5\r\na b\r\n\r\n"
	if got != want {
		t.Errorf("appendCommand = %q, want %q", got, want)
	}
}

// randomReply draws a reply of any type; simple strings and errors hold no
// CR or LF, which RESP2 cannot carry in them.
func randomReply(rng *rand.Rand, depth int) Reply {
	const chars = "ab \r\n\x00\xffz:$*+-"
	str := func(crlf bool) string {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
			if !crlf && (b[i] == '\r' || b[i] == '\n') {
				b[i] = '_'
			}
		}
		return string(b)
	}
	n := 5
	if depth < 3 {
		n = 6
	}
	switch rng.IntN(n) {
	case 0:
		return Reply{Type: SimpleString, Str: str(false)}
	case 1:
		return Reply{Type: ErrorReply, Str: str(false)}
	case 2:
		return Reply{Type: Integer, Int: rng.Int64() - rng.Int64()}
	case 3:
		return Reply{Type: BulkString, Str: str(true)}
	case 4:
		return Reply{Type: Nil}
	}
	elems := make([]Reply, rng.IntN(4))
	for i := range elems {
		elems[i] = randomReply(rng, depth+1)
	}
	return Reply{Type: Array, Elems: elems}
}

// TestReplyRoundTrip: any reply written in its wire form reads back equal,
// also when the reader's buffer is smaller than the reply.
func TestReplyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		want := randomReply(rng, 0)
		wire := appendReply(nil, want)
		got, err := readReply(bufio.NewReaderSize(strings.NewReader(string(wire)), 16))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("wire %q: got %+v, %v; want %+v", wire, got, err, want)
		}
	}
}

// FuzzReadReply: no input makes the reader panic, and whatever it accepts
// reads back equal from its canonical wire form.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-ERR x\r\n", ":12\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "$2\r\na\r\r\n", ":+1\r\n", "*1\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The size limits are table tests; long inputs only make the
		// fuzzing engine spend its time minimizing them.
		if len(data) > 1024 {
			return
		}
		r, err := readReply(bufio.NewReaderSize(bytes.NewReader(data), 16))
		if err != nil {
			return
		}
		wire := appendReply(nil, r)
		// Integers and lengths may be spelled with a sign or leading
		// zeros; the reply read back from the canonical form must match.
		again, err := readReply(bufio.NewReader(bytes.NewReader(wire)))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("%q read as %+v, written as %q, read back as %+v, %v", data, r, wire, again, err)
		}
	})
}
