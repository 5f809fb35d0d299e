package har

// The Writer encodes JSON by hand (jsonenc.go) rather than with
// encoding/json, whose reflection was the bottleneck of capture: every
// exchange passes through Write. Its bytes are exactly those encoding/json
// gives for the HAR structs, compact for NDJSON and indented for HAR;
// writer_ref_test.go keeps that encoding/json writer, and the tests compare
// the two on generated, adversarial and fuzzed exchanges.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/specgate/specgate/capture"
)

// Creator names the tool that wrote a HAR document (log.creator).
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Writer writes exchanges as HAR or NDJSON. Output bytes depend only on the
// exchanges and their order. A Writer holds one entry and 64 KB of output
// in memory. It does not redact: hide secrets in the exchanges before
// writing them. An exchange without a method or a status is written, but a
// Reader skips it. A Writer is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	format  Format
	creator Creator
	n       int
	err     error
	closed  bool
	buf     []byte // output not yet written to w
	e       encoder
}

// flushSize is the buffered output that Write passes on to the underlying
// writer.
const flushSize = 64 << 10

// maxKeptBuffer is the largest buffer kept after a flush.
const maxKeptBuffer = 4 << 20

// entryIndent is the indentation of an entry inside log.entries.
const entryIndent = "      "

// NewWriter returns a Writer that writes format f to w. For HAR, creator
// fills log.creator. Close must be called to end the document.
func NewWriter(w io.Writer, f Format, creator Creator) *Writer {
	return &Writer{w: w, format: f, creator: creator, buf: make([]byte, 0, flushSize+flushSize/2),
		e: encoder{punct: newPunctuation(f != FormatNDJSON)}}
}

// errClosed is returned by Write after Close.
var errClosed = errors.New("har: write after close")

// Write writes one exchange. Reading it back gives x exactly, except that
// empty header, trailer and interim lists read as nil, times read in UTC,
// and timings are exact only when ordered (RequestStart <= RequestEnd <=
// ResponseStart <= ResponseEnd, all set, each phase under 13 days): HAR
// stores a start and three non-negative phases.
func (w *Writer) Write(x *capture.Exchange) error {
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if x == nil {
		return errors.New("har: write of a nil exchange")
	}
	if w.format == FormatNDJSON {
		w.buf = append(w.e.entry(w.buf, x), '\n')
	} else {
		if w.n == 0 {
			w.header()
		} else {
			w.buf = append(w.buf, ',')
		}
		w.buf = w.e.entry(append(w.buf, "\n"+entryIndent...), x)
	}
	w.n++
	if len(w.buf) >= flushSize {
		return w.flush()
	}
	return nil
}

// Flush writes buffered output to the underlying writer, so that a reader
// following an NDJSON file sees every entry written so far.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.flush()
}

// Close ends the document (for HAR, the entries array and the log object)
// and flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if w.format == FormatHAR {
		if w.n == 0 {
			w.header()
			w.buf = append(w.buf, "]\n  }\n}\n"...)
		} else {
			w.buf = append(w.buf, "\n    ]\n  }\n}\n"...)
		}
	}
	return w.Flush()
}

// flush writes the buffer to the underlying writer and records a failure.
func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.w.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("har: %w", err)
		return w.err
	}
	w.buf = w.buf[:0]
	if cap(w.buf) > maxKeptBuffer {
		w.buf = nil // do not hold on to the buffer of one huge entry
	}
	if cap(w.e.tmp) > maxKeptBuffer {
		w.e.tmp = nil // nor to the scratch of a huge URL
	}
	return nil
}

// header writes the HAR document up to the opening of log.entries.
func (w *Writer) header() {
	b := append(w.buf, "{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {\n      \"name\": "...)
	b, _ = appendQuoted(b, w.creator.Name, invalidEscape)
	b = append(b, ",\n      \"version\": "...)
	b, _ = appendQuoted(b, w.creator.Version, invalidEscape)
	w.buf = append(b, "\n    },\n    \"entries\": ["...)
}

// encoder appends entries. An entry's shape is fixed: which members
// an object has may vary, but each member's place does not, so the text
// before each member's value (a comma, the indentation, the name) is laid
// out once for the format, in punct.
type encoder struct {
	tmp   []byte // scratch: dates, addresses, URLs, query parameters
	punct punctuation
}

