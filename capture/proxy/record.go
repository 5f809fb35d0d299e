package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/specgate/specgate/capture"
)

type (
	recordKey struct{}
	connKey   struct{}
)

// clientConn is one client connection.
type clientConn struct {
	id  uint64
	seq atomic.Int64
}

// record is the exchange of one request being built while it is proxied.
// Fields without a comment are set and read by the handler's goroutine
// (httputil calls the round tripper, the error handler and Hijack on it).
type record struct {
	p       *Proxy
	x       capture.Exchange
	in      *http.Request
	upgrade bool // the client asked to switch protocols
	req     *tee // the request body; nil when there is none
	res     *http.Response
	resBody *tee // the response body; nil when there is none
	trace   httptrace.ClientTrace

	failed     error // the upstream failed before its response began
	clientGone bool  // and the client had gone by then
	emitted    bool

	mu        sync.Mutex // guards what the transport's goroutines set
	interim   []int
	server    netip.AddrPort
	newConn   bool
	firstByte time.Time
}

// recordOf returns the record a request's context carries.
func recordOf(ctx context.Context) *record {
	rec, _ := ctx.Value(recordKey{}).(*record)
	return rec
}

// newRecord starts the record of r with what is known when its head has
// been read.
func (p *Proxy) newRecord(r *http.Request) *record {
	now := time.Now()
	rec := &record{p: p, in: r}
	x := &rec.x
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	x.Request = capture.Request{
		Method: r.Method,
		Target: target,
		Host:   r.Host,
		Proto:  r.Proto,
		Header: requestHeader(r),
	}
	x.Timing.RequestStart = now
	x.Client = parseAddr(r.RemoteAddr)
	if cc, ok := r.Context().Value(connKey{}).(*clientConn); ok {
		x.ConnID = strconv.FormatUint(cc.id, 10)
		x.Seq = int(cc.seq.Add(1) - 1)
	} else {
		x.ConnID = strconv.FormatUint(p.nextConn.Add(1), 10)
	}
	rec.upgrade = httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade")
	if r.Body != nil && r.Body != http.NoBody {
		rec.req = newTee(r.Body, p.maxBody, r.ContentLength)
	}
	rec.trace = httptrace.ClientTrace{
		GotConn:              rec.gotConn,
		GotFirstResponseByte: rec.gotFirstByte,
		Got1xxResponse:       rec.got1xx,
	}
	return rec
}

// context returns ctx carrying the record and its client trace.
func (rec *record) context(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(context.WithValue(ctx, recordKey{}, rec), &rec.trace)
}

func (rec *record) gotConn(info httptrace.GotConnInfo) {
	var ap netip.AddrPort
	if info.Conn != nil {
		ap = addrOf(info.Conn.RemoteAddr())
	}
	rec.mu.Lock()
	rec.server, rec.newConn = ap, !info.Reused
	rec.mu.Unlock()
}

func (rec *record) gotFirstByte() {
	now := time.Now()
	rec.mu.Lock()
	if rec.firstByte.IsZero() {
		rec.firstByte = now
	}
	rec.mu.Unlock()
}

func (rec *record) got1xx(code int, _ textproto.MIMEHeader) error {
	rec.mu.Lock()
	if len(rec.interim) < 16 {
		rec.interim = append(rec.interim, code)
	}
	rec.mu.Unlock()
	return nil
}

// response records the head of the upstream's final response and taps its
// body.
func (rec *record) response(res *http.Response) {
	now := time.Now()
	rec.res = res
	r := &rec.x.Response
	r.Proto = res.Proto
	r.Status = res.StatusCode
	r.Reason = reason(res.Status, res.StatusCode)
	r.Header = responseHeader(res)
	rec.mu.Lock()
	start := rec.firstByte
	interim := len(rec.interim) > 0
	rec.mu.Unlock()
	if start.IsZero() || interim {
		// the first byte was that of a 1xx response; the final one began
		// about now
		start = now
	}
	rec.x.Timing.ResponseStart = start
	// A 101 body is the upgraded connection, which httputil needs as it is.
	if res.StatusCode != http.StatusSwitchingProtocols && res.Body != nil && res.Body != http.NoBody {
		rec.resBody = newTee(res.Body, rec.p.maxBody, res.ContentLength)
		res.Body = rec.resBody
	}
}

// upgraded records an exchange whose connection has just switched
// protocols: its response is complete, the connection is not over.
func (rec *record) upgraded() {
	if rec.emitted || rec.res == nil {
		return
	}
	name := firstToken(rec.res.Header.Get("Upgrade"))
	if name == "" {
		name = firstToken(rec.in.Header.Get("Upgrade"))
	}
	if name == "" {
		name = "unknown"
	}
	rec.x.Upgrade = name
	rec.finish(false)
}

