package har

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/specgate/specgate/capture"
)

// The read entry: only the members specgate uses; everything else (Chrome's
// _initiator, _priority, cookies, pages, ...) is ignored. Pointers tell an
// absent member from an empty one where that matters.
type rEntry struct {
	StartedDateTime string     `json:"startedDateTime"`
	Time            num        `json:"time"`
	Request         *rRequest  `json:"request"`
	Response        *rResponse `json:"response"`
	Timings         *rTimings  `json:"timings"`
	ServerIPAddress string     `json:"serverIPAddress"`
	Connection      string     `json:"connection"`
	Client          string     `json:"_client"`
	Server          string     `json:"_server"`
	Seq             num        `json:"_seq"`
	Upgrade         string     `json:"_upgrade"`
	Redacted        bool       `json:"_redacted"`
	Service         string     `json:"_service"`
	Caller          string     `json:"_caller"`
	Wire            wireMember `json:"_wire"`

	decodeErr string // set when the entry did not decode
}

type rRequest struct {
	Method      string     `json:"method"`
	URL         string     `json:"url"`
	HTTPVersion string     `json:"httpVersion"`
	Headers     []rField   `json:"headers"`
	PostData    *rPostData `json:"postData"`
	BodySize    num        `json:"bodySize"`
	Target      *string    `json:"_target"`
	TargetB64   string     `json:"_targetBase64"`
	Host        *string    `json:"_host"`
	HostB64     string     `json:"_hostBase64"`
	Truncated   bool       `json:"_truncated"`
	Incomplete  bool       `json:"_incomplete"`
	Decoded     string     `json:"_decoded"`
	Trailers    []rField   `json:"_trailers"`
}

type rResponse struct {
	Status      num      `json:"status"`
	StatusText  string   `json:"statusText"`
	ReasonB64   string   `json:"_statusTextBase64"`
	HTTPVersion string   `json:"httpVersion"`
	Headers     []rField `json:"headers"`
	Content     struct {
		Size     num    `json:"size"`
		Text     rText  `json:"text"`
		Encoding string `json:"encoding"`
	} `json:"content"`
	BodySize   num      `json:"bodySize"`
	Truncated  bool     `json:"_truncated"`
	Incomplete bool     `json:"_incomplete"`
	Decoded    string   `json:"_decoded"`
	Trailers   []rField `json:"_trailers"`
	Interim    []int    `json:"_interim"`
}

type rField struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	NameB64  string `json:"_nameBase64"`
	ValueB64 string `json:"_valueBase64"`
}

type rPostData struct {
	MimeType string   `json:"mimeType"`
	Text     rText    `json:"text"`
	Encoding string   `json:"encoding"`
	Params   []rParam `json:"params"`
}

type rParam struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	FileName string `json:"fileName"`
}

type rTimings struct {
	Blocked num `json:"blocked"`
	DNS     num `json:"dns"`
	Connect num `json:"connect"`
	Send    num `json:"send"`
	Wait    num `json:"wait"`
	Receive num `json:"receive"`
}

// reset clears e for the next entry.
func (e *rEntry) reset() { *e = rEntry{} }

