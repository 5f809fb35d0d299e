package har

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON written by hand, byte for byte as encoding/json writes it (without
// HTML escaping): every exchange of a capture passes through Writer.Write,
// and the reflection encoding/json spends finding the fixed shape of an
// entry again for every entry, with its string escaping a byte at a time,
// was the bottleneck of the whole capture pipeline. The tests compare the
// output with encoding/json's (writer_ref_test.go, writer_diff_test.go).

// The members of an entry. A member's name, depth (1 in the entry, 2 in
// request, 3 in request.postData, 4 in a header) and whether it is its
// object's first member (always present: no comma before it) give the
// text before its value.
const (
	mStartedDateTime = iota
	mTime
	mRequest
	mResponse
	mCache
	mTimings
	mServerIPAddress
	mConnection
	mClient
	mServer
	mSeq
	mUpgrade
	mRedacted
	mService
	mCaller
	mWire

	mMethod
	mURL
	mHTTPVersion
	mCookies
	mHeaders
	mQueryString
	mPostData
	mHeadersSize
	mBodySize
	mTarget
	mTargetBase64
	mHost
	mHostBase64
	mTruncated
	mIncomplete
	mDecoded
	mTrailers
	mStatus
	mStatusText
	mContent
	mRedirectURL
	mInterim
	mStatusTextBase64
	mBlocked
	mDNS
	mConnect
	mSend
	mWait
	mReceive
	mSSL

	mPostMimeType
	mText
	mEncoding
	mSize
	mMimeType

	mName
	mValue
	mNameBase64
	mValueBase64
	mPath
	mDomain
	mExpires
	mHTTPOnly
	mSecure

	numMembers
)

type memberSpec struct {
	name  string
	depth int
	first bool
}

// memberTable returns the name, depth and place of each member.
func memberTable() [numMembers]memberSpec {
	return [numMembers]memberSpec{
		mStartedDateTime: {"startedDateTime", 1, true},
		mTime:            {"time", 1, false},
		mRequest:         {"request", 1, false},
		mResponse:        {"response", 1, false},
		mCache:           {"cache", 1, false},
		mTimings:         {"timings", 1, false},
		mServerIPAddress: {"serverIPAddress", 1, false},
		mConnection:      {"connection", 1, false},
		mClient:          {"_client", 1, false},
		mServer:          {"_server", 1, false},
		mSeq:             {"_seq", 1, false},
		mUpgrade:         {"_upgrade", 1, false},
		mRedacted:        {"_redacted", 1, false},
		mService:         {"_service", 1, false},
		mCaller:          {"_caller", 1, false},
		mWire:            {"_wire", 1, false},

		mMethod:           {"method", 2, true},
		mURL:              {"url", 2, false},
		mHTTPVersion:      {"httpVersion", 2, false},
		mCookies:          {"cookies", 2, false},
		mHeaders:          {"headers", 2, false},
		mQueryString:      {"queryString", 2, false},
		mPostData:         {"postData", 2, false},
		mHeadersSize:      {"headersSize", 2, false},
		mBodySize:         {"bodySize", 2, false},
		mTarget:           {"_target", 2, false},
		mTargetBase64:     {"_targetBase64", 2, false},
		mHost:             {"_host", 2, false},
		mHostBase64:       {"_hostBase64", 2, false},
		mTruncated:        {"_truncated", 2, false},
		mIncomplete:       {"_incomplete", 2, false},
		mDecoded:          {"_decoded", 2, false},
		mTrailers:         {"_trailers", 2, false},
		mStatus:           {"status", 2, true},
		mStatusText:       {"statusText", 2, false},
		mContent:          {"content", 2, false},
		mRedirectURL:      {"redirectURL", 2, false},
		mInterim:          {"_interim", 2, false},
		mStatusTextBase64: {"_statusTextBase64", 2, false},
		mBlocked:          {"blocked", 2, true},
		mDNS:              {"dns", 2, false},
		mConnect:          {"connect", 2, false},
		mSend:             {"send", 2, false},
		mWait:             {"wait", 2, false},
		mReceive:          {"receive", 2, false},
		mSSL:              {"ssl", 2, false},

		mPostMimeType: {"mimeType", 3, true},
		mText:         {"text", 3, false},
		mEncoding:     {"encoding", 3, false},
		mSize:         {"size", 3, true},
		mMimeType:     {"mimeType", 3, false},

		mName:        {"name", 4, true},
		mValue:       {"value", 4, false},
		mNameBase64:  {"_nameBase64", 4, false},
		mValueBase64: {"_valueBase64", 4, false},
		mPath:        {"path", 4, false},
		mDomain:      {"domain", 4, false},
		mExpires:     {"expires", 4, false},
		mHTTPOnly:    {"httpOnly", 4, false},
		mSecure:      {"secure", 4, false},
	}
}

// listDepth is the depth of the elements of an entry's lists (headers,
// cookies, queryString, _trailers, _interim).
const listDepth = 3

// punctuation is the text around an entry's values in one format: compact,
// or indented as encoding/json indents an element of log.entries.
type punctuation struct {
	key       [numMembers]string // before a member's value
	firstElem string             // before a list's first element
	elem      string             // before its other elements
	object    [2]string          // before an object's name member, the first element of a list or not

	// a header whose name and value need no escaping: around its name,
	// between, after its value
	plainField [2]string
	nameValue  string
	endField   string

	// runs of text with no value in them
	entry     string    // the entry's start, to startedDateTime's value
	request   string    // the request's key, to its method's value
	response  string    // the response's key, to its status's value
	bodySize  string    // headersSize (-1), to bodySize's value
	timings   string    // cache, and timings to send's value
	endTimes  string    // ssl (-1), and the end of timings
	endList   string    // the end of a list that is not empty
	endObject [5]string // the end of an object, by its members' depth

	// _wire, a list of two numbers in the entry: its key to the first
	// number, between them, and after the second
	wire [3]string
}

func newPunctuation(indent bool) punctuation {
	newline := func(depth int) string {
		if !indent {
			return ""
		}
		return "\n" + entryIndent + strings.Repeat("  ", depth)
	}
	var p punctuation
	for i, m := range memberTable() {
		k := newline(m.depth) + strconv.Quote(m.name) + ":"
		if indent {
			k += " "
		}
		if !m.first {
			k = "," + k
		}
		p.key[i] = k
	}
	p.firstElem = newline(listDepth)
	p.elem = "," + newline(listDepth)
	p.endList = newline(listDepth-1) + "]"
	p.wire = [3]string{p.key[mWire] + "[" + newline(2), "," + newline(2), newline(1) + "]"}
	p.object = [2]string{p.firstElem + "{" + p.key[mName], p.elem + "{" + p.key[mName]}
	for d := 1; d < len(p.endObject); d++ {
		p.endObject[d] = newline(d-1) + "}"
	}
	p.plainField = [2]string{p.object[0] + `"`, p.object[1] + `"`}
	p.nameValue = `"` + p.key[mValue] + `"`
	p.endField = `"` + p.endObject[4]
	k := &p.key
	p.entry = "{" + k[mStartedDateTime]
	p.request = k[mRequest] + "{" + k[mMethod]
	p.response = k[mResponse] + "{" + k[mStatus]
	p.bodySize = k[mHeadersSize] + "-1" + k[mBodySize]
	p.timings = k[mCache] + "{}" + k[mTimings] + "{" + k[mBlocked] + "-1" + k[mDNS] + "-1" + k[mConnect] + "-1" + k[mSend]
	p.endTimes = k[mSSL] + "-1" + p.endObject[2]
	return p
}

// key starts member m.
func (e *encoder) key(b []byte, m int) []byte { return append(b, e.punct.key[m]...) }

// elem starts element i of a list.
func (e *encoder) elem(b []byte, i int) []byte {
	if i == 0 {
		return append(b, e.punct.firstElem...)
	}
	return append(b, e.punct.elem...)
}

// object starts element i of a list, an object, with its name member.
func (e *encoder) object(b []byte, i int) []byte { return append(b, e.punct.object[min(i, 1)]...) }

// endList ends a list of n elements.
func (e *encoder) endList(b []byte, n int) []byte {
	if n == 0 {
		return append(b, ']')
	}
	return append(b, e.punct.endList...)
}

// end ends an object whose members are at depth.
func (e *encoder) end(b []byte, depth int) []byte { return append(b, e.punct.endObject[depth]...) }

// str writes s as encoding/json writes a string.
func (e *encoder) str(b []byte, s string) []byte {
	b, _ = appendQuoted(b, s, invalidEscape)
	return b
}

// int writes n.
func (e *encoder) int(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// How appendQuoted writes bytes that are not UTF-8.
const (
	invalidEscape  = iota // each such byte as \ufffd, as encoding/json writes it
	invalidReplace        // each run of them as one U+FFFD, as strings.ToValidUTF8 replaces them
	invalidFail           // not at all: appendQuoted stops and reports it
)

// jsonEscapes classifies the ASCII bytes for appendQuoted: 0 is written as
// it is, a letter after a backslash, and 0x81 as \u00XX.
const jsonEscapes = "" +
	"\x81\x81\x81\x81\x81\x81\x81\x81btn\x81fr\x81\x81" + // 0x00
	"\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81" + // 0x10
	"\x00\x00\"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x20
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x30
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x40
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\\\x00\x00\x00" + // 0x50
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x60
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" //  0x70

// quoteChunk bounds the room appendQuoted makes at a time: twice the bytes
// it escapes in one pass, and eight.
const quoteChunk = 4 << 10

// appendQuoted appends s as encoding/json writes a string without HTML
// escaping: quotes, backslashes and control characters escaped (\b, \f,
// \n, \r, \t, else \u00XX), U+2028 and U+2029 as \u2028 and \u2029, all
// else as it is. invalid says what becomes of bytes that are not UTF-8;
// ok is false when s holds any.
func appendQuoted[S []byte | string](dst []byte, s S, invalid int) (_ []byte, ok bool) {
	if len(s) <= 64 && plain(s) {
		// most header names and values
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"'), true
	}
	dst = append(dst, '"')
	ok = true
	runEnd := -1 // the end of the last byte that was not UTF-8
	for i := 0; i < len(s); {
		end := min(len(s), i+quoteChunk)
		dst = slices.Grow(dst, 2*(end-i)+8)
		out := dst[:cap(dst)]
		j := len(dst)
		// eight bytes at a time
		for i < end {
			var w uint64
			n := end - i
			switch {
			case n >= 8:
				w, n = load64(s, i), 8
			case end >= 8:
				// the last bytes, read with those before them, then spaces
				w = load64(s, end-8)>>(64-8*n) | spaces<<(8*n)
			default:
				w = loadShort(s, i, n)
			}
			if hasOdd(w) {
				// a control character or not ASCII: copy the bytes before
				// the first that needs a look, and escape it if it is
				// escaped with a letter; else leave it to appendOdd
				binary.LittleEndian.PutUint64(out[j:], w)
				k := min(bits.TrailingZeros64(needsLook(w))>>3, n)
				i += k
				j += k
				if k == n {
					continue
				}
				c := s[i]
				v := jsonEscapes[c&0x7f] | c&0x80
				if v >= 0x80 {
					break
				}
				out[j], out[j+1] = '\\', v
				i++
				j += 2
				continue
			}
			// only quotes and backslashes need escaping (JSON bodies are
			// full of quotes): a backslash before each, the bytes from it
			// on moved one further, without branching on where they are;
			// the first quote (or none) here, the others two at a time
			m := quotesOf(w)
			quotes := bits.OnesCount64(m)
			binary.LittleEndian.PutUint64(out[j:], w)
			t := min(bits.TrailingZeros64(m)>>3, n)
			out[j+t] = '\\'
			k := int(uint(t-n) >> 63) // 1 when t < n: a quote at t
			pos := t                  // the last quote's place; k is the quotes before it
			m &= m - 1
			for m != 0 {
				t = min(bits.TrailingZeros64(m)>>3, n)
				binary.LittleEndian.PutUint64(out[j+pos+k:], w>>(8*pos))
				out[j+t+k] = '\\'
				k += int(uint(t-n) >> 63)
				pos = t
				m &= m - 1
				t = min(bits.TrailingZeros64(m)>>3, n)
				binary.LittleEndian.PutUint64(out[j+pos+k:], w>>(8*pos))
				out[j+t+k] = '\\'
				k += int(uint(t-n) >> 63)
				pos = t
				m &= m - 1
			}
			binary.LittleEndian.PutUint64(out[j+pos+k:], w>>(8*pos))
			i += n
			j += n + quotes
		}
		dst = out[:j]
		if i == end {
			continue
		}
		var valid bool
		dst, i, valid = appendOdd(dst, s, i, invalid, &runEnd)
		if !valid {
			if ok = false; invalid == invalidFail {
				return dst, false
			}
		}
	}
	return append(dst, '"'), ok
}

// appendOdd appends what appendQuoted's loop leaves: the control character,
// UTF-8 sequence or byte that is not UTF-8 at s[i]. It returns the index
// after it, and whether it was UTF-8. runEnd is the end of the last byte
// that was not.
func appendOdd[S []byte | string](dst []byte, s S, i, invalid int, runEnd *int) ([]byte, int, bool) {
	const hex = "0123456789abcdef"
	if c := s[i]; c < utf8.RuneSelf {
		return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15]), i + 1, true
	}
	r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
	switch {
	case r == utf8.RuneError && size == 1:
		switch invalid {
		case invalidEscape:
			dst = append(dst, `\ufffd`...)
		case invalidReplace:
			if i != *runEnd {
				dst = append(dst, "\uFFFD"...)
			}
			*runEnd = i + 1
		}
		return dst, i + 1, false
	case r == '\u2028' || r == '\u2029':
		return append(dst, '\\', 'u', '2', '0', '2', hex[r&15]), i + size, true
	}
	return append(dst, s[i:i+size]...), i + size, true
}