// finish completes the record and emits it. aborted reports that relaying
// the response failed part way (the upstream or the client went away).
func (rec *record) finish(aborted bool) {
	if rec.emitted {
		return
	}
	rec.emitted = true
	end := time.Now()
	p := rec.p
	rec.mu.Lock()
	server, newConn, interim := rec.server, rec.newConn, rec.interim
	rec.mu.Unlock()
	if rec.res == nil || rec.failed != nil {
		key := p.upstreamAddr()
		if server.IsValid() {
			key = server.String()
		} else if ap := dialedAddr(rec.failed); ap != "" {
			key = ap
		}
		p.lost(key, rec.clientGone || (rec.failed == nil && rec.in.Context().Err() != nil), newConn)
		return
	}
	x := &rec.x
	x.Server = server
	x.Response.Interim = interim
	t := &x.Timing

	q := &x.Request
	t.RequestEnd = t.RequestStart
	q.WireSize = 0
	if rec.req != nil {
		s := rec.req.seal()
		q.Body = s.body
		q.Truncated = s.n > int64(len(s.body)) || !s.eof
		q.Incomplete = s.err != nil
		q.WireSize = s.n
		if !s.eof {
			q.WireSize = -1
			if rec.in.ContentLength >= 0 {
				q.WireSize = rec.in.ContentLength
			}
		}
		if !s.last.IsZero() {
			t.RequestEnd = s.last
		}
		if s.eof && len(rec.in.Trailer) > 0 {
			// the server filled the trailer when the body ended, before
			// the read that saw the end returned
			q.Trailer = fromHTTP(rec.in.Trailer)
		}
		q.Body, q.Decoded, q.Truncated = p.decoded(q.Header, q.Body, q.Truncated || q.Incomplete, q.Truncated)
	}

	r := &x.Response
	r.WireSize = 0
	if rec.resBody != nil {
		s := rec.resBody.seal()
		r.Body = s.body
		r.Truncated = s.n > int64(len(s.body)) || !s.eof
		r.Incomplete = s.err != nil || !s.eof
		r.WireSize = s.n
		if !s.eof {
			r.WireSize = -1
		}
		r.Body, r.Decoded, r.Truncated = p.decoded(r.Header, r.Body, r.Truncated || r.Incomplete, r.Truncated)
	}
	if aborted {
		r.Incomplete = true
	}
	if len(rec.res.Trailer) > 0 && rec.resBody != nil && !r.Incomplete {
		r.Trailer = fromHTTP(rec.res.Trailer)
	}
	t.ResponseEnd = end
	p.emit(x, newConn)
}

// decoded removes the content codings of a recorded body. partial says
// the body is not the whole message; trunc is returned unless decoding
// showed more was cut.
func (p *Proxy) decoded(h capture.Header, body []byte, partial, trunc bool) ([]byte, string, bool) {
	ce := h.Get("Content-Encoding")
	if len(body) == 0 || ce == "" {
		return body, "", trunc
	}
	out, names, more, ok := decodeBody(body, ce, p.maxBody, partial)
	if !ok {
		return body, "", trunc
	}
	return out, names, trunc || more
}

// dialedAddr is the address a failed dial tried, if err says.
func dialedAddr(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" && oe.Addr != nil {
		if ap := addrOf(oe.Addr); ap.IsValid() {
			return ap.String()
		}
	}
	return ""
}

// responseWriter lets the record see the moment httputil takes over the
// client's connection for an upgrade.
type responseWriter struct {
	http.ResponseWriter
	rec *record
}