// exchange maps e to an exchange, or returns why it cannot. An entry that
// specgate wrote (it has request._target) is read back exactly from its "_"
// members; any other entry is read as HAR describes it.
func (e *rEntry) exchange() (*capture.Exchange, string) {
	q, s := e.Request, e.Response
	if q == nil {
		return nil, "missing request"
	}
	if q.Method == "" {
		return nil, "missing method"
	}
	own := q.Target != nil
	var u *url.URL
	if !own {
		var reason string
		if u, reason = parseURL(q.URL); reason != "" {
			return nil, reason
		}
	}
	if s == nil {
		return nil, "no response"
	}
	status, ok := s.Status.int()
	if !ok {
		return nil, "no response status"
	}
	if status == 0 {
		return nil, "status 0: the request failed or was blocked"
	}
	if status < 100 || status > 999 {
		return nil, fmt.Sprintf("invalid status %d", status)
	}
	x := &capture.Exchange{}
	x.Request.Method = q.Method
	x.Request.Proto = normProto(q.HTTPVersion)
	if own {
		x.Request.Target = from64(*q.Target, q.TargetB64)
		if q.Host != nil {
			x.Request.Host = from64(*q.Host, q.HostB64)
		}
	} else {
		x.Request.Target = targetOf(q.URL)
		x.Request.Host = u.Host
	}
	x.Request.Header = fields(q.Headers)
	x.Request.Trailer = fields(q.Trailers)
	x.Request.WireSize = sizeOr(q.BodySize, -1)
	x.Request.Truncated, x.Request.Incomplete, x.Request.Decoded = q.Truncated, q.Incomplete, q.Decoded
	if pd := q.PostData; pd != nil {
		switch {
		case pd.Text.set && (len(pd.Text.b) > 0 || len(pd.Params) == 0):
			body, err := decodeText(pd.Text.b, pd.Encoding)
			if err != nil {
				return nil, "invalid base64 request body: " + err.Error()
			}
			x.Request.Body = body
		case len(pd.Params) > 0:
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(pd.MimeType)), "multipart/") {
				// the parts are not recorded, only their names
				x.Request.Truncated = true
			} else {
				x.Request.Body = formBody(pd.Params)
			}
		}
	}

	r := &x.Response
	r.Proto = normProto(s.HTTPVersion)
	r.Status = int(status)
	r.Reason = from64(s.StatusText, s.ReasonB64)
	r.Header = fields(s.Headers)
	r.Trailer = fields(s.Trailers)
	if len(s.Interim) > 0 {
		r.Interim = s.Interim
	}
	r.WireSize = sizeOr(s.BodySize, -1)
	r.Truncated, r.Incomplete, r.Decoded = s.Truncated, s.Incomplete, s.Decoded
	if c := &s.Content; c.Text.set {
		body, err := decodeText(c.Text.b, c.Encoding)
		if err != nil {
			return nil, "invalid base64 response body: " + err.Error()
		}
		r.Body = body
		if !own {
			// HAR content.text is decoded: say so, as a capture would
			if ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce != "" && ce != "identity" {
				r.Decoded = ce
			}
		}
	} else if size, _ := c.Size.int(); size > 0 || (!own && r.WireSize > 0) {
		// browsers leave out bodies they did not keep
		r.Truncated = true
	}

	if own {
		x.Server, _ = netip.ParseAddrPort(e.Server)
		x.Client, _ = netip.ParseAddrPort(e.Client)
	} else {
		x.Server = serverAddr(e.ServerIPAddress, u)
	}
	x.ConnID = e.Connection
	if seq, ok := e.Seq.int(); ok && seq >= math.MinInt && seq <= math.MaxInt {
		x.Seq = int(seq)
	}
	x.Upgrade = e.Upgrade
	x.Redacted = e.Redacted
	x.Service, x.Caller = e.Service, e.Caller
	x.Wire = capture.WireID(e.Wire)
	x.Timing = e.timing(own)
	return x, ""
}

// normProto upper-cases HTTP/1.x versions; others ("h3", "HTTP/2.0") stay
// as given.
func normProto(p string) string {
	if len(p) == 8 && strings.EqualFold(p[:7], "http/1.") {
		return strings.ToUpper(p)
	}
	return p
}

// from64 returns the base64-decoded form when there is one, else s.
func from64(s, b64 string) string {
	if b64 != "" {
		if b, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return string(b)
		}
	}
	return s
}

func fields(fs []rField) capture.Header {
	if len(fs) == 0 {
		return nil
	}
	h := make(capture.Header, len(fs))
	for i, f := range fs {
		h[i] = capture.Field{Name: from64(f.Name, f.NameB64), Value: from64(f.Value, f.ValueB64)}
	}
	return h
}

// sizeOr returns n as a size, or def when it is unset or negative.
func sizeOr(n num, def int64) int64 {
	if v, ok := n.int(); ok && v >= 0 {
		return v
	}
	return def
}