// entry writes x as one HAR entry.
func (e *encoder) entry(b []byte, x *capture.Exchange) []byte {
	t := x.Timing
	send := span(t.RequestStart, t.RequestEnd)
	wait := span(t.RequestEnd, t.ResponseStart)
	receive := span(t.ResponseStart, t.ResponseEnd)
	b = append(b, e.punct.entry...)
	b = append(b, '"')
	b = appendTime(b, t.RequestStart)
	b = append(b, '"')
	b = e.key(b, mTime)
	b = appendMillis(b, send+wait+receive)
	b = e.request(b, x)
	b = e.response(b, &x.Response)
	b = append(b, e.punct.timings...)
	b = appendMillis(b, send)
	b = e.key(b, mWait)
	b = appendMillis(b, wait)
	b = e.key(b, mReceive)
	b = appendMillis(b, receive)
	b = append(b, e.punct.endTimes...)
	// the server's address is written twice: alone, then with its port
	// (as x.Server.AppendTo writes it)
	e.tmp = x.Server.Addr().AppendTo(e.tmp[:0])
	ip := len(e.tmp)
	if ip > 0 {
		b = e.key(b, mServerIPAddress)
		b, _ = appendQuoted(b, e.tmp, invalidEscape)
	}
	if x.ConnID != "" {
		b = e.key(b, mConnection)
		b = e.str(b, x.ConnID)
	}
	if x.Client.Addr().IsValid() {
		b = e.key(b, mClient)
		e.tmp = x.Client.AppendTo(e.tmp[:ip])
		b, _ = appendQuoted(b, e.tmp[ip:], invalidEscape)
	}
	if ip > 0 {
		b = e.key(b, mServer)
		e.tmp = e.tmp[:ip]
		if x.Server.Addr().Is4() {
			e.tmp = append(e.tmp, e.tmp[:ip]...)
		} else {
			e.tmp = append(append(append(e.tmp, '['), e.tmp[:ip]...), ']')
		}
		e.tmp = strconv.AppendUint(append(e.tmp, ':'), uint64(x.Server.Port()), 10)
		b, _ = appendQuoted(b, e.tmp[ip:], invalidEscape)
	}
	if x.Seq != 0 {
		b = e.key(b, mSeq)
		b = e.int(b, int64(x.Seq))
	}
	if x.Upgrade != "" {
		b = e.key(b, mUpgrade)
		b = e.str(b, x.Upgrade)
	}
	if x.Redacted {
		b = e.key(b, mRedacted)
		b = append(b, "true"...)
	}
	if x.Service != "" {
		b = e.key(b, mService)
		b = e.str(b, x.Service)
	}
	if x.Caller != "" {
		b = e.key(b, mCaller)
		b = e.str(b, x.Caller)
	}
	if !x.Wire.IsZero() {
		b = append(b, e.punct.wire[0]...)
		b = strconv.AppendUint(b, uint64(x.Wire.Request), 10)
		b = append(b, e.punct.wire[1]...)
		b = strconv.AppendUint(b, uint64(x.Wire.Response), 10)
		b = append(b, e.punct.wire[2]...)
	}
	return e.end(b, 1)
}

func (e *encoder) request(b []byte, x *capture.Exchange) []byte {
	q := &x.Request
	b = append(b, e.punct.request...)
	b = e.str(b, q.Method)
	b = e.key(b, mURL)
	b = e.url(b, x)
	b = e.key(b, mHTTPVersion)
	b = e.str(b, q.Proto)
	b = e.key(b, mCookies)
	b = append(b, '[')
	n := 0
	var contentType string // the first, as Header.Get finds it
	var haveType bool
	for _, f := range q.Header {
		switch {
		case sameName(f.Name, "cookie"):
			b, n = e.cookies(b, n, f.Value)
		case !haveType && sameName(f.Name, "content-type"):
			contentType, haveType = f.Value, true
		}
	}
	b = e.endList(b, n)
	b = e.key(b, mHeaders)
	b = e.fields(b, q.Header)
	b = e.key(b, mQueryString)
	b = e.query(b, q.Target)
	if q.Body != nil {
		b = e.key(b, mPostData)
		b = append(b, '{')
		b = e.key(b, mPostMimeType)
		b = e.str(b, contentType)
		b = e.text(b, q.Body)
		b = e.end(b, 3)
	}
	b = append(b, e.punct.bodySize...)
	b = e.int(b, q.WireSize)
	b = e.key(b, mTarget)
	b = e.utf8Or64(b, q.Target, mTargetBase64)
	b = e.key(b, mHost)
	b = e.utf8Or64(b, q.Host, mHostBase64)
	b = e.extras(b, q.Truncated, q.Incomplete, q.Decoded, q.Trailer)
	return e.end(b, 2)
}

