package har

// The reference writer: the encoding/json writer that the hand-written
// Writer replaced, kept as it was (names prefixed with "ref") so that tests
// can check that both give the same bytes. A change to the output is made
// in both.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/specgate/specgate/capture"
)

// refWriter writes exchanges as HAR or NDJSON. Output bytes depend only on the
// exchanges and their order. A refWriter holds one entry in memory at a time.
// It does not redact: hide secrets in the exchanges before writing them.
// An exchange without a method or a status is written, but a Reader skips
// it. A refWriter is not safe for concurrent use.
type refWriter struct {
	out     *bufio.Writer
	format  Format
	creator Creator
	n       int
	err     error
	closed  bool

	buf bytes.Buffer // one encoded HAR entry
	enc *json.Encoder
	ent refEntry
	// scratch for bodies that are written as base64
	reqB64, respB64 []byte
	post            refPostData
	respText        refText
}

// refEntryIndent is the indentation of an entry inside log.entries.
const refEntryIndent = "      "

// newRefWriter returns a refWriter that writes format f to w. For HAR, creator
// fills log.creator. Close must be called to end the document.
func newRefWriter(w io.Writer, f Format, creator Creator) *refWriter {
	wr := &refWriter{out: bufio.NewWriterSize(w, 64<<10), format: f, creator: creator}
	if f == FormatNDJSON {
		wr.enc = json.NewEncoder(wr.out)
	} else {
		wr.enc = json.NewEncoder(&wr.buf)
		wr.enc.SetIndent(refEntryIndent, "  ")
	}
	wr.enc.SetEscapeHTML(false)
	wr.ent.Request.Cookies = make([]refCookie, 0, 4)
	wr.ent.Request.Headers = make([]refField, 0, 16)
	wr.ent.Request.QueryString = make([]refField, 0, 4)
	wr.ent.Response.Cookies = make([]refCookie, 0, 4)
	wr.ent.Response.Headers = make([]refField, 0, 16)
	return wr
}

// Write writes one exchange. Reading it back gives x exactly, except that
// empty header, trailer and interim lists read as nil, times read in UTC,
// and timings are exact only when ordered (RequestStart <= RequestEnd <=
// ResponseStart <= ResponseEnd, all set, each phase under 13 days): HAR
// stores a start and three non-negative phases.
func (w *refWriter) Write(x *capture.Exchange) error {
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if x == nil {
		return errors.New("har: write of a nil exchange")
	}
	w.fill(x)
	if w.format == FormatNDJSON {
		if err := w.enc.Encode(&w.ent); err != nil {
			w.err = fmt.Errorf("har: write entry %d: %w", w.n, err)
			return w.err
		}
		w.n++
		return nil
	}
	if w.n == 0 {
		w.header()
	}
	if w.buf.Cap() > maxKeptBuffer {
		w.buf = bytes.Buffer{}
	}
	w.buf.Reset()
	if err := w.enc.Encode(&w.ent); err != nil {
		w.err = fmt.Errorf("har: write entry %d: %w", w.n, err)
		return w.err
	}
	if w.n > 0 {
		w.out.WriteString(",")
	}
	w.out.WriteString("\n" + refEntryIndent)
	w.out.Write(bytes.TrimSuffix(w.buf.Bytes(), []byte("\n")))
	w.n++
	return w.flushError()
}

// Flush writes buffered output to the underlying writer, so that a reader
// following an NDJSON file sees every entry written so far.
func (w *refWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.out.Flush(); err != nil {
		w.err = fmt.Errorf("har: %w", err)
	}
	return w.err
}

// Close ends the document (for HAR, the entries array and the log object)
// and flushes. It does not close the underlying writer.
func (w *refWriter) Close() error {
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
			w.out.WriteString("]\n  }\n}\n")
		} else {
			w.out.WriteString("\n    ]\n  }\n}\n")
		}
	}
	return w.Flush()
}

// flushError records a failure of the buffered writer.
func (w *refWriter) flushError() error {
	if _, err := w.out.Write(nil); err != nil {
		w.err = fmt.Errorf("har: %w", err)
	}
	return w.err
}

// header writes the HAR document up to the opening of log.entries.
func (w *refWriter) header() {
	w.buf.Reset()
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	_ = enc.Encode(&w.creator) // a struct of two strings always encodes
	w.out.WriteString("{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": ")
	w.out.Write(bytes.TrimSuffix(w.buf.Bytes(), []byte("\n")))
	w.out.WriteString(",\n    \"entries\": [")
}

// The written entry. Field order is the output order.
type refEntry struct {
	StartedDateTime refText     `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         refRequest  `json:"request"`
	Response        refResponse `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         refTimings  `json:"timings"`
	ServerIPAddress refText     `json:"serverIPAddress,omitempty"`
	Connection      string      `json:"connection,omitempty"`
	Client          refText     `json:"_client,omitempty"`
	Server          refText     `json:"_server,omitempty"`
	Seq             int         `json:"_seq,omitempty"`
	Upgrade         string      `json:"_upgrade,omitempty"`
	Redacted        bool        `json:"_redacted,omitempty"`
	Service         string      `json:"_service,omitempty"`
	Caller          string      `json:"_caller,omitempty"`
	Wire            []uint32    `json:"_wire,omitempty"`
}

type refRequest struct {
	Method      string       `json:"method"`
	URL         string       `json:"url"`
	HTTPVersion string       `json:"httpVersion"`
	Cookies     []refCookie  `json:"cookies"`
	Headers     []refField   `json:"headers"`
	QueryString []refField   `json:"queryString"`
	PostData    *refPostData `json:"postData,omitempty"`
	HeadersSize int          `json:"headersSize"`
	BodySize    int64        `json:"bodySize"`
	Target      string       `json:"_target"`
	TargetB64   string       `json:"_targetBase64,omitempty"`
	Host        string       `json:"_host"`
	HostB64     string       `json:"_hostBase64,omitempty"`
	Truncated   bool         `json:"_truncated,omitempty"`
	Incomplete  bool         `json:"_incomplete,omitempty"`
	Decoded     string       `json:"_decoded,omitempty"`
	Trailers    []refField   `json:"_trailers,omitempty"`
}

type refResponse struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []refCookie `json:"cookies"`
	Headers     []refField  `json:"headers"`
	Content     refContent  `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int64       `json:"bodySize"`
	Truncated   bool        `json:"_truncated,omitempty"`
	Incomplete  bool        `json:"_incomplete,omitempty"`
	Decoded     string      `json:"_decoded,omitempty"`
	Trailers    []refField  `json:"_trailers,omitempty"`
	Interim     []int       `json:"_interim,omitempty"`
	ReasonB64   string      `json:"_statusTextBase64,omitempty"`
}

// refField is a header, trailer or query parameter. Names and values that are
// not valid UTF-8 (JSON strings cannot carry them) are also given in base64.
type refField struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	NameB64  string `json:"_nameBase64,omitempty"`
	ValueB64 string `json:"_valueBase64,omitempty"`
}

type refCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
}

type refPostData struct {
	MimeType string  `json:"mimeType"`
	Text     refText `json:"text"`
	Encoding string  `json:"encoding,omitempty"`
}

type refContent struct {
	Size     int      `json:"size"`
	MimeType string   `json:"mimeType"`
	Text     *refText `json:"text,omitempty"`
	Encoding string   `json:"encoding,omitempty"`
}

type refTimings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}

// refText marshals as a JSON string without first copying into a string.
type refText []byte

// MarshalText returns t itself.
func (t refText) MarshalText() ([]byte, error) { return t, nil }

// refTimeLayout is RFC 3339 with nanoseconds, fixed width.
const refTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// fill maps x onto the reused entry.
func (w *refWriter) fill(x *capture.Exchange) {
	e := &w.ent
	t := x.Timing
	send := refSpan(t.RequestStart, t.RequestEnd)
	wait := refSpan(t.RequestEnd, t.ResponseStart)
	receive := refSpan(t.ResponseStart, t.ResponseEnd)
	e.StartedDateTime = t.RequestStart.UTC().AppendFormat(e.StartedDateTime[:0], refTimeLayout)
	e.Timings = refTimings{Blocked: -1, DNS: -1, Connect: -1, Send: refMs(send), Wait: refMs(wait), Receive: refMs(receive), SSL: -1}
	e.Time = refMs(send + wait + receive)
	e.ServerIPAddress, e.Server, e.Client = e.ServerIPAddress[:0], e.Server[:0], e.Client[:0]
	if x.Server.Addr().IsValid() {
		e.ServerIPAddress = x.Server.Addr().AppendTo(e.ServerIPAddress)
		e.Server = x.Server.AppendTo(e.Server)
	}
	if x.Client.Addr().IsValid() {
		e.Client = x.Client.AppendTo(e.Client)
	}
	e.Connection, e.Seq, e.Upgrade, e.Redacted = x.ConnID, x.Seq, x.Upgrade, x.Redacted
	e.Service, e.Caller, e.Wire = x.Service, x.Caller, nil
	if x.Wire != (capture.WireID{}) {
		e.Wire = []uint32{x.Wire.Request, x.Wire.Response}
	}

	q, p := &x.Request, &e.Request
	p.Method = x.Request.Method
	p.URL = refHarURL(x)
	p.HTTPVersion = q.Proto
	p.Headers = refAppendFields(p.Headers[:0], q.Header)
	p.Cookies = p.Cookies[:0]
	for _, f := range q.Header {
		if strings.EqualFold(f.Name, "Cookie") {
			p.Cookies = refAppendCookies(p.Cookies, f.Value)
		}
	}
	p.QueryString = refAppendQuery(p.QueryString[:0], q.Target)
	p.PostData = nil
	if q.Body != nil {
		w.post.MimeType = q.Header.Get("Content-Type")
		w.post.Text, w.post.Encoding, w.reqB64 = refBodyText(q.Body, w.reqB64)
		p.PostData = &w.post
	}
	p.HeadersSize, p.BodySize = -1, q.WireSize
	p.Target, p.TargetB64 = refUTF8Or64(q.Target)
	p.Host, p.HostB64 = refUTF8Or64(q.Host)
	p.Truncated, p.Incomplete, p.Decoded = q.Truncated, q.Incomplete, q.Decoded
	p.Trailers = refAppendFields(p.Trailers[:0], q.Trailer)

	s, r := &x.Response, &e.Response
	r.Status = s.Status
	r.StatusText, r.ReasonB64 = refUTF8Or64(s.Reason)
	r.HTTPVersion = s.Proto
	r.Headers = refAppendFields(r.Headers[:0], s.Header)
	r.Cookies = r.Cookies[:0]
	for _, f := range s.Header {
		if strings.EqualFold(f.Name, "Set-Cookie") {
			r.Cookies = append(r.Cookies, refParseSetCookie(f.Value))
		}
	}
	r.Content = refContent{Size: len(s.Body), MimeType: s.Header.Get("Content-Type")}
	if s.Body != nil {
		w.respText, r.Content.Encoding, w.respB64 = refBodyText(s.Body, w.respB64)
		r.Content.Text = &w.respText
	}
	r.RedirectURL = s.Header.Get("Location")
	r.HeadersSize, r.BodySize = -1, s.WireSize
	r.Truncated, r.Incomplete, r.Decoded = s.Truncated, s.Incomplete, s.Decoded
	r.Trailers = refAppendFields(r.Trailers[:0], s.Trailer)
	r.Interim = s.Interim
}

// refSpan returns b-a, or 0 when either is unset or b is before a.
func refSpan(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return max(b.Sub(a), 0)
}

// refMs converts d to (fractional) milliseconds.
func refMs(d time.Duration) float64 { return float64(d) / 1e6 }

// refBodyText returns the HAR text of body: itself when it is UTF-8, else its
// base64 encoding (built in scratch) and the encoding name.
func refBodyText(body, scratch []byte) (refText, string, []byte) {
	if utf8.Valid(body) {
		return refText(body), "", scratch
	}
	scratch = base64.StdEncoding.AppendEncode(scratch[:0], body)
	return refText(scratch), "base64", scratch
}

// refUTF8Or64 returns s for a JSON string, and its base64 form as well when s
// is not valid UTF-8 (the JSON string then holds U+FFFD in its place).
func refUTF8Or64(s string) (string, string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	return strings.ToValidUTF8(s, "\uFFFD"), base64.StdEncoding.EncodeToString([]byte(s))
}

func refAppendFields(dst []refField, h capture.Header) []refField {
	for _, f := range h {
		var wf refField
		wf.Name, wf.NameB64 = refUTF8Or64(f.Name)
		wf.Value, wf.ValueB64 = refUTF8Or64(f.Value)
		dst = append(dst, wf)
	}
	return dst
}

// refAppendCookies adds the name=value pairs of a Cookie header value.
func refAppendCookies(dst []refCookie, v string) []refCookie {
	for part := range strings.SplitSeq(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, _ := refUTF8Or64(strings.TrimSpace(name))
		val, _ := refUTF8Or64(strings.TrimSpace(value))
		dst = append(dst, refCookie{Name: n, Value: val})
	}
	return dst
}

// refCookieTimeLayouts are the Expires formats seen in Set-Cookie headers.
var refCookieTimeLayouts = [...]string{http.TimeFormat, time.RFC1123, "Mon, 02-Jan-2006 15:04:05 MST", time.RFC850, time.ANSIC}

// refParseSetCookie maps a Set-Cookie value to a HAR cookie; Expires becomes
// an ISO 8601 date when it parses, and stays as sent otherwise.
func refParseSetCookie(v string) refCookie {
	var c refCookie
	first, rest, _ := strings.Cut(v, ";")
	name, value, _ := strings.Cut(first, "=")
	c.Name, _ = refUTF8Or64(strings.TrimSpace(name))
	c.Value, _ = refUTF8Or64(strings.TrimSpace(value))
	for attr := range strings.SplitSeq(rest, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(attr), "=")
		val, _ = refUTF8Or64(strings.TrimSpace(val))
		switch k = strings.TrimSpace(k); {
		case strings.EqualFold(k, "path"):
			c.Path = val
		case strings.EqualFold(k, "domain"):
			c.Domain = val
		case strings.EqualFold(k, "expires"):
			c.Expires = val
			for _, layout := range refCookieTimeLayouts {
				if t, err := time.Parse(layout, val); err == nil {
					c.Expires = t.UTC().Format(time.RFC3339)
					break
				}
			}
		case strings.EqualFold(k, "httponly"):
			c.HTTPOnly = true
		case strings.EqualFold(k, "secure"):
			c.Secure = true
		}
	}
	return c
}

// refAppendQuery adds the parameters of target's query, in order, decoded
// (a parameter that does not decode is given as sent).
func refAppendQuery(dst []refField, target string) []refField {
	_, query, ok := strings.Cut(target, "?")
	if !ok {
		return dst
	}
	for pair := range strings.SplitSeq(query, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		var f refField
		f.Name, f.NameB64 = refUTF8Or64(refUnescape(name))
		f.Value, f.ValueB64 = refUTF8Or64(refUnescape(value))
		dst = append(dst, f)
	}
	return dst
}

// refHarURL returns x.URL() made parseable: a zoned IPv6 server address (used
// when there is no Host) writes its zone as "%25zone" (RFC 6874), the
// asterisk-form target ("OPTIONS *", the server as a whole) gives the bare
// origin, and bytes that may not appear in a URL are percent-encoded.
func refHarURL(x *capture.Exchange) string {
	zoned := x.Request.Host == "" && x.Server.Addr().Zone() != ""
	if !zoned && x.Request.Target != "*" {
		return refEscapeURL(x.URL())
	}
	c := *x
	if zoned {
		c.Request.Host = strings.Replace(x.Server.String(), "%", "%25", 1)
	}
	u := c.URL()
	if c.Request.Target == "*" {
		u = strings.TrimSuffix(u, "*")
	}
	return refEscapeURL(u)
}

// refEscapeURL percent-encodes the bytes that may not appear in a URL as
// written (spaces, controls, non-ASCII and a few delimiters), so that other
// HAR readers can parse it; request._target keeps the bytes as sent.
func refEscapeURL(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if refMustEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if refMustEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func refMustEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0
}

func refUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