// decodeText returns the body a HAR text holds.
func decodeText(b []byte, encoding string) ([]byte, error) {
	if !strings.EqualFold(encoding, "base64") {
		return b, nil
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(b))+3)
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		n, err = base64.RawStdEncoding.Decode(out, b)
	}
	if err != nil {
		return nil, err
	}
	return out[:n:n], nil
}

// formBody rebuilds an application/x-www-form-urlencoded body from params.
func formBody(ps []rParam) []byte {
	var b []byte
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, url.QueryEscape(p.Name)...)
		b = append(b, '=')
		b = append(b, url.QueryEscape(p.Value)...)
	}
	return b
}

// parseURL checks that raw is an absolute http(s) or ws(s) URL with a host.
func parseURL(raw string) (*url.URL, string) {
	if raw == "" {
		return nil, "missing URL"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Sprintf("invalid URL %q: %v", short(raw), unwrapURLError(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss":
	case "":
		return nil, fmt.Sprintf("invalid URL %q: not absolute", short(raw))
	default:
		return nil, fmt.Sprintf("not an HTTP URL %q", short(raw))
	}
	if u.Host == "" {
		return nil, fmt.Sprintf("invalid URL %q: no host", short(raw))
	}
	return u, ""
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// short bounds a URL quoted in a reason.
func short(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// targetOf returns the origin-form request-target of an absolute URL, as
// written (path and query, no fragment).
func targetOf(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "/"
	}
	i := strings.IndexAny(rest, "/?#")
	if i < 0 {
		return "/"
	}
	t := rest[i:]
	if j := strings.IndexByte(t, '#'); j >= 0 {
		t = t[:j]
	}
	if t == "" || t[0] != '/' {
		t = "/" + t
	}
	return t
}

// serverAddr combines serverIPAddress with the URL's port (or the scheme's
// default port).
func serverAddr(ip string, u *url.URL) netip.AddrPort {
	ip = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ip), "["), "]")
	addr, err := netip.ParseAddr(ip)
	if err != nil || u == nil {
		return netip.AddrPort{}
	}
	var port uint64
	if p := u.Port(); p != "" {
		port, err = strconv.ParseUint(p, 10, 16)
		if err != nil {
			return netip.AddrPort{}
		}
	} else {
		switch strings.ToLower(u.Scheme) {
		case "https", "wss":
			port = 443
		default:
			port = 80
		}
	}
	return netip.AddrPortFrom(addr, uint16(port))
}

// maxPart caps one timing phase (about 13 days), which keeps milliseconds
// and nanoseconds exactly convertible.
const maxPart = time.Duration(1 << 50)

// timing rebuilds the four instants from startedDateTime and the phases.
// Phases before sending (blocked, dns, connect) delay RequestStart, except
// in specgate's own entries, which have none.
func (e *rEntry) timing(own bool) capture.Timing {
	start, err := time.Parse(time.RFC3339Nano, e.StartedDateTime)
	if err != nil || start.IsZero() {
		return capture.Timing{}
	}
	start = start.UTC()
	var before, send, wait, receive time.Duration
	if t := e.Timings; t != nil {
		if !own {
			before = phase(t.Blocked) + phase(t.DNS) + phase(t.Connect)
		}
		send, wait, receive = phase(t.Send), phase(t.Wait), phase(t.Receive)
	} else {
		wait = phase(e.Time)
	}
	var t capture.Timing
	t.RequestStart = start.Add(before)
	t.RequestEnd = t.RequestStart.Add(send)
	t.ResponseStart = t.RequestEnd.Add(wait)
	t.ResponseEnd = t.ResponseStart.Add(receive)
	if y := t.ResponseEnd.Year(); y > 9999 || t.RequestStart.Year() < 0 {
		// instants that RFC 3339 cannot write
		return capture.Timing{}
	}
	return t
}

// phase converts a HAR phase in milliseconds; negative (-1: does not
// apply) or missing phases are 0.
func phase(n num) time.Duration {
	if n.kind == numUnset || !(n.f > 0) {
		return 0
	}
	d := math.Round(n.f * 1e6)
	if d >= float64(maxPart) {
		return maxPart
	}
	return time.Duration(d)
}