func (e *encoder) response(b []byte, s *capture.Response) []byte {
	b = append(b, e.punct.response...)
	b = e.int(b, int64(s.Status))
	b = e.key(b, mStatusText)
	var reasonOK bool
	b, reasonOK = appendQuoted(b, s.Reason, invalidReplace)
	b = e.key(b, mHTTPVersion)
	b = e.str(b, s.Proto)
	b = e.key(b, mCookies)
	b = append(b, '[')
	n := 0
	var contentType, location string // the first of each, as Header.Get finds them
	var haveType, haveLocation bool
	for _, f := range s.Header {
		switch {
		case sameName(f.Name, "set-cookie"):
			b = e.setCookie(b, n, f.Value)
			n++
		case !haveType && sameName(f.Name, "content-type"):
			contentType, haveType = f.Value, true
		case !haveLocation && sameName(f.Name, "location"):
			location, haveLocation = f.Value, true
		}
	}
	b = e.endList(b, n)
	b = e.key(b, mHeaders)
	b = e.fields(b, s.Header)
	b = e.key(b, mContent)
	b = append(b, '{')
	b = e.key(b, mSize)
	b = e.int(b, int64(len(s.Body)))
	b = e.key(b, mMimeType)
	b = e.str(b, contentType)
	if s.Body != nil {
		b = e.text(b, s.Body)
	}
	b = e.end(b, 3)
	b = e.key(b, mRedirectURL)
	b = e.str(b, location)
	b = append(b, e.punct.bodySize...)
	b = e.int(b, s.WireSize)
	b = e.extras(b, s.Truncated, s.Incomplete, s.Decoded, s.Trailer)
	if len(s.Interim) > 0 {
		b = e.key(b, mInterim)
		b = append(b, '[')
		for i, code := range s.Interim {
			b = e.elem(b, i)
			b = e.int(b, int64(code))
		}
		b = e.endList(b, len(s.Interim))
	}
	if !reasonOK {
		b = e.key(b, mStatusTextBase64)
		b = appendBase64(b, s.Reason)
	}
	return e.end(b, 2)
}

// extras writes the members of a message that HAR has no place for.
func (e *encoder) extras(b []byte, truncated, incomplete bool, decoded string, trailer capture.Header) []byte {
	if truncated {
		b = e.key(b, mTruncated)
		b = append(b, "true"...)
	}
	if incomplete {
		b = e.key(b, mIncomplete)
		b = append(b, "true"...)
	}
	if decoded != "" {
		b = e.key(b, mDecoded)
		b = e.str(b, decoded)
	}
	if len(trailer) > 0 {
		b = e.key(b, mTrailers)
		b = e.fields(b, trailer)
	}
	return b
}

// utf8Or64 writes s as a JSON string; when s is not valid UTF-8 (the string
// then holds U+FFFD in its place) it adds member m with s in base64.
func (e *encoder) utf8Or64(b []byte, s string, m int) []byte {
	var ok bool
	if b, ok = appendQuoted(b, s, invalidReplace); !ok {
		b = e.key(b, m)
		b = appendBase64(b, s)
	}
	return b
}

// text writes member text with a body: a JSON string when it is UTF-8,
// else base64, followed by member encoding "base64".
func (e *encoder) text(b []byte, body []byte) []byte {
	b = e.key(b, mText)
	mark := len(b)
	var ok bool
	if b, ok = appendQuoted(b, body, invalidFail); ok {
		return b
	}
	b = append(b[:mark], '"')
	b = base64.StdEncoding.AppendEncode(b, body)
	b = append(b, '"')
	b = e.key(b, mEncoding)
	return append(b, `"base64"`...)
}