// WriteHeader sends the response head. For the upstream's response it
// keeps net/http from adding the Date and Content-Type (sniffed) fields the
// service did not send.
func (w *responseWriter) WriteHeader(code int) {
	if w.rec.res != nil && w.rec.failed == nil && code >= 200 {
		h := w.ResponseWriter.Header()
		for _, k := range [...]string{"Content-Type", "Date"} {
			if _, ok := h[k]; !ok {
				h[k] = nil
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes over the client's connection and records the upgrade.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.rec.upgraded()
	}
	return c, brw, err
}

// tee keeps the first max bytes of a body as it is read.
type tee struct {
	rc  io.ReadCloser
	max int64

	mu     sync.Mutex
	buf    []byte
	n      int64     // bytes read
	eof    bool      // the body ended
	err    error     // the first error other than the end
	last   time.Time // when the last byte or the end was read
	sealed bool
}

// newTee taps rc; hint is the body's length when known (-1 otherwise).
func newTee(rc io.ReadCloser, max, hint int64) *tee {
	t := &tee{rc: rc, max: max}
	if hint > 0 {
		t.buf = make([]byte, 0, min(hint, max, 1<<20))
	}
	return t
}

// Read implements io.Reader. Once the body has ended it answers the end
// itself: the transport reads once more after the last byte, which may come
// after the handler returned and net/http closed the body, and an error
// there would make it drop its connection to the upstream.
func (t *tee) Read(b []byte) (int, error) {
	t.mu.Lock()
	ended := t.eof
	t.mu.Unlock()
	if ended {
		return 0, io.EOF
	}
	n, err := t.rc.Read(b)
	if n == 0 && err == nil {
		return 0, nil
	}
	now := time.Now()
	t.mu.Lock()
	if n > 0 {
		t.n += int64(n)
		if room := t.max - int64(len(t.buf)); room > 0 && !t.sealed {
			t.buf = append(t.buf, b[:min(int64(n), room)]...)
		}
		t.last = now
	}
	switch {
	case err == io.EOF:
		if !t.eof {
			t.eof, t.last = true, now
		}
	case err != nil && t.err == nil && !t.eof && !t.sealed:
		t.err = err
	}
	t.mu.Unlock()
	return n, err
}

// Close implements io.Closer.
func (t *tee) Close() error { return t.rc.Close() }

// tapped is what a tee saw.
type tapped struct {
	body []byte
	n    int64
	eof  bool
	err  error
	last time.Time
}

// seal stops keeping bytes and returns what the tee saw. A body still being
// read (by the transport, after the response) goes on unrecorded.
func (t *tee) seal() tapped {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sealed = true
	return tapped{body: t.buf, n: t.n, eof: t.eof, err: t.err, last: t.last}
}

// requestHeader returns the request's header as the client sent it: the
// fields net/http keeps in Header plus Host, Transfer-Encoding and Trailer,
// which it moves elsewhere; names sorted, values in the order sent.
func requestHeader(r *http.Request) capture.Header {
	h := make(capture.Header, 0, headerCount(r.Header)+3)
	if r.Host != "" {
		h = append(h, capture.Field{Name: "Host", Value: r.Host})
	}
	h = appendMoved(appendHTTP(h, r.Header), r.Header, r.TransferEncoding, r.Trailer)
	sortFields(h)
	return h
}

// responseHeader returns the response's header as the upstream sent it.
func responseHeader(res *http.Response) capture.Header {
	h := make(capture.Header, 0, headerCount(res.Header)+2)
	h = appendMoved(appendHTTP(h, res.Header), res.Header, res.TransferEncoding, res.Trailer)
	sortFields(h)
	return h
}

// appendMoved appends the Transfer-Encoding and Trailer fields that net/http
// took out of a header to parse them.
func appendMoved(h capture.Header, hh http.Header, te []string, trailer http.Header) capture.Header {
	if _, ok := hh["Transfer-Encoding"]; !ok && len(te) > 0 {
		h = append(h, capture.Field{Name: "Transfer-Encoding", Value: strings.Join(te, ", ")})
	}
	if _, ok := hh["Trailer"]; !ok && len(trailer) > 0 {
		names := make([]string, 0, len(trailer))
		for k := range trailer {
			names = append(names, k)
		}
		slices.Sort(names)
		h = append(h, capture.Field{Name: "Trailer", Value: strings.Join(names, ", ")})
	}
	return h
}

func headerCount(h http.Header) int {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	return n
}

// fromHTTP converts h, names sorted.
func fromHTTP(h http.Header) capture.Header {
	out := appendHTTP(make(capture.Header, 0, headerCount(h)), h)
	sortFields(out)
	return out
}

func appendHTTP(dst capture.Header, h http.Header) capture.Header {
	for name, vs := range h {
		for _, v := range vs {
			dst = append(dst, capture.Field{Name: name, Value: v})
		}
	}
	return dst
}

// sortFields orders fields by name; the values of one name, appended
// together, keep their order.
func sortFields(h capture.Header) {
	slices.SortStableFunc(h, func(a, b capture.Field) int { return strings.Compare(a.Name, b.Name) })
}

// reason returns the reason phrase of a status line such as "200 OK".
func reason(status string, code int) string {
	s := strconv.Itoa(code)
	if r, ok := strings.CutPrefix(status, s); ok {
		return strings.TrimPrefix(r, " ")
	}
	return status
}

// firstToken is the first comma-separated element of v, lower case.
func firstToken(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// parseAddr parses a "host:port" address; anything else gives the zero value.
func parseAddr(s string) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// addrOf returns the IP address and port of a network address.
func addrOf(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.TCPAddr:
		ap := v.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case nil:
		return netip.AddrPort{}
	}
	return parseAddr(a.String())
}
