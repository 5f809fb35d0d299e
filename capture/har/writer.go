package har

// The Writer encodes JSON by hand. In a capture every exchange passes
// through Write, and encoding/json's reflection (struct walking, text
// marshalers, string escaping) was the bottleneck of the whole pipeline.
// The bytes are exactly those encoding/json gives for the HAR structs,
// compact for NDJSON and indented for HAR: writer_ref_test.go keeps that
// encoding/json writer, and the tests compare both on generated,
// adversarial and fuzzed exchanges. A change to the output is made in both.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
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
	e       encoder // its buffer holds the output not yet written to w
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
	return &Writer{w: w, format: f, creator: creator,
		e: encoder{b: make([]byte, 0, flushSize+flushSize/2), indent: f != FormatNDJSON}}
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
	e := &w.e
	if w.format == FormatNDJSON {
		e.entry(x)
		e.b = append(e.b, '\n')
	} else {
		if w.n == 0 {
			w.header()
		} else {
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, "\n"+entryIndent...)
		e.entry(x)
	}
	w.n++
	if len(e.b) >= flushSize {
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
			w.e.b = append(w.e.b, "]\n  }\n}\n"...)
		} else {
			w.e.b = append(w.e.b, "\n    ]\n  }\n}\n"...)
		}
	}
	return w.Flush()
}

// flush writes the buffer to the underlying writer and records a failure.
func (w *Writer) flush() error {
	if len(w.e.b) == 0 {
		return nil
	}
	n, err := w.w.Write(w.e.b)
	if err == nil && n < len(w.e.b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("har: %w", err)
		return w.err
	}
	w.e.b = w.e.b[:0]
	if cap(w.e.b) > maxKeptBuffer {
		w.e.b = nil // do not hold on to the buffer of one huge entry
	}
	return nil
}

// header writes the HAR document up to the opening of log.entries.
func (w *Writer) header() {
	b := append(w.e.b, "{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {\n      \"name\": "...)
	b, _ = appendQuoted(b, w.creator.Name, invalidEscape)
	b = append(b, ",\n      \"version\": "...)
	b, _ = appendQuoted(b, w.creator.Version, invalidEscape)
	w.e.b = append(b, "\n    },\n    \"entries\": ["...)
}

// encoder appends JSON to b, compact or indented as encoding/json indents
// an entry of log.entries. The entry's shape is fixed, so the encoder only
// tracks where it is: the depth, and whether the innermost object or array
// is still empty.
type encoder struct {
	b      []byte
	tmp    []byte // scratch: dates, addresses, URLs, query parameters
	indent bool
	depth  int
	first  bool
}

// indentation is a newline and the spaces of the deepest member of an
// entry (entry, request, headers, field) and more.
const indentation = "\n" + entryIndent + "                                "

// next starts a member or an element.
func (e *encoder) next() {
	if !e.first {
		e.b = append(e.b, ',')
	}
	e.first = false
	if e.indent {
		e.b = append(e.b, indentation[:1+len(entryIndent)+2*e.depth]...)
	}
}

// key starts a member; k is its quoted name and the colon.
func (e *encoder) key(k string) {
	e.next()
	e.b = append(e.b, k...)
	if e.indent {
		e.b = append(e.b, ' ')
	}
}

// open starts an object or an array.
func (e *encoder) open(c byte) {
	e.b = append(e.b, c)
	e.depth++
	e.first = true
}

// close ends an object or an array; an empty one stays on one line.
func (e *encoder) close(c byte) {
	e.depth--
	if e.indent && !e.first {
		e.b = append(e.b, indentation[:1+len(entryIndent)+2*e.depth]...)
	}
	e.b = append(e.b, c)
	e.first = false
}

// str writes s as encoding/json writes a string.
func (e *encoder) str(s string) { e.b, _ = appendQuoted(e.b, s, invalidEscape) }

// int writes n.
func (e *encoder) int(n int64) { e.b = strconv.AppendInt(e.b, n, 10) }