// fields writes a header or trailer list.
func (e *encoder) fields(b []byte, h capture.Header) []byte {
	b = append(b, '[')
	for i, f := range h {
		b = writeField(e, b, i, f.Name, f.Value)
	}
	return e.endList(b, len(h))
}

// writeField writes element i of a header, trailer or query parameter
// list. Names and values that are not valid UTF-8 (JSON strings cannot
// carry them) are also given in base64.
func writeField[S []byte | string](e *encoder, b []byte, i int, name, value S) []byte {
	if b, ok := plainPair(&e.punct, b, i, name, value); ok {
		return b
	}
	p := &e.punct
	b = append(b, p.object[min(i, 1)]...)
	var nameOK, valueOK bool
	b, nameOK = appendQuoted(b, name, invalidReplace)
	b = append(b, p.key[mValue]...)
	b, valueOK = appendQuoted(b, value, invalidReplace)
	if !nameOK {
		b = append(b, p.key[mNameBase64]...)
		b = appendBase64(b, name)
	}
	if !valueOK {
		b = append(b, p.key[mValueBase64]...)
		b = appendBase64(b, value)
	}
	return append(b, p.endObject[4]...)
}

// plainPair writes element i of a list, {"name": name, "value": value},
// when name and value are short and need no escaping (most headers); else
// it reports false and writes nothing.
func plainPair[S []byte | string](p *punctuation, b []byte, i int, name, value S) ([]byte, bool) {
	if len(name) > 64 || len(value) > 64 || !plain(name) || !plain(value) {
		return b, false
	}
	b = append(b, p.plainField[min(i, 1)]...)
	b = append(b, name...)
	b = append(b, p.nameValue...)
	b = append(b, value...)
	return append(b, p.endField...), true
}

// cookies writes the name=value pairs of a Cookie header value as
// elements from n on, and returns the next element's index.
func (e *encoder) cookies(b []byte, n int, v string) ([]byte, int) {
	for more := true; more; {
		var part string
		part, v, more = strings.Cut(v, ";")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		var ok bool
		if b, ok = plainPair(&e.punct, b, n, name, value); !ok {
			b = e.object(b, n)
			b, _ = appendQuoted(b, name, invalidReplace)
			b = e.key(b, mValue)
			b, _ = appendQuoted(b, value, invalidReplace)
			b = e.end(b, 4)
		}
		n++
	}
	return b, n
}

// sameName reports whether name is lower (a lower-case ASCII name) as
// strings.EqualFold decides, quickly when their first bytes differ.
func sameName(name, lower string) bool {
	if name != "" && name[0] < utf8.RuneSelf && name[0]|0x20 != lower[0] {
		return false
	}
	return strings.EqualFold(name, lower)
}

// cookieTimeLayouts are the Expires formats seen in Set-Cookie headers.
var cookieTimeLayouts = [...]string{http.TimeFormat, time.RFC1123, "Mon, 02-Jan-2006 15:04:05 MST", time.RFC850, time.ANSIC}

