package har

import (
	"bytes"
	"math"
	"strconv"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/jsonstr"
)

// num is a lenient JSON number: HAR writers differ in whether they write
// sizes and times as integers, fractions, quoted strings or null. A value
// that is none of these leaves it unset; decoding it never fails.
type num struct {
	i    int64
	f    float64
	kind uint8 // numUnset, numInt or numFloat
}

const (
	numUnset = iota
	numInt
	numFloat
)

// UnmarshalJSON accepts a number, a string holding a number, or anything
// else (which leaves n unset).
func (n *num) UnmarshalJSON(b []byte) error {
	*n = num{}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 || len(b) > 64 {
		return nil
	}
	if !bytes.ContainsAny(b, ".eE") { // try an integer only where it may be one: a failed parse allocates
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			n.i, n.f, n.kind = i, float64(i), numInt
			return nil
		}
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		n.f, n.kind = f, numFloat
	}
	return nil
}

// int returns n as an integer (fractions truncated); ok is false when n is
// unset or out of range.
func (n num) int() (v int64, ok bool) {
	switch n.kind {
	case numInt:
		return n.i, true
	case numFloat:
		if n.f >= -(1<<63) && n.f < 1<<63 {
			return int64(n.f), true
		}
	}
	return 0, false
}

// rText is a JSON string decoded straight into bytes (one allocation, no
// intermediate string). set tells a present string, even "", from an absent
// one or null. Bytes that are not UTF-8 are kept as they are.
type rText struct {
	b   []byte
	set bool
}

// UnmarshalJSON decodes a JSON string; any other value leaves t unset.
func (t *rText) UnmarshalJSON(raw []byte) error {
	*t = rText{}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil
	}
	if b, ok := jsonstr.AppendUnquoted(make([]byte, 0, len(raw)-2), raw[1:len(raw)-1]); ok {
		t.b, t.set = b, true
	}
	return nil
}

// wireMember is "_wire": a list of two sequence numbers, each an integer
// in [0, 2^32). Any other value leaves it zero; decoding it never fails.
type wireMember capture.WireID

// UnmarshalJSON reads [request, response].
func (w *wireMember) UnmarshalJSON(b []byte) error {
	*w = wireMember{}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil
	}
	first, second, ok := bytes.Cut(b[1:len(b)-1], []byte{','})
	if !ok {
		return nil
	}
	req, ok1 := parseSeq(first)
	resp, ok2 := parseSeq(second)
	if ok1 && ok2 {
		*w = wireMember{Request: req, Response: resp}
	}
	return nil
}

// parseSeq reads a decimal sequence number surrounded by JSON whitespace.
func parseSeq(b []byte) (uint32, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}