// plain reports whether s holds only ASCII that JSON writes as it is.
func plain[S []byte | string](s S) bool {
	n := len(s)
	if n < 8 {
		return needsLook(loadShort(s, 0, n)) == 0
	}
	look := needsLook(load64(s, n-8))
	for i := 0; i < n-8; i += 8 {
		look |= needsLook(load64(s, i))
	}
	return look == 0
}

// spaces is eight bytes of ' '.
const spaces = 0x2020202020202020

// loadShort returns the n < 8 bytes of s from i, little-endian, then
// spaces. (Bytes copied to an array and read back as a word would stall
// the read.)
func loadShort[S []byte | string](s S, i, n int) uint64 {
	var w uint64
	switch {
	case n >= 4:
		w = load32(s, i) | load32(s, i+n-4)<<(8*(n-4))
	case n >= 2:
		w = uint64(s[i]) | uint64(s[i+1])<<8 | (uint64(s[i+n-2])|uint64(s[i+n-1])<<8)<<(8*(n-2))
	case n == 1:
		w = uint64(s[i])
	}
	return w | spaces<<(8*n)
}

// load32 returns the four bytes of s from i, little-endian.
func load32[S []byte | string](s S, i int) uint64 {
	s = s[i : i+4]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// load64 returns the eight bytes of s from i, little-endian.
func load64[S []byte | string](s S, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasOdd reports whether w holds a control character or a byte that is
// not ASCII.
func hasOdd(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return ((w-ones*' ')&^w|w)&highs != 0
}

// quotesOf returns w, which holds only ASCII, with the high bit of each
// byte that is '"' or '\\' set, and no other bit: x+0x7f sets the high
// bit of an ASCII byte x unless x is 0, and carries into no other byte.
func quotesOf(w uint64) uint64 {
	const ones, lows, highs = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	return ^((quote + lows) & (backslash + lows)) & highs
}

// needsLook returns w with the high bit of its lowest byte that is a
// control character, '"', '\\' or not ASCII set; bits above it may be set
// too, none below.
func needsLook(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	return ((w-ones*' ')&^w | (quote-ones)&^quote | (backslash-ones)&^backslash | w) & highs
}

// appendBase64 appends s in standard base64 as a JSON string.
func appendBase64[S []byte | string](dst []byte, s S) []byte {
	dst = append(dst, '"')
	var chunk [3 * 64]byte // a multiple of 3: the chunks encode as the whole does
	for len(s) > 0 {
		n := copy(chunk[:], s)
		dst = base64.StdEncoding.AppendEncode(dst, chunk[:n])
		s = s[n:]
	}
	return append(dst, '"')
}

// appendFloat appends f as encoding/json writes a float64: like %g but
// with exponents only below 1e-6 and from 1e21, not padded.
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs < 1<<53 && f == math.Trunc(f) && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-07 is written e-7
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