// setCookie writes a Set-Cookie value as element i, a HAR cookie; Expires
// becomes an ISO 8601 date when it parses, and stays as sent otherwise.
func (e *encoder) setCookie(b []byte, i int, v string) []byte {
	var (
		path, domain, expires string
		expiresAt             time.Time
		dated, httpOnly       bool
		secure                bool
	)
	first, rest, _ := strings.Cut(v, ";")
	name, value, _ := strings.Cut(first, "=")
	for more := true; more; {
		var attr string
		attr, rest, more = strings.Cut(rest, ";")
		k, val, _ := strings.Cut(strings.TrimSpace(attr), "=")
		val = strings.TrimSpace(val)
		switch k = strings.TrimSpace(k); {
		case sameName(k, "path"):
			path = val
		case sameName(k, "domain"):
			domain = val
		case sameName(k, "expires"):
			expires, dated = val, false
			if !utf8.ValidString(val) {
				val = strings.ToValidUTF8(val, "\uFFFD")
			}
			for _, layout := range cookieTimeLayouts {
				if t, err := time.Parse(layout, val); err == nil {
					expiresAt, dated = t, true
					break
				}
			}
		case sameName(k, "httponly"):
			httpOnly = true
		case sameName(k, "secure"):
			secure = true
		}
	}
	b = e.object(b, i)
	b, _ = appendQuoted(b, strings.TrimSpace(name), invalidReplace)
	b = e.key(b, mValue)
	b, _ = appendQuoted(b, strings.TrimSpace(value), invalidReplace)
	if path != "" {
		b = e.key(b, mPath)
		b, _ = appendQuoted(b, path, invalidReplace)
	}
	if domain != "" {
		b = e.key(b, mDomain)
		b, _ = appendQuoted(b, domain, invalidReplace)
	}
	if dated {
		b = e.key(b, mExpires)
		e.tmp = expiresAt.UTC().AppendFormat(e.tmp[:0], time.RFC3339)
		b, _ = appendQuoted(b, e.tmp, invalidEscape)
	} else if expires != "" {
		b = e.key(b, mExpires)
		b, _ = appendQuoted(b, expires, invalidReplace)
	}
	if httpOnly {
		b = e.key(b, mHTTPOnly)
		b = append(b, "true"...)
	}
	if secure {
		b = e.key(b, mSecure)
		b = append(b, "true"...)
	}
	return e.end(b, 4)
}

// query writes the parameters of target's query, in order, decoded (a
// parameter that does not decode is given as sent).
func (e *encoder) query(b []byte, target string) []byte {
	b = append(b, '[')
	n := 0
	if _, query, ok := strings.Cut(target, "?"); ok {
		for more := true; more; {
			var pair string
			pair, query, more = strings.Cut(query, "&")
			if pair == "" {
				continue
			}
			name, value, _ := strings.Cut(pair, "=")
			if !escaped(pair) {
				b = writeField(e, b, n, name, value)
			} else {
				e.tmp = appendUnescaped(e.tmp[:0], name)
				k := len(e.tmp)
				e.tmp = appendUnescaped(e.tmp, value)
				b = writeField(e, b, n, e.tmp[:k], e.tmp[k:])
			}
			n++
		}
	}
	return e.endList(b, n)
}

// appendUnescaped appends s decoded as a query component ("+" is a space),
// or as it is when it holds a malformed escape; net/url.QueryUnescape
// decides alike.
func appendUnescaped(dst []byte, s string) []byte {
	if !escaped(s) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return append(dst, s...)
			}
			i += 2
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// escaped reports whether s holds a '%' or a '+'.
func escaped(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// url writes the request's absolute URL (x.URL()) made parseable: a zoned
// IPv6 server address (used when there is no Host) writes its zone as
// "%25zone" (RFC 6874), the asterisk-form target ("OPTIONS *", the server
// as a whole) gives the bare origin, and bytes that may not appear in a URL
// are percent-encoded, so that other HAR readers can parse it;
// request._target keeps the bytes as sent.
func (e *encoder) url(b []byte, x *capture.Exchange) []byte {
	e.tmp = appendURL(e.tmp[:0], x)
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i, c := range e.tmp {
		if mustEscape(c) {
			b = append(b, e.tmp[start:i]...)
			b = append(b, '%', hex[c>>4], hex[c&15])
			start = i + 1
		}
	}
	b = append(b, e.tmp[start:]...)
	return append(b, '"')
}

// appendURL appends x.URL(), with the zone of a server address used as the
// host written "%25zone", and without the "*" of an asterisk-form target.
func appendURL(dst []byte, x *capture.Exchange) []byte {
	t := x.Request.Target
	if strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
		return append(dst, t...)
	}
	dst = append(dst, "http://"...)
	if x.Request.Method == "CONNECT" {
		if t == "*" {
			return dst
		}
		return append(dst, t...)
	}
	switch {
	case x.Request.Host != "":
		dst = append(dst, x.Request.Host...)
	case x.Server.IsValid():
		start := len(dst)
		dst = x.Server.AppendTo(dst)
		if x.Server.Addr().Zone() != "" {
			if i := bytes.IndexByte(dst[start:], '%'); i >= 0 {
				i += start + 1
				dst = append(dst, "25"...)
				copy(dst[i+2:], dst[i:len(dst)-2])
				dst[i], dst[i+1] = '2', '5'
			}
		}
	}
	if t == "*" {
		return dst
	}
	if t == "" || t[0] != '/' {
		dst = append(dst, '/')
	}
	return append(dst, t...)
}

