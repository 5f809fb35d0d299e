package har

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

// Creator names the tool that wrote a HAR document (log.creator).
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Writer writes exchanges as HAR or NDJSON. Output bytes depend only on the
// exchanges and their order. A Writer holds one entry in memory at a time.
// It does not redact: hide secrets in the exchanges before writing them.
// An exchange without a method or a status is written, but a Reader skips
// it. A Writer is not safe for concurrent use.
type Writer struct {
	out     *bufio.Writer
	format  Format
	creator Creator
	n       int
	err     error
	closed  bool

	buf bytes.Buffer // one encoded HAR entry
	enc *json.Encoder
	ent wEntry
	// scratch for bodies that are written as base64
	reqB64, respB64 []byte
	post            wPostData
	respText        textBytes
}

// maxKeptBuffer is the largest encoding buffer kept between entries.
const maxKeptBuffer = 4 << 20

// entryIndent is the indentation of an entry inside log.entries.
const entryIndent = "      "

// NewWriter returns a Writer that writes format f to w. For HAR, creator
// fills log.creator. Close must be called to end the document.
func NewWriter(w io.Writer, f Format, creator Creator) *Writer {
	wr := &Writer{out: bufio.NewWriterSize(w, 64<<10), format: f, creator: creator}
	if f == FormatNDJSON {
		wr.enc = json.NewEncoder(wr.out)
	} else {
		wr.enc = json.NewEncoder(&wr.buf)
		wr.enc.SetIndent(entryIndent, "  ")
	}
	wr.enc.SetEscapeHTML(false)
	wr.ent.Request.Cookies = make([]wCookie, 0, 4)
	wr.ent.Request.Headers = make([]wField, 0, 16)
	wr.ent.Request.QueryString = make([]wField, 0, 4)
	wr.ent.Response.Cookies = make([]wCookie, 0, 4)
	wr.ent.Response.Headers = make([]wField, 0, 16)
	return wr
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
	w.out.WriteString("\n" + entryIndent)
	w.out.Write(bytes.TrimSuffix(w.buf.Bytes(), []byte("\n")))
	w.n++
	return w.flushError()
}

// Flush writes buffered output to the underlying writer, so that a reader
// following an NDJSON file sees every entry written so far.
func (w *Writer) Flush() error {
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
			w.out.WriteString("]\n  }\n}\n")
		} else {
			w.out.WriteString("\n    ]\n  }\n}\n")
		}
	}
	return w.Flush()
}

// flushError records a failure of the buffered writer.
func (w *Writer) flushError() error {
	if _, err := w.out.Write(nil); err != nil {
		w.err = fmt.Errorf("har: %w", err)
	}
	return w.err
}

// header writes the HAR document up to the opening of log.entries.
func (w *Writer) header() {
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
type wEntry struct {
	StartedDateTime textBytes `json:"startedDateTime"`
	Time            float64   `json:"time"`
	Request         wRequest  `json:"request"`
	Response        wResponse `json:"response"`
	Cache           struct{}  `json:"cache"`
	Timings         wTimings  `json:"timings"`
	ServerIPAddress textBytes `json:"serverIPAddress,omitempty"`
	Connection      string    `json:"connection,omitempty"`
	Client          textBytes `json:"_client,omitempty"`
	Server          textBytes `json:"_server,omitempty"`
	Seq             int       `json:"_seq,omitempty"`
	Upgrade         string    `json:"_upgrade,omitempty"`
}

type wRequest struct {
	Method      string     `json:"method"`
	URL         string     `json:"url"`
	HTTPVersion string     `json:"httpVersion"`
	Cookies     []wCookie  `json:"cookies"`
	Headers     []wField   `json:"headers"`
	QueryString []wField   `json:"queryString"`
	PostData    *wPostData `json:"postData,omitempty"`
	HeadersSize int        `json:"headersSize"`
	BodySize    int64      `json:"bodySize"`
	Target      string     `json:"_target"`
	TargetB64   string     `json:"_targetBase64,omitempty"`
	Host        string     `json:"_host"`
	HostB64     string     `json:"_hostBase64,omitempty"`
	Truncated   bool       `json:"_truncated,omitempty"`
	Incomplete  bool       `json:"_incomplete,omitempty"`
	Decoded     string     `json:"_decoded,omitempty"`
	Trailers    []wField   `json:"_trailers,omitempty"`
}

type wResponse struct {
	Status      int       `json:"status"`
	StatusText  string    `json:"statusText"`
	HTTPVersion string    `json:"httpVersion"`
	Cookies     []wCookie `json:"cookies"`
	Headers     []wField  `json:"headers"`
	Content     wContent  `json:"content"`
	RedirectURL string    `json:"redirectURL"`
	HeadersSize int       `json:"headersSize"`
	BodySize    int64     `json:"bodySize"`
	Truncated   bool      `json:"_truncated,omitempty"`
	Incomplete  bool      `json:"_incomplete,omitempty"`
	Decoded     string    `json:"_decoded,omitempty"`
	Trailers    []wField  `json:"_trailers,omitempty"`
	Interim     []int     `json:"_interim,omitempty"`
	ReasonB64   string    `json:"_statusTextBase64,omitempty"`
}

// wField is a header, trailer or query parameter. Names and values that are
// not valid UTF-8 (JSON strings cannot carry them) are also given in base64.
type wField struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	NameB64  string `json:"_nameBase64,omitempty"`
	ValueB64 string `json:"_valueBase64,omitempty"`
}

type wCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
}

type wPostData struct {
	MimeType string    `json:"mimeType"`
	Text     textBytes `json:"text"`
	Encoding string    `json:"encoding,omitempty"`
}

type wContent struct {
	Size     int        `json:"size"`
	MimeType string     `json:"mimeType"`
	Text     *textBytes `json:"text,omitempty"`
	Encoding string     `json:"encoding,omitempty"`
}

type wTimings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}

// textBytes marshals as a JSON string without first copying into a string.
type textBytes []byte

// MarshalText returns t itself.
func (t textBytes) MarshalText() ([]byte, error) { return t, nil }

// timeLayout is RFC 3339 with nanoseconds, fixed width.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// fill maps x onto the reused entry.
func (w *Writer) fill(x *capture.Exchange) {
	e := &w.ent
	t := x.Timing
	send := span(t.RequestStart, t.RequestEnd)
	wait := span(t.RequestEnd, t.ResponseStart)
	receive := span(t.ResponseStart, t.ResponseEnd)
	e.StartedDateTime = t.RequestStart.UTC().AppendFormat(e.StartedDateTime[:0], timeLayout)
	e.Timings = wTimings{Blocked: -1, DNS: -1, Connect: -1, Send: ms(send), Wait: ms(wait), Receive: ms(receive), SSL: -1}
	e.Time = ms(send + wait + receive)
	e.ServerIPAddress, e.Server, e.Client = e.ServerIPAddress[:0], e.Server[:0], e.Client[:0]
	if x.Server.Addr().IsValid() {
		e.ServerIPAddress = x.Server.Addr().AppendTo(e.ServerIPAddress)
		e.Server = x.Server.AppendTo(e.Server)
	}
	if x.Client.Addr().IsValid() {
		e.Client = x.Client.AppendTo(e.Client)
	}
	e.Connection, e.Seq, e.Upgrade = x.ConnID, x.Seq, x.Upgrade

	q, p := &x.Request, &e.Request
	p.Method = x.Request.Method
	p.URL = harURL(x)
	p.HTTPVersion = q.Proto
	p.Headers = appendFields(p.Headers[:0], q.Header)
	p.Cookies = p.Cookies[:0]
	for _, f := range q.Header {
		if strings.EqualFold(f.Name, "Cookie") {
			p.Cookies = appendCookies(p.Cookies, f.Value)
		}
	}
	p.QueryString = appendQuery(p.QueryString[:0], q.Target)
	p.PostData = nil
	if q.Body != nil {
		w.post.MimeType = q.Header.Get("Content-Type")
		w.post.Text, w.post.Encoding, w.reqB64 = bodyText(q.Body, w.reqB64)
		p.PostData = &w.post
	}
	p.HeadersSize, p.BodySize = -1, q.WireSize
	p.Target, p.TargetB64 = utf8Or64(q.Target)
	p.Host, p.HostB64 = utf8Or64(q.Host)
	p.Truncated, p.Incomplete, p.Decoded = q.Truncated, q.Incomplete, q.Decoded
	p.Trailers = appendFields(p.Trailers[:0], q.Trailer)

	s, r := &x.Response, &e.Response
	r.Status = s.Status
	r.StatusText, r.ReasonB64 = utf8Or64(s.Reason)
	r.HTTPVersion = s.Proto
	r.Headers = appendFields(r.Headers[:0], s.Header)
	r.Cookies = r.Cookies[:0]
	for _, f := range s.Header {
		if strings.EqualFold(f.Name, "Set-Cookie") {
			r.Cookies = append(r.Cookies, parseSetCookie(f.Value))
		}
	}
	r.Content = wContent{Size: len(s.Body), MimeType: s.Header.Get("Content-Type")}
	if s.Body != nil {
		w.respText, r.Content.Encoding, w.respB64 = bodyText(s.Body, w.respB64)
		r.Content.Text = &w.respText
	}
	r.RedirectURL = s.Header.Get("Location")
	r.HeadersSize, r.BodySize = -1, s.WireSize
	r.Truncated, r.Incomplete, r.Decoded = s.Truncated, s.Incomplete, s.Decoded
	r.Trailers = appendFields(r.Trailers[:0], s.Trailer)
	r.Interim = s.Interim
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

// bodyText returns the HAR text of body: itself when it is UTF-8, else its
// base64 encoding (built in scratch) and the encoding name.
func bodyText(body, scratch []byte) (textBytes, string, []byte) {
	if utf8.Valid(body) {
		return textBytes(body), "", scratch
	}
	scratch = base64.StdEncoding.AppendEncode(scratch[:0], body)
	return textBytes(scratch), "base64", scratch
}

// utf8Or64 returns s for a JSON string, and its base64 form as well when s
// is not valid UTF-8 (the JSON string then holds U+FFFD in its place).
func utf8Or64(s string) (string, string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	return strings.ToValidUTF8(s, "\uFFFD"), base64.StdEncoding.EncodeToString([]byte(s))
}

func appendFields(dst []wField, h capture.Header) []wField {
	for _, f := range h {
		var wf wField
		wf.Name, wf.NameB64 = utf8Or64(f.Name)
		wf.Value, wf.ValueB64 = utf8Or64(f.Value)
		dst = append(dst, wf)
	}
	return dst
}

// appendCookies adds the name=value pairs of a Cookie header value.
func appendCookies(dst []wCookie, v string) []wCookie {
	for part := range strings.SplitSeq(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, _ := utf8Or64(strings.TrimSpace(name))
		val, _ := utf8Or64(strings.TrimSpace(value))
		dst = append(dst, wCookie{Name: n, Value: val})
	}
	return dst
}

// cookieTimeLayouts are the Expires formats seen in Set-Cookie headers.
var cookieTimeLayouts = [...]string{http.TimeFormat, time.RFC1123, "Mon, 02-Jan-2006 15:04:05 MST", time.RFC850, time.ANSIC}

// parseSetCookie maps a Set-Cookie value to a HAR cookie; Expires becomes
// an ISO 8601 date when it parses, and stays as sent otherwise.
func parseSetCookie(v string) wCookie {
	var c wCookie
	first, rest, _ := strings.Cut(v, ";")
	name, value, _ := strings.Cut(first, "=")
	c.Name, _ = utf8Or64(strings.TrimSpace(name))
	c.Value, _ = utf8Or64(strings.TrimSpace(value))
	for attr := range strings.SplitSeq(rest, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(attr), "=")
		val, _ = utf8Or64(strings.TrimSpace(val))
		switch k = strings.TrimSpace(k); {
		case strings.EqualFold(k, "path"):
			c.Path = val
		case strings.EqualFold(k, "domain"):
			c.Domain = val
		case strings.EqualFold(k, "expires"):
			c.Expires = val
			for _, layout := range cookieTimeLayouts {
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

// appendQuery adds the parameters of target's query, in order, decoded
// (a parameter that does not decode is given as sent).
func appendQuery(dst []wField, target string) []wField {
	_, query, ok := strings.Cut(target, "?")
	if !ok {
		return dst
	}
	for pair := range strings.SplitSeq(query, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		var f wField
		f.Name, f.NameB64 = utf8Or64(unescape(name))
		f.Value, f.ValueB64 = utf8Or64(unescape(value))
		dst = append(dst, f)
	}
	return dst
}

// harURL returns x.URL() made parseable: a zoned IPv6 server address (used
// when there is no Host) writes its zone as "%25zone" (RFC 6874), the
// asterisk-form target ("OPTIONS *", the server as a whole) gives the bare
// origin, and bytes that may not appear in a URL are percent-encoded.
func harURL(x *capture.Exchange) string {
	zoned := x.Request.Host == "" && x.Server.Addr().Zone() != ""
	if !zoned && x.Request.Target != "*" {
		return escapeURL(x.URL())
	}
	c := *x
	if zoned {
		c.Request.Host = strings.Replace(x.Server.String(), "%", "%25", 1)
	}
	u := c.URL()
	if c.Request.Target == "*" {
		u = strings.TrimSuffix(u, "*")
	}
	return escapeURL(u)
}

// escapeURL percent-encodes the bytes that may not appear in a URL as
// written (spaces, controls, non-ASCII and a few delimiters), so that other
// HAR readers can parse it; request._target keeps the bytes as sent.
func escapeURL(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
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
		if mustEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func mustEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