// entry writes x as one HAR entry.
func (e *encoder) entry(x *capture.Exchange) {
	t := x.Timing
	send := span(t.RequestStart, t.RequestEnd)
	wait := span(t.RequestEnd, t.ResponseStart)
	receive := span(t.ResponseStart, t.ResponseEnd)
	e.depth, e.first = 0, true
	e.open('{')
	e.key(`"startedDateTime":`)
	e.tmp = t.RequestStart.UTC().AppendFormat(e.tmp[:0], timeLayout)
	e.b, _ = appendQuoted(e.b, e.tmp, invalidEscape)
	e.key(`"time":`)
	e.b = appendFloat(e.b, ms(send+wait+receive))
	e.request(x)
	e.response(&x.Response)
	e.key(`"cache":`)
	e.b = append(e.b, "{}"...)
	e.key(`"timings":`)
	e.open('{')
	e.key(`"blocked":`)
	e.int(-1)
	e.key(`"dns":`)
	e.int(-1)
	e.key(`"connect":`)
	e.int(-1)
	e.key(`"send":`)
	e.b = appendFloat(e.b, ms(send))
	e.key(`"wait":`)
	e.b = appendFloat(e.b, ms(wait))
	e.key(`"receive":`)
	e.b = appendFloat(e.b, ms(receive))
	e.key(`"ssl":`)
	e.int(-1)
	e.close('}')
	if x.Server.Addr().IsValid() {
		e.key(`"serverIPAddress":`)
		e.tmp = x.Server.Addr().AppendTo(e.tmp[:0])
		e.b, _ = appendQuoted(e.b, e.tmp, invalidEscape)
	}
	if x.ConnID != "" {
		e.key(`"connection":`)
		e.str(x.ConnID)
	}
	if x.Client.Addr().IsValid() {
		e.key(`"_client":`)
		e.tmp = x.Client.AppendTo(e.tmp[:0])
		e.b, _ = appendQuoted(e.b, e.tmp, invalidEscape)
	}
	if x.Server.Addr().IsValid() {
		e.key(`"_server":`)
		e.tmp = x.Server.AppendTo(e.tmp[:0])
		e.b, _ = appendQuoted(e.b, e.tmp, invalidEscape)
	}
	if x.Seq != 0 {
		e.key(`"_seq":`)
		e.int(int64(x.Seq))
	}
	if x.Upgrade != "" {
		e.key(`"_upgrade":`)
		e.str(x.Upgrade)
	}
	e.close('}')
}

func (e *encoder) request(x *capture.Exchange) {
	q := &x.Request
	e.key(`"request":`)
	e.open('{')
	e.key(`"method":`)
	e.str(q.Method)
	e.key(`"url":`)
	e.url(x)
	e.key(`"httpVersion":`)
	e.str(q.Proto)
	e.key(`"cookies":`)
	e.open('[')
	for _, f := range q.Header {
		if strings.EqualFold(f.Name, "Cookie") {
			e.cookies(f.Value)
		}
	}
	e.close(']')
	e.key(`"headers":`)
	e.fields(q.Header)
	e.key(`"queryString":`)
	e.query(q.Target)
	if q.Body != nil {
		e.key(`"postData":`)
		e.open('{')
		e.key(`"mimeType":`)
		e.str(q.Header.Get("Content-Type"))
		e.key(`"text":`)
		if e.text(q.Body) {
			e.key(`"encoding":`)
			e.b = append(e.b, `"base64"`...)
		}
		e.close('}')
	}
	e.key(`"headersSize":`)
	e.int(-1)
	e.key(`"bodySize":`)
	e.int(q.WireSize)
	e.key(`"_target":`)
	e.utf8Or64(q.Target, `"_targetBase64":`)
	e.key(`"_host":`)
	e.utf8Or64(q.Host, `"_hostBase64":`)
	e.flags(q.Truncated, q.Incomplete, q.Decoded)
	if len(q.Trailer) > 0 {
		e.key(`"_trailers":`)
		e.fields(q.Trailer)
	}
	e.close('}')
}

func (e *encoder) response(s *capture.Response) {
	e.key(`"response":`)
	e.open('{')
	e.key(`"status":`)
	e.int(int64(s.Status))
	e.key(`"statusText":`)
	var reasonOK bool
	e.b, reasonOK = appendQuoted(e.b, s.Reason, invalidReplace)
	e.key(`"httpVersion":`)
	e.str(s.Proto)
	e.key(`"cookies":`)
	e.open('[')
	for _, f := range s.Header {
		if strings.EqualFold(f.Name, "Set-Cookie") {
			e.setCookie(f.Value)
		}
	}
	e.close(']')
	e.key(`"headers":`)
	e.fields(s.Header)
	e.key(`"content":`)
	e.open('{')
	e.key(`"size":`)
	e.int(int64(len(s.Body)))
	e.key(`"mimeType":`)
	e.str(s.Header.Get("Content-Type"))
	if s.Body != nil {
		e.key(`"text":`)
		if e.text(s.Body) {
			e.key(`"encoding":`)
			e.b = append(e.b, `"base64"`...)
		}
	}
	e.close('}')
	e.key(`"redirectURL":`)
	e.str(s.Header.Get("Location"))
	e.key(`"headersSize":`)
	e.int(-1)
	e.key(`"bodySize":`)
	e.int(s.WireSize)
	e.flags(s.Truncated, s.Incomplete, s.Decoded)
	if len(s.Trailer) > 0 {
		e.key(`"_trailers":`)
		e.fields(s.Trailer)
	}
	if len(s.Interim) > 0 {
		e.key(`"_interim":`)
		e.open('[')
		for _, code := range s.Interim {
			e.next()
			e.int(int64(code))
		}
		e.close(']')
	}
	if !reasonOK {
		e.key(`"_statusTextBase64":`)
		e.b = appendBase64(e.b, s.Reason)
	}
	e.close('}')
}

// flags writes the members of a message that HAR has no place for.
func (e *encoder) flags(truncated, incomplete bool, decoded string) {
	if truncated {
		e.key(`"_truncated":`)
		e.b = append(e.b, "true"...)
	}
	if incomplete {
		e.key(`"_incomplete":`)
		e.b = append(e.b, "true"...)
	}
	if decoded != "" {
		e.key(`"_decoded":`)
		e.str(decoded)
	}
}

// utf8Or64 writes s as a JSON string; when s is not valid UTF-8 (the string
// then holds U+FFFD in its place) it adds member k with s in base64.
func (e *encoder) utf8Or64(s, k string) {
	var ok bool
	if e.b, ok = appendQuoted(e.b, s, invalidReplace); !ok {
		e.key(k)
		e.b = appendBase64(e.b, s)
	}
}

// text writes a body as a JSON string when it is UTF-8, else in base64;
// it reports whether it used base64.
func (e *encoder) text(body []byte) bool {
	mark := len(e.b)
	var ok bool
	if e.b, ok = appendQuoted(e.b, body, invalidFail); ok {
		return false
	}
	e.b = append(e.b[:mark], '"')
	e.b = base64.StdEncoding.AppendEncode(e.b, body)
	e.b = append(e.b, '"')
	return true
}

// fields writes a header or trailer list.
func (e *encoder) fields(h capture.Header) {
	e.open('[')
	for _, f := range h {
		writeField(e, f.Name, f.Value)
	}
	e.close(']')
}

// writeField writes a header, trailer or query parameter. Names and values
// that are not valid UTF-8 (JSON strings cannot carry them) are also given
// in base64.
func writeField[S []byte | string](e *encoder, name, value S) {
	e.next()
	e.open('{')
	e.key(`"name":`)
	var nameOK, valueOK bool
	e.b, nameOK = appendQuoted(e.b, name, invalidReplace)
	e.key(`"value":`)
	e.b, valueOK = appendQuoted(e.b, value, invalidReplace)
	if !nameOK {
		e.key(`"_nameBase64":`)
		e.b = appendBase64(e.b, name)
	}
	if !valueOK {
		e.key(`"_valueBase64":`)
		e.b = appendBase64(e.b, value)
	}
	e.close('}')
}

// cookies writes the name=value pairs of a Cookie header value.
func (e *encoder) cookies(v string) {
	for more := true; more; {
		var part string
		part, v, more = strings.Cut(v, ";")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		e.next()
		e.open('{')
		e.key(`"name":`)
		e.b, _ = appendQuoted(e.b, strings.TrimSpace(name), invalidReplace)
		e.key(`"value":`)
		e.b, _ = appendQuoted(e.b, strings.TrimSpace(value), invalidReplace)
		e.close('}')
	}
}

// cookieTimeLayouts are the Expires formats seen in Set-Cookie headers.
var cookieTimeLayouts = [...]string{http.TimeFormat, time.RFC1123, "Mon, 02-Jan-2006 15:04:05 MST", time.RFC850, time.ANSIC}

// setCookie writes a Set-Cookie value as a HAR cookie; Expires becomes an
// ISO 8601 date when it parses, and stays as sent otherwise.
func (e *encoder) setCookie(v string) {
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
		case strings.EqualFold(k, "path"):
			path = val
		case strings.EqualFold(k, "domain"):
			domain = val
		case strings.EqualFold(k, "expires"):
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
		case strings.EqualFold(k, "httponly"):
			httpOnly = true
		case strings.EqualFold(k, "secure"):
			secure = true
		}
	}
	e.next()
	e.open('{')
	e.key(`"name":`)
	e.b, _ = appendQuoted(e.b, strings.TrimSpace(name), invalidReplace)
	e.key(`"value":`)
	e.b, _ = appendQuoted(e.b, strings.TrimSpace(value), invalidReplace)
	if path != "" {
		e.key(`"path":`)
		e.b, _ = appendQuoted(e.b, path, invalidReplace)
	}
	if domain != "" {
		e.key(`"domain":`)
		e.b, _ = appendQuoted(e.b, domain, invalidReplace)
	}
	if dated {
		e.key(`"expires":`)
		e.tmp = expiresAt.UTC().AppendFormat(e.tmp[:0], time.RFC3339)
		e.b, _ = appendQuoted(e.b, e.tmp, invalidEscape)
	} else if expires != "" {
		e.key(`"expires":`)
		e.b, _ = appendQuoted(e.b, expires, invalidReplace)
	}
	if httpOnly {
		e.key(`"httpOnly":`)
		e.b = append(e.b, "true"...)
	}
	if secure {
		e.key(`"secure":`)
		e.b = append(e.b, "true"...)
	}
	e.close('}')
}

// query writes the parameters of target's query, in order, decoded (a
// parameter that does not decode is given as sent).
func (e *encoder) query(target string) {
	e.open('[')
	if _, query, ok := strings.Cut(target, "?"); ok {
		for more := true; more; {
			var pair string
			pair, query, more = strings.Cut(query, "&")
			if pair != "" {
				name, value, _ := strings.Cut(pair, "=")
				e.tmp = appendUnescaped(e.tmp[:0], name)
				n := len(e.tmp)
				e.tmp = appendUnescaped(e.tmp, value)
				writeField(e, e.tmp[:n], e.tmp[n:])
			}
		}
	}
	e.close(']')
}

// appendUnescaped appends s decoded as a query component ("+" is a space),
// or as it is when it holds a malformed escape; net/url.QueryUnescape
// decides alike.
func appendUnescaped(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, "%+") {
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
func (e *encoder) url(x *capture.Exchange) {
	e.tmp = appendURL(e.tmp[:0], x)
	const hex = "0123456789ABCDEF"
	e.b = append(e.b, '"')
	start := 0
	for i, c := range e.tmp {
		if mustEscape(c) {
			e.b = append(e.b, e.tmp[start:i]...)
			e.b = append(e.b, '%', hex[c>>4], hex[c&15])
			start = i + 1
		}
	}
	e.b = append(e.b, e.tmp[start:]...)
	e.b = append(e.b, '"')
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
	switch {
	case c < 64:
		return urlEscapeLow>>c&1 != 0
	case c < 128:
		return urlEscapeHigh>>(c-64)&1 != 0
	}
	return true
}

// timeLayout is RFC 3339 with nanoseconds, fixed width.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// span returns b-a, or 0 when either is unset or b is before a.
func span(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return max(b.Sub(a), 0)
}

// ms converts d to (fractional) milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// How appendQuoted writes bytes that are not UTF-8.
const (
	invalidEscape  = iota // each such byte as \ufffd, as encoding/json writes it
	invalidReplace        // each run of them as one U+FFFD, as strings.ToValidUTF8 replaces them
	invalidFail           // not at all: appendQuoted stops and reports it
)

// appendQuoted appends s as encoding/json writes a string without HTML
// escaping: quotes, backslashes and control characters escaped (\b, \f,
// \n, \r, \t, else \u00XX), U+2028 and U+2029 as \u2028 and \u2029, all
// else as it is. invalid says what becomes of bytes that are not UTF-8;
// ok is false when s holds any.
func appendQuoted[S []byte | string](dst []byte, s S, invalid int) (_ []byte, ok bool) {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	ok = true
	start, runEnd := 0, -1
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		switch {
		case r == utf8.RuneError && size == 1:
			ok = false
			dst = append(dst, s[start:i]...)
			switch invalid {
			case invalidEscape:
				dst = append(dst, `\ufffd`...)
			case invalidReplace:
				if i != runEnd {
					dst = append(dst, "\uFFFD"...)
				}
				runEnd = i + 1
			default:
				return dst, false
			}
			start = i + 1
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&15])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), ok
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