// The bytes a URL may not hold as written: controls, space, non-ASCII and
// a few delimiters, as bits of two 64-bit masks.
const (
	urlEscapeLow  uint64 = 1<<('!') - 1 | 1<<'"' | 1<<'<' | 1<<'>'
	urlEscapeHigh uint64 = 1<<('\\'-64) | 1<<('^'-64) | 1<<('`'-64) | 1<<('{'-64) | 1<<('|'-64) | 1<<('}'-64) | 1<<(0x7f-64)
)

func mustEscape(c byte) bool {
	set := urlEscapeLow
	if c >= 64 {
		set = urlEscapeHigh
	}
	return c >= 128 || set>>(c&63)&1 != 0
}

// timeLayout is RFC 3339 with nanoseconds, fixed width.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// appendTime appends t in UTC as t.AppendFormat(timeLayout) does.
func appendTime(dst []byte, t time.Time) []byte {
	secs := t.Unix()
	days, sec := secs/86400, int(secs%86400)
	if sec < 0 {
		days, sec = days-1, sec+86400
	}
	year, month, day := civil(days)
	if year < 0 || year > 9999 {
		return t.UTC().AppendFormat(dst, timeLayout)
	}
	hour, minute := sec/3600, sec/60%60
	sec %= 60
	b := [...]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 'T', '0', '0', ':', '0', '0', ':', '0', '0', '.', '0', '0', '0', '0', '0', '0', '0', '0', '0', 'Z'}
	putDigits(b[0:4], year)
	putDigits(b[5:7], month)
	putDigits(b[8:10], day)
	putDigits(b[11:13], hour)
	putDigits(b[14:16], minute)
	putDigits(b[17:19], sec)
	putDigits(b[20:29], t.Nanosecond())
	return append(dst, b[:]...)
}

// civil returns the proleptic Gregorian date of the day days after
// 1970-01-01 (as time.Time.Date does).
func civil(days int64) (year, month, day int) {
	// in 400-year eras from 0000-03-01, which put leap days last
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // day of era
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of era
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of year, from March 1
	mp := (5*doy + 2) / 153                                // month, from March
	year, month, day = int(yoe+era*400), int(mp)+3, int(doy-(153*mp+2)/5)+1
	if month > 12 {
		year, month = year+1, month-12
	}
	return year, month, day
}

// putDigits fills b with the last len(b) decimal digits of n >= 0.
func putDigits(b []byte, n int) {
	const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
		"4041424344454647484950515253545556575859606162636465666768697071727374757677787980818283848586878889" +
		"90919293949596979899"
	i := len(b)
	for ; i >= 2; i -= 2 {
		p := n % 100 * 2
		n /= 100
		b[i-1], b[i-2] = pairs[p+1], pairs[p]
	}
	if i == 1 {
		b[0] = byte('0' + n%10)
	}
}

// appendMillis appends d in milliseconds as encoding/json writes ms(d).
// Below 1e15 ns (11 days) the float holds at most 15 significant digits,
// so its shortest form is the exact decimal one.
func appendMillis(dst []byte, d time.Duration) []byte {
	if d < 0 || d >= 1e15 {
		return appendFloat(dst, ms(d))
	}
	dst = strconv.AppendInt(dst, int64(d/time.Millisecond), 10)
	frac := int(d % time.Millisecond)
	if frac == 0 {
		return dst
	}
	b := [7]byte{'.'}
	putDigits(b[1:], frac)
	n := len(b)
	for b[n-1] == '0' {
		n--
	}
	return append(dst, b[:n]...)
}

// span returns b-a, or 0 when either is unset or b is before a.
func span(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return max(b.Sub(a), 0)
}

// ms converts d to (fractional) milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }
